#!/usr/bin/env python3
"""int8 per row, counted as `weightjpeg compare` counts it (Sources/WeightJPEGTools/Compare/
BaselineCodec.swift, UniformRowQuantizer.encodeRaw), for any safetensors model.

Usage: int8-per-row.py MODEL.safetensors RESTORED.safetensors

Every float tensor of rank ≥ 2 is viewed as shape[0] rows × the rest (a convolution kernel
out × in × kh × kw is out rows of in·kh·kw) and coded per row as round(w / s) in −127…127 with
s = max|w| / 127 stored as float16 (2 bytes per row + 1 byte per weight); every other float tensor
(biases) as float16. Writes the decoded model (float32) to RESTORED and prints the payload bytes:
no names, shapes or container, so the count is a little in int8's favor against a whole `.wjpg`.
Needs numpy and safetensors.
"""
import sys
import numpy as np
from safetensors.numpy import load_file, save_file

if len(sys.argv) != 3:
    sys.exit(__doc__.strip().splitlines()[3])
tensors = load_file(sys.argv[1])
out, total = {}, 0
for name, w in tensors.items():
    if w.dtype.kind != "f":
        out[name] = w; total += w.nbytes
        continue
    w = w.astype(np.float32)
    if w.ndim >= 2:
        rows = w.reshape(w.shape[0], -1)
        scale = (np.abs(rows).max(axis=1) / 127).astype(np.float16).astype(np.float32)
        safe = np.where(scale > 0, scale, 1)[:, None]
        q = np.clip(np.rint(rows / safe), -127, 127)
        out[name] = (q * scale[:, None]).astype(np.float32).reshape(w.shape)
        total += 2 * rows.shape[0] + rows.size
    else:
        out[name] = w.astype(np.float16).astype(np.float32)
        total += 2 * w.size
save_file(out, sys.argv[2])
print(total)
