#!/usr/bin/env python3
"""Accuracy of a Fashion-MNIST CNN (scripts/fashion_mnist.py) stored as safetensors: a metric for
`weightjpeg compress --eval-cmd`.

Usage: fashion-accuracy.py MODEL.safetensors [--split validation|test] [--data DIR] [--threads T]

Prints the accuracy in percent as its last (only) stdout line: on the validation split (training
images 50,000-59,999, never used for training) by default; `--split test` is for reporting only.
Needs torch and safetensors, and Debian's dataset-fashion-mnist (or --data DIR with the IDX files).
"""
import argparse, sys

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--split", choices=["validation", "test"], default="validation")
p.add_argument("--data", default=None)
p.add_argument("--threads", type=int, default=1)
args = p.parse_args()

import torch
from safetensors.torch import load_file
import fashion_mnist as fm

torch.set_num_threads(args.threads)
model = fm.CNN()
try:
    state = load_file(args.model)
    model.load_state_dict({k: v.float() for k, v in state.items()})
except Exception as e:   # a missing file, a bad header, a missing or misshapen tensor
    sys.exit(f"fashion-accuracy: {args.model}: {e}")
images, labels = fm.load(args.data or fm.DEFAULT_DATA, args.split)
print(f"{fm.accuracy(model, images, labels):.2f}")
