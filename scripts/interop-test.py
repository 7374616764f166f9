#!/usr/bin/env python3
"""Interop check: Python's `safetensors` writes a model, the weightjpeg CLI compresses and
decompresses it, Python reads the result back and checks it.

Usage: interop-test.py WEIGHTJPEG_BINARY WORKDIR [MAX_REL_ERROR]

The model has F32, F16 and BF16 tensors of ranks 0 to 4 (a conv kernel, a smooth image-like layer,
noise-like matrices, an embedding, biases) plus an int64 and a bool tensor, and `__metadata__`.
Checks: names and their order, shapes, dtypes, metadata; integer/bool tensors and the tensor kept
with --exact bit for bit; every lossy tensor's relative RMS error ‖ΔW‖/‖W‖ ≤ the bound (computed
in float64 from what Python reads). Run three times: with --max-rel-error (that bound checked), with
the default policy (its documented bound, 0.002, checked on every float tensor of every dtype) and
with --quality 20 (structure and exact tensors checked; its error is only printed: quality 20 is meant
for image-like MNIST layers). Then the founding MLP with dead units removed (--remove-dead-units, on
data/mnist): the restored file has the original architecture's shapes (784-512-10), the removed
units are zero rows and columns, and with torch installed it loads into that nn.Sequential.
Exits non-zero on failure.
"""
import json, os, struct, subprocess, sys

import numpy as np
from safetensors.numpy import load_file, save_file

def bf16(a):
    """float32 array → bfloat16 bit patterns (round to nearest even) as uint16."""
    u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)

def bf16_to_f32(u):
    return (u.astype(np.uint32) << 16).view(np.float32)

