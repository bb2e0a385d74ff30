#!/usr/bin/env python3
"""References for Llama 3.1 / 3.2 "llama3" RoPE frequency scaling (Tests/LoupeModelsTests/RoPEScalingTests.swift).

Writes to Tests/LoupeModelsTests/Fixtures/:

  * rope_llama3.json: for three llama3 configurations (Llama-3.2-1B's, Llama-3.1-8B's, and the tiny model's below),
    the inverse frequencies transformers computes (`transformers.modeling_rope_utils._compute_llama3_parameters`,
    the function LlamaRotaryEmbedding calls) and the plain ones (`_compute_default_rope_parameters`).
    torch is not installable here (only PyPI's multi-GB CUDA build exists), so the two transformers functions run
    unchanged on a four-name stand-in for torch backed by numpy float32 (`arange`, `where`, `int64`, `float`): the
    arithmetic is the functions' own, in float32 as torch does it. This part runs under /tmp/bert-venv/bin/python
    (transformers 4.57); the main script calls it there as a subprocess.
  * random_llama3.gguf.json: a tiny random-weight llama GGUF (2 layers, d_model 32, 2 heads over 1 kv head,
    head_dim 16, byte-level BPE vocabulary of make_logit_fixtures.py) whose `rope_freqs.weight` holds the tiny
    configuration's per-pair factors, computed from transformers' numbers exactly as llama.cpp's converter stores
    them (plain inv_freq / llama3 inv_freq), base64-wrapped like the other random GGUF fixtures.
  * logits_llama3.json: llama.cpp (llama-cpp-python) on that file: top-50 log-softmax at every position of prompts
    of 20-96 tokens (the tiny configuration's original context is 64 positions and its slow pairs are divided by 8,
    so the scaling changes angles by radians from position ~10 on), and the greedy continuations; cross-checked
    against make_logit_fixtures.py's float64 numpy decoder with the factors applied.
  * hf_checkpoint_llama3.json: the same weights as a Hugging Face folder (config.json with the llama3 rope_scaling,
    model.safetensors with rotate-half q/k rows, i.e. the GGUF rows un-permuted), so the HF loader is checked
    against the same llama.cpp numbers.

Usage: python3 Tests/Fixtures/make_rope_llama3.py   (needs gguf, llama-cpp-python, and /tmp/bert-venv for part a)
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

# name, rope_theta, head_dim, rope_scaling
CONFIGS = [
    ("llama-3.2-1b", 500000.0, 64,
     {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192}),
    ("llama-3.1-8b", 500000.0, 128,
     {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192}),
    ("tiny", 10000.0, 16,
     {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 64}),
]
TINY = dict(d=32, heads=2, kv=1, hd=16, ff=64, layers=2, context=256)


# ----------------------------------------------------------------------------------------------------------------
# (a) transformers' inverse frequencies (runs under TRANSFORMERS_PYTHON)

def transformers_frequencies():
    import transformers
    import transformers.modeling_rope_utils as m
    from transformers import LlamaConfig

    class Tensor(np.ndarray):
        """float32/int64 numpy array with torch's `.to(device=, dtype=)`."""
        def to(self, device=None, dtype=None):
            return self.astype(dtype).view(Tensor) if dtype is not None else self

    torch = types.SimpleNamespace(
        int64=np.int64, float=np.float32,
        arange=lambda start, end, step, dtype: np.arange(start, end, step, dtype=dtype).view(Tensor),
        where=lambda c, a, b: np.where(c, a, b).view(Tensor),
    )
    m.torch = torch  # the module imported no torch (none installed); its functions look the name up at call time
    out = []
    for name, base, hd, rs in CONFIGS:
        heads = 4
        cfg = LlamaConfig(hidden_size=hd * heads, num_attention_heads=heads, num_key_value_heads=heads, head_dim=hd,
                          rope_theta=base, rope_scaling=dict(rs), max_position_embeddings=131072)
        inv, _ = m._compute_llama3_parameters(cfg, "cpu")
        plain, _ = m._compute_default_rope_parameters(cfg, "cpu")
        assert inv.dtype == np.float32 and inv.shape == (hd // 2,)
        out.append({"name": name, "rope_theta": base, "head_dim": hd, "rope_scaling": rs,
                    "inv_freq": [float(v) for v in inv], "default_inv_freq": [float(v) for v in plain]})
    return {"reference": f"transformers {transformers.__version__} _compute_llama3_parameters (float32)",
            "configs": out}


# ----------------------------------------------------------------------------------------------------------------
# (b) tiny random llama with rope_freqs

def permute_to_gguf(w, heads):
    """convert_hf_to_gguf's LlamaModel.permute: rotate-half rows of each head -> adjacent pairs."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tiny_weights(rng, V):
    t = TINY
    d, hd, ff = t["d"], t["hd"], t["ff"]

    def mat(rows, cols, gain=1.0):
        return (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    W = {"model.embed_tokens.weight": rng.standard_normal((V, d)).astype(np.float32),
         "model.norm.weight": norm(d), "lm_head.weight": mat(V, d, 4.0)}
    for l in range(t["layers"]):
        p = f"model.layers.{l}."
        W[p + "input_layernorm.weight"] = norm(d)
        # Large q/k gains: attention must depend strongly on the rotation angles, so wrong factors show.
        W[p + "self_attn.q_proj.weight"] = mat(t["heads"] * hd, d, 4.0)
        W[p + "self_attn.k_proj.weight"] = mat(t["kv"] * hd, d, 4.0)
        W[p + "self_attn.v_proj.weight"] = mat(t["kv"] * hd, d)
        W[p + "self_attn.o_proj.weight"] = mat(d, t["heads"] * hd)
        W[p + "post_attention_layernorm.weight"] = norm(d)
        W[p + "mlp.gate_proj.weight"] = mat(ff, d)
        W[p + "mlp.up_proj.weight"] = mat(ff, d)
        W[p + "mlp.down_proj.weight"] = mat(d, ff)
    return W


def write_gguf(path, W, tokens, token_types, merges, factors=None, name="loupe-random-llama3", rope_metadata=None):
    """The tiny model as a llama GGUF, the way convert_hf_to_gguf.py writes it: `factors` as rope_freqs.weight
    (llama3 scaling), `rope_metadata(writer)` for scaling stated in rope.scaling.* keys (make_rope_yarn.py)."""
    from gguf import GGUFWriter
    t = TINY
    V = len(tokens)
    w = GGUFWriter(path, "llama")
    w.add_name(name)
    w.add_block_count(t["layers"])
    w.add_context_length(t["context"])
    w.add_embedding_length(t["d"])
    w.add_feed_forward_length(t["ff"])
    w.add_head_count(t["heads"])
    w.add_head_count_kv(t["kv"])
    w.add_rope_dimension_count(t["hd"])
    w.add_rope_freq_base(CONFIGS[2][1])
    if rope_metadata is not None:
        rope_metadata(w)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(0)
    w.add_vocab_size(V)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(token_types)
    w.add_token_merges(merges)
    w.add_bos_token_id(V - 3)
    w.add_eos_token_id(V - 1)
    w.add_add_bos_token(False)
    # The converter writes rope_freqs first (generate_extra_tensors), then the weights.
    if factors is not None:
        w.add_tensor("rope_freqs.weight", np.asarray(factors, dtype=np.float32))
    w.add_tensor("token_embd.weight", W["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", W["model.norm.weight"])
    w.add_tensor("output.weight", W["lm_head.weight"])
    names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for l in range(TINY["layers"]):
        for hf, gg in names.items():
            a = W[f"model.layers.{l}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                a = permute_to_gguf(a, TINY["heads"])
            elif hf == "self_attn.k_proj":
                a = permute_to_gguf(a, TINY["kv"])
            w.add_tensor(f"blk.{l}.{gg}.weight", np.ascontiguousarray(a))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def rotate_adjacent(x, n, ang, magnitude=1.0):
    """llama's RoPE (adjacent pairs) over the first n dims of x [T, H, hd] by the angles ang [T, n/2]."""
    c, s = (magnitude * np.cos(ang))[:, None, :], (magnitude * np.sin(ang))[:, None, :]
    y = x.copy()
    a, b = x[..., 0:n:2], x[..., 1:n:2]
    y[..., 0:n:2] = a * c - b * s
    y[..., 1:n:2] = a * s + b * c
    return y


def scaled_logits(name, path, decoder, seed, without):
    """llama.cpp's numbers on the tiny model at `path` for prompts of 20, 48 and 96 tokens, cross-checked against
    `decoder` (float64 numpy with the scaling), plus how far the plain-RoPE numpy reference is from them (stored as
    `<without>_max_abs_logprob_diff`: the tests require the scaling to matter)."""
    import make_logit_fixtures as mlf
    V = len(mlf.byte_vocab()[0])
    prng = np.random.default_rng(seed)
    prompts = [prng.integers(0, V - 3, size=n).tolist() for n in (20, 48, 96)]
    fx = mlf.fixture(name, os.path.basename(path).replace("loupe-", ""), prompts, mlf.LlamaCpp(path), decoder, False)
    plain = mlf.NumpyDecoder(path)
    moved = 0.0
    for p, ids in zip(fx["prompts"], prompts):
        lp = mlf.log_softmax(plain.logits(ids))
        for t, (top, vals) in enumerate(zip(p["top_ids"], p["top_logprobs"])):
            moved = max(moved, float(np.max(np.abs(lp[t, top] - np.array(vals)))))
    fx[f"{without}_max_abs_logprob_diff"] = round(moved, 6)
    print(f"  with plain RoPE the top-50 log-probabilities move by up to {moved:.3f}")
    return fx


def hf_folder(W, V, rope_theta, rope_scaling):
    """config.json and model.safetensors of the tiny model, base64 per file (the hf_checkpoint_*.json layout)."""
    from safetensors.numpy import save as st_save
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": TINY["d"],
           "intermediate_size": TINY["ff"], "num_hidden_layers": TINY["layers"],
           "num_attention_heads": TINY["heads"], "num_key_value_heads": TINY["kv"], "head_dim": TINY["hd"],
           "vocab_size": V, "max_position_embeddings": TINY["context"], "rms_norm_eps": 1e-5,
           "rope_theta": rope_theta, "rope_scaling": rope_scaling, "tie_word_embeddings": False,
           "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "torch_dtype": "float32",
           "bos_token_id": V - 3, "eos_token_id": V - 1}
    files = {"config.json": json.dumps(cfg, indent=1).encode(),
             "model.safetensors": st_save(W, metadata={"format": "pt"})}
    return {"files": {k: base64.b64encode(v).decode() for k, v in files.items()}}


