"""An opened .wjpg file (`safe_open`) over the C interface: the header is read on opening, each
tensor's payloads only when that tensor is asked for."""
from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from . import _dtypes
from ._library import Error, TensorInfo, check, library

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class TensorDeclaration:
    """What the file's header says about one tensor (no payload is read to know it)."""

    name: str
    #: safetensors spelling of the original dtype: "F32", "F16", "BF16", "I64", ...
    dtype: str
    #: the decoded tensor's shape, outermost first
    shape: Tuple[int, ...]
    #: how the file codes it: "exact", "float16", "int8-row", "jpeg", "entropy-uniform", "entropy-trellis", "fixed-rowN"
    coding: str
    #: bytes the decoded tensor takes in its dtype
    decoded_bytes: int
    #: bytes of its payloads in the file
    stored_bytes: int


class WJFile:
    """A `.wjpg` file opened through libweightjpeg: from a path (memory-mapped) or from bytes (copied)."""

    def __init__(self, source: Union[PathLike, bytes, bytearray, memoryview]) -> None:
        self._lib = library()
        self._handle = ctypes.c_void_p()
        error = Error()
        if isinstance(source, (bytes, bytearray, memoryview)):
            view = memoryview(source).cast("B")
            buffer = (ctypes.c_char * len(view)).from_buffer_copy(view) if len(view) else None
            check(self._lib.wj_open_memory(buffer, len(view), ctypes.byref(self._handle), ctypes.byref(error)), error)
        else:
            check(self._lib.wj_open(os.fsencode(source), ctypes.byref(self._handle), ctypes.byref(error)), error)
        self._declarations: List[TensorDeclaration] = []
        info = TensorInfo()
        for i in range(self._lib.wj_tensor_count(self._handle)):
            check(self._lib.wj_tensor_info_get(self._handle, i, ctypes.byref(info), ctypes.byref(error)), error)
            self._declarations.append(TensorDeclaration(
                name=info.name.decode("utf-8"), dtype=info.dtype.decode("utf-8"),
                shape=tuple(info.shape[k] for k in range(info.rank)), coding=info.coding.decode("utf-8"),
                decoded_bytes=info.decoded_bytes, stored_bytes=info.stored_bytes))
        self._index = {d.name: i for i, d in enumerate(self._declarations)}

    def close(self) -> None:
        """Closes the file (further reads raise)."""
        if getattr(self, "_handle", None) is not None and self._handle.value:
            self._lib.wj_close(self._handle)
        self._handle = ctypes.c_void_p()

    def __del__(self) -> None:
        self.close()

    @property
    def declarations(self) -> List[TensorDeclaration]:
        """Every tensor's declaration, in the file's (the source model's) order."""
        return list(self._declarations)

    def declaration(self, name: str) -> TensorDeclaration:
        """The declaration of tensor `name` (`TensorNotFoundError` when there is none)."""
        return self._declarations[self._find(name)]

    def _find(self, name: str) -> int:
        index = self._index.get(name)
        if index is None:
            index_out = ctypes.c_size_t()
            error = Error()
            check(self._lib.wj_tensor_find(self._handle, name.encode("utf-8"), ctypes.byref(index_out), ctypes.byref(error)), error)
            index = index_out.value
        return index

    def metadata(self) -> Optional[Dict[str, str]]:
        """The source's `__metadata__`, or None when it had none."""
        if not self._lib.wj_has_metadata(self._handle):
            return None
        key, value, error = ctypes.c_char_p(), ctypes.c_char_p(), Error()
        pairs = {}
        for i in range(self._lib.wj_metadata_count(self._handle)):
            check(self._lib.wj_metadata_get(self._handle, i, ctypes.byref(key), ctypes.byref(value), ctypes.byref(error)), error)
            pairs[key.value.decode("utf-8")] = value.value.decode("utf-8")
        return pairs

    def read_into(self, name: str, address: int, size: int) -> None:
        """Decodes tensor `name` into the `size` bytes at `address` (at least its `decoded_bytes`):
        reads and checks only that tensor's payloads. Safe to call from several threads at once."""
        if not self._handle.value:
            raise ValueError("the .wjpg file is closed")
        error = Error()
        check(self._lib.wj_tensor_read(self._handle, self._find(name), address or None, size, ctypes.byref(error)), error)

    def read_all(self, make: Callable[[TensorDeclaration], Tuple[Any, int]],
                 finish: Callable[[TensorDeclaration, Any], Any] = lambda d, t: t) -> Dict[str, Any]:
        """Every tensor, decoded in parallel (one thread per core; the library decodes outside the
        GIL): `make(declaration)` returns an output object and the address its bytes start at
        (`decoded_bytes` long), `finish(declaration, output)` the value stored under its name."""
        def one(declaration: TensorDeclaration) -> Any:
            output, address = make(declaration)
            self.read_into(declaration.name, address, declaration.decoded_bytes)
            return finish(declaration, output)

        largest_first = sorted(self._declarations, key=lambda d: -d.decoded_bytes)
        with ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, len(largest_first)))) as pool:
            decoded = dict(zip((d.name for d in largest_first), pool.map(one, largest_first)))
        return {d.name: decoded[d.name] for d in self._declarations}


class SafeOpen:
    """What `safe_open` returns: keys, metadata and lazy `get_tensor`, as in `safetensors.safe_open`."""

    def __init__(self, filename: PathLike, framework: str = "np", device: str = "cpu") -> None:
        self._convert = _dtypes.framework(framework)
        self._device = device
        self._file = WJFile(filename)

    def __enter__(self) -> "SafeOpen":
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def keys(self) -> List[str]:
        """Tensor names in the file's order."""
        return [d.name for d in self._file.declarations]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def metadata(self) -> Optional[Dict[str, str]]:
        """The source's `__metadata__`, or None."""
        return self._file.metadata()

    def declaration(self, name: str) -> TensorDeclaration:
        """Header facts of tensor `name` (dtype, shape, coding, bytes) without decoding it."""
        return self._file.declaration(name)

    def get_tensor(self, name: str) -> Any:
        """Tensor `name`, decoded now: only its payloads are read. numpy for framework "np", torch
        for "pt" (then moved to `device`)."""
        return self._convert.read(self._file, self._file.declaration(name), self._device)


def safe_open(filename: PathLike, framework: str = "np", device: str = "cpu") -> SafeOpen:
    """Opens a `.wjpg` file like `safetensors.safe_open`: reads and validates its header only.

    framework: "np" (numpy arrays; BF16 widened exactly to float32, numpy has no bfloat16) or "pt"
    (torch tensors in the original dtype, BF16 and F16 included). Use as a context manager.
    """
    return SafeOpen(filename, framework, device)
