#!/usr/bin/env python3
"""JAX reference for the transformer block of Sources/LoupeTensor/TransformerBlock.swift, written to
Tests/LoupeTensorTests/Fixtures/block.json.

The block, exactly as the Swift code computes it (GPT-2 pre-norm layout):
    h   = LN1(x)                                    LayerNorm over the last axis, eps 1e-5, weight and bias
    qkv = h @ w_qkv + b_qkv                         [B, T, 3d], split into q, k, v (in that order) on the last axis
    q, k, v -> reshape [B, T, H, dh] -> transpose [B, H, T, dh]
    z   = softmax(q k^T / sqrt(dh) + causal) v      causal: query i sees keys j <= i
    x1  = x + merge(z) @ w_o + b_o                  merge: transpose back to [B, T, H, dh], reshape [B, T, d]
    y   = x1 + gelu_tanh(LN2(x1) @ w_1 + b_1) @ w_2 + b_2
    loss = mean(y * R)

Sizes: B=2, T=8, d=32, H=4, hidden=128. Inputs and parameters are drawn in float32 (what the Swift test
loads); the reference output, loss and gradients (jax.grad) are computed in float64 from those same float32
values, so they carry no float32 rounding of their own. The float32 JAX run (jax_enable_x64 off) is also made, and
its largest deviation from the float64 reference is recorded under "float32_jax_error" as a yardstick for the
tolerances of the Swift test (the Swift engine, also float32, should land in the same range).

Run from the repository root:  python3 Tests/Fixtures/make_block_fixture.py   (jax 0.10.x, CPU)
"""
import json
import math
import os

import numpy as np

import jax

jax.config.update("jax_platforms", "cpu")
jax.config.update("jax_enable_x64", False)
import jax.numpy as jnp  # noqa: E402

B, T, D, H, HIDDEN = 2, 8, 32, 4, 128
DH = D // H
EPS = 1e-5
NAMES = ["ln1_w", "ln1_b", "w_qkv", "b_qkv", "w_o", "b_o", "ln2_w", "ln2_b", "w_1", "b_1", "w_2", "b_2"]
SHAPES = [[D], [D], [D, 3 * D], [3 * D], [D, D], [D], [D], [D], [D, HIDDEN], [HIDDEN], [HIDDEN, D], [D]]


def layer_norm(x, w, b):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean((x - mean) ** 2, axis=-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + EPS) * w + b


def gelu_tanh(x):
    c = math.sqrt(2.0 / math.pi)
    return 0.5 * x * (1.0 + jnp.tanh(c * (x + 0.044715 * x ** 3)))


def block(params, x):
    ln1_w, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_w, ln2_b, w_1, b_1, w_2, b_2 = params
    h = layer_norm(x, ln1_w, ln1_b)
    qkv = h @ w_qkv + b_qkv
    q, k, v = jnp.split(qkv, 3, axis=-1)
    heads = lambda t: t.reshape(B, T, H, DH).transpose(0, 2, 1, 3)  # noqa: E731
    q, k, v = heads(q), heads(k), heads(v)
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(DH)
    causal = jnp.tril(jnp.ones((T, T), dtype=bool))
    scores = jnp.where(causal, scores, -jnp.inf)
    z = jax.nn.softmax(scores, axis=-1) @ v
    merged = z.transpose(0, 2, 1, 3).reshape(B, T, D)
    x1 = x + merged @ w_o + b_o
    m = gelu_tanh(layer_norm(x1, ln2_w, ln2_b) @ w_1 + b_1)
    return x1 + m @ w_2 + b_2


def loss_fn(x, params, r):
    y = block(params, x)
    return jnp.mean(y * r), y


def make_inputs():
    rng = np.random.RandomState(1234)
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    params = {
        "ln1_w": 1 + 0.2 * rng.normal(size=[D]), "ln1_b": 0.1 * rng.normal(size=[D]),
        "w_qkv": rng.normal(size=[D, 3 * D]) / math.sqrt(D), "b_qkv": 0.1 * rng.normal(size=[3 * D]),
        "w_o": rng.normal(size=[D, D]) / math.sqrt(D), "b_o": 0.1 * rng.normal(size=[D]),
        "ln2_w": 1 + 0.2 * rng.normal(size=[D]), "ln2_b": 0.1 * rng.normal(size=[D]),
        "w_1": rng.normal(size=[D, HIDDEN]) / math.sqrt(D), "b_1": 0.1 * rng.normal(size=[HIDDEN]),
        "w_2": rng.normal(size=[HIDDEN, D]) / math.sqrt(HIDDEN), "b_2": 0.1 * rng.normal(size=[D]),
    }
    x = rng.normal(size=[B, T, D])
    r = rng.normal(size=[B, T, D])
    return f32(x), [f32(params[n]) for n in NAMES], f32(r)


def run(x, params, r, dtype):
    cast = lambda a: jnp.asarray(a, dtype=dtype)  # noqa: E731
    xs, ps, rs = cast(x), [cast(p) for p in params], cast(r)
    (loss, y), (gx, gp) = jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True)(xs, ps, rs)
    return np.asarray(y, np.float64), float(loss), np.asarray(gx, np.float64), [np.asarray(g, np.float64) for g in gp]


def main():
    x, params, r = make_inputs()
    for p, s in zip(params, SHAPES):
        assert list(p.shape) == s

    y32, loss32, gx32, gp32 = run(x, params, r, jnp.float32)
    with jax.enable_x64(True):
        y64, loss64, gx64, gp64 = run(x, params, r, jnp.float64)

    def rel_err(a, b):
        return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))

    grads32 = {"x": gx32, **dict(zip(NAMES, gp32))}
    grads64 = {"x": gx64, **dict(zip(NAMES, gp64))}
    err = {"y": rel_err(y32, y64), "loss": abs(loss32 - loss64) / abs(loss64)}
    err.update({f"grad_{k}": rel_err(grads32[k], grads64[k]) for k in grads64})

    # 9 significant digits: exact for the float32 inputs, 1e-9 relative for the float64 reference values.
    def vals(a):
        return [float(f"{v:.9g}") for v in np.asarray(a, np.float64).reshape(-1)]

    fixture = {
        "config": {"batch": B, "seq": T, "d": D, "heads": H, "hidden": HIDDEN, "ln_eps": EPS,
                   "loss": "mean(y * R)", "jax": jax.__version__, "reference_dtype": "float64"},
        "x": {"shape": [B, T, D], "data": vals(x)},
        "R": {"shape": [B, T, D], "data": vals(r)},
        "params": [{"name": n, "shape": s, "data": vals(p)} for n, s, p in zip(NAMES, SHAPES, params)],
        "y": {"shape": [B, T, D], "data": vals(y64)},
        "loss": loss64,
        "grads": [{"name": n, "shape": list(grads64[n].shape), "data": vals(grads64[n])} for n in ["x"] + NAMES],
        "float32_jax_error": err,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "LoupeTensorTests", "Fixtures", "block.json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes; loss", loss64)
    print("float32 JAX vs float64 (max abs error / max abs value):")
    for k, v in err.items():
        print(f"  {k:10s} {v:.2e}")


if __name__ == "__main__":
    main()
