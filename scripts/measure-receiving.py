"""Timings and memory of the Python receiving side (scripts/measure-receiving runs it).
Usage: measure-receiving.py WEIGHTJPEG_BINARY MODEL.wjpg WORK_DIR"""
import json
import os
import subprocess
import sys
import time

import safetensors.torch
import torch

import weightjpeg
import weightjpeg.torch

binary, wjpg, work = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
restored = os.path.join(work, "minilm-restored.safetensors")
RUNS = 5


def decompress() -> None:
    subprocess.run([binary, "decompress", wjpg, "-o", restored], check=True, stdout=subprocess.DEVNULL)


def decompress_then_safetensors() -> None:
    decompress()
    safetensors.torch.load_file(restored)


def best(label: str, run) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(f"  {label:48s} best {min(times) * 1000:7.1f} ms   median {sorted(times)[RUNS // 2] * 1000:7.1f} ms")
    return min(times)


with weightjpeg.safe_open(wjpg) as f:
    declarations = [f.declaration(k) for k in f.keys()]
print(f"{wjpg}: {os.path.getsize(wjpg):,} bytes, {len(declarations)} tensors, "
      f"{sum(d.decoded_bytes for d in declarations):,} bytes decoded; library {weightjpeg.library_version()}, "
      f"torch {torch.__version__} ({torch.get_num_threads()} threads), {os.cpu_count()} cores")
state = weightjpeg.torch.load_file(wjpg)            # warm-up (page cache, code)
decompress_then_safetensors()
reference = safetensors.torch.load_file(restored)
assert all(torch.equal(reference[k], state[k]) for k in reference), "weightjpeg.torch.load_file differs from decompress"
t_cli = best("weightjpeg decompress", decompress)
t_both = best("decompress + safetensors.torch.load_file", decompress_then_safetensors)
t_torch = best("weightjpeg.torch.load_file", lambda: weightjpeg.torch.load_file(wjpg))
t_np = best("weightjpeg.load_file (numpy)", lambda: weightjpeg.load_file(wjpg))
print(f"weightjpeg.torch.load_file / decompress = {t_torch / t_cli:.2f} (target ≤ 1.5); "
      f"/ (decompress + safetensors.torch.load_file) = {t_torch / t_both:.2f} (target < 1)")

# Peak extra memory of get_tensor, each in a fresh process (tests/test_memory.measure).
tests = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python", "tests")
largest = {}
for d in declarations:
    if d.coding not in largest or d.decoded_bytes > largest[d.coding].decoded_bytes:
        largest[d.coding] = d
smallest = min(declarations, key=lambda d: d.decoded_bytes).name
print("peak extra memory of safe_open(...).get_tensor (target ≤ 2× decoded size):")
for coding, d in sorted(largest.items(), key=lambda kv: -kv[1].decoded_bytes):
    code = f"import json, test_memory; print(json.dumps(test_memory.measure({wjpg!r}, {d.name!r}, {smallest!r})))"
    m = json.loads(subprocess.run([sys.executable, "-c", code], cwd=tests, capture_output=True, text=True, check=True).stdout)
    print(f"  {d.name:45s} {d.dtype:4s} {coding:16s} decoded {d.decoded_bytes / 2**20:6.2f} MiB  "
          f"peak extra {m['extra'] / 2**20:6.2f} MiB = {m['extra'] / d.decoded_bytes:.2f}×")
