#!/usr/bin/env python3
"""Reference numbers for loading Hugging Face decoder checkpoints (Tests/LoupeModelsTests/HFCheckpointTests.swift).

Tiny random checkpoint folders are written the way transformers' `save_pretrained` lays them out (config.json,
model.safetensors or model.safetensors.index.json + shards, Hugging Face tensor names, rotate-half q/k rows, Gemma
norm weights stored as w where the model multiplies by 1 + w), 2 layers, grouped-query attention:

  * llama:        untied lm_head, 4 query heads over 2 kv heads, F32.
  * qwen2:        q/k/v biases, tied output, linear rope_scaling (factor 2), F16 weights (norms and biases F32).
  * qwen3:        per-head q/k RMSNorm, head_dim 12 (not d_model / heads), untied, BF16 weights, two shards + index.
  * gemma3:       Gemma3ForCausalLM: sqrt(d) embedding scale, 1 + w norms, sandwich norms, q/k norms, GELU-tanh,
                  layer 0 sliding (window 3, rope_local_base_freq 10 000), layer 1 global (rope_theta 1e6), tied, F32.
  * gemma3_mm:    the same weights as a Gemma3ForConditionalGeneration text part (`model.language_model.*` names,
                  config under `text_config`), F32.

The llama checkpoint also carries a tiny tokenizer.json (BPE on raw characters, built here, encoded with PyPI
`tokenizers` for the reference ids) and a tokenizer_config.json with a chat template and add_bos_token.

The reference forward is float64 numpy written here from transformers' modeling files (modeling_llama, _qwen2,
_qwen3, _gemma3), not from Loupe's code; half-precision checkpoints are referenced with their rounded weights.
The llama forward is additionally checked against transformers' own FlaxLlamaForCausalLM (run this script with
/tmp/bert-venv/bin/python, which has transformers + flax; the check is skipped with a note when they are missing).

Output: Tests/LoupeModelsTests/Fixtures/hf_checkpoint_ARCH.json, each {"files": {name: base64}, "ids": [...],
"logits": [[...]], ...}.

Usage: /tmp/bert-venv/bin/python Tests/Fixtures/make_hf_checkpoint_fixture.py
"""
import base64
import io
import json
import math
import os
import tempfile

import numpy as np
from safetensors.numpy import save as st_save

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "LoupeModelsTests", "Fixtures")
VOCAB = 48
D = 32
FF = 40
IDS = [1, 5, 9, 17, 33, 2, 40, 7, 21, 11]


# ----------------------------------------------------------------------------------------------------------------
# Reference forward (float64), following transformers' modeling code
# ----------------------------------------------------------------------------------------------------------------

def rms_norm(x, w, eps, gemma=False):
    v = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return v * ((1.0 + w) if gemma else w)


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def rope(x, positions, base, factor, head_dim):
    # transformers: inv_freq = 1 / base^(arange(0, dim, 2) / dim); linear scaling divides inv_freq by the factor.
    inv = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)) / factor
    ang = positions[:, None] * inv[None, :]
    emb = np.concatenate([ang, ang], axis=-1)
    cos, sin = np.cos(emb), np.sin(emb)
    return x * cos[:, None, :] + rotate_half(x) * sin[:, None, :]


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1 + np.exp(-x))