def relabel(path, dest, names, dtype):
    """Rewrites the safetensors header of `path` into `dest` with `names` given `dtype` (same bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n])
    for k in names:
        h[k]["dtype"] = dtype
    hb = json.dumps(h, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(dest, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])

def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))

def bad_inputs(binary, work, src, check):
    """Truncated or lying headers, an unsupported dtype, a non-finite weight: the CLI must exit
    non-zero, name the file or tensor, and leave no output file behind."""
    with open(src, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n])
    def with_header(hh, body):
        hb = json.dumps(hh, separators=(",", ":")).encode()
        return struct.pack("<Q", len(hb)) + hb + body
    lying = dict(h); k0 = next(k for k in h if k != "__metadata__")
    lying[k0] = dict(h[k0], data_offsets=[0, 10 ** 12])
    unsupported = dict(h); unsupported[k0] = dict(h[k0], dtype="F4")
    nan = bytearray(raw)
    emb = h["embed.weight"]["data_offsets"][0] + 8 + n
    nan[emb:emb + 4] = struct.pack("<f", float("nan"))
    cases = {
        "truncated": (raw[: len(raw) // 2], "bad-truncated.safetensors"),
        "short": (raw[:5], "bad-short.safetensors"),
        "header-length-lies": (struct.pack("<Q", 10 ** 9) + raw[8:], "bad-header-length-lies.safetensors"),
        "offsets-lie": (with_header(lying, raw[8 + n:]), k0),
        "unsupported-dtype": (with_header(unsupported, raw[8 + n:]), "F4"),
        "non-finite": (bytes(nan), "embed.weight"),
    }
    for label, (data, needle) in cases.items():
        bad = os.path.join(work, f"bad-{label}.safetensors")
        out = os.path.join(work, f"bad-{label}.wjpg")
        with open(bad, "wb") as f:
            f.write(data)
        for extra in ([], ["--max-rel-error", "0.03"]):
            r = subprocess.run([binary, "compress", bad, "-o", out] + extra, capture_output=True, text=True)
            msg = (r.stderr + r.stdout).strip().splitlines()
            check(r.returncode != 0, f"bad input {label} {extra}: exit status 0")
            check(any(needle in line for line in msg), f"bad input {label} {extra}: message does not name '{needle}': {msg}")
            check(not os.path.exists(out), f"bad input {label} {extra}: output file left behind")
            leftovers = [x for x in os.listdir(work) if x.startswith(f"bad-{label}.wjpg")]
            check(not leftovers, f"bad input {label} {extra}: temporary files left behind: {leftovers}")
    print(f"bad inputs: {len(cases)} cases × 2 modes rejected with a message, no output left")

def dead_units(binary, work, check):
    """The founding MLP (a PyTorch-trained fixture) with its dead units removed: decompress must give
    back the original architecture, so that `load_state_dict` into it works."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    model = os.path.join(root, "Tests/WeightJPEGTests/Fixtures/mlp_seed0.safetensors")
    data = os.path.join(root, "data/mnist")
    if not os.path.exists(os.path.join(data, "train-images-idx3-ubyte")) and not os.path.exists(os.path.join(data, "train-images-idx3-ubyte.gz")):
        check(False, f"dead units: {data} has no MNIST training set (run scripts/fetch-mnist)")
        return
    wj, out = os.path.join(work, "mlp-pruned.wjpg"), os.path.join(work, "mlp-pruned.safetensors")
    r = subprocess.run([binary, "compress", model, "-o", wj, "--quality", "20", "--data", data, "--remove-dead-units"],
                       check=True, capture_output=True, text=True)
    removed = [line for line in r.stdout.splitlines() if line.startswith("removed ")]
    check(len(removed) == 1, f"dead units: no 'removed N dead hidden units' line in {r.stdout!r}")
    subprocess.run([binary, "decompress", wj, "-o", out, "--quiet"], check=True)
    src, got = load_file(model), load_file(out)
    for k in src:
        check(got[k].shape == src[k].shape and got[k].dtype == src[k].dtype,
              f"dead units: {k} comes back {got[k].shape} {got[k].dtype}, the model has {src[k].shape} {src[k].dtype}")
    zero_rows = [j for j in range(got["0.weight"].shape[0]) if not got["0.weight"][j].any() and got["0.bias"][j] == 0]
    check(len(zero_rows) > 0 and all(not got["2.weight"][:, j].any() for j in zero_rows),
          f"dead units: removed units are not zero rows of 0.weight/0.bias and zero columns of 2.weight ({len(zero_rows)} zero rows)")
    loaded = "torch not installed: load_state_dict not tried"
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
        net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in got.items()})
        loaded = "load_state_dict into Linear(784,512)-ReLU-Linear(512,10): ok"
    print(f"dead units: {removed[0] if removed else '?'}; decompressed shapes equal the original's; {len(zero_rows)} zero units; {loaded}")

