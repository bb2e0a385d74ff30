#!/usr/bin/env python3
"""References for YaRN RoPE scaling (Qwen2.5-1M, Qwen3 long-context configs; Tests/LoupeModelsTests/RoPEScalingTests.swift).

Writes to Tests/LoupeModelsTests/Fixtures/:

  * rope_yarn.json: for four YaRN configurations (Qwen2.5-7B-Instruct-1M's, Qwen3's suggested 131k one, one with
    explicit beta_fast / beta_slow / attention_factor, and the tiny model's below), the inverse frequencies and the
    cos/sin factor transformers computes (`transformers.modeling_rope_utils._compute_yarn_parameters`), run in
    float32 on the same numpy stand-in for torch as make_rope_llama3.py (torch is not installable here), under
    /tmp/bert-venv/bin/python (transformers 4.57).
  * random_yarn.gguf.json: a tiny random-weight llama GGUF (make_rope_llama3.py's weights and sizes) whose metadata
    says `rope.scaling.type = yarn`, factor 8, original context 64, as llama.cpp's converter writes a YaRN config.
  * logits_yarn.json: llama.cpp (llama-cpp-python) on that file: top-50 log-softmax at every position of prompts of
    20-96 tokens and the greedy continuations, cross-checked against make_logit_fixtures.py's float64 numpy decoder
    with transformers' YaRN formula (frequencies blended per pair, cos and sin times 1 + 0.1 ln factor).
  * hf_checkpoint_yarn.json: the same weights as a Hugging Face folder with the YaRN rope_scaling in config.json.

Usage: python3 Tests/Fixtures/make_rope_yarn.py   (needs gguf, llama-cpp-python, and /tmp/bert-venv for part a)
"""
import base64
import json
import math
import os
import subprocess
import sys
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "LoupeModelsTests", "Fixtures")
TRANSFORMERS_PYTHON = "/tmp/bert-venv/bin/python"

# name, rope_theta, head_dim, max_position_embeddings, rope_scaling
CONFIGS = [
    ("qwen2.5-7b-instruct-1m", 10000000.0, 128, 1010000,
     {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 262144}),
    ("qwen3-131k", 1000000.0, 128, 131072,
     {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}),
    ("explicit", 500000.0, 64, 65536,
     {"rope_type": "yarn", "factor": 16.0, "original_max_position_embeddings": 4096, "beta_fast": 16.0,
      "beta_slow": 2.0, "attention_factor": 1.25}),
    ("tiny", 10000.0, 16, 512,
     {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 64}),
]