def forward(arch, cfg, W, ids):
    """Logits [T, vocab] of a *ForCausalLM, from HF-named float64 weights."""
    gemma = arch == "gemma3"
    T = len(ids)
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", D // H)
    eps = cfg["rms_norm_eps"]
    pos = np.arange(T, dtype=np.float64)
    x = W["model.embed_tokens.weight"][ids]
    if gemma:
        x = x * math.sqrt(cfg["hidden_size"])
    scale = (cfg["query_pre_attn_scalar"] ** -0.5) if gemma else hd ** -0.5
    factor = 1.0
    if cfg.get("rope_scaling"):
        assert cfg["rope_scaling"]["rope_type"] == "linear"
        factor = cfg["rope_scaling"]["factor"]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps, gemma)
        q = h @ W[p + "self_attn.q_proj.weight"].T
        k = h @ W[p + "self_attn.k_proj.weight"].T
        v = h @ W[p + "self_attn.v_proj.weight"].T
        if arch == "qwen2":
            q += W[p + "self_attn.q_proj.bias"]; k += W[p + "self_attn.k_proj.bias"]; v += W[p + "self_attn.v_proj.bias"]
        q = q.reshape(T, H, hd); k = k.reshape(T, KV, hd); v = v.reshape(T, KV, hd)
        if arch in ("qwen3", "gemma3"):
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps, gemma)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps, gemma)
        sliding = gemma and cfg["layer_types"][l] == "sliding_attention"
        if gemma and sliding:
            base, f = cfg["rope_local_base_freq"], 1.0
        else:
            base, f = cfg["rope_theta"], factor
        q = rope(q, pos, base, f, hd); k = rope(k, pos, base, f, hd)
        rep = H // KV
        k = np.repeat(k, rep, axis=1); v = np.repeat(v, rep, axis=1)
        s = np.einsum("thd,shd->hts", q, k) * scale
        i, j = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
        allowed = j <= i
        if sliding:
            allowed &= (i - j) < cfg["sliding_window"]
        s = np.where(allowed[None], s, -np.inf)
        s = s - s.max(-1, keepdims=True)
        a = np.exp(s); a /= a.sum(-1, keepdims=True)
        z = np.einsum("hts,shd->thd", a, v).reshape(T, H * hd)
        o = z @ W[p + "self_attn.o_proj.weight"].T
        if gemma:
            o = rms_norm(o, W[p + "post_attention_layernorm.weight"], eps, True)
            x = x + o
            h = rms_norm(x, W[p + "pre_feedforward_layernorm.weight"], eps, True)
        else:
            x = x + o
            h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        act = gelu_tanh if gemma else silu
        m = (act(h @ W[p + "mlp.gate_proj.weight"].T) * (h @ W[p + "mlp.up_proj.weight"].T)) @ W[p + "mlp.down_proj.weight"].T
        if gemma:
            m = rms_norm(m, W[p + "post_feedforward_layernorm.weight"], eps, True)
        x = x + m
    x = rms_norm(x, W["model.norm.weight"], eps, gemma)
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return x @ head.T


# ----------------------------------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------------------------------

def make_weights(arch, cfg, rng):
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", D // H)
    W = {"model.embed_tokens.weight": rng.normal(0, 0.5, (VOCAB, D))}
    normal = (lambda n: rng.normal(0, 0.2, n)) if arch == "gemma3" else (lambda n: 1 + rng.normal(0, 0.2, n))
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        W[p + "input_layernorm.weight"] = normal(D)
        W[p + "self_attn.q_proj.weight"] = rng.normal(0, 0.3, (H * hd, D))
        W[p + "self_attn.k_proj.weight"] = rng.normal(0, 0.3, (KV * hd, D))
        W[p + "self_attn.v_proj.weight"] = rng.normal(0, 0.3, (KV * hd, D))
        W[p + "self_attn.o_proj.weight"] = rng.normal(0, 0.3, (D, H * hd))
        if arch == "qwen2":
            W[p + "self_attn.q_proj.bias"] = rng.normal(0, 0.3, H * hd)
            W[p + "self_attn.k_proj.bias"] = rng.normal(0, 0.3, KV * hd)
            W[p + "self_attn.v_proj.bias"] = rng.normal(0, 0.3, KV * hd)
        if arch in ("qwen3", "gemma3"):
            W[p + "self_attn.q_norm.weight"] = normal(hd)
            W[p + "self_attn.k_norm.weight"] = normal(hd)
        W[p + "post_attention_layernorm.weight"] = normal(D)
        if arch == "gemma3":
            W[p + "pre_feedforward_layernorm.weight"] = normal(D)
            W[p + "post_feedforward_layernorm.weight"] = normal(D)
        W[p + "mlp.gate_proj.weight"] = rng.normal(0, 0.3, (FF, D))
        W[p + "mlp.up_proj.weight"] = rng.normal(0, 0.3, (FF, D))
        W[p + "mlp.down_proj.weight"] = rng.normal(0, 0.3, (D, FF))
    W["model.norm.weight"] = normal(D)
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = rng.normal(0, 0.5, (VOCAB, D))
    return W


