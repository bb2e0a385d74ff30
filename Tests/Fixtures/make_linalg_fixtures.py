#!/usr/bin/env python3
"""Reference outputs for Sources/LoupeTensor/Linalg.swift, written to Tests/LoupeTensorTests/Fixtures/linalg.json.

Inputs are float32 (what Loupe computes with); references are computed by numpy in float64 from those exact float32
values, so the Swift tests measure only Loupe's own float32 error. Gradient references come from JAX in float64
(jax.grad through jnp.linalg), for losses that do not depend on the sign ambiguity of singular vectors and
eigenvectors (squares of vectors, u diag(d) vᵀ terms), except QR, whose signs are fixed by the Householder
convention shared by LAPACK and JAX.

Matrices are built with prescribed, well separated singular values / eigenvalues so that the tests can use tight
tolerances and the derivatives (which divide by differences of those values) are well conditioned.

Every tensor is stored as {"shape": [...], "data": [row-major values]}.

Run: python3 Tests/Fixtures/make_linalg_fixtures.py
"""
import json
import os

import numpy as np

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

rng = np.random.default_rng(20240611)


def t(x):
    """A tensor for JSON. float32 inputs are written as the doubles equal to them, so Swift reads them exactly."""
    x = np.asarray(x)
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1)]}


def f32(x):
    return np.asarray(x, dtype=np.float32)


