#!/usr/bin/env python3
"""Write Tests/WeightJPEGTests/Fixtures/reference.safetensors with Python's `safetensors` package.

The values are fixed (arange-based or listed) so the Swift tests can check them exactly.
Needs: pip install safetensors numpy ml_dtypes   (ml_dtypes supplies numpy's bfloat16).
Usage: python3 scripts/make-safetensors-fixture.py [output-path]
"""
import os
import sys

import ml_dtypes
import numpy as np
import safetensors
from safetensors.numpy import save_file

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    root, "Tests", "WeightJPEGTests", "Fixtures", "reference.safetensors")

tensors = {
    # F32, 2-D: (arange(12) - 5) / 4 = -1.25, -1.0, ..., 1.5 (all exact in binary32).
    "fc.weight": ((np.arange(12, dtype=np.float32) - 5) / 4).reshape(3, 4),
    # F16, 1-D: values that exercise sign, a power of two, max half and the smallest subnormal.
    "fc.bias": np.array([-0.5, 0.25, 1.0, 65504.0, 2.0 ** -24], dtype=np.float16),
    # I64, 2-D: arange(4) - 1 and a value beyond 2^32.
    "steps": np.array([[-1, 0], [1, 2 ** 40]], dtype=np.int64),
    # BF16, 1-D, through ml_dtypes (safetensors' numpy API has no bfloat16 of its own).
    "scale": np.array([1.0, -2.5, 3.140625, 0.0], dtype=ml_dtypes.bfloat16),
}
metadata = {"format": "np", "source": "scripts/make-safetensors-fixture.py"}
save_file(tensors, out, metadata=metadata)
print(f"wrote {out} (safetensors {safetensors.__version__}, numpy {np.__version__}, "
      f"ml_dtypes {ml_dtypes.__version__})")