def stored(W, dtype):
    """The arrays as saved (matrices in `dtype`, vectors F32 as transformers keeps norms when casting is mixed) and
    the float64 values the reference must use (the rounded ones)."""
    out, ref = {}, {}
    for k, v in W.items():
        if v.ndim == 2 and dtype == "F16":
            a = v.astype(np.float16)
            out[k] = a; ref[k] = a.astype(np.float64)
        elif v.ndim == 2 and dtype == "BF16":
            # bf16 = top 16 bits of the float32 after round-to-nearest-even; numpy has no bf16, so the bytes are
            # written by hand below and the reference uses the rounded values.
            f = v.astype(np.float32).view(np.uint32)
            r = ((f + 0x7FFF + ((f >> 16) & 1)) >> 16).astype(np.uint16)
            out[k] = ("BF16", r, v.shape)
            ref[k] = (r.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        else:
            a = v.astype(np.float32)
            out[k] = a; ref[k] = a.astype(np.float64)
    return out, ref


def safetensors_bytes(tensors):
    """safetensors bytes; BF16 entries (tuples) are spliced in by hand since numpy has no bfloat16."""
    plain = {k: v for k, v in tensors.items() if not isinstance(v, tuple)}
    half = {k: v for k, v in tensors.items() if isinstance(v, tuple)}
    if not half:
        return st_save(plain, metadata={"format": "pt"})
    # Hand-written writer (the format: u64 header length, JSON header, data), tensors in name order.
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k in sorted(tensors):
        v = tensors[k]
        if isinstance(v, tuple):
            _, raw, shape = v
            b = raw.astype("<u2").tobytes(); dt = "BF16"
        else:
            b = np.ascontiguousarray(v).astype(v.dtype.newbyteorder("<")).tobytes(); shape = v.shape
            dt = {np.dtype("float32"): "F32", np.dtype("float16"): "F16"}[v.dtype]
        header[k] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return len(h).to_bytes(8, "little") + h + b"".join(blobs)


def tiny_tokenizer():
    """A BPE tokenizer on raw characters (no byte-level alphabet, so it fits a 48-token vocabulary)."""
    chars = list("abcdefghijklmnopqrstuvwxyz .,!?")
    specials = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    vocab = {t: i for i, t in enumerate(specials)}
    for c in chars:
        vocab[c] = len(vocab)
    merges = [("t", "h"), ("th", "e"), ("a", "n"), ("i", "n"), ("e", "r"), ("o", "u"), ("l", "l"), ("h", "e")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    assert len(vocab) <= VOCAB, len(vocab)
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, s in enumerate(specials)],
        "normalizer": None, "pre_tokenizer": None, "post_processor": None, "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    config = {
        "bos_token": "<s>", "eos_token": "<|im_end|>", "unk_token": "<unk>", "add_bos_token": True,
        "add_eos_token": False,
        "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }} {{ m['content'] }}<|im_end|>"
                         "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant {% endif %}",
    }
    return json.dumps(tok).encode(), json.dumps(config).encode()


def flax_check(cfg, W):
    """The numpy llama forward against transformers' FlaxLlamaForCausalLM (float32)."""
    try:
        import jax.numpy as jnp
        from transformers import LlamaConfig, FlaxLlamaForCausalLM
    except ImportError as e:
        print("  (no transformers+flax here: skipping the FlaxLlama cross-check:", e, ")")
        return None
    c = LlamaConfig(**{k: v for k, v in cfg.items() if k not in ("architectures", "torch_dtype")})
    model = FlaxLlamaForCausalLM(c, dtype=jnp.float32, _do_init=True)
    f32 = lambda a: jnp.asarray(a, dtype=jnp.float32)
    layers = {}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        layers[str(l)] = {
            "input_layernorm": {"weight": f32(W[p + "input_layernorm.weight"])},
            "post_attention_layernorm": {"weight": f32(W[p + "post_attention_layernorm.weight"])},
            "self_attn": {n: {"kernel": f32(W[p + f"self_attn.{n}.weight"].T)}
                          for n in ("q_proj", "k_proj", "v_proj", "o_proj")},
            "mlp": {n: {"kernel": f32(W[p + f"mlp.{n}.weight"].T)} for n in ("gate_proj", "up_proj", "down_proj")},
        }
    params = {"model": {"embed_tokens": {"embedding": f32(W["model.embed_tokens.weight"])},
                        "layers": layers, "norm": {"weight": f32(W["model.norm.weight"])}},
              "lm_head": {"kernel": f32(W["lm_head.weight"].T)}}
    out = model(np.array([IDS]), params=params).logits[0]
    return np.asarray(out, dtype=np.float64)