def orthogonal(n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def with_singular_values(m, n, svals):
    k = min(m, n)
    return f32(orthogonal(m)[:, :k] @ np.diag(svals) @ orthogonal(n)[:, :k].T)


def spread(k, hi=3.0, lo=0.8):
    """k well separated values, descending."""
    return np.linspace(hi, lo, k) if k > 1 else np.array([hi])


def symmetric(n, eigenvalues):
    v = orthogonal(n)
    a = f32(v @ np.diag(eigenvalues) @ v.T)
    return (a + a.T) / np.float32(2)  # exactly symmetric in float32


def gaussian(*shape):
    return f32(rng.standard_normal(shape))


# ---- Forward references ----

svd_cases = []
for name, shape, full in [("tall", (5, 3), False), ("wide", (3, 5), False), ("square", (4, 4), False),
                          ("batched", (2, 3, 4), False), ("tall_full", (5, 3), True), ("wide_full", (3, 5), True)]:
    m, n = shape[-2:]
    batch = shape[:-2]
    mats = [with_singular_values(m, n, spread(min(m, n))) for _ in range(int(np.prod(batch)))]
    a = np.stack(mats).reshape(shape)
    u, s, vt = np.linalg.svd(a.astype(np.float64), full_matrices=full)
    svd_cases.append({"name": name, "full_matrices": full, "a": t(a), "u": t(u), "s": t(s), "vt": t(vt)})

qr_cases = []
for name, shape in [("tall", (5, 3)), ("square", (4, 4)), ("wide", (3, 5)), ("batched", (2, 4, 3))]:
    a = gaussian(*shape)
    q, r = np.linalg.qr(a.astype(np.float64))
    qr_cases.append({"name": name, "a": t(a), "q": t(q), "r": t(r)})

eigh_cases = []
for name, n, batch in [("n4", 4, ()), ("n5", 5, ()), ("batched", 3, (2,))]:
    mats = [symmetric(n, np.linspace(-2.0, 3.0, n) + 0.1 * i) for i in range(int(np.prod(batch)))]
    a = np.stack(mats).reshape(batch + (n, n))
    w, v = np.linalg.eigh(a.astype(np.float64))
    eigh_cases.append({"name": name, "a": t(a), "values": t(w), "vectors": t(v)})
# Only the lower triangle is read (numpy's UPLO='L'): garbage above the diagonal must not matter.
lower = symmetric(4, np.array([-1.0, 0.5, 2.0, 3.5]))
garbage = lower + np.triu(gaussian(4, 4), 1)
w, v = np.linalg.eigh(garbage.astype(np.float64))
eigh_cases.append({"name": "lower_triangle_only", "a": t(garbage), "values": t(w), "vectors": t(v)})

solve_cases = []
for name, ashape, bshape in [("vector", (4, 4), (4,)), ("matrix", (3, 3), (3, 2)), ("batched", (2, 3, 3), (2, 3, 2)),
                             ("broadcast", (3, 3), (2, 3, 1)), ("batched_a_vector_b", (2, 3, 3), (3,))]:
    n = ashape[-1]
    mats = [with_singular_values(n, n, spread(n)) for _ in range(int(np.prod(ashape[:-2])))]
    a = np.stack(mats).reshape(ashape)
    b = gaussian(*bshape)
    x = np.linalg.solve(a.astype(np.float64), b.astype(np.float64))
    solve_cases.append({"name": name, "a": t(a), "b": t(b), "x": t(x)})

lstsq_cases = []


def lstsq_case(name, a, b, rcond):
    x, res, rank, s = np.linalg.lstsq(a.astype(np.float64), b.astype(np.float64), rcond=rcond)
    lstsq_cases.append({"name": name, "a": t(a), "b": t(b), "rcond": rcond, "x": t(x), "residuals": t(res),
                        "rank": int(rank), "s": t(s)})


lstsq_case("tall_matrix", with_singular_values(6, 3, spread(3)), gaussian(6, 2), None)
lstsq_case("tall_vector", with_singular_values(5, 3, spread(3)), gaussian(5), None)
lstsq_case("wide_vector", with_singular_values(3, 5, spread(3)), gaussian(3), None)
lstsq_case("square", with_singular_values(4, 4, spread(4)), gaussian(4, 3), None)
# Exactly rank 2 in float32 (integer entries, third column the sum of the first two). An explicit rcond: the
# default is eps(dtype) * max(m, n), which differs between float64 and float32.
ints = f32(rng.integers(-4, 5, size=(5, 2)))
lstsq_case("rank_deficient", np.concatenate([ints, ints[:, :1] + ints[:, 1:]], axis=1), gaussian(5, 2), 1e-5)
for case in lstsq_cases:
    if case["rcond"] is None:
        del case["rcond"]

# ---- Gradient references (JAX, float64) ----

grads = []


def g64(x):
    return np.asarray(x, dtype=np.float64)


for name, m, n in [("tall", 5, 3), ("wide", 3, 5), ("square", 4, 4)]:
    k = min(m, n)
    a = with_singular_values(m, n, spread(k))
    cs, cu, cv, d, cr = gaussian(k), gaussian(m, k), gaussian(k, n), gaussian(k), gaussian(m, n)

    def svd_loss(a):
        u, s, vt = jnp.linalg.svd(a, full_matrices=False)
        return jnp.sum(cs * s) + jnp.sum(cu * u * u) + jnp.sum(cv * vt * vt) + jnp.sum(cr * ((u * d) @ vt))

    grads.append({"op": "svd", "name": name, "a": t(a), "cs": t(cs), "cu": t(cu), "cv": t(cv), "d": t(d),
                  "cr": t(cr), "loss": float(svd_loss(g64(a))), "grad_a": t(jax.grad(svd_loss)(g64(a)))})

for name, m, n in [("tall", 5, 3), ("square", 4, 4), ("wide", 3, 5)]:
    k = min(m, n)
    a = with_singular_values(m, n, spread(k))
    cq, cr = gaussian(m, k), gaussian(k, n)

    def qr_loss(a):
        q, r = jnp.linalg.qr(a)
        return jnp.sum(cq * q) + jnp.sum(cr * r)

    grads.append({"op": "qr", "name": name, "a": t(a), "cq": t(cq), "cr": t(cr), "loss": float(qr_loss(g64(a))),
                  "grad_a": t(jax.grad(qr_loss)(g64(a)))})

for name, n in [("n4", 4), ("n5", 5)]:
    a = symmetric(n, np.linspace(-2.0, 3.0, n))
    cw, cv = gaussian(n), gaussian(n, n)

    def eigh_loss(a):
        w, v = jnp.linalg.eigh(a)
        return jnp.sum(cw * w) + jnp.sum(cv * v * v)

    grads.append({"op": "eigh", "name": name, "a": t(a), "cw": t(cw), "cv": t(cv), "loss": float(eigh_loss(g64(a))),
                  "grad_a": t(jax.grad(eigh_loss)(g64(a)))})

for name, ashape, bshape in [("matrix", (3, 3), (3, 2)), ("vector", (4, 4), (4,)), ("broadcast", (3, 3), (2, 3, 2))]:
    n = ashape[-1]
    a = with_singular_values(n, n, spread(n))
    b = gaussian(*bshape)
    c = gaussian(*bshape)

    def solve_loss(a, b):
        return jnp.sum(c * jnp.linalg.solve(a, b))

    ga, gb = jax.grad(solve_loss, argnums=(0, 1))(g64(a), g64(b))
    grads.append({"op": "solve", "name": name, "a": t(a), "b": t(b), "c": t(c),
                  "loss": float(solve_loss(g64(a), g64(b))), "grad_a": t(ga), "grad_b": t(gb)})

for name, m, n, bshape in [("tall", 6, 3, (6, 2)), ("wide", 3, 5, (3,)), ("square", 4, 4, (4, 2))]:
    a = with_singular_values(m, n, spread(min(m, n)))
    b = gaussian(*bshape)
    c = gaussian(*((n,) + bshape[1:]))

    # lstsq's solution is pinv(a) @ b; jnp.linalg.pinv has an exact derivative rule.
    def lstsq_loss(a, b):
        return jnp.sum(c * (jnp.linalg.pinv(a) @ b))

    ga, gb = jax.grad(lstsq_loss, argnums=(0, 1))(g64(a), g64(b))
    grads.append({"op": "lstsq", "name": name, "a": t(a), "b": t(b), "c": t(c),
                  "loss": float(lstsq_loss(g64(a), g64(b))), "grad_a": t(ga), "grad_b": t(gb)})

out = {
    "generator": "Tests/Fixtures/make_linalg_fixtures.py",
    "numpy": np.__version__,
    "jax": jax.__version__,
    "svd": svd_cases,
    "qr": qr_cases,
    "eigh": eigh_cases,
    "solve": solve_cases,
    "lstsq": lstsq_cases,
    "grads": grads,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "LoupeTensorTests", "Fixtures", "linalg.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")
