"""Read and write WeightJPEG `.wjpg` files (compressed neural-network weights) with the API of
`safetensors`: change `from safetensors.numpy import load_file, save_file` to
`from weightjpeg import load_file, save_file`, and `safetensors.torch` to `weightjpeg.torch`.

    from weightjpeg import safe_open
    with safe_open("model.wjpg", framework="np") as f:
        print(f.metadata())
        for name in f.keys():
            array = f.get_tensor(name)      # decodes this tensor only

Tensors come back in their original dtype and shape (lossy codings give close values, exact ones
the same bits); numpy has no bfloat16, so with numpy BF16 tensors are widened, exactly, to float32.
Errors are `WeightJPEGError` with the library's message (naming the file and tensor).
"""
from __future__ import annotations

import os
from typing import Dict, Optional, Union

import numpy as np

from ._dtypes import NumpyFramework
from ._file import SafeOpen, TensorDeclaration, WJFile, safe_open
from ._library import LibraryNotFoundError, TensorNotFoundError, WeightJPEGError, library
from ._save import compress

__all__ = ["load_file", "load", "save_file", "save", "safe_open", "SafeOpen", "TensorDeclaration",
           "WeightJPEGError", "TensorNotFoundError", "LibraryNotFoundError", "library_version"]
__version__ = "0.3.0"


def library_version() -> str:
    """The version of the libweightjpeg in use ("MAJOR.MINOR.PATCH")."""
    return library().wj_version().decode("ascii")


def _load(source: Union[str, "os.PathLike[str]", bytes]) -> Dict[str, np.ndarray]:
    file = WJFile(source)
    try:
        numpy = NumpyFramework()
        return file.read_all(numpy.empty, numpy.finish)
    finally:
        file.close()


def load_file(filename: Union[str, "os.PathLike[str]"], device: str = "cpu") -> Dict[str, np.ndarray]:
    """Every tensor of the `.wjpg` file `filename` as numpy arrays, by name, in the file's order
    (decoded in parallel, one thread per core). `device` is accepted for safetensors compatibility."""
    return _load(filename)


def load(data: bytes) -> Dict[str, np.ndarray]:
    """`load_file` for the bytes of a `.wjpg` file held in memory."""
    return _load(bytes(data))


def save_file(tensors: Dict[str, np.ndarray], filename: Union[str, "os.PathLike[str]"],
              metadata: Optional[Dict[str, str]] = None, *, quality: Optional[int] = None,
              max_rel_error: Optional[float] = None, jobs: Optional[int] = None) -> None:
    """Compresses numpy arrays into the `.wjpg` file `filename` (written atomically: a temporary file,
    then a rename), with `metadata` as its `__metadata__`.

    quality: JPEG quality 1-100 for the tensors the default policy JPEG-codes (default: the library's).
    max_rel_error: error-targeted mode, every float tensor within this relative RMS error (0 < e < 1).
    jobs: worker threads (default: one per core).
    """
    compress(tensors, NumpyFramework.source, metadata, os.fspath(filename), quality, max_rel_error, jobs)


def save(tensors: Dict[str, np.ndarray], metadata: Optional[Dict[str, str]] = None, *, quality: Optional[int] = None,
         max_rel_error: Optional[float] = None, jobs: Optional[int] = None) -> bytes:
    """`save_file` into bytes."""
    result = compress(tensors, NumpyFramework.source, metadata, None, quality, max_rel_error, jobs)
    assert result is not None
    return result
