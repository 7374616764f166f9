"""`weightjpeg.numpy`: the numpy API under the module name `safetensors.numpy` uses."""
from . import load, load_file, save, save_file

__all__ = ["load_file", "load", "save_file", "save"]
