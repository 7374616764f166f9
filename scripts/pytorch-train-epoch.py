#!/usr/bin/env python3
"""Reference for `weightjpeg bench train`: one epoch of the founding MLP in PyTorch on the CPU.

Same model (784-512-10, ReLU), Adam lr 1e-3, batch 64, shuffled, same preprocessing, same IDX files.
Prints one line: `seconds_per_epoch <s> threads <n>`. Optional: --threads N (default 1), --data DIR.
Only used for benchmarking; the product never needs PyTorch.
"""
import argparse, os, struct, sys, time

p = argparse.ArgumentParser()
p.add_argument("--data", default="data/mnist")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--epochs", type=int, default=1)
args = p.parse_args()

import numpy as np
import torch

torch.set_num_threads(args.threads)
torch.manual_seed(0)

def idx(path):
    with open(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)

x = idx(os.path.join(args.data, "train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32)
y = idx(os.path.join(args.data, "train-labels-idx1-ubyte")).astype(np.int64)
x = torch.from_numpy((x / 255 - 0.1307) / 0.3081)
y = torch.from_numpy(y)
model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()

def epoch(limit=None):
    perm = torch.randperm(len(y))
    n = len(y) if limit is None else limit
    for i in range(0, n, 64):
        idx_ = perm[i:i + 64]
        opt.zero_grad()
        loss = loss_fn(model(x[idx_]), y[idx_])
        loss.backward()
        opt.step()

epoch(limit=64 * 50)  # warm-up
t = time.perf_counter()
for _ in range(args.epochs):
    epoch()
s = (time.perf_counter() - t) / args.epochs
print(f"seconds_per_epoch {s:.4f} threads {torch.get_num_threads()}")
