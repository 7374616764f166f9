#!/usr/bin/env python3
"""Accuracy of a Fashion-MNIST CNN (scripts/fashion_mnist.py) stored as safetensors: a metric for
`weightjpeg compress --eval-cmd`.

Usage: fashion-accuracy.py MODEL.safetensors [--split validation|test] [--data DIR] [--threads T]
                           [--se ORIGINAL.safetensors]

Prints the accuracy in percent as its last (only) stdout line: on the validation split (training
images 50,000-59,999, never used for training) by default; `--split test` is for reporting only.
With --se, also the standard error of the accuracy drop from ORIGINAL, in percentage points (paired:
the standard deviation over the images of "original right" minus "this model right", over sqrt(n)),
which `compress --margin` adds to each drop.
Needs torch and safetensors, and Debian's dataset-fashion-mnist (or --data DIR with the IDX files).
"""
import argparse, sys

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--split", choices=["validation", "test"], default="validation")
p.add_argument("--data", default=None)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--se", metavar="ORIGINAL", default=None)
args = p.parse_args()

import torch
from safetensors.torch import load_file
import fashion_mnist as fm

torch.set_num_threads(args.threads)

def loaded(path):
    model = fm.CNN()
    try:
        state = load_file(path)
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except Exception as e:   # a missing file, a bad header, a missing or misshapen tensor
        sys.exit(f"fashion-accuracy: {path}: {e}")
    return model

model = loaded(args.model)
images, labels = fm.load(args.data or fm.DEFAULT_DATA, args.split)
right = fm.correct(model, images, labels)
accuracy = 100.0 * right.float().mean().item()
if args.se is None:
    print(f"{accuracy:.2f}")
else:
    difference = fm.correct(loaded(args.se), images, labels).float() - right.float()
    se = 100.0 * difference.std().item() / len(labels) ** 0.5
    print(f"{accuracy:.2f} {se:.4f}")
