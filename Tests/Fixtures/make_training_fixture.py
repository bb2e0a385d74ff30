#!/usr/bin/env python3
"""Reference numbers for LoupeModels' training tests (Tests/LoupeModelsTests/TrainingTests.swift).

Four tiny random-weight decoders are written with PyPI gguf's GGUFWriter (2 layers, d_model 16, 4 query heads over
2 key/value heads, head size 8, a 265-token byte-level BPE vocabulary so llama.cpp could read them too):

  * llama:  RoPE on adjacent pairs (GGUF's llama layout), SwiGLU, tied output.
  * qwen2:  rotate-half RoPE, biases on the q, k and v projections, untied output.
  * qwen3:  rotate-half RoPE, per-head q/k RMSNorm, untied output.
  * gemma3: embeddings scaled by sqrt(d_model), q/k norms and the four "sandwich" norms per block, GELU-tanh MLP,
            layer 0 local (sliding window 4, RoPE base 10 000) and layer 1 global (base 1e6), tied output.

The reference is the same architectures written here in JAX (float64, jax.config jax_enable_x64), from their
definitions (llama.cpp's llm_build_* graphs; Hugging Face's modeling files), not from Loupe's code. For each model
on a fixed 12-token sequence with a loss mask (tokens 3 and 7 not counted) it stores:

  * logits [T, vocab] of the whole sequence;
  * the masked mean next-token cross-entropy and its gradient for every weight, by GGUF name;
  * the losses of 3 Adam steps (PyTorch's Adam: lr 1e-2, betas 0.9/0.999, eps 1e-8, no weight decay) on that loss,
    for all weights trained together.

Outputs (Tests/LoupeModelsTests/Fixtures): training_tiny.json (numbers) and training_tiny_ARCH.gguf.json (each GGUF
base64-wrapped: the repository keeps no *.gguf; the Swift tests unwrap them).

Usage: python3 Tests/Fixtures/make_training_fixture.py
"""
import base64
import json
import os
import sys

import numpy as np
import jax
import jax.numpy as jnp
from gguf import GGUFWriter

jax.config.update("jax_enable_x64", True)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "LoupeModelsTests", "Fixtures")
sys.path.insert(0, HERE)
from make_logit_fixtures import byte_vocab  # noqa: E402  (the 265-token vocabulary of the random fixtures)

D, HEADS, KV, HD, FF, LAYERS = 16, 4, 2, 8, 32, 2
EPS = 1e-6
WINDOW = 4
T = 12
ADAM_STEPS, LR = 3, 1e-2


