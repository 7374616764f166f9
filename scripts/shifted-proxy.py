#!/usr/bin/env python3
"""Which stand-in for unseen images tracks the test drop of a model trained on all 60,000 images?

For a float MLP (Linear-ReLU-Linear, PyTorch names 0.* and 2.*) and decoded candidates of it, prints
each candidate's accuracy drop (float - candidate, pp, with its paired standard error) on:
  val       training images 50,000..59,999 (trained on: memorized)
  test      the test set (what the promise is about)
  shift1x4  the val images moved one pixel down, up, right and left (what compress uses)
  half4     the same moves by half a pixel (the average of an image and its shifted copy)
  noise     the val images plus Gaussian pixel noise (sigma 80 of 255, seed 0)
Needs numpy and torch (a measurement script, not part of the product or CI).

Usage: scripts/shifted-proxy.py [--data data/mnist] FLOAT.safetensors DECODED.safetensors...
  e.g. for q in 8 10 12 15 20 30: weightjpeg compress M -o q.wjpg --quality q; weightjpeg decompress q.wjpg -o q.safetensors
"""
import numpy as np
import torch

from mnist_mlp import ONE_PIXEL_MOVES as moves, idx, load_safetensors, model_and_candidates, normalized, predictions, shift

a, train, train_labels = model_and_candidates()
val, val_labels = train[50000:], train_labels[50000:]
sets = {
    "val": (val, val_labels, 1),
    "test": (idx(f"{a.data}/t10k-images-idx3-ubyte"), idx(f"{a.data}/t10k-labels-idx1-ubyte"), 1),
    "shift1x4": (np.concatenate([shift(val, dy, dx) for dy, dx in moves]), np.tile(val_labels, 4), 4),
    "half4": (np.concatenate([((val.astype(np.float32) + shift(val, dy, dx)) / 2).round() for dy, dx in moves]), np.tile(val_labels, 4), 4),
    "noise": (np.clip(val.astype(np.float32) + np.random.default_rng(0).normal(0, 80, val.shape), 0, 255), val_labels, 1),
}
prepared = {k: (normalized(x), torch.tensor(l.astype(np.int64)), copies) for k, (x, l, copies) in sets.items()}

reference = load_safetensors(a.model)
ref = {k: predictions(reference, x) for k, (x, _, _) in prepared.items()}
print("float", " ".join(f"{k}={100 * (ref[k] == l).float().mean():.2f}%" for k, (_, l, _) in prepared.items()))
for path in a.candidates:
    m = load_safetensors(path)
    row = []
    for k, (x, l, copies) in prepared.items():
        d = (ref[k] == l).float() - (predictions(m, x) == l).float()
        # Copies of one image (stacked move after move) count as one sample in the standard error.
        per_image = d.reshape(copies, -1).mean(0)
        row.append(f"{k}={100 * d.mean():+.2f}±{100 * per_image.std() / len(per_image) ** 0.5:.2f}")
    print(path, " ".join(row))
