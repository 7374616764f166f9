#!/usr/bin/env python3
"""Would reordering rows help? For each 2-D float tensor (rank ≥ 2 viewed as shape[0] × rest) of a
safetensors file, orders the rows greedily so that each is followed by the remaining row most
correlated with it (|Pearson correlation|, sign flips allowed), and prints the mean correlation ρ of
adjacent rows before and after, and the most a coder exploiting it could save: for Gaussian rows
predicted from their neighbour, ½·log2(1 / (1 − ρ²)) bits per weight (an upper bound on what the
DCT across rows or any predictive coder can gain from the order), against the cost of storing the
permutation, log2(rows) / columns bits per weight.

Usage: row-order-gain.py MODEL.safetensors [MAX_ROWS=1536]
"""
import sys
import numpy as np
from safetensors.numpy import load_file

def main():
    t = load_file(sys.argv[1])
    cap = int(sys.argv[2]) if len(sys.argv) > 2 else 1536
    print(f"{'tensor':52} {'rows×cols':>12} {'ρ before':>9} {'ρ after':>8} {'gain b/w':>9} {'perm b/w':>9}")
    for name, v in t.items():
        if v.dtype.kind != "f" or v.ndim < 2 or v.shape[0] < 16:
            continue
        m = v.reshape(v.shape[0], -1).astype(np.float64)
        if m.shape[0] > cap:
            m = m[:cap]  # the greedy order is quadratic; a prefix shows the statistics
        m = m - m.mean(1, keepdims=True)
        n = np.linalg.norm(m, axis=1, keepdims=True); n[n == 0] = 1
        c = np.abs((m / n) @ (m / n).T)
        np.fill_diagonal(c, -1)
        before = np.mean([c[i, i + 1] for i in range(len(m) - 1)])
        left = np.ones(len(m), bool); cur = 0; left[0] = False; adj = []
        for _ in range(len(m) - 1):
            row = np.where(left, c[cur], -2)
            nxt = int(row.argmax()); adj.append(row[nxt]); left[nxt] = False; cur = nxt
        after = float(np.mean(adj))
        gain = 0.5 * np.log2(1 / (1 - after ** 2))
        perm = np.log2(v.shape[0]) / m.shape[1]
        print(f"{name[:52]:52} {v.shape[0]:>5}×{m.shape[1]:<6} {before:9.3f} {after:8.3f} {gain:9.4f} {perm:9.4f}")

if __name__ == "__main__":
    main()