def write_model(path, arch, seed):
    rng = np.random.default_rng(seed)
    tokens, types, merges = byte_vocab()
    V = len(tokens)
    w = GGUFWriter(path, arch)
    w.add_name(f"loupe-training-{arch}")
    w.add_block_count(LAYERS)
    w.add_context_length(64)
    w.add_embedding_length(D)
    w.add_feed_forward_length(FF)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV)
    w.add_key_length(HD)
    w.add_value_length(HD)
    w.add_rope_freq_base(1_000_000.0 if arch != "llama" else 10_000.0)
    w.add_layer_norm_rms_eps(EPS)
    if arch == "gemma3":
        w.add_sliding_window(WINDOW)
        # Period 2: layer 0 local, layer 1 global ((l + 1) % 2 == 0).
        w.add_uint32("gemma3.attention.sliding_window_pattern", 2)
    w.add_file_type(0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(V - 3)
    w.add_eos_token_id(V - 1)
    w.add_add_bos_token(False)

    def mat(rows, cols, gain=1.0):
        return (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    emb_scale = 1 / np.sqrt(D) if arch == "gemma3" else 1.0  # gemma multiplies embeddings by sqrt(d) again
    w.add_tensor("token_embd.weight", (rng.standard_normal((V, D)) * emb_scale).astype(np.float32))
    w.add_tensor("output_norm.weight", norm(D))
    if arch in ("qwen2", "qwen3"):
        w.add_tensor("output.weight", mat(V, D, 2.0))
    for l in range(LAYERS):
        p = f"blk.{l}."
        w.add_tensor(p + "attn_norm.weight", norm(D))
        w.add_tensor(p + "attn_q.weight", mat(HEADS * HD, D, 2.0))
        w.add_tensor(p + "attn_k.weight", mat(KV * HD, D, 2.0))
        w.add_tensor(p + "attn_v.weight", mat(KV * HD, D))
        if arch == "qwen2":
            w.add_tensor(p + "attn_q.bias", (0.1 * rng.standard_normal(HEADS * HD)).astype(np.float32))
            w.add_tensor(p + "attn_k.bias", (0.1 * rng.standard_normal(KV * HD)).astype(np.float32))
            w.add_tensor(p + "attn_v.bias", (0.1 * rng.standard_normal(KV * HD)).astype(np.float32))
        if arch in ("qwen3", "gemma3"):
            w.add_tensor(p + "attn_q_norm.weight", norm(HD))
            w.add_tensor(p + "attn_k_norm.weight", norm(HD))
        w.add_tensor(p + "attn_output.weight", mat(D, HEADS * HD))
        if arch == "gemma3":
            w.add_tensor(p + "post_attention_norm.weight", norm(D))
        w.add_tensor(p + "ffn_norm.weight", norm(D))
        w.add_tensor(p + "ffn_gate.weight", mat(FF, D))
        w.add_tensor(p + "ffn_up.weight", mat(FF, D))
        w.add_tensor(p + "ffn_down.weight", mat(D, FF))
        if arch == "gemma3":
            w.add_tensor(p + "post_ffw_norm.weight", norm(D))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read_weights(path):
    from gguf import GGUFReader
    r = GGUFReader(path)
    return {t.name: np.array(t.data, dtype=np.float64).reshape([int(x) for x in reversed(t.shape.tolist())])
            for t in r.tensors}


# ----------------------------------------------------------------------------------------------------------------
# The decoders in JAX

def rms(x, w):
    return x / jnp.sqrt(jnp.mean(x * x, axis=-1, keepdims=True) + EPS) * w


def rope(x, base, adjacent):
    """x: [T, H, hd]. Angle of pair i at position p: p * base^(-2i/hd)."""
    pos = jnp.arange(x.shape[0], dtype=jnp.float64)
    inv = base ** (-jnp.arange(0, HD, 2, dtype=jnp.float64) / HD)
    ang = pos[:, None] * inv[None, :]
    c, s = jnp.cos(ang)[:, None, :], jnp.sin(ang)[:, None, :]
    if adjacent:  # llama.cpp "normal" mode: pairs (2i, 2i+1)
        a, b = x[..., 0::2], x[..., 1::2]
        return jnp.stack([a * c - b * s, a * s + b * c], axis=-1).reshape(x.shape)
    a, b = x[..., : HD // 2], x[..., HD // 2:]  # rotate-half
    return jnp.concatenate([a * c - b * s, a * s + b * c], axis=-1)


def gelu_tanh(x):
    return 0.5 * x * (1 + jnp.tanh(jnp.sqrt(2 / jnp.pi) * (x + 0.044715 * x ** 3)))


def forward(W, ids, arch):
    n = len(ids)
    x = W["token_embd.weight"][jnp.asarray(ids)]
    if arch == "gemma3":
        x = x * jnp.sqrt(float(D))
    i, j = jnp.arange(n)[:, None], jnp.arange(n)[None, :]
    causal = j <= i
    for l in range(LAYERS):
        p = f"blk.{l}."
        h = rms(x, W[p + "attn_norm.weight"])
        q, k, v = h @ W[p + "attn_q.weight"].T, h @ W[p + "attn_k.weight"].T, h @ W[p + "attn_v.weight"].T
        if arch == "qwen2":
            q, k, v = q + W[p + "attn_q.bias"], k + W[p + "attn_k.bias"], v + W[p + "attn_v.bias"]
        q, k, v = q.reshape(n, HEADS, HD), k.reshape(n, KV, HD), v.reshape(n, KV, HD)
        if arch in ("qwen3", "gemma3"):
            q = rms(q, W[p + "attn_q_norm.weight"])
            k = rms(k, W[p + "attn_k_norm.weight"])
        local = arch == "gemma3" and (l + 1) % 2 != 0
        base = 10_000.0 if (local or arch == "llama") else 1_000_000.0
        q, k = rope(q, base, arch == "llama"), rope(k, base, arch == "llama")
        allowed = causal & ((i - j) < WINDOW) if local else causal
        k = jnp.repeat(k, HEADS // KV, axis=1)  # query head h reads kv head h // group
        v = jnp.repeat(v, HEADS // KV, axis=1)
        s = jnp.einsum("thd,shd->hts", q, k) / jnp.sqrt(float(HD))
        s = jnp.where(allowed[None], s, -jnp.inf)
        z = jnp.einsum("hts,shd->thd", jax.nn.softmax(s, axis=-1), v).reshape(n, HEADS * HD)
        o = z @ W[p + "attn_output.weight"].T
        if arch == "gemma3":
            o = rms(o, W[p + "post_attention_norm.weight"])
        x = x + o
        h = rms(x, W[p + "ffn_norm.weight"])
        g, u = h @ W[p + "ffn_gate.weight"].T, h @ W[p + "ffn_up.weight"].T
        a = gelu_tanh(g) * u if arch == "gemma3" else jax.nn.silu(g) * u
        m = a @ W[p + "ffn_down.weight"].T
        if arch == "gemma3":
            m = rms(m, W[p + "post_ffw_norm.weight"])
        x = x + m
    h = rms(x, W["output_norm.weight"])
    out = W["output.weight"] if "output.weight" in W else W["token_embd.weight"]
    return h @ out.T


def loss_fn(W, ids, mask, arch):
    z = forward(W, ids, arch)[:-1]
    lp = jax.nn.log_softmax(z, axis=-1)
    nll = -jnp.take_along_axis(lp, jnp.asarray(ids[1:])[:, None], axis=-1)[:, 0]
    m = jnp.asarray(mask[1:], dtype=jnp.float64)
    return jnp.sum(nll * m) / jnp.sum(m)


def adam_losses(W, ids, mask, arch):
    """Losses before each of ADAM_STEPS Adam steps and after the last (PyTorch's Adam, bias-corrected)."""
    vg = jax.jit(jax.value_and_grad(lambda w: loss_fn(w, ids, mask, arch)))
    m = {k: jnp.zeros_like(v) for k, v in W.items()}
    s = {k: jnp.zeros_like(v) for k, v in W.items()}
    losses = []
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, ADAM_STEPS + 1):
        l, g = vg(W)
        losses.append(float(l))
        m = {k: b1 * m[k] + (1 - b1) * g[k] for k in W}
        s = {k: b2 * s[k] + (1 - b2) * g[k] ** 2 for k in W}
        W = {k: W[k] - LR * (m[k] / (1 - b1 ** t)) / (jnp.sqrt(s[k] / (1 - b2 ** t)) + eps) for k in W}
    losses.append(float(loss_fn(W, ids, mask, arch)))
    return losses


def r(x):
    return [float(f"{v:.8g}") for v in np.asarray(x).ravel()]


def main():
    os.makedirs(OUT, exist_ok=True)
    out = {"reference": f"JAX {jax.__version__} float64", "T": T, "adam": {"lr": LR, "steps": ADAM_STEPS},
           "models": []}
    for arch, seed in (("llama", 11), ("qwen2", 14), ("qwen3", 12), ("gemma3", 13)):
        path = f"/tmp/loupe-training_tiny_{arch}.gguf"
        write_model(path, arch, seed)
        with open(path, "rb") as g, open(os.path.join(OUT, f"training_tiny_{arch}.gguf.json"), "w") as f:
            json.dump({"file": f"training_tiny_{arch}.gguf", "base64": base64.b64encode(g.read()).decode("ascii")}, f)
        W = {k: jnp.asarray(v) for k, v in read_weights(path).items()}
        V = W["token_embd.weight"].shape[0]
        rng = np.random.default_rng(100 + seed)
        ids = rng.integers(0, V - 3, size=T).tolist()
        mask = [True] * T
        mask[3] = mask[7] = False
        logits = forward(W, ids, arch)
        loss, grads = jax.value_and_grad(loss_fn)(W, ids, mask, arch)
        losses = adam_losses(W, ids, mask, arch)
        print(f"{arch}: loss {float(loss):.6f}, Adam losses {[round(x, 5) for x in losses]}")
        out["models"].append({
            "arch": arch, "file": f"training_tiny_{arch}.gguf", "ids": ids, "mask": mask,
            "logits": r(logits), "loss": float(loss),
            "grads": {k: r(v) for k, v in sorted(grads.items())},
            "adam_losses": losses,
        })
    with open(os.path.join(OUT, "training_tiny.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", os.path.join(OUT, "training_tiny.json"), os.path.getsize(os.path.join(OUT, "training_tiny.json")), "bytes")


if __name__ == "__main__":
    main()
