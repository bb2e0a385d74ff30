"""A small llama trained in JAX: the peer of the benchmark case tensor/train-step-llama.

The model is the one Sources/loupe-bench/TrainSuite.swift writes to a GGUF file and trains with Loupe's
TrainableModel: llama layout (RMSNorm, SwiGLU, RoPE on adjacent pairs as GGUF llama files store q/k), grouped-query
attention, untied output. Weights are det_values of block_jax (the same float32 numbers on both sides), one seed
per tensor in `tensor_specs` order. One timed repetition is one training step: the mean next-token cross-entropy
of a fixed sequence, its gradient for every weight, and PyTorch's Adam update (lr 1e-4), in one jax.jit call.
"""
import math

import numpy as np

from block_jax import det_values

EPS = 1e-5
ROPE_BASE = 10000.0


def tensor_specs(layers, d, heads, kv, hd, ff, vocab):
    """(GGUF name, numpy shape, scale, offset) in the order both sides generate them."""
    specs = [("token_embd.weight", [vocab, d], 1.0, 0.0), ("output_norm.weight", [d], 0.1, 1.0),
             ("output.weight", [vocab, d], math.sqrt(3.0 / d), 0.0)]
    for l in range(layers):
        p = "blk.%d." % l
        specs += [(p + "attn_norm.weight", [d], 0.1, 1.0),
                  (p + "attn_q.weight", [heads * hd, d], math.sqrt(3.0 / d), 0.0),
                  (p + "attn_k.weight", [kv * hd, d], math.sqrt(3.0 / d), 0.0),
                  (p + "attn_v.weight", [kv * hd, d], math.sqrt(3.0 / d), 0.0),
                  (p + "attn_output.weight", [d, heads * hd], math.sqrt(3.0 / (heads * hd)), 0.0),
                  (p + "ffn_norm.weight", [d], 0.1, 1.0),
                  (p + "ffn_gate.weight", [ff, d], math.sqrt(3.0 / d), 0.0),
                  (p + "ffn_up.weight", [ff, d], math.sqrt(3.0 / d), 0.0),
                  (p + "ffn_down.weight", [d, ff], math.sqrt(3.0 / ff), 0.0)]
    return specs


def token_ids(t, vocab):
    return [(i * 7919 + 13) % vocab for i in range(t)]


def make_weights(layers, d, heads, kv, hd, ff, vocab):
    out = {}
    for j, (name, shape, scale, offset) in enumerate(tensor_specs(layers, d, heads, kv, hd, ff, vocab)):
        out[name] = det_values(int(np.prod(shape)), 100 + j, scale, offset).reshape(shape)
    return out


def build(layers, heads, kv, hd):
    """Returns (value_and_grad(W, ids), step(W, m, v, t, ids) -> (loss, W, m, v)), both jit-compiled."""
    import jax
    import jax.numpy as jnp

    def rms(x, w):
        return x / jnp.sqrt(jnp.mean(x * x, axis=-1, keepdims=True) + EPS) * w

    def rope(x):  # [T, H, hd], pairs (2i, 2i+1)
        pos = jnp.arange(x.shape[0], dtype=jnp.float32)
        inv = ROPE_BASE ** (-jnp.arange(0, hd, 2, dtype=jnp.float32) / hd)
        ang = pos[:, None] * inv[None, :]
        c, s = jnp.cos(ang)[:, None, :], jnp.sin(ang)[:, None, :]
        a, b = x[..., 0::2], x[..., 1::2]
        return jnp.stack([a * c - b * s, a * s + b * c], axis=-1).reshape(x.shape)

    def loss_fn(W, ids):
        n = ids.shape[0]
        x = W["token_embd.weight"][ids]
        causal = jnp.tril(jnp.ones((n, n), dtype=bool))
        for l in range(layers):
            p = "blk.%d." % l
            h = rms(x, W[p + "attn_norm.weight"])
            q = rope((h @ W[p + "attn_q.weight"].T).reshape(n, heads, hd))
            k = rope((h @ W[p + "attn_k.weight"].T).reshape(n, kv, hd))
            v = (h @ W[p + "attn_v.weight"].T).reshape(n, kv, hd)
            k, v = jnp.repeat(k, heads // kv, axis=1), jnp.repeat(v, heads // kv, axis=1)
            s = jnp.einsum("thd,shd->hts", q, k) / math.sqrt(hd)
            s = jnp.where(causal[None], s, -jnp.inf)
            z = jnp.einsum("hts,shd->thd", jax.nn.softmax(s, axis=-1), v).reshape(n, heads * hd)
            x = x + z @ W[p + "attn_output.weight"].T
            h = rms(x, W[p + "ffn_norm.weight"])
            x = x + (jax.nn.silu(h @ W[p + "ffn_gate.weight"].T) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
        z = rms(x, W["output_norm.weight"])[:-1] @ W["output.weight"].T
        lp = jax.nn.log_softmax(z, axis=-1)
        return -jnp.mean(jnp.take_along_axis(lp, ids[1:, None], axis=-1))

    vg = jax.value_and_grad(loss_fn)

    def step(W, m, v, t, ids, lr=1e-4, b1=0.9, b2=0.999, eps=1e-8):
        loss, g = vg(W, ids)
        m = {k: b1 * m[k] + (1 - b1) * g[k] for k in W}
        v = {k: b2 * v[k] + (1 - b2) * g[k] * g[k] for k in W}
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        W = {k: W[k] - lr * (m[k] / c1) / (jnp.sqrt(v[k] / c2) + eps) for k in W}
        return loss, W, m, v

    return jax.jit(vg), jax.jit(step)
