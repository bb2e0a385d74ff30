#!/usr/bin/env python3
"""Reference data for LoupeModels' GGUF reader, writer, dequantizers and quantizers, computed with PyPI `gguf`.

Writes to Tests/LoupeModelsTests/Fixtures/:
  dequant_blocks.json    blocks of every supported type with gguf.quants.dequantize's output
                         (random blocks with valid scales, gguf-quantized random data, and real blocks read from the
                         model files in /tmp/models when present)
  dequant_quantize.json  float inputs and gguf.quants.quantize's bytes (F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1)
  gguf_python_written.json
                         a small GGUF (embedded as hex: *.gguf is git-ignored) written by gguf.GGUFWriter with every metadata value type, nested and empty-ish
                         arrays, a custom alignment and tensors of several types, plus what GGUFReader reads back;
                         Loupe's writer must reproduce the file byte for byte.

Encoding: bytes as lowercase hex; float32 values as the hex of their little-endian bytes (bit-exact).
Run: python3 Tests/Fixtures/make_gguf_fixtures.py  (gguf 0.19, numpy 2)
Check a file Loupe wrote:  LOUPE_WRITE_GGUF_TO=/tmp/l.gguf swift test --filter GGUFTests.testWriterReproduces
                           python3 Tests/Fixtures/make_gguf_fixtures.py --check /tmp/l.gguf
  (opens it with gguf.GGUFReader, dequantizes every tensor and compares it with the reference file's content)
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "LoupeModelsTests", "Fixtures")
MODELS = os.environ.get("LOUPE_FIXTURE_MODELS", "/tmp/models")
rng = np.random.default_rng(20261129)


def hexb(a) -> str:
    return np.ascontiguousarray(a).view(np.uint8).tobytes().hex()


def f32hex(a) -> str:
    return np.ascontiguousarray(a, dtype="<f4").tobytes().hex()


def random_half_scale(n, scale):
    """n float16 scale values: random magnitudes over several octaves, both signs, never inf/nan."""
    v = (rng.standard_normal(n) * scale).astype(np.float16)
    return v.view(np.uint8).reshape(n, 2)


def random_blocks(qtype: T, n: int) -> np.ndarray:
    """n random blocks of qtype whose f16 scale fields hold finite values (raw random bytes could make NaN/inf)."""
    bs, ts = gguf.GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, size=(n, ts), dtype=np.uint8)
    # byte offsets of the f16 scale fields per type (ggml-common.h)
    half_fields = {
        T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
        T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    }[qtype]
    for off in half_fields:
        b[:, off:off + 2] = random_half_scale(n, 0.05)
    # also a block with zero scales, and one with a negative scale of large magnitude
    for off in half_fields:
        b[0, off:off + 2] = np.array([0], dtype=np.float16).view(np.uint8)
        b[1, off:off + 2] = np.array([-3.5e4], dtype=np.float16).view(np.uint8)
    return b


def dequant_case(qtype: T, blocks: np.ndarray, origin: str) -> dict:
    values = dequantize(blocks.reshape(-1), qtype).astype(np.float32).reshape(-1)
    return {"type": qtype.name, "origin": origin, "bytes": hexb(blocks), "values": f32hex(values)}


def float_inputs(n_blocks: int, bs: int) -> np.ndarray:
    """Float blocks covering the interesting cases: normal data, all zeros, constants, exact ties, tiny values."""
    x = (rng.standard_normal((n_blocks, bs)) * rng.choice([1e-3, 0.1, 1, 30], size=(n_blocks, 1))).astype(np.float32)
    x[0] = 0
    x[1] = 0.25
    x[2] = np.linspace(-8, 7, bs, dtype=np.float32)
    x[3] = np.arange(bs, dtype=np.float32) - bs / 2 + 0.5
    x[4] *= 1e-6
    x[5, : bs // 2] = -x[5, bs // 2:]  # equal magnitudes of both signs: argmax picks the first
    return x


def main() -> None:
    os.makedirs(OUT, exist_ok=True)

    # ---- dequantization ----
    cases = []
    for qt in [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]:
        cases.append(dequant_case(qt, random_blocks(qt, 6), "random"))
    for qt in [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]:
        x = float_inputs(6, 32)
        cases.append(dequant_case(qt, quantize(x, qt).reshape(6, -1), "gguf.quantize"))
    # plain types: F32 (identity on bits, including -0 and inf), F16 and BF16 over many bit patterns
    f32 = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, 3.4e38, 1e-45], dtype=np.float32)
    cases.append(dequant_case(T.F32, f32.view(np.uint8).reshape(-1, 4), "edge"))
    h = np.arange(0, 65536, 97, dtype=np.uint16)
    h = h[(h & 0x7C00) != 0x7C00]  # finite halves (NaN payload handling is not part of the contract)
    h = np.concatenate([h, np.array([0x7C00, 0xFC00, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF], dtype=np.uint16)])
    cases.append(dequant_case(T.F16, h.view(np.uint8).reshape(-1, 2), "bit patterns"))
    b = np.arange(0, 65536, 89, dtype=np.uint16)
    cases.append(dequant_case(T.BF16, b.view(np.uint8).reshape(-1, 2), "bit patterns"))

    # real blocks from the shipped model files (first, second and a middle block of a few tensors)
    real = {
        "SmolLM2-135M-Instruct.Q4_1.gguf": ["token_embd.weight", "blk.0.ffn_down.weight", "blk.0.attn_norm.weight"],
        "gemma-3-270m-q4_k_m.gguf": ["token_embd.weight", "blk.0.attn_k.weight", "blk.0.attn_output.weight",
                                     "blk.2.ffn_down.weight", "blk.0.ffn_down.weight"],
    }
    for fname, names in real.items():
        path = os.path.join(MODELS, fname)
        if not os.path.exists(path):
            print(f"note: {path} absent, no real blocks from it", file=sys.stderr)
            continue
        r = gguf.GGUFReader(path)
        by_name = {t.name: t for t in r.tensors}
        for name in names:
            t = by_name[name]
            bs, ts = gguf.GGML_QUANT_SIZES[t.tensor_type]
            raw = np.asarray(r.data[t.data_offset:t.data_offset + t.n_bytes]).reshape(-1, ts)
            pick = [0, 1, len(raw) // 2] if t.tensor_type != T.F32 else [0]
            blocks = raw[pick] if t.tensor_type != T.F32 else raw[:64]
            cases.append(dequant_case(t.tensor_type, blocks, f"{fname}:{name}:{pick}"))
    with open(os.path.join(OUT, "dequant_blocks.json"), "w") as f:
        json.dump({"generator": "Tests/Fixtures/make_gguf_fixtures.py", "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19",
                   "cases": cases}, f, separators=(",", ":"))

    # ---- quantization ----
    qcases = []
    for qt in [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]:
        x = float_inputs(12, 32)
        qcases.append({"type": qt.name, "input": f32hex(x), "bytes": hexb(quantize(x, qt))})
    # F16: numpy's astype (round to nearest even; overflow to inf; subnormals), BF16: gguf's quantize
    edge = np.array([0.0, -0.0, 1.0, 65504.0, 65519.99, 65520.0, 1e6, -1e6, 2.0 ** -24, 2.0 ** -25,
                     2.0 ** -25 * 1.0001, 3 * 2.0 ** -26, 2.0 ** -14, 2.0 ** -14 * (1 - 2.0 ** -11),
                     1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, np.inf, -np.inf], dtype=np.float32)
    x = np.concatenate([edge, (rng.standard_normal(400) * np.exp(rng.uniform(-20, 12, 400))).astype(np.float32)])
    with np.errstate(over="ignore"):  # overflow to inf is one of the cases
        qcases.append({"type": "F16", "input": f32hex(x), "bytes": hexb(x.astype(np.float16))})
    qcases.append({"type": "BF16", "input": f32hex(x), "bytes": hexb(quantize(x, T.BF16))})
    with open(os.path.join(OUT, "dequant_quantize.json"), "w") as f:
        json.dump({"generator": "Tests/Fixtures/make_gguf_fixtures.py", "cases": qcases}, f, separators=(",", ":"))

    write_python_gguf()


def write_python_gguf() -> None:
    """A small file with every value type written by gguf-python; Loupe's writer must match it byte for byte."""
    path = os.path.join(OUT, "gguf_python_written.gguf.tmp")
    w = gguf.GGUFWriter(path, "loupetest")
    V = gguf.GGUFValueType
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_uint64("t.u64", 18000000000000000000)
    w.add_int64("t.i64", -9000000000000000000)
    w.add_float32("t.f32", 0.1)
    w.add_float64("t.f64", -1e300)
    w.add_bool("t.bool", True)
    w.add_bool("t.false", False)
    w.add_string("t.str", "héllo ✓ 世界")
    w.add_string("t.empty", "")  # gguf-python skips empty strings: this writes nothing
    w.add_key_value("t.arr.str", ["a", "", "ü", "<0x0A>"], V.ARRAY, sub_type=V.STRING)
    w.add_key_value("t.arr.f32", [1.5, -2.0, 3.25], V.ARRAY, sub_type=V.FLOAT32)
    w.add_key_value("t.arr.i32", [1, -2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("t.arr.u8", [0, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_key_value("t.arr.bool", [True, False], V.ARRAY, sub_type=V.BOOL)
    w.add_key_value("t.arr.f64", [0.5], V.ARRAY, sub_type=V.FLOAT64)
    w.add_key_value("t.arr.i64", [-(2 ** 40)], V.ARRAY, sub_type=V.INT64)
    w.add_key_value("t.arr.nested", [[1, 2], [3]], V.ARRAY, sub_type=V.ARRAY)
    x = (np.arange(2 * 64, dtype=np.float32).reshape(2, 64) - 60) / 7
    w.add_tensor("w.f32", x)
    w.add_tensor("w.f16", x[:1, :48].astype(np.float16))
    w.add_tensor("w.q8_0", quantize(x, T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("w.q4_0", quantize(x, T.Q4_0), raw_dtype=T.Q4_0)
    w.add_tensor("w.bf16", quantize(x[1], T.BF16), raw_dtype=T.BF16)
    w.add_tensor("w.scalar", np.array([3.0], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # What GGUFReader reads back: the reference for Loupe's reader.
    r = gguf.GGUFReader(path)
    meta = []
    for field in r.fields.values():
        vt = field.types[0]
        val = field.contents()
        if field.name.startswith("GGUF."):
            continue  # the reader's pseudo-fields for the header counts
        if field.name == "t.arr.nested":
            val = [[1, 2], [3]]  # GGUFReader.contents() flattens nested arrays; this is what was written (int32)
        meta.append({"key": field.name, "type": vt.name, "value": val,
                     "element_type": field.types[1].name if vt == V.ARRAY else None})
    tensors = []
    for t in r.tensors:
        vals = dequantize(np.asarray(t.data).reshape(-1) if t.tensor_type not in (T.F32, T.F16) else np.asarray(t.data),
                          t.tensor_type).astype(np.float32).reshape(-1)
        tensors.append({"name": t.name, "type": t.tensor_type.name, "dims": [int(d) for d in t.shape],
                        "offset": int(t.data_offset), "n_bytes": int(t.n_bytes), "values": f32hex(vals),
                        "input": f32hex(x.reshape(-1)) if t.name in ("w.q8_0", "w.q4_0") else None})
    with open(os.path.join(OUT, "gguf_python_written.json"), "w") as f:
        json.dump({"generator": "Tests/Fixtures/make_gguf_fixtures.py", "alignment": 64,
                   "file_size": os.path.getsize(path), "file_hex": open(path, "rb").read().hex(),
                   "metadata": meta, "tensors": tensors},
                  f, indent=1, default=float)
    os.remove(path)


def check(path: str) -> None:
    """Opens a Loupe-written GGUF with gguf-python and compares it with the fixture's reference content."""
    ref = json.load(open(os.path.join(OUT, "gguf_python_written.json")))
    r = gguf.GGUFReader(path)
    fields = {k: v for k, v in r.fields.items() if not k.startswith("GGUF.")}
    assert [m["key"] for m in ref["metadata"]] == list(fields), "metadata keys differ"
    for m in ref["metadata"]:
        if m["key"] != "t.arr.nested":
            assert fields[m["key"]].contents() == m["value"], m["key"]
    for t, rt in zip(r.tensors, ref["tensors"]):
        vals = dequantize(np.asarray(t.data).reshape(-1) if t.tensor_type not in (T.F32, T.F16) else np.asarray(t.data),
                          t.tensor_type).astype(np.float32).reshape(-1)
        assert t.name == rt["name"] and f32hex(vals) == rt["values"], t.name
    print(f"{path}: GGUFReader reads {len(fields)} keys and {len(r.tensors)} tensors, all equal to the reference")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        main()
