"""Fashion-MNIST data and the small CNN shared by scripts/train-fashion-cnn.py and
scripts/fashion-accuracy.py (measurement scripts only: the product never needs PyTorch).

Data: Debian's `dataset-fashion-mnist` (`apt-get install dataset-fashion-mnist`), which installs the
four gzipped IDX files in /usr/share/datasets/fashion-mnist; plain (gunzipped) files are read too.
Splits of the 60,000 training images: 0-49,999 train the model, 50,000-59,999 are the validation
split a compression search may use; the 10,000 test images are for reporting only.
"""
import gzip, os, struct

import numpy as np
import torch

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
TRAIN_COUNT = 50_000
MEAN, STD = 0.2860, 0.3530   # pixel mean and standard deviation of the 60,000 training images (/255)


def _idx(directory, stem):
    for name, opener in ((stem, open), (stem + ".gz", gzip.open)):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with opener(path, "rb") as f:
                data = f.read()
            magic, = struct.unpack(">I", data[:4])
            rank = magic & 0xFF
            if magic >> 8 != 0x08 or rank not in (1, 3):
                raise SystemExit(f"{path}: not an unsigned-byte IDX file (magic {magic:#x})")
            dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
            body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
            if body.size != int(np.prod(dims)):
                raise SystemExit(f"{path}: {body.size} bytes of data for dimensions {dims}")
            return body.reshape(dims)
    raise SystemExit(f"{os.path.join(directory, stem)}[.gz] not found "
                     "(Debian: apt-get install dataset-fashion-mnist, or give --data DIR)")


def load(directory, split):
    """Images as a float tensor N×1×28×28 (normalized) and labels as int64, for split
    `train` (0-49,999), `validation` (50,000-59,999) or `test` (the 10,000 test images)."""
    prefix = "t10k" if split == "test" else "train"
    x = _idx(directory, f"{prefix}-images-idx3-ubyte")
    y = _idx(directory, f"{prefix}-labels-idx1-ubyte")
    if split == "train":
        x, y = x[:TRAIN_COUNT], y[:TRAIN_COUNT]
    elif split == "validation":
        x, y = x[TRAIN_COUNT:], y[TRAIN_COUNT:]
    images = torch.from_numpy((x.astype(np.float32) / 255 - MEAN) / STD).unsqueeze(1)
    return images, torch.from_numpy(y.astype(np.int64))


class CNN(torch.nn.Module):
    """conv 5×5 (1→16) → ReLU → max-pool 2 → conv 5×5 (16→32) → ReLU → max-pool 2 →
    linear 512→128 → ReLU → linear 128→10: 80,202 parameters (320,808 bytes in float32)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 5)
        self.conv2 = torch.nn.Conv2d(16, 32, 5)
        self.fc1 = torch.nn.Linear(512, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x):
        f = torch.nn.functional
        x = f.max_pool2d(f.relu(self.conv1(x)), 2)
        x = f.max_pool2d(f.relu(self.conv2(x)), 2)
        return self.fc2(f.relu(self.fc1(x.flatten(1))))


def correct(model, images, labels, batch=2000):
    """Per image, whether the model classifies it as its label (a bool tensor)."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            out.append(model(images[i:i + batch]).argmax(1) == labels[i:i + batch])
    return torch.cat(out)


def accuracy(model, images, labels, batch=2000):
    """Share of `images` the model classifies as `labels`, in percent."""
    return 100.0 * correct(model, images, labels, batch).float().mean().item()
