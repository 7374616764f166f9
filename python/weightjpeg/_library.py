"""Finding libweightjpeg and declaring its C functions (weightjpeg.h) for ctypes."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from pathlib import Path
from typing import Optional

API_VERSION = 1
MAX_RANK = 8

OK = 0
ERROR_ARGUMENT = 1
ERROR_NOT_FOUND = 2
ERROR_BUFFER = 3
ERROR_IO = 4
ERROR_FORMAT = 5
ERROR_CODING = 6
ERROR_INTERNAL = 7


class WeightJPEGError(Exception):
    """An error reported by libweightjpeg: `code` is its WJ_ERROR_* status, the message names the
    file and tensor (e.g. a damaged payload: "model.wjpg: tensor 'w': payload 0 checksum ...")."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class TensorNotFoundError(WeightJPEGError, KeyError):
    """No tensor of that name in the file (also a `KeyError`, like a missing dict key)."""

    def __str__(self) -> str:
        return str(self.args[0])


class LibraryNotFoundError(WeightJPEGError, ImportError):
    """libweightjpeg could not be loaded; the message lists where it was looked for."""


class Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 1024)]


class TensorInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_char_p),
        ("coding", ctypes.c_char_p),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.c_int64 * MAX_RANK),
        ("decoded_bytes", ctypes.c_uint64),
        ("stored_bytes", ctypes.c_uint64),
    ]


class Tensor(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_char_p),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("data", ctypes.c_void_p),
        ("size", ctypes.c_uint64),
    ]


class MetadataItem(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class Options(ctypes.Structure):
    _fields_ = [("quality", ctypes.c_int32), ("max_rel_error", ctypes.c_double), ("jobs", ctypes.c_int32)]


_FILE = ctypes.c_void_p
_ERR = ctypes.POINTER(Error)
_SIGNATURES = {
    "wj_version": (ctypes.c_char_p, []),
    "wj_api_version": (ctypes.c_int, []),
    "wj_options_init": (None, [ctypes.POINTER(Options)]),
    "wj_open": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_FILE), _ERR]),
    "wj_open_memory": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(_FILE), _ERR]),
    "wj_close": (None, [_FILE]),
    "wj_tensor_count": (ctypes.c_size_t, [_FILE]),
    "wj_tensor_find": (ctypes.c_int, [_FILE, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t), _ERR]),
    "wj_tensor_info_get": (ctypes.c_int, [_FILE, ctypes.c_size_t, ctypes.POINTER(TensorInfo), _ERR]),
    "wj_tensor_read": (ctypes.c_int, [_FILE, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, _ERR]),
    "wj_has_metadata": (ctypes.c_int, [_FILE]),
    "wj_metadata_count": (ctypes.c_size_t, [_FILE]),
    "wj_metadata_get": (ctypes.c_int, [_FILE, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p),
                                       ctypes.POINTER(ctypes.c_char_p), _ERR]),
    "wj_compress": (ctypes.c_int, [ctypes.POINTER(Tensor), ctypes.c_size_t, ctypes.POINTER(MetadataItem), ctypes.c_size_t,
                                   ctypes.POINTER(Options), ctypes.c_char_p, _ERR]),
    "wj_compress_to_memory": (ctypes.c_int, [ctypes.POINTER(Tensor), ctypes.c_size_t, ctypes.POINTER(MetadataItem),
                                             ctypes.c_size_t, ctypes.POINTER(Options), ctypes.POINTER(ctypes.c_void_p),
                                             ctypes.POINTER(ctypes.c_size_t), _ERR]),
    "wj_free": (None, [ctypes.c_void_p]),
}

_NAME = "libweightjpeg.dylib" if sys.platform == "darwin" else "libweightjpeg.so"
_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None


def _candidates() -> list[str]:
    paths = []
    if os.environ.get("WEIGHTJPEG_LIBRARY"):
        paths.append(os.environ["WEIGHTJPEG_LIBRARY"])
    paths.append(str(Path(__file__).resolve().parent / _NAME))
    found = ctypes.util.find_library("weightjpeg")
    if found:
        paths.append(found)
    paths += [_NAME, f"/usr/local/lib/{_NAME}", str(Path.home() / ".local" / "lib" / _NAME)]
    return paths


def library() -> ctypes.CDLL:
    """libweightjpeg, loaded on first use (see the package README for where it is looked for)."""
    global _library
    with _lock:
        if _library is not None:
            return _library
        tried = []
        for path in _candidates():
            if os.sep in path and not os.path.exists(path):
                tried.append(f"{path} (no such file)")
                continue
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                tried.append(f"{path} ({e})")
                continue
            for name, (restype, argtypes) in _SIGNATURES.items():
                function = getattr(lib, name)
                function.restype = restype
                function.argtypes = argtypes
            if lib.wj_api_version() != API_VERSION:
                tried.append(f"{path} (API version {lib.wj_api_version()}, this package needs {API_VERSION})")
                continue
            _library = lib
            return lib
        raise LibraryNotFoundError(ERROR_INTERNAL, "libweightjpeg not found; build and install it with scripts/install, "
                                   "or set WEIGHTJPEG_LIBRARY to its path. Tried: " + "; ".join(tried))


def check(status: int, error: Error) -> None:
    """Raises the error `status` reports, with the library's message."""
    if status == OK:
        return
    message = error.message.decode("utf-8", errors="replace")
    if status == ERROR_NOT_FOUND:
        raise TensorNotFoundError(status, message)
    raise WeightJPEGError(status, message)
