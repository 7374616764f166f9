"""Compressing named tensors (numpy or torch) through the C interface."""
from __future__ import annotations

import ctypes
import os
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ._library import ERROR_ARGUMENT, Error, MetadataItem, Options, Tensor, WeightJPEGError, check, library


def _options(lib: ctypes.CDLL, quality: Optional[int], max_rel_error: Optional[float], jobs: Optional[int]) -> Options:
    options = Options()
    lib.wj_options_init(ctypes.byref(options))
    if quality is not None:
        options.quality = int(quality)
    if max_rel_error is not None:
        options.max_rel_error = float(max_rel_error)
    if jobs is not None:
        options.jobs = int(jobs)
    return options


def compress(tensors: Mapping[str, Any], source: Callable[[str, Any], Tuple[str, Tuple[int, ...], Any, int, int]],
             metadata: Optional[Dict[str, str]], path: Optional[str], quality: Optional[int] = None,
             max_rel_error: Optional[float] = None, jobs: Optional[int] = None) -> Optional[bytes]:
    """Compresses `tensors` (converted by `source`) to `path`, or returns the file's bytes when
    `path` is None. The tensors' buffers are only read while the call runs."""
    lib = library()
    keep = []
    array = (Tensor * max(1, len(tensors)))()
    for i, (name, value) in enumerate(tensors.items()):
        if not isinstance(name, str):
            raise WeightJPEGError(ERROR_ARGUMENT, f"tensor names must be strings, got {name!r}")
        dtype, shape, owner, address, size = source(name, value)
        dims = (ctypes.c_int64 * max(1, len(shape)))(*shape)
        encoded = (name.encode("utf-8"), dtype.encode("ascii"))
        keep.append((owner, dims, encoded))
        array[i] = Tensor(encoded[0], encoded[1], len(shape), dims, address or None, size)
    items = None
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise WeightJPEGError(ERROR_ARGUMENT, f"metadata must map strings to strings, got {k!r}: {v!r}")
        pairs = [(k.encode("utf-8"), v.encode("utf-8")) for k, v in metadata.items()]
        items = (MetadataItem * max(1, len(pairs)))(*[MetadataItem(k, v) for k, v in pairs])
    options = _options(lib, quality, max_rel_error, jobs)
    error = Error()
    count = len(metadata) if metadata is not None else 0
    if path is not None:
        check(lib.wj_compress(array, len(tensors), items, count, ctypes.byref(options), os.fsencode(path), ctypes.byref(error)), error)
        return None
    data, size = ctypes.c_void_p(), ctypes.c_size_t()
    check(lib.wj_compress_to_memory(array, len(tensors), items, count, ctypes.byref(options), ctypes.byref(data),
                                    ctypes.byref(size), ctypes.byref(error)), error)
    try:
        return ctypes.string_at(data, size.value) if size.value else b""
    finally:
        lib.wj_free(data)
