"""`weightjpeg.torch`: like `safetensors.torch`, torch tensors in and out (BF16, F16 and float8
preserved). torch is imported when a function here is first called, not with `weightjpeg`."""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Union

from ._dtypes import TorchFramework
from ._file import WJFile
from ._save import compress

__all__ = ["load_file", "load", "save_file", "save"]


def _load(source: Union[str, "os.PathLike[str]", bytes], device: str) -> Dict[str, Any]:
    torch = TorchFramework()
    file = WJFile(source)
    try:
        return file.read_all(torch.empty, lambda d, t: torch.finish(d, t, device))
    finally:
        file.close()


def load_file(filename: Union[str, "os.PathLike[str]"], device: str = "cpu") -> Dict[str, Any]:
    """Every tensor of the `.wjpg` file as torch tensors, by name, in the file's order: a
    `state_dict` for `model.load_state_dict`. Decoded in parallel straight into the tensors' memory."""
    return _load(filename, device)


def load(data: bytes, device: str = "cpu") -> Dict[str, Any]:
    """`load_file` for the bytes of a `.wjpg` file held in memory."""
    return _load(bytes(data), device)


def save_file(tensors: Dict[str, Any], filename: Union[str, "os.PathLike[str]"], metadata: Optional[Dict[str, str]] = None,
              *, quality: Optional[int] = None, max_rel_error: Optional[float] = None, jobs: Optional[int] = None) -> None:
    """Compresses torch tensors (moved to the CPU, made contiguous) into the `.wjpg` file `filename`;
    options as `weightjpeg.save_file`."""
    compress(tensors, TorchFramework().source, metadata, os.fspath(filename), quality, max_rel_error, jobs)


def save(tensors: Dict[str, Any], metadata: Optional[Dict[str, str]] = None, *, quality: Optional[int] = None,
         max_rel_error: Optional[float] = None, jobs: Optional[int] = None) -> bytes:
    """`save_file` into bytes."""
    result = compress(tensors, TorchFramework().source, metadata, None, quality, max_rel_error, jobs)
    assert result is not None
    return result
