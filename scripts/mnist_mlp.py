"""MNIST data and the founding MLP (Linear-ReLU-Linear, PyTorch names 0.* and 2.*) for
scripts/shifted-proxy.py and scripts/shifted-proxy-holdout.py (measurement scripts only: the product
never needs PyTorch)."""
import argparse, json, struct

import numpy as np
import torch


def load_safetensors(path):
    """The float32 tensors of a safetensors file, by name."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    body = b[8 + n:]
    return {k: torch.from_numpy(np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32).reshape(v["shape"]).copy())
            for k, v in header.items() if k != "__metadata__"}


def idx(path):
    """An IDX file's array (uint8)."""
    b = open(path, "rb").read()
    dims = struct.unpack(">" + "I" * b[3], b[4:4 + 4 * b[3]])
    return np.frombuffer(b[4 + 4 * b[3]:], dtype=np.uint8).reshape(dims)


def shift(images, dy, dx):
    """`images` (n x h x w) moved dy pixels down and dx right, zeros shifted in."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def normalized(images):
    """Pixels as the models take them: (x / 255 - 0.1307) / 0.3081, one row per image."""
    return (torch.tensor(np.asarray(images).reshape(len(images), -1), dtype=torch.float32) / 255 - 0.1307) / 0.3081


def predictions(m, x):
    """The MLP's predicted classes."""
    return (torch.relu(x @ m["0.weight"].T + m["0.bias"]) @ m["2.weight"].T + m["2.bias"]).argmax(1)


ONE_PIXEL_MOVES = [(1, 0), (-1, 0), (0, 1), (0, -1)]


def model_and_candidates():
    """The command line of a script that compares decoded candidates with their float model:
    [--data DIR] FLOAT.safetensors DECODED.safetensors..., with the training set loaded:
    (arguments, training images, training labels)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("model")
    ap.add_argument("candidates", nargs="*")
    a = ap.parse_args()
    return a, idx(f"{a.data}/train-images-idx3-ubyte"), idx(f"{a.data}/train-labels-idx1-ubyte")
