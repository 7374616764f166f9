"""numpy and torch arrays ↔ the library's tensors: dtypes (safetensors spelling), output buffers
the library decodes into without a copy, and input buffers it reads for compression."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from ._library import ERROR_ARGUMENT, WeightJPEGError

_NUMPY: Dict[str, Any] = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "C64": np.complex64,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
_NUMPY_NAMES = {np.dtype(t): name for name, t in _NUMPY.items()}


def numpy_dtype_name(dtype: np.dtype) -> str:
    """The safetensors name of a numpy dtype (either byte order)."""
    name = _NUMPY_NAMES.get(dtype.newbyteorder("="))
    if name is None:
        raise WeightJPEGError(ERROR_ARGUMENT, f"numpy dtype {dtype} has no safetensors equivalent")
    return name


def _torch_dtypes(torch: Any) -> Dict[str, Any]:
    names = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "C64": "complex64",
             "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32",
             "U16": "uint16", "U8": "uint8", "BOOL": "bool", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
             "F8_E8M0": "float8_e8m0fnu"}
    return {k: getattr(torch, v) for k, v in names.items() if hasattr(torch, v)}


class NumpyFramework:
    """framework="np": numpy arrays; BF16 tensors are widened (exactly) to float32."""

    def empty(self, d: Any) -> Tuple[np.ndarray, int]:
        if d.dtype == "BF16":
            array = np.empty(d.shape, dtype=np.uint16)
        elif d.dtype in _NUMPY:
            array = np.empty(d.shape, dtype=_NUMPY[d.dtype])
        else:
            raise WeightJPEGError(ERROR_ARGUMENT, f"tensor '{d.name}' is {d.dtype}, which numpy cannot hold; use framework='pt'")
        return array, array.ctypes.data

    def finish(self, d: Any, array: np.ndarray) -> np.ndarray:
        if d.dtype == "BF16":
            return (array.astype(np.uint32) << 16).view(np.float32)
        return array

    def read(self, file: Any, d: Any, device: str) -> np.ndarray:
        array, address = self.empty(d)
        file.read_into(d.name, address, d.decoded_bytes)
        return self.finish(d, array)

    @staticmethod
    def source(name: str, value: Any) -> Tuple[str, Tuple[int, ...], Any, int, int]:
        """(dtype name, shape, object keeping the bytes alive, address, byte count) of an array."""
        if not isinstance(value, np.ndarray):
            raise WeightJPEGError(ERROR_ARGUMENT, f"tensor '{name}' is a {type(value).__name__}, expected a numpy.ndarray")
        array = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("="))
        return numpy_dtype_name(array.dtype), array.shape, array, array.ctypes.data, array.nbytes


class TorchFramework:
    """framework="pt": torch tensors in the original dtype (BF16, F16 and float8 kept)."""

    def __init__(self) -> None:
        import torch  # imported here: numpy users need no torch
        self.torch = torch
        self.dtypes = _torch_dtypes(torch)
        self.names = {v: k for k, v in self.dtypes.items()}

    def empty(self, d: Any) -> Tuple[Any, int]:
        if d.dtype not in self.dtypes:
            raise WeightJPEGError(ERROR_ARGUMENT, f"tensor '{d.name}' is {d.dtype}, which this torch {self.torch.__version__} has no dtype for")
        tensor = self.torch.empty(d.shape, dtype=self.dtypes[d.dtype])
        return tensor, tensor.data_ptr()

    def finish(self, d: Any, tensor: Any, device: str = "cpu") -> Any:
        return tensor if device == "cpu" else tensor.to(device)

    def read(self, file: Any, d: Any, device: str) -> Any:
        tensor, address = self.empty(d)
        file.read_into(d.name, address, d.decoded_bytes)
        return self.finish(d, tensor, device)

    def source(self, name: str, value: Any) -> Tuple[str, Tuple[int, ...], Any, int, int]:
        """(dtype name, shape, object keeping the bytes alive, address, byte count) of a tensor."""
        if not isinstance(value, self.torch.Tensor):
            raise WeightJPEGError(ERROR_ARGUMENT, f"tensor '{name}' is a {type(value).__name__}, expected a torch.Tensor")
        tensor = value.detach().to("cpu").contiguous()
        if tensor.dtype not in self.names:
            raise WeightJPEGError(ERROR_ARGUMENT, f"tensor '{name}' has torch dtype {tensor.dtype}, which safetensors cannot store")
        return self.names[tensor.dtype], tuple(tensor.shape), tensor, tensor.data_ptr(), tensor.numel() * tensor.element_size()


def framework(name: str) -> Any:
    """The conversion of `safe_open`'s framework argument ("np"/"numpy" or "pt"/"torch")."""
    if name in ("np", "numpy"):
        return NumpyFramework()
    if name in ("pt", "torch"):
        return TorchFramework()
    raise WeightJPEGError(ERROR_ARGUMENT, f"framework must be 'np' or 'pt', got {name!r}")
