#!/usr/bin/env python3
"""Do moved copies of trained-on images stand in for unseen images? A test-free check on models trained with
`train --holdout 10000` (on training images 0..49,999): their images 50,000..59,999 are truly unseen, so the drop
there is the truth, and each stand-in is built from images 40,000..49,999, which they were trained on (as the
validation images of a model trained on all 60,000 are). For a float MLP (Linear-ReLU-Linear, PyTorch names 0.*
and 2.*) and decoded candidates of it, prints each candidate's accuracy drop (float - candidate, pp) on:
  unseen   training images 50,000..59,999 (not trained on: the truth)
  test     the test set (other writers; reporting only)
  fit      training images 40,000..49,999 as they are (trained on)
  s1x4     those moved one pixel down, up, right and left (what compress measures a trained-on model on)
  diag4    moved one pixel diagonally, four ways
  s2x4     moved two pixels down, up, right and left
  s1+d     s1x4 and diag4 together
and, with --summary, for each stand-in over every candidate file given (all models at once): how often its drop
is at least the unseen one, and the mean and spread of the difference.
Needs numpy and torch (a measurement script, not part of the product or CI).

Usage: scripts/shifted-proxy-holdout.py [--data data/mnist] [--summary] FLOAT.safetensors DECODED.safetensors... [--and FLOAT DECODED...]...
"""
import argparse, statistics
import numpy as np
import torch

from mnist_mlp import idx, load_safetensors, normalized, predictions, shift

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="data/mnist")
ap.add_argument("--summary", action="store_true")
ap.add_argument("files", nargs=argparse.REMAINDER, help="a float model, its decoded candidates; --and starts the next model")
a = ap.parse_args()

train = idx(f"{a.data}/train-images-idx3-ubyte"); labels = idx(f"{a.data}/train-labels-idx1-ubyte")
fit, fit_labels = train[40000:50000], labels[40000:50000]
def moved(moves):
    return np.concatenate([shift(fit, dy, dx) for dy, dx in moves]), np.tile(fit_labels, len(moves))
axes = [(1, 0), (-1, 0), (0, 1), (0, -1)]
diagonals = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
sets = {
    "unseen": (train[50000:], labels[50000:]),
    "test": (idx(f"{a.data}/t10k-images-idx3-ubyte"), idx(f"{a.data}/t10k-labels-idx1-ubyte")),
    "fit": (fit, fit_labels),
    "s1x4": moved(axes),
    "diag4": moved(diagonals),
    "s2x4": moved([(2 * dy, 2 * dx) for dy, dx in axes]),
    "s1+d": moved(axes + diagonals),
}
prepared = {k: (normalized(x), torch.tensor(l.astype(np.int64))) for k, (x, l) in sets.items()}

groups, group = [], []
for f in a.files:
    if f == "--and":
        groups.append(group); group = []
    else:
        group.append(f)
groups.append(group)
differences = {k: [] for k in sets if k != "unseen"}
for model, *candidates in groups:
    reference = load_safetensors(model)
    ref = {k: predictions(reference, x) for k, (x, _) in prepared.items()}
    print(model, "float", " ".join(f"{k}={100 * (ref[k] == l).float().mean():.2f}%" for k, (_, l) in prepared.items()), flush=True)
    for path in candidates:
        m = load_safetensors(path)
        drops = {k: 100 * ((ref[k] == l).float() - (predictions(m, x) == l).float()).mean().item() for k, (x, l) in prepared.items()}
        print(path, " ".join(f"{k}={d:+.2f}" for k, d in drops.items()), flush=True)
        for k in differences:
            differences[k].append(drops[k] - drops["unseen"])
if a.summary:
    print(f"summary over {len(differences['fit'])} candidates: stand-in drop minus unseen drop (pp)")
    for k, d in differences.items():
        print(f"  {k:<6} at least the unseen drop {sum(x >= 0 for x in d)}/{len(d)}, mean {statistics.mean(d):+.2f}, standard deviation {statistics.pstdev(d):.2f}")