def main():
    if "--frequencies" in sys.argv:
        json.dump(transformers_frequencies(), sys.stdout)
        return
    sys.path.insert(0, HERE)
    import make_logit_fixtures as mlf

    # (a)
    freqs = json.loads(subprocess.run([TRANSFORMERS_PYTHON, os.path.abspath(__file__), "--frequencies"],
                                      check=True, capture_output=True, text=True).stdout)
    with open(os.path.join(OUT, "rope_llama3.json"), "w") as f:
        json.dump(freqs, f, indent=1)
    tiny = next(c for c in freqs["configs"] if c["name"] == "tiny")
    # llama.cpp's convention: theta_i / factor_i, so factor_i = plain inv_freq / llama3 inv_freq.
    factors = (np.array(tiny["default_inv_freq"], np.float64) / np.array(tiny["inv_freq"], np.float64)).astype(np.float32)
    print("tiny factors:", factors.tolist())

    # (b)
    tokens, token_types, merges = mlf.byte_vocab()
    V = len(tokens)
    rng = np.random.default_rng(31)
    W = tiny_weights(rng, V)
    path = "/tmp/loupe-random_llama3.gguf"
    write_gguf(path, W, tokens, token_types, merges, factors=factors)
    with open(path, "rb") as g, open(os.path.join(OUT, "random_llama3.gguf.json"), "w") as f:
        json.dump({"file": "random_llama3.gguf", "base64": base64.b64encode(g.read()).decode("ascii")}, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, vocab {V})")

    class Llama3Numpy(mlf.NumpyDecoder):
        """make_logit_fixtures' float64 decoder with llama.cpp's rope_freqs applied: angle = p * inv_i / factor_i."""
        def __init__(self, p):
            super().__init__(p)
            self.factors = self.t["rope_freqs.weight"].astype(np.float64)

        def rope(self, x, pos, base):
            n = self.rot
            inv = base ** (-np.arange(0, n, 2, dtype=np.float64) / n) / self.factors
            return rotate_adjacent(x, n, pos[:, None] * inv[None, :])

    fx = scaled_logits("random-llama3", path, Llama3Numpy(path), 131, "without_factors")
    with open(os.path.join(OUT, "logits_llama3.json"), "w") as f:
        json.dump(fx, f, separators=(",", ":"))

    # The same model as a Hugging Face folder.
    with open(os.path.join(OUT, "hf_checkpoint_llama3.json"), "w") as f:
        json.dump(hf_folder(W, V, CONFIGS[2][1], CONFIGS[2][3]), f)
    for n in ("rope_llama3.json", "random_llama3.gguf.json", "logits_llama3.json", "hf_checkpoint_llama3.json"):
        print(n, os.path.getsize(os.path.join(OUT, n)), "bytes")


if __name__ == "__main__":
    main()