def write(name, files, extra):
    path = os.path.join(OUT, f"hf_checkpoint_{name}.json")
    obj = {"files": {k: base64.b64encode(v).decode() for k, v in files.items()}}
    obj.update(extra)
    with open(path, "w") as f:
        json.dump(obj, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    rng = np.random.default_rng(20250605)
    base = {"hidden_size": D, "intermediate_size": FF, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "vocab_size": VOCAB, "max_position_embeddings": 64, "rms_norm_eps": 1e-6,
            "bos_token_id": 1, "eos_token_id": 4}
    configs = {
        "llama": dict(base, architectures=["LlamaForCausalLM"], model_type="llama", rope_theta=10000.0,
                      tie_word_embeddings=False, hidden_act="silu", attention_bias=False, mlp_bias=False,
                      torch_dtype="float32"),
        "qwen2": dict(base, architectures=["Qwen2ForCausalLM"], model_type="qwen2", rope_theta=1000000.0,
                      tie_word_embeddings=True, hidden_act="silu", use_sliding_window=False,
                      rope_scaling={"rope_type": "linear", "factor": 2.0}, torch_dtype="float16"),
        "qwen3": dict(base, architectures=["Qwen3ForCausalLM"], model_type="qwen3", rope_theta=1000000.0,
                      head_dim=12, tie_word_embeddings=False, hidden_act="silu", attention_bias=False,
                      torch_dtype="bfloat16"),
        "gemma3": dict(base, architectures=["Gemma3ForCausalLM"], model_type="gemma3_text", rope_theta=1000000.0,
                       rope_local_base_freq=10000.0, head_dim=16, query_pre_attn_scalar=16, sliding_window=3,
                       layer_types=["sliding_attention", "full_attention"], tie_word_embeddings=True,
                       hidden_activation="gelu_pytorch_tanh", final_logit_softcapping=None,
                       attn_logit_softcapping=None, torch_dtype="float32"),
    }
    dtypes = {"llama": "F32", "qwen2": "F16", "qwen3": "BF16", "gemma3": "F32"}
    for arch, cfg in configs.items():
        W = make_weights(arch, cfg, rng)
        st, ref = stored(W, dtypes[arch])
        logits = forward(arch, cfg, ref, IDS)
        extra = {"architecture": arch, "dtype": dtypes[arch], "ids": IDS, "logits": logits.tolist()}
        files = {"config.json": json.dumps(cfg, indent=1).encode()}
        if arch == "qwen3":
            # Two shards and the index transformers writes for them.
            names = sorted(st)
            shards = {"model-00001-of-00002.safetensors": [n for n in names if ".layers.1." not in n],
                      "model-00002-of-00002.safetensors": [n for n in names if ".layers.1." in n]}
            weight_map = {}
            for fname, members in shards.items():
                files[fname] = safetensors_bytes({n: st[n] for n in members})
                weight_map.update({n: fname for n in members})
            files["model.safetensors.index.json"] = json.dumps({"metadata": {}, "weight_map": weight_map}).encode()
        else:
            files["model.safetensors"] = safetensors_bytes(st)
        if arch == "llama":
            tj, tc = tiny_tokenizer()
            files["tokenizer.json"] = tj
            files["tokenizer_config.json"] = tc
            from tokenizers import Tokenizer as HFTokenizer
            hf = HFTokenizer.from_str(tj.decode())
            text = "the hello, there in our hall!"
            extra["tokenizer_text"] = text
            extra["tokenizer_ids"] = hf.encode(text).ids
            fl = flax_check(cfg, ref)
            if fl is not None:
                err = float(np.max(np.abs(fl - logits)))
                print(f"  llama: numpy float64 vs FlaxLlamaForCausalLM float32: max |diff| {err:.2e}")
                assert err < 1e-4, err
                extra["flax_max_abs_diff"] = err
        write(arch, files, extra)
        if arch == "gemma3":
            # The same weights as the text part of a Gemma3ForConditionalGeneration checkpoint.
            mm_cfg = {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
                      "text_config": {k: v for k, v in cfg.items() if k != "architectures"},
                      "vision_config": {"hidden_size": 8}, "torch_dtype": "float32"}
            mm = {("model.language_model." + k[len("model."):]): v for k, v in st.items()}
            mm["model.vision_tower.dummy.weight"] = np.zeros((2, 2), dtype=np.float32)
            write("gemma3_mm", {"config.json": json.dumps(mm_cfg).encode(), "model.safetensors": safetensors_bytes(mm)},
                  {"architecture": arch, "dtype": "F32", "ids": IDS, "logits": logits.tolist()})


if __name__ == "__main__":
    main()
