"""What Python reads from a .wjpg equals what `weightjpeg decompress` writes, bit for bit, for every
coding and dtype; a model saved from Python goes through the CLI and back; metadata; damaged files
raise `WeightJPEGError` (the interpreter never crashes)."""
from __future__ import annotations

import os
import tempfile
import unittest

import numpy as np

import weightjpeg
from helpers import bf16_bits, cli, read_bytes, read_safetensors, smooth, write_safetensors

ALL_CODINGS = {"exact", "float16", "int8-row", "jpeg", "entropy-trellis"}


def source_model() -> dict:
    """A model with every dtype the CLI handles and tensors that get every coding."""
    rng = np.random.default_rng(7)
    noise = (0.02 * rng.standard_normal((160, 384))).astype(np.float32)
    return {
        "embed.weight": ("F32", smooth(256, 512, 1)),                    # image-like: jpeg
        "dense.weight": ("F32", noise),                                   # noise-like: error-targeted
        "small.weight": ("F32", (0.1 * rng.standard_normal((32, 64))).astype(np.float32)),   # small: int8 per row
        "dense.bias": ("F32", (0.01 * rng.standard_normal(384)).astype(np.float32)),         # 1-D: float16
        "half.weight": ("F16", smooth(128, 256, 2).astype(np.float16)),
        "brain.weight": ("BF16", bf16_bits(smooth(128, 256, 3))),
        "brain.bias": ("BF16", bf16_bits(0.01 * rng.standard_normal(128).astype(np.float32))),
        "double.weight": ("F64", smooth(64, 300, 4).astype(np.float64)),
        "position_ids": ("I64", np.arange(512, dtype=np.int64)[None, :]),
        "counts": ("I32", rng.integers(-1000, 1000, (7, 9)).astype(np.int32)),
        "mask": ("BOOL", rng.random((5, 6)) > 0.5),
        "bytes": ("U8", rng.integers(0, 255, (33,)).astype(np.uint8)),
        "scalar": ("F32", np.array(1.5, dtype=np.float32)),
    }


def raw_bits(dtype: str, value: np.ndarray) -> bytes:
    """The bytes safetensors holds for what numpy returned (BF16 comes back widened to float32)."""
    if dtype == "BF16":
        bits = value.view(np.uint32)
        assert np.all(bits & 0xFFFF == 0), "a BF16 tensor widened to float32 has zero low halves"
        return (bits >> 16).astype(np.uint16).tobytes()
    return value.tobytes()


class FilesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.dir = self.folder.name

    def tearDown(self) -> None:
        self.folder.cleanup()

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def test_python_reads_what_decompress_writes_bit_for_bit(self) -> None:
        model = source_model()
        write_safetensors(self.path("m.safetensors"), model, metadata={"format": "pt", "note": "ü"})
        codings = set()
        for options in (["--quality", "20"], ["--max-rel-error", "0.02"]):
            wjpg, restored = self.path("m.wjpg"), self.path("restored.safetensors")
            cli("compress", self.path("m.safetensors"), "-o", wjpg, *options)
            cli("decompress", wjpg, "-o", restored)
            expected, metadata = read_safetensors(restored)
            loaded = weightjpeg.load_file(wjpg)
            self.assertEqual(list(loaded), list(model), "names and order")
            with weightjpeg.safe_open(wjpg, framework="np") as f:
                self.assertEqual(f.metadata(), metadata)
                self.assertEqual(f.keys(), list(model))
                for name, (dtype, shape, data) in expected.items():
                    declaration = f.declaration(name)
                    codings.add(declaration.coding)
                    self.assertEqual((declaration.dtype, declaration.shape), (dtype, shape), name)
                    lazy = f.get_tensor(name)
                    self.assertEqual(lazy.shape, shape, name)
                    self.assertEqual(raw_bits(dtype, lazy), data, f"{name} ({declaration.coding}, {options}): get_tensor")
                    self.assertEqual(raw_bits(dtype, loaded[name]), data, f"{name}: load_file")
        self.assertTrue(ALL_CODINGS <= codings, f"codings seen: {sorted(codings)}")
        self.assertTrue(any(c.startswith("fixed-row") for c in codings), f"codings seen: {sorted(codings)}")

    def test_restored_dead_units_read_as_decompress_writes(self) -> None:
        repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        model, data = os.path.join(repo, "models", "reference", "mlp_seed0.safetensors"), os.path.join(repo, "data", "mnist")
        if not os.path.exists(os.path.join(data, "train-images-idx3-ubyte.gz")) and not os.path.exists(os.path.join(data, "train-images-idx3-ubyte")):
            self.skipTest(f"MNIST is not in {data} (scripts/fetch-mnist)")
        cli("compress", model, "-o", self.path("mlp.wjpg"), "--data", data, "--remove-dead-units", "--quality", "20")
        cli("decompress", self.path("mlp.wjpg"), "-o", self.path("mlp.safetensors"))
        expected, _ = read_safetensors(self.path("mlp.safetensors"))
        original, _ = read_safetensors(model)
        with weightjpeg.safe_open(self.path("mlp.wjpg")) as f:
            for name, (dtype, shape, data_bytes) in expected.items():
                self.assertEqual(shape, original[name][1], f"{name}: decompress restores the original shape")
                self.assertEqual(f.declaration(name).shape, shape, name)
                self.assertEqual(f.get_tensor(name).tobytes(), data_bytes, name)
        first = weightjpeg.load_file(self.path("mlp.wjpg"))["0.weight"]
        self.assertGreater(int(np.sum(~first.any(axis=1))), 0, "some hidden units were removed and come back as zero rows")

    def test_saved_from_python_then_cli_and_back(self) -> None:
        rng = np.random.default_rng(3)
        tensors = {"layer.0.weight": smooth(200, 300, 5), "layer.0.bias": rng.standard_normal(200).astype(np.float32),
                   "steps": np.array([1, 2, 3], dtype=np.int64), "h": smooth(64, 256, 6).astype(np.float16)}
        weightjpeg.save_file(tensors, self.path("py.wjpg"), metadata={"source": "python"}, max_rel_error=0.01)
        self.assertIn("layer.0.weight", cli("inspect", self.path("py.wjpg")))
        cli("decompress", self.path("py.wjpg"), "-o", self.path("py.safetensors"))
        restored, metadata = read_safetensors(self.path("py.safetensors"))
        self.assertEqual(metadata, {"source": "python"})
        loaded = weightjpeg.load_file(self.path("py.wjpg"))
        for name, value in tensors.items():
            dtype, shape, data = restored[name]
            self.assertEqual((shape, loaded[name].dtype), (value.shape, value.dtype), name)
            self.assertEqual(loaded[name].tobytes(), data, name)
            if value.dtype.kind == "f":
                error = np.sqrt(np.mean((loaded[name].astype(np.float64) - value) ** 2) / np.mean(value.astype(np.float64) ** 2))
                self.assertLess(error, 0.0101 if value.ndim > 1 else 0.0011, name)
            else:
                np.testing.assert_array_equal(loaded[name], value)
        # CLI back to a .wjpg, Python reads it; bytes in memory give the same tensors.
        cli("compress", self.path("py.safetensors"), "-o", self.path("again.wjpg"), "--max-rel-error", "0.01")
        again = weightjpeg.load_file(self.path("again.wjpg"))
        self.assertEqual(list(again), list(tensors))
        from_memory = weightjpeg.load(read_bytes(self.path("py.wjpg")))
        self.assertTrue(all(np.array_equal(from_memory[k], loaded[k]) for k in tensors))
        self.assertEqual(weightjpeg.save(tensors, {"source": "python"}, max_rel_error=0.01),
                         read_bytes(self.path("py.wjpg")), "save and save_file write the same bytes")

    def test_options_and_bad_arguments(self) -> None:
        tensors = {"w": smooth(128, 256, 8)}
        sizes = {}
        for q in (10, 90):
            weightjpeg.save_file(tensors, self.path(f"q{q}.wjpg"), quality=q)
            sizes[q] = os.path.getsize(self.path(f"q{q}.wjpg"))
        self.assertLess(sizes[10], sizes[90])
        for bad, message in (({"quality": 101}, "quality"), ({"max_rel_error": 2.0}, "max_rel_error")):
            with self.assertRaisesRegex(weightjpeg.WeightJPEGError, message):
                weightjpeg.save_file(tensors, self.path("bad.wjpg"), **bad)
        with self.assertRaisesRegex(weightjpeg.WeightJPEGError, "'w'.*only finite"):
            weightjpeg.save_file({"w": np.full((64, 64), np.nan, dtype=np.float32)}, self.path("bad.wjpg"))
        with self.assertRaisesRegex(weightjpeg.WeightJPEGError, "numpy.ndarray"):
            weightjpeg.save_file({"w": [1.0, 2.0]}, self.path("bad.wjpg"))
        self.assertFalse(os.path.exists(self.path("bad.wjpg")), "a failed save leaves no file")
        with self.assertRaises(TypeError):
            weightjpeg.save_file(tensors, self.path("bad.wjpg"), qualty=3)
        # Non-contiguous and big-endian arrays are stored as their values.
        view = smooth(128, 256, 9)[:, ::2]
        big = np.arange(12, dtype=">i4").reshape(3, 4)
        weightjpeg.save_file({"view": view, "big": big}, self.path("views.wjpg"), max_rel_error=0.01)
        loaded = weightjpeg.load_file(self.path("views.wjpg"))
        np.testing.assert_array_equal(loaded["big"], big)
        self.assertEqual(loaded["view"].shape, view.shape)

    def test_damaged_and_foreign_files_raise(self) -> None:
        weightjpeg.save_file({"a": smooth(128, 256, 10), "b": smooth(64, 128, 11)}, self.path("ok.wjpg"))
        data = bytearray(read_bytes(self.path("ok.wjpg")))
        with weightjpeg.safe_open(self.path("ok.wjpg")) as f:
            b_bytes = f.declaration("b").stored_bytes
        damaged = bytearray(data)
        damaged[-b_bytes // 2] ^= 0xFF               # inside tensor b's payload
        with open(self.path("damaged.wjpg"), "wb") as f:
            f.write(damaged)
        with weightjpeg.safe_open(self.path("damaged.wjpg")) as f:   # the header is intact: opening works
            f.get_tensor("a")                                           # an undamaged tensor reads
            with self.assertRaisesRegex(weightjpeg.WeightJPEGError, r"damaged.wjpg: tensor 'b': payload \d+ is damaged") as caught:
                f.get_tensor("b")
            self.assertEqual(caught.exception.code, 5)
        with self.assertRaisesRegex(weightjpeg.WeightJPEGError, "damaged.wjpg"):
            weightjpeg.load_file(self.path("damaged.wjpg"))
        for cut in (0, 10, len(data) // 2, len(data) - 1):
            with self.assertRaises(weightjpeg.WeightJPEGError):
                weightjpeg.load(bytes(data[:cut]))
        write_safetensors(self.path("m.safetensors"), {"x": ("F32", np.zeros(4, np.float32))})
        with self.assertRaisesRegex(weightjpeg.WeightJPEGError, "safetensors"):
            weightjpeg.load_file(self.path("m.safetensors"))
        with self.assertRaisesRegex(weightjpeg.WeightJPEGError, "no such file"):
            weightjpeg.safe_open(self.path("missing.wjpg"))
        with self.assertRaises(KeyError):
            weightjpeg.safe_open(self.path("ok.wjpg")).get_tensor("missing")
        rng = np.random.default_rng(0)
        for _ in range(200):                          # random damage anywhere: an error or values, never a crash
            bad = bytearray(data)
            for at in rng.integers(0, len(bad), 3):
                bad[at] = int(rng.integers(0, 256))
            try:
                weightjpeg.load(bytes(bad))
            except weightjpeg.WeightJPEGError:
                pass


if __name__ == "__main__":
    unittest.main()
