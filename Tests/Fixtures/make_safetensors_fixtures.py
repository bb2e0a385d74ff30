#!/usr/bin/env python3
"""Reference data for LoupeModels' safetensors reader and writer, computed with PyPI `safetensors` and numpy.

Writes Tests/LoupeModelsTests/Fixtures/safetensors_reference.json:
  minilm     facts about the real all-MiniLM-L6-v2 model.safetensors (read with safetensors.numpy.load_file):
             tensor count, metadata, and for a few tensors dtype, shape, float64 sum, and a slice's float32 bits
  written    a small file written by safetensors.numpy.save_file (F32, F16, I64 tensors, metadata), embedded as hex
             (*.safetensors is git-ignored), with its tensors' values; Loupe's writer must reproduce it byte for byte
  bf16       a BF16 tensor (safetensors.numpy has no bfloat16 dtype, so its bytes are written by hand) and its values
  config     fields of MiniLM's config.json as json.load reads them

Run: python3 Tests/Fixtures/make_safetensors_fixtures.py   (needs /tmp/models/minilm or $LOUPE_FIXTURE_MINILM)
"""
import json
import os
import tempfile

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "LoupeModelsTests", "Fixtures", "safetensors_reference.json")
MINILM = os.environ.get("LOUPE_FIXTURE_MINILM", "/tmp/models/minilm")


def f32hex(a) -> str:
    return np.ascontiguousarray(a, dtype="<f4").tobytes().hex()


def main() -> None:
    ref = {"generator": "Tests/Fixtures/make_safetensors_fixtures.py"}

    path = os.path.join(MINILM, "model.safetensors")
    tensors = load_file(path)
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    picks = ["embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
             "encoder.layer.5.output.LayerNorm.bias", "embeddings.position_ids"]
    ref["minilm"] = {
        "tensor_count": len(tensors),
        "metadata": header.get("__metadata__", {}),
        "header_length": n,
        "tensors": [{
            "name": k, "dtype": header[k]["dtype"], "shape": list(tensors[k].shape),
            "data_offsets": header[k]["data_offsets"],
            "sum": float(tensors[k].astype(np.float64).sum()),
            # row 1 (or the first 16 values of a vector): exact float32 bits
            "slice": f32hex(tensors[k].reshape(-1)[tensors[k].shape[-1]:tensors[k].shape[-1] + 16]
                            if tensors[k].ndim > 1 else tensors[k][:16]) if tensors[k].dtype == np.float32 else None,
        } for k in picks],
    }

    rng = np.random.default_rng(7)
    small = {
        "w.f32": rng.standard_normal((3, 5)).astype(np.float32),
        "b.f16": rng.standard_normal(7).astype(np.float16),
        "ids": np.arange(4, dtype=np.int64).reshape(2, 2),
        "a.scalar": np.array(2.5, dtype=np.float32),
    }
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "small.safetensors")
        save_file(small, p, metadata={"format": "pt", "note": "loupe \u2713"})
        raw = open(p, "rb").read()
        back = load_file(p)
    ref["written"] = {
        "hex": raw.hex(),
        "metadata": {"format": "pt", "note": "loupe \u2713"},
        "tensors": [{"name": k, "dtype": {"float32": "F32", "float16": "F16", "int64": "I64"}[str(v.dtype)],
                     "shape": list(v.shape),
                     "values": f32hex(v.astype(np.float32).reshape(-1)) if v.dtype != np.int64 else None,
                     "raw": v.tobytes().hex()}
                    for k, v in small.items()],
    }
    assert all(np.array_equal(back[k], v) for k, v in small.items())

    x = rng.standard_normal(12).astype(np.float32)
    bits = x.view(np.uint32)
    bf = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even
    ref["bf16"] = {"shape": [3, 4], "bytes": bf.tobytes().hex(),
                   "values": f32hex((bf.astype(np.uint32) << 16).view(np.float32))}

    with open(os.path.join(MINILM, "config.json")) as f:
        ref["config"] = json.load(f)

    with open(OUT, "w") as f:
        json.dump(ref, f, indent=1)


if __name__ == "__main__":
    main()