def transformers_yarn():
    import transformers
    import transformers.modeling_rope_utils as m
    from transformers import LlamaConfig

    class Tensor(np.ndarray):
        def to(self, device=None, dtype=None):
            return self.astype(dtype).view(Tensor) if dtype is not None else self

    def arange(*args, dtype=None, **kw):
        return np.arange(*args, dtype=dtype or np.int64).view(Tensor)

    torch = types.SimpleNamespace(
        int64=np.int64, float=np.float32, float32=np.float32, arange=arange,
        clamp=lambda x, lo, hi: np.clip(x, lo, hi).view(Tensor),
        where=lambda c, a, b: np.where(c, a, b).view(Tensor),
    )
    m.torch = torch
    out = []
    for name, base, hd, ctx, rs in CONFIGS:
        heads = 4
        cfg = LlamaConfig(hidden_size=hd * heads, num_attention_heads=heads, num_key_value_heads=heads, head_dim=hd,
                          rope_theta=base, rope_scaling=dict(rs), max_position_embeddings=ctx)
        inv, attention_factor = m._compute_yarn_parameters(cfg, "cpu")
        assert inv.dtype == np.float32 and inv.shape == (hd // 2,)
        out.append({"name": name, "rope_theta": base, "head_dim": hd, "max_position_embeddings": ctx,
                    "rope_scaling": rs, "inv_freq": [float(v) for v in inv],
                    "attention_factor": float(attention_factor)})
    return {"reference": f"transformers {transformers.__version__} _compute_yarn_parameters (float32)",
            "configs": out}


def yarn_numpy(base, n, factor, orig, beta_fast=32.0, beta_slow=1.0):
    """transformers' formula in float64: per-pair inverse frequencies and the cos/sin factor."""
    def corr(rot):
        return n * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(base))
    low, high = max(math.floor(corr(beta_fast)), 0), min(math.ceil(corr(beta_slow)), n - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(n // 2, dtype=np.float64) - low) / (high - low), 0, 1)
    ext = 1 - ramp
    plain = base ** (-np.arange(0, n, 2, dtype=np.float64) / n)
    inv = plain / factor * (1 - ext) + plain * ext
    return inv, (0.1 * math.log(factor) + 1 if factor > 1 else 1.0)


def main():
    if "--frequencies" in sys.argv:
        json.dump(transformers_yarn(), sys.stdout)
        return
    sys.path.insert(0, HERE)
    import make_logit_fixtures as mlf
    import make_rope_llama3 as l3

    # (a) transformers, and the float64 formula the numpy decoder uses, side by side.
    freqs = json.loads(subprocess.run([TRANSFORMERS_PYTHON, os.path.abspath(__file__), "--frequencies"],
                                      check=True, capture_output=True, text=True).stdout)
    for c in freqs["configs"]:
        rs = c["rope_scaling"]
        inv, mag = yarn_numpy(c["rope_theta"], c["head_dim"], rs["factor"], rs["original_max_position_embeddings"],
                              rs.get("beta_fast", 32.0), rs.get("beta_slow", 1.0))
        mag = rs.get("attention_factor", mag)
        rel = float(np.max(np.abs(inv - np.array(c["inv_freq"])) / inv))
        print(f"{c['name']}: float64 formula vs transformers: max relative {rel:.2e}, factor {mag} vs {c['attention_factor']}")
        assert rel < 1e-6 and abs(mag - c["attention_factor"]) < 1e-6
    with open(os.path.join(OUT, "rope_yarn.json"), "w") as f:
        json.dump(freqs, f, indent=1)

    # (b) the tiny model: make_rope_llama3's weights (same seed), YaRN metadata instead of rope_freqs.
    tiny, rs = l3.TINY, CONFIGS[3][4]
    tokens, token_types, merges = mlf.byte_vocab()
    V = len(tokens)
    W = l3.tiny_weights(np.random.default_rng(31), V)
    path = "/tmp/loupe-random_yarn.gguf"
    def yarn_metadata(w):
        # As convert_hf_to_gguf.py writes a "yarn" rope_scaling.
        from gguf import RopeScalingType
        w.add_rope_scaling_type(RopeScalingType.YARN)
        w.add_rope_scaling_factor(rs["factor"])
        w.add_rope_scaling_orig_ctx_len(rs["original_max_position_embeddings"])

    assert CONFIGS[3][1] == l3.CONFIGS[2][1], "the tiny model's rope_theta is make_rope_llama3's"
    l3.write_gguf(path, W, tokens, token_types, merges, name="loupe-random-yarn", rope_metadata=yarn_metadata)
    with open(path, "rb") as g, open(os.path.join(OUT, "random_yarn.gguf.json"), "w") as f:
        json.dump({"file": "random_yarn.gguf", "base64": base64.b64encode(g.read()).decode("ascii")}, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, vocab {V})")

    class YarnNumpy(mlf.NumpyDecoder):
        """make_logit_fixtures' float64 decoder with transformers' YaRN frequencies and cos/sin factor."""
        def rope(self, x, pos, base):
            n = self.rot
            inv, mag = yarn_numpy(base, n, rs["factor"], rs["original_max_position_embeddings"])
            return l3.rotate_adjacent(x, n, pos[:, None] * inv[None, :], mag)

    fx = l3.scaled_logits("random-yarn", path, YarnNumpy(path), 137, "without_yarn")
    with open(os.path.join(OUT, "logits_yarn.json"), "w") as f:
        json.dump(fx, f, separators=(",", ":"))

    # (c) the same weights as a Hugging Face folder.
    with open(os.path.join(OUT, "hf_checkpoint_yarn.json"), "w") as f:
        json.dump(l3.hf_folder(W, V, CONFIGS[3][1], rs), f)
    for n in ("rope_yarn.json", "random_yarn.gguf.json", "logits_yarn.json", "hf_checkpoint_yarn.json"):
        print(n, os.path.getsize(os.path.join(OUT, n)), "bytes")


if __name__ == "__main__":
    main()
