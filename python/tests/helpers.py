"""Shared by the tests: the CLI, a minimal safetensors reader/writer (so that the tests need only
numpy), and temporary folders."""
from __future__ import annotations

import json
import os
import struct
import subprocess
from typing import Dict, Optional, Tuple

import numpy as np

CLI = os.environ.get("WEIGHTJPEG_CLI", "weightjpeg")



def cli(*args: str) -> str:
    """Runs the weightjpeg CLI; raises with its stderr on failure."""
    done = subprocess.run([CLI, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"weightjpeg {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write_safetensors(path: str, tensors: Dict[str, Tuple[str, np.ndarray]], metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes (dtype name, array of raw bits) tensors as a safetensors file."""
    header, offset, blobs = {}, 0, []
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, array) in tensors.items():
        blob = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path: str) -> Tuple[Dict[str, Tuple[str, Tuple[int, ...], bytes]], Optional[Dict[str, str]]]:
    """name → (dtype, shape, raw bytes), and the metadata."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", None)
    out = {name: (h["dtype"], tuple(h["shape"]), data[8 + n + h["data_offsets"][0]:8 + n + h["data_offsets"][1]])
           for name, h in header.items()}
    return out, metadata


def bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 → bfloat16 bits (round to nearest even)."""
    u = values.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def smooth(rows: int, columns: int, seed: int) -> np.ndarray:
    """An image-like matrix (JPEG codes it): smooth waves plus a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    return (0.05 * np.sin(x / 9.0 + seed) * np.cos(y / 13.0) + 0.002 * rng.standard_normal((rows, columns))).astype(np.float32)
