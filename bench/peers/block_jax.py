"""The transformer block of Sources/LoupeTensor/TransformerBlock.swift, written in JAX.

Used by tensor_peer.py for the benchmark case tensor/block-fwd-bwd: jax.jit(jax.value_and_grad(loss)) over the
input x and all 12 parameters, loss = mean(block(x) * R).

The computation must stay exactly Loupe's:
  h  = LN1(x)                          layer norm over the last axis, eps 1e-5, biased variance
  qkv = h @ W_qkv + b_qkv              [B, T, 3d]; q, k, v = qkv[..., :d], qkv[..., d:2d], qkv[..., 2d:]
  q, k, v -> [B, heads, T, dh]         reshape [B, T, heads, dh] then transpose (0, 2, 1, 3)
  z = softmax(q k^T / sqrt(dh) + causal mask) v
  x1 = x + merge(z) @ W_o + b_o        merge: transpose back to [B, T, heads, dh], reshape [B, T, d]
  y  = x1 + gelu_tanh(LN2(x1) @ W_1 + b_1) @ W_2 + b_2

Inputs are deterministic (make_inputs) and computed the same way in Swift (Sources/loupe-bench), so the two sides
can compare the loss and gradient norms before timing.
"""
import math

import numpy as np

PARAMETER_NAMES = ["ln1_w", "ln1_b", "w_qkv", "b_qkv", "w_o", "b_o", "ln2_w", "ln2_b", "w_1", "b_1", "w_2", "b_2"]


def det_values(count, seed, scale, offset=0.0):
    """offset + scale * u, u uniform in [-1, 1), from a counter-based splitmix64 hash of (seed, i).

    Loupe's bench (Sources/loupe-bench/Data.swift) computes the same integers and the same float64 arithmetic, so
    both sides hold bit-identical float32 inputs."""
    with np.errstate(over="ignore"):
        z = np.arange(count, dtype=np.uint64) + np.uint64(seed) * np.uint64(1 << 32)
        z = z * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) * 2.0 ** -24
    return (offset + scale * (2.0 * u - 1.0)).astype(np.float32)


def parameter_shapes(d, hidden):
    return [[d], [d], [d, 3 * d], [3 * d], [d, d], [d], [d], [d], [d, hidden], [hidden], [hidden, d], [d]]


def make_inputs(batch, t, d, hidden):
    """x [B, T, d], the 12 parameters, and R [B, T, d]. Weights have std 1/sqrt(fan_in); norm weights near 1."""
    shapes = parameter_shapes(d, hidden)
    params = []
    for j, s in enumerate(shapes):
        n = int(np.prod(s))
        name = PARAMETER_NAMES[j]
        if name in ("ln1_w", "ln2_w"):
            v = det_values(n, 10 + j, 0.1, 1.0)
        elif len(s) == 1:
            v = det_values(n, 10 + j, 0.02)
        else:
            v = det_values(n, 10 + j, math.sqrt(3.0 / s[0]))
        params.append(v.reshape(s))
    x = det_values(batch * t * d, 1, 1.0).reshape(batch, t, d)
    r = det_values(batch * t * d, 2, 1.0).reshape(batch, t, d)
    return x, params, r


def build(heads):
    """Returns f(x, params, R) -> (loss, (dx, dparams)), jit-compiled."""
    import jax
    import jax.numpy as jnp

    def layer_norm(x, w, b, eps=1e-5):
        m = jnp.mean(x, axis=-1, keepdims=True)
        c = x - m
        var = jnp.mean(c * c, axis=-1, keepdims=True)
        return c / jnp.sqrt(var + eps) * w + b

    def gelu_tanh(x):
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + jnp.tanh(c * (x + 0.044715 * x * x * x)))

    def block(x, p):
        ln1w, ln1b, wqkv, bqkv, wo, bo, ln2w, ln2b, w1, b1, w2, b2 = p
        bsz, t, d = x.shape
        dh = d // heads
        h = layer_norm(x, ln1w, ln1b)
        qkv = h @ wqkv + bqkv
        q, k, v = (qkv[..., i * d:(i + 1) * d].reshape(bsz, t, heads, dh).transpose(0, 2, 1, 3) for i in range(3))
        scores = (q @ jnp.swapaxes(k, -1, -2)) * (1.0 / math.sqrt(dh))
        causal = jnp.tril(jnp.ones((t, t), dtype=bool))
        scores = jnp.where(causal, scores, -jnp.inf)
        probs = jax.nn.softmax(scores, axis=-1)
        z = probs @ v
        merged = z.transpose(0, 2, 1, 3).reshape(bsz, t, d)
        x1 = x + merged @ wo + bo
        m = gelu_tanh(layer_norm(x1, ln2w, ln2b) @ w1 + b1)
        return x1 + m @ w2 + b2

    def loss(x, p, r):
        return jnp.mean(block(x, p) * r)

    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))


if __name__ == "__main__":
    # Stand-alone check: loss and gradient norms of the benchmark configuration.
    import jax

    x, p, r = make_inputs(8, 128, 256, 1024)
    f = build(8)
    val, (gx, gp) = f(x, p, r)
    print("loss", float(val))
    print("x", float(np.linalg.norm(np.asarray(gx))))
    for name, g in zip(PARAMETER_NAMES, gp):
        print(name, float(np.linalg.norm(np.asarray(g))))
