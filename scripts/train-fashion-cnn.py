#!/usr/bin/env python3
"""Trains the small Fashion-MNIST CNN of scripts/fashion_mnist.py and writes it as safetensors.

Usage: train-fashion-cnn.py OUT.safetensors [--data DIR] [--epochs N] [--seed S] [--threads T]

Adam (lr 1e-3, batch 64, shuffled), cross-entropy, on training images 0-49,999 only; fixed seed,
deterministic single-process CPU training (same arguments and PyTorch build → same weights).
Prints per epoch the training loss and the validation accuracy (images 50,000-59,999), then the
test accuracy (reporting only) and the wall time. Tensor names are the PyTorch state_dict names.
Needs torch, numpy, safetensors, and Debian's dataset-fashion-mnist (or --data DIR with the IDX files).
"""
import argparse, os, sys, time

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--data", default=None)
p.add_argument("--epochs", type=int, default=6)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=2)
args = p.parse_args()

import torch
from safetensors.torch import save_file
import fashion_mnist as fm

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
torch.use_deterministic_algorithms(True)
data = args.data or fm.DEFAULT_DATA
x, y = fm.load(data, "train")
xv, yv = fm.load(data, "validation")
model = fm.CNN()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
start = time.time()
for epoch in range(args.epochs):
    model.train()
    perm = torch.randperm(len(y))
    total = 0.0
    for i in range(0, len(y), 64):
        b = perm[i:i + 64]
        opt.zero_grad()
        loss = loss_fn(model(x[b]), y[b])
        loss.backward()
        opt.step()
        total += loss.item() * len(b)
    print(f"epoch {epoch + 1}: loss {total / len(y):.4f}, validation {fm.accuracy(model, xv, yv):.2f}%, "
          f"{time.time() - start:.0f} s", flush=True)
xt, yt = fm.load(data, "test")
print(f"test {fm.accuracy(model, xt, yt):.2f}% (reporting only); {args.epochs} epochs in {time.time() - start:.0f} s "
      f"on {args.threads} threads, torch {torch.__version__}")
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.out)
print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")
