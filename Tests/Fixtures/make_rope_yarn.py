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


def write_gguf(path, W, tokens, token_types, merges, tiny, rs):
    from gguf import GGUFWriter, RopeScalingType
    w = GGUFWriter(path, "llama")
    w.add_name("loupe-random-yarn")
    w.add_block_count(tiny["layers"])
    w.add_context_length(tiny["context"])
    w.add_embedding_length(tiny["d"])
    w.add_feed_forward_length(tiny["ff"])
    w.add_head_count(tiny["heads"])
    w.add_head_count_kv(tiny["kv"])
    w.add_rope_dimension_count(tiny["hd"])
    w.add_rope_freq_base(CONFIGS[3][1])
    # As convert_hf_to_gguf.py writes a "yarn" rope_scaling.
    w.add_rope_scaling_type(RopeScalingType.YARN)
    w.add_rope_scaling_factor(rs["factor"])
    w.add_rope_scaling_orig_ctx_len(rs["original_max_position_embeddings"])
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(0)
    V = len(tokens)
    w.add_vocab_size(V)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(token_types)
    w.add_token_merges(merges)
    w.add_bos_token_id(V - 3)
    w.add_eos_token_id(V - 1)
    w.add_add_bos_token(False)
    import make_rope_llama3 as l3
    w.add_tensor("token_embd.weight", W["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", W["model.norm.weight"])
    w.add_tensor("output.weight", W["lm_head.weight"])
    names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for l in range(tiny["layers"]):
        for hf, gg in names.items():
            a = W[f"model.layers.{l}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                a = l3.permute_to_gguf(a, tiny["heads"])
            elif hf == "self_attn.k_proj":
                a = l3.permute_to_gguf(a, tiny["kv"])
            w.add_tensor(f"blk.{l}.{gg}.weight", np.ascontiguousarray(a))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    if "--frequencies" in sys.argv:
        json.dump(transformers_yarn(), sys.stdout)
        return
    sys.path.insert(0, HERE)
    import make_logit_fixtures as mlf
    import make_rope_llama3 as l3
    from safetensors.numpy import save as st_save

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
    write_gguf(path, W, tokens, token_types, merges, tiny, rs)
    with open(path, "rb") as g, open(os.path.join(OUT, "random_yarn.gguf.json"), "w") as f:
        json.dump({"file": "random_yarn.gguf", "base64": base64.b64encode(g.read()).decode("ascii")}, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, vocab {V})")

    class YarnNumpy(mlf.NumpyDecoder):
        """make_logit_fixtures' float64 decoder with transformers' YaRN frequencies and cos/sin factor."""
        def rope(self, x, pos, base):
            n = self.rot
            inv, mag = yarn_numpy(base, n, rs["factor"], rs["original_max_position_embeddings"])
            ang = pos[:, None] * inv[None, :]
            c, s = (mag * np.cos(ang))[:, None, :], (mag * np.sin(ang))[:, None, :]
            y = x.copy()
            a, b = x[..., 0:n:2], x[..., 1:n:2]
            y[..., 0:n:2] = a * c - b * s
            y[..., 1:n:2] = a * s + b * c
            return y

    prng = np.random.default_rng(137)
    prompts = [prng.integers(0, V - 3, size=n).tolist() for n in (20, 48, 96)]
    fx = mlf.fixture("random-yarn", "random_yarn.gguf", prompts, mlf.LlamaCpp(path), YarnNumpy(path), False)
    plain = mlf.NumpyDecoder(path)
    moved = 0.0
    for p, ids in zip(fx["prompts"], prompts):
        lp = mlf.log_softmax(plain.logits(ids))
        for t, (top, vals) in enumerate(zip(p["top_ids"], p["top_logprobs"])):
            moved = max(moved, float(np.max(np.abs(lp[t, top] - np.array(vals)))))
    fx["without_yarn_max_abs_logprob_diff"] = round(moved, 6)
    print(f"  without YaRN the top-50 log-probabilities move by up to {moved:.3f}")
    with open(os.path.join(OUT, "logits_yarn.json"), "w") as f:
        json.dump(fx, f, separators=(",", ":"))

    # (c) the same weights as a Hugging Face folder.
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": tiny["d"],
           "intermediate_size": tiny["ff"], "num_hidden_layers": tiny["layers"],
           "num_attention_heads": tiny["heads"], "num_key_value_heads": tiny["kv"], "head_dim": tiny["hd"],
           "vocab_size": V, "max_position_embeddings": tiny["context"], "rms_norm_eps": 1e-5,
           "rope_theta": CONFIGS[3][1], "rope_scaling": rs, "tie_word_embeddings": False,
           "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "torch_dtype": "float32",
           "bos_token_id": V - 3, "eos_token_id": V - 1}
    files = {"config.json": json.dumps(cfg, indent=1).encode(),
             "model.safetensors": st_save(W, metadata={"format": "pt"})}
    with open(os.path.join(OUT, "hf_checkpoint_yarn.json"), "w") as f:
        json.dump({"files": {k: base64.b64encode(v).decode() for k, v in files.items()}}, f)
    for n in ("rope_yarn.json", "random_yarn.gguf.json", "logits_yarn.json", "hf_checkpoint_yarn.json"):
        print(n, os.path.getsize(os.path.join(OUT, n)), "bytes")


if __name__ == "__main__":
    main()
