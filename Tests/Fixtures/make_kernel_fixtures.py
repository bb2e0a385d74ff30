#!/usr/bin/env python3
"""Fixtures for the weight-matrix kernels (Tests/LoupeModelsTests/KernelTests.swift).

For every format WeightMatrix reads, a small matrix with an odd number of rows, stored as the model file would
store it (hex bytes). Where PyPI `gguf` can quantize the format (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1),
the matrix is random normal data quantized by `gguf.quants.quantize`. Q4_K and Q6_K blocks are the first blocks
of real tensors of gemma-3-270m-q4_k_m.gguf (the shipped model; it has no Q5_K tensor). Q5_K blocks are random
bytes with sane scales: every bit pattern of qs/qh/scales is a valid block, and gguf's dequantize defines its
values just the same.

References, all from gguf and numpy:
  dequantized  the float32 values of `gguf.quants.dequantize`, hex of their little-endian bits (row() must
               match bit for bit)
  y            Y = X W^T in float64 (10 significant digits), for X = the first 130 activation vectors of the generator below
  absy         sum_j |w_ij x_tj|, the scale of each y's rounding error

The activations come from a 32-bit LCG, so the Swift test regenerates them exactly (no floats in the file):
  s = (1664525 s + 1013904223) mod 2^32, starting from s = seed; x = (s >> 8) * 2^-23 - 1   (exact in float32)

Run from the repository root:  python3 Tests/Fixtures/make_kernel_fixtures.py [path/to/gemma-3-270m-q4_k_m.gguf]
"""
import json
import os
import sys

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

TOKENS = 130
OUT = os.path.join(os.path.dirname(__file__), "..", "LoupeModelsTests", "Fixtures", "kernels.json")


def lcg_floats(seed: int, count: int) -> np.ndarray:
    s = seed & 0xFFFFFFFF
    out = np.empty(count, dtype=np.float64)
    for i in range(count):
        s = (1664525 * s + 1013904223) & 0xFFFFFFFF
        out[i] = (s >> 8) * 2.0**-23 - 1.0
    return out.astype(np.float32)


def real_blocks(path: str, qtype: Q, n_blocks: int) -> np.ndarray:
    reader = gguf.GGUFReader(path)
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    for t in reader.tensors:
        if t.tensor_type == qtype:
            raw = np.asarray(t.data).view(np.uint8).reshape(-1)
            return raw[: n_blocks * size].copy()
    raise SystemExit(f"{path} has no {qtype.name} tensor")


def random_q5k_blocks(rng: np.random.Generator, n_blocks: int) -> np.ndarray:
    blocks = rng.integers(0, 256, size=(n_blocks, 176), dtype=np.uint8)
    d = rng.uniform(0.0005, 0.003, size=n_blocks).astype(np.float16)
    dmin = rng.uniform(0.0005, 0.003, size=n_blocks).astype(np.float16)
    blocks[:, 0:2] = d.view(np.uint8).reshape(n_blocks, 2)
    blocks[:, 2:4] = dmin.view(np.uint8).reshape(n_blocks, 2)
    return blocks.reshape(-1)


def case(name: str, qtype: Q, rows: int, cols: int, raw: np.ndarray, seed: int) -> dict:
    raw = np.ascontiguousarray(raw, dtype=np.uint8).reshape(rows, -1)
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    assert raw.shape[1] == cols // block * size, (name, raw.shape)
    w = gguf.quants.dequantize(raw, qtype).astype(np.float32).reshape(rows, cols)
    x = lcg_floats(seed, TOKENS * cols).reshape(TOKENS, cols)
    w64, x64 = w.astype(np.float64), x.astype(np.float64)
    y = x64 @ w64.T
    absy = np.abs(x64) @ np.abs(w64).T
    return {
        "name": name,
        "type": qtype.name,
        "rows": rows,
        "cols": cols,
        "seed": seed,
        "bytes": raw.tobytes().hex(),
        "dequantized": w.astype("<f4").tobytes().hex(),
        # 10 significant digits are far below the 1e-5 tolerance; the error scale needs only 3.
        "y": [float("%.10g" % v) for v in y.reshape(-1)],
        "absy": [float("%.3g" % v) for v in absy.reshape(-1)],
    }


def main() -> None:
    gemma = sys.argv[1] if len(sys.argv) > 1 else "/tmp/models/gemma-3-270m-q4_k_m.gguf"
    rng = np.random.default_rng(20261129)
    cases = []
    # 32-value block formats (and the plain ones): 13 rows x 96 columns, quantized by gguf itself.
    rows, cols = 13, 96
    for i, qtype in enumerate([Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1]):
        data = rng.standard_normal((rows, cols)).astype(np.float32) * 0.05
        raw = np.ascontiguousarray(gguf.quants.quantize(data, qtype)).view(np.uint8)
        cases.append(case(f"random-{qtype.name}", qtype, rows, cols, raw, seed=100 + i))
    # K-quants: 5 rows x 512 columns (two superblocks a row).
    rows, cols = 5, 512
    n = rows * cols // 256
    cases.append(case("gemma-Q4_K", Q.Q4_K, rows, cols, real_blocks(gemma, Q.Q4_K, n), seed=200))
    cases.append(case("gemma-Q6_K", Q.Q6_K, rows, cols, real_blocks(gemma, Q.Q6_K, n), seed=201))
    cases.append(case("random-Q5_K", Q.Q5_K, rows, cols, random_q5k_blocks(rng, n), seed=202))
    # A real Q5_0 block run too (gemma's attention and FFN projections are Q5_0).
    cases.append(case("gemma-Q5_0", Q.Q5_0, 7, 640, real_blocks(gemma, Q.Q5_0, 7 * 20), seed=203))

    doc = {
        "generator": "Tests/Fixtures/make_kernel_fixtures.py",
        "gguf_version": getattr(gguf, "__version__", "unknown"),
        "tokens": TOKENS,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {OUT}: {len(cases)} cases, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
