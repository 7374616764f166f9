"""MPEG NNC (the `nncodec` package from PyPI, Fraunhofer HHI's reference implementation) on the
same tensors and error bounds as coding 4 and coding 6: for every 2-D float tensor of at least
4,096 weights of a safetensors file, the coarsest NNC quantization parameter (qp, integer, with
dependent quantization on, as nncodec's default) whose decoded tensor has relative RMS error
||dW|| / ||W|| <= E, found by bisection on qp (each probe a real encode and decode of that tensor
alone), and its bitstream bytes and encode/decode seconds. Run by scripts/measure-nncodec.

Usage: [NNC_ONLY=name-prefix] python nncodec-rate.py model.safetensors E [E ...]
"""
import os
import sys
import time

import numpy as np
from safetensors.numpy import load_file
from nncodec.nnc import compress, decompress


def code(name, w, qp):
    t0 = time.process_time()
    stream = compress({name: w}, bitstream_path=None, qp=qp, use_dq=True, return_bitstream=True)
    t1 = time.process_time()
    back = decompress(bytearray(stream))[name]
    t2 = time.process_time()
    err = float(np.linalg.norm((back.astype(np.float64) - w)) / max(np.linalg.norm(w.astype(np.float64)), 1e-300))
    return len(stream), err, t1 - t0, t2 - t1


def coarsest(name, w, bound):
    lo, hi = -120, 0            # qp: step 2^(qp/4); lo must pass, hi must fail
    best = code(name, w, lo)
    if best[1] > bound:
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        r = code(name, w, mid)
        if r[1] <= bound:
            lo, best = mid, r
        else:
            hi = mid
    return lo, best


def main():
    path, bounds = sys.argv[1], [float(a) for a in sys.argv[2:]]
    tensors = load_file(path)
    totals = {e: [0, 0, 0.0, 0.0] for e in bounds}
    print("tensor shape | " + " | ".join(f"E={e}: qp bits/weight err enc MB/s dec MB/s" for e in bounds))
    for name, w in tensors.items():
        if w.ndim != 2 or w.size < 4096 or w.dtype not in (np.float32, np.float16) or not name.startswith(os.environ.get("NNC_ONLY", "")):
            continue
        w = w.astype(np.float32)
        row = f"{name} {w.shape[0]}x{w.shape[1]}"
        for e in bounds:
            found = coarsest(name, w, e)
            if found is None:
                row += " | no qp passes"
                continue
            qp, (nbytes, err, enc, dec) = found
            mb = w.size * 4 / 1e6
            row += f" | {qp} {8 * nbytes / w.size:.4f} {err:.5f} {mb / enc:.1f} {mb / dec:.1f}"
            t = totals[e]
            t[0] += nbytes; t[1] += w.size; t[2] += enc; t[3] += dec
        print(row, flush=True)
    for e, (nbytes, n, enc, dec) in totals.items():
        print(f"TOTAL E={e}: NNC {8 * nbytes / max(n, 1):.4f} bits/weight over {n} weights; "
              f"encode {n * 4e-6 / max(enc, 1e-9):.1f} MB/s, decode {n * 4e-6 / max(dec, 1e-9):.1f} MB/s (float32 per CPU-second, last probe)")


if __name__ == "__main__":
    main()
