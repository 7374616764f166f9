#!/usr/bin/env python3
"""Bits per weight of `compress --max-rel-error E` against the fixed-length per-row uniform
quantiser that reaches the same error, per tensor and per tensor kind.

Usage:
  rate-report.py synthetic OUT.safetensors [MNIST_MLP.safetensors]
      writes a small checkpoint with the four kinds the issue names (seed 0): a smooth first layer
      (the 512×784 layer of the given MNIST MLP when given, else smooth synthetic 28×28 images),
      noise-like linear layers (Gaussian), an embedding table (rows of varying scale, heavy tails)
      and convolution kernels (spatially correlated 3×3), plus biases.
  rate-report.py measure WEIGHTJPEG MODEL.safetensors WORKDIR E [E...] [--kind REGEX=KIND ...] [--compress-arg ARG ...]
      for each E: compress --max-rel-error E, inspect --json --original, and for every float tensor
      the fewest bits b (2…16) whose per-row symmetric quantiser (scale max|w|/(2^(b-1)-1) per row,
      float32 scale stored) reaches relative error ≤ E — computed here in numpy, independently of
      the Swift code (at E/10 for rank < 2 tensors, as compress does); prints our bits/weight
      (payload + record) next to that floor's.
"""
import json, os, re, subprocess, sys
import numpy as np
from safetensors.numpy import load_file, save_file

def synthetic(out, mnist=None):
    rng = np.random.default_rng(0)
    t = {}
    if mnist:
        t["first.weight"] = load_file(mnist)["0.weight"]
    else:
        yy, xx = np.mgrid[0:28, 0:28]
        t["first.weight"] = np.stack([np.sin(xx / (2 + k % 7) + k) * np.cos(yy / (3 + k % 5)) * np.exp(-((xx - 14) ** 2 + (yy - 14) ** 2) / 200)
                                      for k in range(512)]).reshape(512, 784).astype(np.float32) * 0.05
    t["first.bias"] = (rng.standard_normal(512) * 0.01).astype(np.float32)
    for i in range(2):
        t[f"linear.{i}.weight"] = (rng.standard_normal((1024, 1024)) * 0.03).astype(np.float32)
        t[f"linear.{i}.bias"] = (rng.standard_normal(1024) * 0.01).astype(np.float32)
    scale = np.exp(rng.standard_normal((8000, 1)) * 0.5) * 0.02
    t["embed.weight"] = (rng.standard_t(5, (8000, 256)) * scale).astype(np.float32)
    # Conv kernels: smooth 3×3 patterns (outer products of random 3-vectors) plus noise.
    a = rng.standard_normal((128, 64, 3, 1)); b = rng.standard_normal((128, 64, 1, 3))
    t["conv.weight"] = ((a * b) * 0.05 + rng.standard_normal((128, 64, 3, 3)) * 0.02).astype(np.float32)
    save_file(t, out, metadata={"generator": "scripts/rate-report.py synthetic, seed 0"})
    print(f"wrote {out}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in t.items()))

def floor_bits(w, bound):
    """Fewest bits of the fixed-length per-row quantiser reaching relative error ≤ bound, and its bits/weight."""
    w = w.astype(np.float64)
    rows = w.shape[0] if w.ndim >= 2 else 1
    m2 = w.reshape(rows, -1)
    norm = np.linalg.norm(m2)
    if norm == 0:
        return None, None
    top = np.abs(m2).max(1, keepdims=True)
    for b in range(2, 17):
        levels = 2 ** (b - 1) - 1
        s = (top / levels).astype(np.float32).astype(np.float64)
        q = np.where(s > 0, np.clip(np.round(m2 / np.where(s > 0, s, 1)), -levels, levels), 0)
        if np.linalg.norm(q * s - m2) / norm <= bound:
            return b, (32 * rows + b * m2.size) / m2.size
    return None, None

def measure(binary, model, work, bounds, kinds, extra=()):
    os.makedirs(work, exist_ok=True)
    tensors = load_file(model)
    def kind(name):
        for rx, k in kinds:
            if re.search(rx, name):
                return k
        return "other"
    for e in bounds:
        wj = os.path.join(work, f"model-e{e}.wjpg")
        subprocess.run([binary, "compress", model, "-o", wj, "--max-rel-error", str(e), *extra], check=True, stdout=subprocess.DEVNULL)
        rep = json.loads(subprocess.run([binary, "inspect", wj, "--json", "--original", model], check=True, capture_output=True, text=True).stdout)
        print(f"\n=== E = {e}: {model} → {rep['fileBytes']} bytes, {rep['bitsPerWeight']:.3f} bits/weight overall")
        print(f"{'tensor':52} {'shape':>14} {'coding':28} {'ours':>7} {'rel.err':>8} {'floor b':>7} {'floor':>7}")
        agg = {}
        for t in rep["tensors"]:
            v = tensors[t["name"]]
            if v.dtype.kind != "f":
                continue
            own = e / 10 if v.ndim < 2 else e  # compress codes rank < 2 tensors at E/10
            b, fb = floor_bits(v, own)
            coding = t["coding"].split(" step")[0][:28]
            rel = t.get("error", {}).get("relative")
            print(f"{t['name'][:52]:52} {'x'.join(map(str, t['shape'])):>14} {coding:28} {t['bitsPerWeight']:7.3f} "
                  f"{rel if rel is not None else float('nan'):8.4f} {b if b else '-':>7} {fb if fb else float('nan'):7.3f}")
            k = kind(t["name"])
            n = int(np.prod(t["shape"])) if t["shape"] else 1
            a = agg.setdefault(k, [0, 0.0, 0.0, 0.0])
            a[0] += n; a[1] += t["bytes"] * 8; a[2] += (fb or 32) * n; a[3] = max(a[3], rel or 0)
        print(f"\nper kind at E = {e}:  kind, weights, ours bits/weight, fixed-length floor bits/weight, ours/floor, worst rel.err")
        for k, (n, ours, fl, worst) in sorted(agg.items()):
            print(f"  {k:22} {n:>10} {ours / n:8.3f} {fl / n:8.3f} {ours / fl:7.3f} {worst:8.4f}")

def main():
    if sys.argv[1] == "synthetic":
        synthetic(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif sys.argv[1] == "measure":
        args = sys.argv[2:]
        kinds, extra = [], []
        while "--kind" in args:
            i = args.index("--kind"); rx, k = args[i + 1].rsplit("=", 1); kinds.append((rx, k)); del args[i:i + 2]
        while "--compress-arg" in args:
            i = args.index("--compress-arg"); extra.append(args[i + 1]); del args[i:i + 2]
        binary, model, work = args[:3]
        measure(binary, model, work, [float(x) for x in args[3:]], kinds, extra)
    else:
        sys.exit(__doc__)

if __name__ == "__main__":
    main()