def main():
    binary, work = sys.argv[1], sys.argv[2]
    bound = float(sys.argv[3]) if len(sys.argv) > 3 else 0.03
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(1234)
    yy, xx = np.mgrid[0:28, 0:28]
    smooth = np.stack([np.sin(xx / (3 + k % 5)) * np.cos(yy / (4 + k % 3)) for k in range(64)]).reshape(64, 784) * 0.05
    t = {
        "embed.weight": (rng.standard_normal((500, 64)) * 0.02).astype(np.float32),
        "layers.0.conv.weight": (rng.standard_normal((16, 8, 3, 3)) * 0.1).astype(np.float32),
        "layers.0.smooth.weight": (smooth + rng.standard_normal((64, 784)) * 0.002).astype(np.float32),
        "layers.0.attn.weight": (rng.standard_normal((128, 128)) * 0.05).astype(np.float16),
        "layers.0.ffn.weight": rng.standard_normal((256, 128)).astype(np.float32) * 0.04,
        "layers.0.ffn.bias": (rng.standard_normal(256) * 0.01).astype(np.float32),
        "layers.0.norm.weight": (1 + rng.standard_normal(128) * 0.1).astype(np.float16),
        "layers.0.heads": (rng.standard_normal((4, 8, 16, 16)) * 0.1).astype(np.float32),
        "scalar.temperature": np.array(0.7, dtype=np.float32),
        "position_ids": np.arange(512, dtype=np.int64).reshape(1, 512),
        "mask": (rng.random((8, 8)) > 0.5),
        "keep.exactly": (rng.standard_normal((32, 32))).astype(np.float32),
    }
    bf16_names = {"layers.0.bf16.weight": (rng.standard_normal((96, 200)) * 0.03).astype(np.float32),
                  "layers.0.bf16.bias": (rng.standard_normal(96) * 0.01).astype(np.float32)}
    # numpy has no bfloat16: write those tensors as uint16 bit patterns, then relabel them BF16 in the header.
    for k, v in bf16_names.items():
        t[k] = bf16(v)
    src = os.path.join(work, "model.safetensors")
    save_file(t, src, metadata={"format": "pt", "source": "interop-test"})
    relabel(src, src, bf16_names, "BF16")
    src_header = header(src)
    src_names = [k for k in src_header if k != "__metadata__"]

    failures = []
    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    for mode, extra, limit in [("max-rel-error", ["--max-rel-error", str(bound)], bound),
                               ("default", [], 0.002),
                               ("quality-20", ["--quality", "20"], None)]:
        wj = os.path.join(work, f"model-{mode}.wjpg")
        out = os.path.join(work, f"model-{mode}.safetensors")
        for p in (wj, out):
            if os.path.exists(p):
                os.remove(p)
        subprocess.run([binary, "compress", src, "-o", wj, "--exact", "keep.*", "--quiet"] + extra, check=True)
        subprocess.run([binary, "decompress", wj, "-o", out], check=True)
        out_header = header(out)
        out_names = [k for k in out_header if k != "__metadata__"]
        # safetensors sorts tensors by dtype/name when writing; the header keys are what we preserve.
        check(out_names == src_names, f"{mode}: tensor names/order {out_names} != {src_names}")
        check(out_header.get("__metadata__") == src_header.get("__metadata__"), f"{mode}: metadata differs")
        for k in src_names:
            check(out_header[k]["dtype"] == src_header[k]["dtype"], f"{mode}: {k} dtype {out_header[k]['dtype']} != {src_header[k]['dtype']}")
            check(out_header[k]["shape"] == src_header[k]["shape"], f"{mode}: {k} shape differs")
        # Read the restored file with safetensors (relabel BF16 → U16 again for numpy).
        relabelled = out + ".u16"
        relabel(out, relabelled, bf16_names, "U16")
        got = load_file(relabelled)
        worst = 0.0
        for k, v in t.items():
            g = got[k]
            check(g.shape == v.shape, f"{mode}: {k} shape {g.shape} != {v.shape}")
            if v.dtype.kind in "iub" and k not in bf16_names or k.startswith("keep."):
                check(g.dtype == v.dtype and g.tobytes() == v.tobytes(), f"{mode}: {k} not bit for bit")
                continue
            a = bf16_to_f32(v) if k in bf16_names else v
            b = bf16_to_f32(g) if k in bf16_names else g
            a = a.astype(np.float64); b = b.astype(np.float64)
            norm = np.linalg.norm(a)
            rel = np.linalg.norm(b - a) / norm if norm > 0 else float(np.linalg.norm(b - a))
            worst = max(worst, rel)
            check(np.isfinite(b).all(), f"{mode}: {k} has non-finite values")
            if limit is not None:
                check(rel <= limit, f"{mode}: {k} relative error {rel:.4g} > {limit}")
        print(f"interop {mode}: {len(src_names)} tensors, worst relative error {worst:.4g} (bound {limit}), "
              f"{os.path.getsize(wj)} bytes from {os.path.getsize(src)}")
    bad_inputs(binary, work, src, check)
    dead_units(binary, work, check)
    if failures:
        print(f"interop-test: {len(failures)} failures", file=sys.stderr)
        sys.exit(1)
    print("interop-test: ok")

if __name__ == "__main__":
    main()
