"""Lazy reading: `safe_open(...).get_tensor(name)` on a large file reads only that tensor's payloads.
Measured as the peak resident memory added by the call (Linux: VmHWM reset through
/proc/self/clear_refs), against the tensor's decoded size and the file's total decoded size."""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
import unittest

import numpy as np

import weightjpeg
from helpers import smooth


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_extra(call):
    """(result, peak resident bytes added while `call` ran, peak bytes numpy/Python allocated)."""
    gc.collect()
    before = _status("VmRSS")
    tracemalloc.start()
    result = call()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, _status("VmHWM") - before, traced


def measure(path: str, name: str, warm_up: str) -> dict:
    """In a fresh process (so that no freed memory of the same size is already resident): opens
    `path`, reads the small tensor `warm_up` (code and allocator pools loaded), then measures
    `get_tensor(name)`."""
    with weightjpeg.safe_open(path) as f:
        f.get_tensor(warm_up)
        _reset_peak()
        tensor, extra, traced = peak_extra(lambda: f.get_tensor(name))
        declaration = f.declaration(name)
    opened_before = _status("VmRSS")
    _reset_peak()
    weightjpeg.safe_open(path).keys()
    return {"extra": extra, "traced": traced, "decoded": declaration.decoded_bytes, "stored": declaration.stored_bytes,
            "shape": list(tensor.shape), "open_extra": _status("VmHWM") - opened_before}


@unittest.skipUnless(os.path.exists("/proc/self/clear_refs") and _reset_peak(), "needs Linux's /proc/self/clear_refs to reset the peak RSS")
class LazyReadTest(unittest.TestCase):
    def test_get_tensor_reads_only_its_tensor(self) -> None:
        rows, columns, count = 1024, 2048, 8           # 8 MiB per tensor, 64 MiB decoded in all
        tensors = {f"layer.{i}.weight": smooth(rows, columns, i) for i in range(count)}
        tensors["small.bias"] = np.ones(64, dtype=np.float32)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "large.wjpg")
            weightjpeg.save_file(tensors, path, quality=50)
            code = f"import json, test_memory; print(json.dumps(test_memory.measure({path!r}, 'layer.5.weight', 'small.bias')))"
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.dirname(__file__) or ".")
            self.assertEqual(done.returncode, 0, done.stderr)
            m = json.loads(done.stdout)
        decoded = m["decoded"]
        print(f"\nget_tensor of one {decoded / 2**20:.0f} MiB tensor ({m['stored'] / 2**20:.2f} MiB stored) of a "
              f"{count * decoded / 2**20:.0f} MiB model: peak extra RSS {m['extra'] / 2**20:.1f} MiB = "
              f"{m['extra'] / decoded:.2f}x its decoded size (numpy/Python allocations {m['traced'] / 2**20:.1f} MiB); "
              f"opening: {m['open_extra'] / 2**20:.1f} MiB")
        self.assertEqual(m["shape"], [rows, columns])
        self.assertGreaterEqual(m["extra"], decoded, "the measurement sees the array itself")
        self.assertLessEqual(m["extra"], 2 * decoded, "peak extra memory of get_tensor ≤ 2× the tensor's decoded size")
        self.assertLess(m["open_extra"], decoded / 2, "opening reads the header only")


if __name__ == "__main__":
    unittest.main()
