#!/usr/bin/env python3
"""A minimal task metric for `weightjpeg compress --eval-cmd`: the cosine between the outputs of
every 2-D tensor of ORIGINAL and of the candidate on fixed random inputs (y = W x, 8 inputs per
tensor), averaged over tensors. Standard library only (reads safetensors F32/F16 by hand).

Usage: weightjpeg compress M.safetensors -o M.wjpg --eval-cmd 'python3 weight-cosine.py M.safetensors {}' --max-drop 0.001
Prints one number, the metric, as its last line.
"""
import json, math, random, struct, sys

def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or len(info["shape"]) != 2:
            continue
        a, b = info["data_offsets"]
        body = raw[8 + n + a:8 + n + b]
        code = {"F32": "f", "F16": "e"}.get(info["dtype"])
        if code is None:
            continue
        values = struct.unpack("<%d%s" % (len(body) // struct.calcsize(code), code), body)
        out[name] = (info["shape"], values)
    return out

def main():
    original, candidate = load(sys.argv[1]), load(sys.argv[2])
    rng = random.Random(7)
    cosines = []
    for name, (shape, w) in sorted(original.items()):
        rows, cols = shape
        v = candidate[name][1]
        for _ in range(8):
            x = [rng.gauss(0, 1) for _ in range(cols)]
            y = [sum(w[r * cols + c] * x[c] for c in range(cols)) for r in range(rows)]
            z = [sum(v[r * cols + c] * x[c] for c in range(cols)) for r in range(rows)]
            dot = sum(p * q for p, q in zip(y, z))
            norm = math.sqrt(sum(p * p for p in y) * sum(q * q for q in z))
            cosines.append(dot / norm if norm > 0 else 1.0)
    print("tensors:", len(original), file=sys.stderr)
    print(sum(cosines) / len(cosines))

if __name__ == "__main__":
    main()
