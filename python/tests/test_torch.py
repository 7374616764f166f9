"""weightjpeg.torch: state dicts in and out, BF16 and F16 kept, the same bits as `decompress` +
safetensors.torch. Skipped when torch is not installed (scripts/test-interfaces installs it from a
wheel on the machine when there is one; CI never downloads torch)."""
from __future__ import annotations

import os
import tempfile
import unittest

import numpy as np

import weightjpeg
from helpers import bf16_bits, cli, read_safetensors, smooth, write_safetensors

try:
    import torch
    import weightjpeg.torch as wtorch
except ImportError as e:  # pragma: no cover - depends on the machine
    torch = None
    reason = f"torch is not installed ({e}); scripts/test-interfaces installs it from $WEIGHTJPEG_TORCH_WHEEL or /opt/wheels/torch-*.whl"
else:
    reason = ""


@unittest.skipIf(torch is None, reason)
class TorchTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.dir = self.folder.name

    def tearDown(self) -> None:
        self.folder.cleanup()

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def test_state_dict_round_trip_keeps_dtypes(self) -> None:
        generator = torch.Generator().manual_seed(0)
        state = {
            "encoder.weight": torch.from_numpy(smooth(256, 384, 1)).to(torch.bfloat16),
            "encoder.bias": (0.01 * torch.randn(256, generator=generator)).to(torch.bfloat16),
            "decoder.weight": torch.from_numpy(smooth(384, 256, 2)).to(torch.float16),
            "head.weight": 0.05 * torch.randn(10, 384, generator=generator),
            "steps": torch.tensor([3, 1, 4], dtype=torch.int64),
            "flag": torch.tensor(True),
        }
        wtorch.save_file(state, self.path("m.wjpg"), metadata={"format": "pt"}, max_rel_error=0.01)
        loaded = wtorch.load_file(self.path("m.wjpg"))
        self.assertEqual(list(loaded), list(state))
        for name, value in state.items():
            self.assertEqual((loaded[name].dtype, loaded[name].shape), (value.dtype, value.shape), name)
            if value.is_floating_point():
                a, b = loaded[name].double(), value.double()
                self.assertLess(float(((a - b).pow(2).mean() / b.pow(2).mean()).sqrt()), 0.0101, name)
            else:
                self.assertTrue(torch.equal(loaded[name], value), name)
        module = torch.nn.Linear(384, 10, bias=False)
        module.load_state_dict({"weight": loaded["head.weight"]})
        with weightjpeg.safe_open(self.path("m.wjpg"), framework="pt") as f:
            self.assertEqual(f.metadata(), {"format": "pt"})
            self.assertTrue(torch.equal(f.get_tensor("encoder.weight"), loaded["encoder.weight"]))
        self.assertTrue(torch.equal(wtorch.load(wtorch.save(state, max_rel_error=0.01))["decoder.weight"], loaded["decoder.weight"]))

    def test_same_bits_as_decompress_and_safetensors(self) -> None:
        rng = np.random.default_rng(5)
        write_safetensors(self.path("m.safetensors"), {
            "a.weight": ("BF16", bf16_bits(smooth(128, 256, 3))),
            "b.weight": ("F16", smooth(128, 256, 4).astype(np.float16)),
            "c.weight": ("F32", (0.02 * rng.standard_normal((96, 256))).astype(np.float32)),
            "c.bias": ("BF16", bf16_bits(0.01 * rng.standard_normal(96).astype(np.float32))),
        })
        cli("compress", self.path("m.safetensors"), "-o", self.path("m.wjpg"))
        cli("decompress", self.path("m.wjpg"), "-o", self.path("r.safetensors"))
        expected, _ = read_safetensors(self.path("r.safetensors"))
        loaded = wtorch.load_file(self.path("m.wjpg"))
        for name, (dtype, shape, data) in expected.items():
            tensor = loaded[name]
            self.assertEqual(tuple(tensor.shape), shape)
            raw = tensor.view(torch.int16 if tensor.element_size() == 2 else torch.int32).numpy().tobytes()
            self.assertEqual(raw, data, f"{name} ({dtype})")
        try:
            from safetensors.torch import load_file as st_load
        except ImportError:
            return
        reference = st_load(self.path("r.safetensors"))
        self.assertTrue(all(torch.equal(reference[k], loaded[k]) for k in reference))


if __name__ == "__main__":
    unittest.main()
