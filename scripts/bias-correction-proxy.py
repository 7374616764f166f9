#!/usr/bin/env python3
"""What does correcting the first layer's bias do to coded candidates of an MNIST MLP?

For a float MLP (Linear-ReLU-Linear, PyTorch names 0.* and 2.*) and decoded candidates of it, prints
each candidate's accuracy drop (float - candidate, pp) on the test set and on the one-pixel shifted
copies of training images 50,000..59,999 (what compress --max-drop measures on for a model trained
on all 60,000 images), as decoded ("plain") and with the first layer's bias corrected as
compress --max-drop corrects it (BiasCorrection: b_j -= mean over the training images 0..49,999 on
which the float unit j is active of (w_hat_j - w_j) . x). The test set is read for reporting only.
Needs numpy and torch (a measurement script, not part of the product or CI).

Usage: scripts/bias-correction-proxy.py [--data data/mnist] FLOAT.safetensors DECODED.safetensors...
  e.g. for q in 8 10 12 15 20: weightjpeg compress M -o q.wjpg --quality q; weightjpeg decompress q.wjpg -o q.safetensors
"""
import numpy as np
import torch

from mnist_mlp import ONE_PIXEL_MOVES as moves, idx, load_safetensors, model_and_candidates, normalized, predictions, shift

a, train, train_labels = model_and_candidates()
val, val_labels = train[50000:], train_labels[50000:]
sets = {
    "test": (normalized(idx(f"{a.data}/t10k-images-idx3-ubyte")), idx(f"{a.data}/t10k-labels-idx1-ubyte")),
    "shift1x4": (normalized(np.concatenate([shift(val, dy, dx) for dy, dx in moves])), np.tile(val_labels, 4)),
}
sets = {k: (x, torch.tensor(l.astype(np.int64))) for k, (x, l) in sets.items()}

reference = load_safetensors(a.model)
fit = normalized(train[:50000])
active = ((fit @ reference["0.weight"].T + reference["0.bias"]) > 0).float()
means = (active.T @ fit) / active.sum(0).clamp(min=1)[:, None]   # units x inputs


def accuracy(m, k):
    x, l = sets[k]
    return (predictions(m, x) == l).float().mean().item() * 100


base = {k: accuracy(reference, k) for k in sets}
print(f"float {a.model}: " + " ".join(f"{k}={v:.2f}%" for k, v in base.items()))
for path in a.candidates:
    c = load_safetensors(path)
    corrected = dict(c)
    corrected["0.bias"] = c["0.bias"] - ((c["0.weight"] - reference["0.weight"]) * means).sum(1)
    row = []
    for name, m in (("plain", c), ("corrected", corrected)):
        row.append(f"{name} " + " ".join(f"{k}={base[k] - accuracy(m, k):+.2f}" for k in sets))
    print(f"{path}: " + "   ".join(row), flush=True)
