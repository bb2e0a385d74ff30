#!/usr/bin/env python3
"""Generates Tests/LoupeTensorTests/Fixtures/ops.json: numpy's answers for every forward op of LoupeTensor.

Run from the repository root:  python3 Tests/Fixtures/make_tensor_fixtures.py
(numpy >= 2; the output is deterministic for a given numpy version: fixed seed, float32 inputs.)

Layout of the file:
  {"numpy": version, "tensors": {name: T}, "cases": [case, ...]}
  T       = {"shape": [..], "data": [..]}   float32, row-major; NaN/inf are the strings "nan", "inf", "-inf"
          | {"shape": [..], "ints": [..]}   integer indices (argmax, argsort, gather indices, ...)
  case    = {"name", "op", "inputs": [T or tensor name], "args": {..},
             "expect": T | [T, ...] | {"error": kind},  "tol": [rtol, atol]}
A value y matches the expected e when both are NaN, or y == e, or |y - e| <= atol + rtol * |e|.
`kind` is the TensorError case the Swift op must throw (numpy raised on the same input).

Where numpy has the op in float32 (exp, log, tanh, sum, cumsum, ...) the expected values are numpy's float32
results. Where numpy has no such op (sigmoid, gelu, softmax, rsqrt, ...) they are computed in float64 from the
definition, in a numerically stable form, and rounded to float32: the true value, which the kernel must reach
to within the tolerance.
"""
import json
import math
import os
import warnings

import numpy as np

warnings.simplefilter("ignore", RuntimeWarning)  # means of empty slices are NaN on purpose
f32 = np.float32
rng = np.random.default_rng(20240607)

# Tolerances: [rtol, atol]. Data movement and exactly rounded arithmetic must be bit-exact (up to -0 == 0).
EXACT = [0.0, 0.0]
ULP = [1e-6, 1e-40]        # elementwise transcendental: a few ulp; atol only forgives subnormal rounding
REDUCE = [1e-5, 1e-6]      # reductions: different summation orders; atol for sums that cancel to ~0

tensors = {}
cases = []


# ---------------------------------------------------------------------------------------------------------------
# Encoding

def enc_float(v):
    v = f32(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    # Shortest float32 repr when it survives decimal -> double -> float32 (what the Swift loader does),
    # the exact double repr otherwise.
    s = str(v)
    if f32(float(s)).tobytes() == v.tobytes():
        return float(s) if ("." in s or "e" in s) else int(s)
    return float(v)


def T(a):
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return {"shape": list(a.shape), "ints": [int(x) for x in a.reshape(-1)]}
    a = a.astype(f32)
    return {"shape": list(a.shape), "data": [enc_float(x) for x in a.reshape(-1)]}


def named(name, a):
    """Registers a shared input tensor (stored once, referenced by name)."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a.astype(f32)
    tensors[name] = (a, T(a))
    return name


def value(x):
    return tensors[x][0] if isinstance(x, str) else np.asarray(x)


def add(name, op, inputs, expect, args=None, tol=EXACT):
    enc_inputs = [x if isinstance(x, str) else T(x) for x in inputs]
    if isinstance(expect, dict):
        e = expect
    elif isinstance(expect, (list, tuple)):
        e = [T(x) for x in expect]
    else:
        e = T(expect)
    cases.append({"name": name, "op": op, "inputs": enc_inputs, "args": args or {}, "expect": e, "tol": tol})


def error(kind):
    return {"error": kind}


def expect_error(name, op, inputs, kind, numpy_call, args=None):
    """A case that must throw `kind`; `numpy_call` must raise on the same input (checked here)."""
    if numpy_call is not None:
        try:
            numpy_call()
        except (ValueError, IndexError, TypeError, ZeroDivisionError, np.exceptions.AxisError):
            pass
        else:
            raise AssertionError(f"{name}: numpy did not raise")
    add(name, op, inputs, error(kind), args)


def randn(*shape, scale=1.0):
    # Rounded to 3 decimals so the file stays small; still float32 after rounding.
    return np.round(rng.standard_normal(shape) * scale, 3).astype(f32)


def r32(x64):
    """float64 reference -> float32, silencing the overflow warning for inf results."""
    with np.errstate(all="ignore"):
        return np.asarray(x64, dtype=np.float64).astype(f32)


# Special values every elementwise op sees.
SPECIAL = np.array([
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 5.0, -5.0, 9.0, -9.0,
    0.6, -0.6, 0.625, -0.625, 0.7, 1e-8, -1e-8, 1e-30, -1e-30, 1e-40, -1e-40, 1e-3, -1e-3,
    10.0, -10.0, 20.0, -20.0, 50.0, -50.0, 87.0, -87.0, 87.5, -87.5, 88.5, -88.5, 88.7, -88.7, 89.0, -89.0,
    100.0, -100.0, 103.0, -103.0, 105.0, -105.0, 1e10, -1e10, 1e38, -1e38, 3e38, -3e38,
    np.inf, -np.inf, np.nan,
], dtype=f32)


# ---------------------------------------------------------------------------------------------------------------
# Creation

def creation():
    add("zeros/2x3", "zeros", [], np.zeros((2, 3), f32), {"shape": [2, 3]})
    add("zeros/0x3", "zeros", [], np.zeros((0, 3), f32), {"shape": [0, 3]})
    add("zeros/scalar", "zeros", [], np.zeros((), f32), {"shape": []})
    add("ones/4", "ones", [], np.ones((4,), f32), {"shape": [4]})
    add("ones/2x1x3", "ones", [], np.ones((2, 1, 3), f32), {"shape": [2, 1, 3]})
    add("full/2x2", "full", [], np.full((2, 2), 3.5, f32), {"shape": [2, 2], "value": 3.5})
    add("full/nan", "full", [], np.full((3,), np.nan, f32), {"shape": [3], "value": "nan"})
    add("full/-inf", "full", [], np.full((1, 2), -np.inf, f32), {"shape": [1, 2], "value": "-inf"})
    expect_error("zeros/negative", "zeros", [], "invalidArgument", lambda: np.zeros((2, -1)), {"shape": [2, -1]})
    expect_error("full/negative", "full", [], "invalidArgument", lambda: np.full((-3,), 1.0),
                 {"shape": [-3], "value": 1.0})

    aranges = [
        (0, 5, 1), (5, 0, -1), (0, 1, 0.25), (1, -1, -0.5), (0.5, 2.75, 0.5), (0, 1, 0.1), (0.3, 2.1, 0.7),
        (1, -1, -0.3), (0, 10, 0.37), (-3, 3, 1.5), (3, 3, 1), (5, 1, 1), (1, 5, -1), (0, 1, 2), (2.5, -2.5, -1),
        (-1e3, 1e3, 123.5), (0, 7, 3), (0, 7.5, 2.5),
    ]
    for (a, b, s) in aranges:
        a, b, s = float(f32(a)), float(f32(b)), float(f32(s))
        add(f"arange/{a}:{b}:{s}", "arange", [], np.arange(a, b, s, dtype=f32), {"start": a, "stop": b, "step": s})
    add("arange/stop-only", "arange", [], np.arange(6, dtype=f32), {"stop": 6})
    expect_error("arange/step0", "arange", [], "invalidArgument", lambda: np.arange(0, 1, 0, dtype=f32),
                 {"start": 0, "stop": 1, "step": 0})
    expect_error("arange/huge", "arange", [], "allocationTooLarge", None, {"start": 0, "stop": 1e30, "step": 1})
    expect_error("arange/inf", "arange", [], "invalidArgument", None, {"start": 0, "stop": "inf", "step": 1})

    for (a, b, n) in [(0, 1, 5), (-1, 1, 1), (2, -3, 7), (0, 1, 0), (0.1, 0.9, 9), (-5, 5, 11), (1, 1, 3), (0, 1, 2)]:
        a, b = float(f32(a)), float(f32(b))
        add(f"linspace/{a}:{b}:{n}", "linspace", [], np.linspace(a, b, n, dtype=f32), {"start": a, "stop": b, "num": n})
    expect_error("linspace/negative", "linspace", [], "invalidArgument", lambda: np.linspace(0, 1, -1),
                 {"start": 0, "stop": 1, "num": -1})

    for (n, m, k) in [(3, None, 0), (3, 4, 1), (4, 3, -2), (2, None, 5), (2, None, -5), (3, 5, 3), (0, None, 0), (1, 3, -1)]:
        args = {"n": n, "k": k}
        if m is not None:
            args["m"] = m
        add(f"eye/{n}x{m}k{k}", "eye", [], np.eye(n, m, k, dtype=f32), args)
    expect_error("eye/negative", "eye", [], "invalidArgument", lambda: np.eye(-1), {"n": -1, "k": 0})
    add("eye/k-huge", "eye", [], np.eye(2, 2, 2**62, dtype=f32), {"n": 2, "m": 2, "k": 2**62})
    add("eye/k-min", "eye", [], np.eye(2, 2, -(2**62), dtype=f32), {"n": 2, "m": 2, "k": -(2**62)})


# ---------------------------------------------------------------------------------------------------------------
# Elementwise

BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
}


def np_binary(op, a, b):
    with np.errstate(all="ignore"):
        r = BINARY[op](a.astype(f32), b.astype(f32))
    return r.astype(f32)


def elementwise():
    # Shapes that exercise each path of the broadcast kernel: one long row, scalar either side, row vectors,
    # outer-product style, 0-d, empty dimensions, SIMD tails (37 = 4 * 8 + 5).
    pairs = [
        ("same37", (37,), (37,)),
        ("scalar-right", (37,), ()),
        ("scalar-left", (), (37,)),
        ("scalars", (), ()),
        ("one-vs-scalar", (1,), ()),
        ("3x1_1x4", (3, 1), (1, 4)),
        ("2x1x3_4x1", (2, 1, 3), (4, 1)),
        ("2x3x4_3x1", (2, 3, 4), (3, 1)),
        ("5x17_17", (5, 17), (17,)),
        ("5x17_5x1", (5, 17), (5, 1)),
        ("1x17_5x17", (1, 17), (5, 17)),
        ("2x3x1x9_3x5x1", (2, 3, 1, 9), (3, 5, 1)),
        ("4x1x1_1x1x1", (4, 1, 1), (1, 1, 1)),
        ("1x1_scalar", (1, 1), ()),
        ("0x3_3", (0, 3), (3,)),
        ("0x3_1", (0, 3), (1,)),
        ("2x0_2x1", (2, 0), (2, 1)),
        ("0_scalar", (0,), ()),
        ("3x1x2_1x0x1", (3, 1, 2), (1, 0, 1)),
    ]
    for key, sa, sb in pairs:
        a = named(f"bin_a_{key}", randn(*sa, scale=2.0))
        # b is kept away from 0 so that division and pow are well conditioned; pow gets its own exponents.
        braw = randn(*sb, scale=2.0)
        braw = np.where(np.abs(braw) < 0.1, f32(0.5), braw).astype(f32)
        b = named(f"bin_b_{key}", braw)
        for op in ["add", "sub", "mul", "div", "maximum", "minimum", "lt", "ge"]:
            tol = EXACT
            add(f"{op}/{key}", op, [a, b], np_binary(op, value(a), value(b)), tol=tol)
        # pow: positive base, fractional exponent
        base = named(f"pow_a_{key}", np.abs(value(a)) + f32(0.25))
        ex = named(f"pow_b_{key}", np.round(value(b) / 2, 2).astype(f32))
        add(f"pow/{key}", "pow", [base, ex], np_binary("pow", value(base), value(ex)), tol=ULP)

    # Every op on one pair (with ties so that comparisons and maximum/minimum see equal values).
    a = named("cmp_a", np.array([[1, 2, 3, np.nan], [0, -0.0, np.inf, -np.inf], [5, -5, 2, 2]], f32))
    b = named("cmp_b", np.array([[1, 3, 2, 1], [-0.0, 0, np.inf, np.inf], [np.nan, -5, 2.5, 1.5]], f32))
    for op in BINARY:
        add(f"{op}/specials", op, [a, b], np_binary(op, value(a), value(b)), tol=ULP if op == "pow" else EXACT)
    # Special values through arithmetic: inf - inf, 0/0, x/0, nan propagation.
    sa = named("spec_a", np.array([np.inf, np.inf, 0, 1, -1, 0, np.nan, 1, 3, -7, 1e38, 1e-38], f32))
    sb = named("spec_b", np.array([np.inf, -np.inf, 0, 0, 0, -0.0, 1, np.nan, 0.5, 2, 10, 1e-3], f32))
    for op in ["add", "sub", "mul", "div", "maximum", "minimum", "pow"]:
        add(f"{op}/special-values", op, [sa, sb], np_binary(op, value(sa), value(sb)), tol=ULP if op == "pow" else EXACT)
    # pow with negative bases: integer exponents are defined, fractional ones NaN; 0^-1 = inf.
    pa = named("pow_neg_a", np.array([-2, -2, -8, -8, 0, 0, -0.0, np.nan, 1, -1, 2, 10, 4], f32))
    pb = named("pow_neg_b", np.array([3, 2, 1 / 3, -1, -1, 0, -1, 0, np.nan, np.inf, -np.inf, 0.5, -0.5], f32))
    add("pow/negative-bases", "pow", [pa, pb], np_binary("pow", value(pa), value(pb)), tol=ULP)

    # Scalar (Float) operands on either side, the overloads the interpreter uses for `x * 2`.
    x = named("scal_x", randn(2, 5))
    for op, f in [("add_scalar", np.add), ("sub_scalar", np.subtract), ("mul_scalar", np.multiply),
                  ("div_scalar", np.divide)]:
        add(f"{op}/right", op, [x], f(value(x), f32(1.5)).astype(f32), {"scalar": 1.5, "left": False})
        add(f"{op}/left", op, [x], f(f32(1.5), value(x)).astype(f32), {"scalar": 1.5, "left": True})
    add("pow_scalar/2", "pow_scalar", [x], np.power(value(x), f32(2)).astype(f32), {"scalar": 2.0}, tol=ULP)

    # Shapes that must not broadcast.
    for key, sa_, sb_ in [("3_4", (3,), (4,)), ("2x3_3x2", (2, 3), (3, 2)), ("2x1x3_2x4", (2, 1, 3), (2, 4)),
                          ("0_2", (0,), (2,)), ("2x3_2", (2, 3), (2,))]:
        A, B = np.zeros(sa_, f32), np.zeros(sb_, f32)
        for op in ["add", "mul", "maximum", "lt"]:
            expect_error(f"{op}/mismatch-{key}", op, [A, B], "shapeMismatch", lambda: BINARY[op](A, B))

    # Unary ops over special values and random values (37 + the specials: SIMD body and tail).
    xs = named("unary_x", np.concatenate([SPECIAL, randn(37, scale=3.0)]))
    X = value(xs).astype(np.float64)
    with np.errstate(all="ignore"):
        xf = value(xs)
        unary = {
            "neg": (-xf, EXACT),
            "abs": (np.abs(xf), EXACT),
            "exp": (np.exp(xf), ULP),
            "log": (np.log(xf), ULP),
            "log1p": (np.log1p(xf), ULP),
            "sqrt": (np.sqrt(xf), EXACT),
            "rsqrt": (r32(1 / np.sqrt(X)), ULP),
            "tanh": (np.tanh(xf), ULP),
            "sigmoid": (r32(np.where(X >= 0, 1 / (1 + np.exp(-X)), np.exp(X) / (1 + np.exp(X)))), ULP),
            "relu": (np.maximum(xf, f32(0)), EXACT),
            "isnan": (np.isnan(xf).astype(f32), EXACT),
            "isfinite": (np.isfinite(xf).astype(f32), EXACT),
        }
        sig = np.where(X >= 0, 1 / (1 + np.exp(-X)), np.exp(X) / (1 + np.exp(X)))
        unary["silu"] = (r32(X * sig), ULP)
        # gelu, tanh form: 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3) (stable form).
        u2 = 2 * math.sqrt(2 / math.pi) * (X + 0.044715 * X ** 3)
        unary["gelu_tanh"] = (r32(X * np.where(u2 >= 0, 1 / (1 + np.exp(-u2)), np.exp(u2) / (1 + np.exp(u2)))), ULP)
        # gelu, erf form: 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2) (stable for x << 0).
        unary["gelu_erf"] = (r32(np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) if not math.isnan(v) else math.nan
                                           for v in X])), ULP)
    # gelu's far negative tail (x < -4) is ill-conditioned in float32: the result is ~exp(-1.6 x^2 ...) and its
    # relative error is ~|x|^3 ulp of the exponent, whatever the formula. That tail gets a looser tolerance;
    # a textbook 0.5 x (1 + tanh(u)) still fails it by orders of magnitude (1 + t cancels).
    GELU_TAIL = [5e-5, 1e-40]
    for op, (y, tol) in unary.items():
        add(f"{op}/specials", op, [xs], y, tol=GELU_TAIL if op.startswith("gelu") else tol)
    g = named("gelu_x", np.concatenate([np.linspace(-4, 4, 81, dtype=f32), randn(19, scale=1.5)]).astype(f32))
    G = value(g).astype(np.float64)
    gu2 = 2 * math.sqrt(2 / math.pi) * (G + 0.044715 * G ** 3)
    add("gelu_tanh/moderate", "gelu_tanh", [g], r32(G / (1 + np.exp(-gu2))), tol=ULP)
    add("gelu_erf/moderate", "gelu_erf", [g], r32(np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in G])), tol=ULP)

    # log1p of tiny and near -1 arguments; exp/log at the edges of the float range.
    t = named("log1p_x", np.array([1e-10, -1e-10, 1e-7, -1e-7, 1e-5, -1e-5, 1e-3, 0.1, -0.5, -0.99, -0.999999,
                                   -1, -1.5, 1e20, 3e38, 1e-44, np.inf, -np.inf, np.nan, -0.0], f32))
    with np.errstate(all="ignore"):
        add("log1p/tiny", "log1p", [t], np.log1p(value(t)), tol=ULP)
    e = named("exp_x", np.array([-103.9, -103.0, -95.5, -90.0, -87.34, -87.33, -80.0, 80.0, 88.0, 88.37, 88.38,
                                 88.72, 88.73, 1e-7, -1e-7, 0.34657359, -0.34657359, 0.5], f32))
    with np.errstate(all="ignore"):
        add("exp/edges", "exp", [e], np.exp(value(e)), tol=ULP)
    lg = named("log_x", np.array([1.17549435e-38, 1e-38, 1e-45, 3.4e38, 0.7071067, 0.7071068, 1.0000001, 0.9999999,
                                  2.0, 0.5, 1e-20, 1e20], f32))
    add("log/edges", "log", [lg], np.log(value(lg)), tol=ULP)

    # clamp with either bound missing, and bounds equal.
    for lo, hi in [(-1.0, 2.0), (None, 0.5), (-0.5, None), (1.0, 1.0), (None, None)]:
        args = {}
        if lo is not None:
            args["min"] = lo
        if hi is not None:
            args["max"] = hi
        y = np.clip(value(xs), f32(lo) if lo is not None else None, f32(hi) if hi is not None else None) \
            if (lo is not None or hi is not None) else value(xs)
        add(f"clamp/{lo}:{hi}", "clamp", [xs], y, args)
    expect_error("clamp/lo>hi", "clamp", [xs], "invalidArgument", None, {"min": 2.0, "max": 1.0})

    # where with three-way broadcasting; NaN conditions count as true, as bool(nan) does.
    c = named("where_c", np.array([[0], [1], [np.nan]], f32))
    wa = named("where_a", randn(1, 4))
    wb = named("where_b", np.array(7.0, f32))
    add("where/3way", "where", [c, wa, wb], np.where(value(c).astype(bool), value(wa), value(wb)).astype(f32))
    c2 = named("where_c2", np.array([1, 0, -2, 0, 0.5], f32))
    wa2 = named("where_a2", randn(2, 5))
    wb2 = named("where_b2", randn(2, 1))
    add("where/rows", "where", [c2, wa2, wb2], np.where(value(c2).astype(bool), value(wa2), value(wb2)).astype(f32))
    expect_error("where/mismatch", "where", [np.zeros(3, f32), np.zeros(4, f32), np.zeros(1, f32)], "shapeMismatch",
                 lambda: np.where(np.zeros(3), np.zeros(4), np.zeros(1)))


# ---------------------------------------------------------------------------------------------------------------
# Reductions

def reductions():
    x = named("red_x", randn(3, 5, 7))
    y = named("red_y", randn(2, 3, 4, 5))
    axes_list = [None, [0], [1], [2], [-1], [0, 2], [-3, -1], [0, 1], [1, 2], [0, 1, 2], []]
    X = value(x).astype(np.float64)

    def red_ref(op, A, axes, keep, ddof=0):
        ax = tuple(axes) if axes is not None else None
        A64 = A.astype(np.float64)
        with np.errstate(all="ignore"):
            if op == "sum":
                return r32(A64.sum(axis=ax, keepdims=keep))
            if op == "mean":
                return r32(A64.mean(axis=ax, keepdims=keep))
            if op == "max":
                return A.max(axis=ax, keepdims=keep)
            if op == "min":
                return A.min(axis=ax, keepdims=keep)
            if op == "var":
                return r32(A64.var(axis=ax, keepdims=keep, ddof=ddof))
            if op == "std":
                return r32(A64.std(axis=ax, keepdims=keep, ddof=ddof))
            if op == "logsumexp":
                m = A64.max(axis=ax, keepdims=True) if A64.size else np.zeros([1] * A64.ndim)
                m = np.where(np.isfinite(m), m, 0)
                s = np.log(np.exp(A64 - m).sum(axis=ax, keepdims=True)) + m
                return r32(s if keep else s.reshape(np.sum(A64, axis=ax, keepdims=False).shape))
        raise ValueError(op)

    for op in ["sum", "mean", "max", "min", "var", "std", "logsumexp"]:
        for axes in axes_list:
            for keep in [False, True]:
                if axes == [] and op in ("var", "std", "logsumexp"):
                    continue
                tol = EXACT if op in ("max", "min") else REDUCE
                add(f"{op}/3x5x7/{axes}/keep={keep}", op, [x], red_ref(op, value(x), axes, keep),
                    {"axes": axes, "keepDims": keep}, tol=tol)
        for axes in [[1, 3], [0, 2, 3], [-1, 0]]:
            add(f"{op}/2x3x4x5/{axes}", op, [y], red_ref(op, value(y), axes, False), {"axes": axes, "keepDims": False},
                tol=EXACT if op in ("max", "min") else REDUCE)
    for ddof in [0, 1, 2]:
        for axes in [None, [1], [0, 2]]:
            add(f"var/ddof={ddof}/{axes}", "var", [x], red_ref("var", value(x), axes, False, ddof),
                {"axes": axes, "keepDims": False, "ddof": ddof}, tol=REDUCE)
            add(f"std/ddof={ddof}/{axes}", "std", [x], red_ref("std", value(x), axes, True, ddof),
                {"axes": axes, "keepDims": True, "ddof": ddof}, tol=REDUCE)

    # A long row (SIMD body, several accumulators, tail) and sums that cancel.
    long = named("red_long", randn(2, 300))
    for op in ["sum", "mean", "max", "min", "var", "logsumexp"]:
        add(f"{op}/2x300/[-1]", op, [long], red_ref(op, value(long), [-1], False), {"axes": [-1], "keepDims": False},
            tol=EXACT if op in ("max", "min") else REDUCE)
        add(f"{op}/2x300/all", op, [long], red_ref(op, value(long), None, False), {"axes": None, "keepDims": False},
            tol=EXACT if op in ("max", "min") else REDUCE)
    cancel = named("red_cancel", np.array([[1e4, 1, -1e4, 2.5], [3, -3, 1e-3, 0]], f32))
    add("sum/cancel", "sum", [cancel], np.array([3.5, 1e-3], f32), {"axes": [1], "keepDims": False}, tol=REDUCE)

    # NaN propagates through max/min/sum; inf handling in logsumexp.
    nanx = named("red_nan", np.array([[1, np.nan, 3], [4, 5, 6], [-np.inf, -np.inf, -np.inf], [np.inf, 1, 2]], f32))
    N64 = value(nanx).astype(np.float64)
    for op in ["max", "min"]:
        for axes in [[1], [0], None]:
            add(f"{op}/nan/{axes}", op, [nanx], red_ref(op, value(nanx), axes, False), {"axes": axes, "keepDims": False})
    add("sum/nan", "sum", [nanx], r32(N64.sum(axis=1)), {"axes": [1], "keepDims": False}, tol=REDUCE)
    add("logsumexp/inf-rows", "logsumexp", [nanx], red_ref("logsumexp", value(nanx), [1], False),
        {"axes": [1], "keepDims": False}, tol=REDUCE)
    big = named("red_big", np.array([[1000, 1000.5, -1000], [-1e30, -1e30, -1e30], [88, 89, 90]], f32))
    add("logsumexp/large", "logsumexp", [big], red_ref("logsumexp", value(big), [1], False),
        {"axes": [1], "keepDims": False}, tol=REDUCE)
    add("logsumexp/large-axis0", "logsumexp", [big], red_ref("logsumexp", value(big), [0], True),
        {"axes": [0], "keepDims": True}, tol=REDUCE)

    # Empty dimensions.
    e = named("red_empty", np.zeros((0, 3), f32))
    E64 = value(e).astype(np.float64)
    add("sum/empty/axis0", "sum", [e], np.zeros(3, f32), {"axes": [0], "keepDims": False})
    add("sum/empty/axis1", "sum", [e], np.zeros(0, f32), {"axes": [1], "keepDims": False})
    add("sum/empty/all", "sum", [e], np.zeros((), f32), {"axes": None, "keepDims": False})
    add("sum/empty/keep", "sum", [e], np.zeros((1, 3), f32), {"axes": [0], "keepDims": True})
    with np.errstate(all="ignore"):
        add("mean/empty/axis0", "mean", [e], r32(E64.mean(axis=0)), {"axes": [0], "keepDims": False})
        add("var/empty/axis0", "var", [e], r32(E64.var(axis=0)), {"axes": [0], "keepDims": False})
    add("max/empty/axis1", "max", [e], np.zeros((0,), f32), {"axes": [1], "keepDims": False})
    add("max/empty/axis1-keep", "max", [e], np.zeros((0, 1), f32), {"axes": [1], "keepDims": True})
    expect_error("max/empty/axis0", "max", [e], "invalidArgument", lambda: value(e).max(axis=0),
                 {"axes": [0], "keepDims": False})
    expect_error("min/empty/all", "min", [e], "invalidArgument", lambda: value(e).min(), {"axes": None, "keepDims": False})
    add("logsumexp/empty/axis0", "logsumexp", [e], np.full(3, -np.inf, f32), {"axes": [0], "keepDims": False})
    add("logsumexp/empty/axis1", "logsumexp", [e], np.zeros(0, f32), {"axes": [1], "keepDims": False})
    add("norm/empty/axis0", "norm", [e], np.zeros(3, f32), {"p": 2.0, "axes": [0], "keepDims": False})

    # 0-d input: every reduction over "all axes" of a scalar is the scalar itself.
    s = named("red_scalar", np.array(2.5, f32))
    for op in ["sum", "mean", "max", "min"]:
        add(f"{op}/scalar", op, [s], np.array(2.5, f32), {"axes": None, "keepDims": False})

    # Bad axes.
    expect_error("sum/axis-out-of-range", "sum", [x], "invalidAxis", lambda: value(x).sum(axis=3),
                 {"axes": [3], "keepDims": False})
    expect_error("sum/axis-negative-out", "sum", [x], "invalidAxis", lambda: value(x).sum(axis=-4),
                 {"axes": [-4], "keepDims": False})
    expect_error("sum/axis-repeated", "sum", [x], "invalidArgument", lambda: value(x).sum(axis=(1, -2)),
                 {"axes": [1, -2], "keepDims": False})

    # argmax / argmin: first occurrence on ties, NaN wins, flattened when no axis.
    ties = named("arg_ties", np.array([[1, 3, 3, 0], [2, 2, 2, 2], [-1, np.nan, 5, np.nan], [0, -0.0, -1, -1]], f32))
    for op, f in [("argmax", np.argmax), ("argmin", np.argmin)]:
        for A, nm in [(x, "3x5x7"), (ties, "ties")]:
            arr = value(A)
            add(f"{op}/{nm}/flat", op, [A], np.asarray(f(arr)), {})
            add(f"{op}/{nm}/flat-keep", op, [A], np.asarray(f(arr, keepdims=True)), {"keepDims": True})
            for axis in range(-arr.ndim, arr.ndim):
                add(f"{op}/{nm}/axis{axis}", op, [A], f(arr, axis=axis), {"axis": axis})
                add(f"{op}/{nm}/axis{axis}-keep", op, [A], f(arr, axis=axis, keepdims=True),
                    {"axis": axis, "keepDims": True})
        expect_error(f"{op}/empty", op, [e], "invalidArgument", lambda: f(value(e), axis=0), {"axis": 0})
        expect_error(f"{op}/bad-axis", op, [x], "invalidAxis", lambda: f(value(x), axis=5), {"axis": 5})

    # Vector norms, p = 1, 2, inf (and the generic p = 3), over the same axes as sum.
    for p in [1.0, 2.0, "inf", 3.0, 0.0, "-inf"]:
        P = math.inf if p == "inf" else (-math.inf if p == "-inf" else p)
        for axes in [None, [1], [0, 2], [-1]]:
            ax = tuple(axes) if axes is not None else None
            A = np.abs(X)
            if P == math.inf:
                ref = A.max(axis=ax)
            elif P == -math.inf:
                ref = A.min(axis=ax)
            elif P == 0:
                ref = (A != 0).sum(axis=ax).astype(np.float64)
            else:
                ref = (A ** P).sum(axis=ax) ** (1 / P)
            add(f"norm/p={p}/{axes}", "norm", [x], r32(ref), {"p": p, "axes": axes, "keepDims": False}, tol=REDUCE)
    add("norm/p=2/keep", "norm", [x], r32(np.sqrt((X ** 2).sum(axis=1, keepdims=True))),
        {"p": 2.0, "axes": [1], "keepDims": True}, tol=REDUCE)

    # cumsum: numpy accumulates float32 sequentially, as the kernel does.
    for axis in [0, 1, 2, -1, -3]:
        add(f"cumsum/3x5x7/axis{axis}", "cumsum", [x], np.cumsum(value(x), axis=axis), {"axis": axis}, tol=REDUCE)
    c1 = named("cumsum_1d", np.array([1, 2, np.nan, 4, np.inf, -np.inf, 1], f32))
    add("cumsum/specials", "cumsum", [c1], np.cumsum(value(c1)), {"axis": 0})
    add("cumsum/empty", "cumsum", [e], np.cumsum(value(e), axis=0), {"axis": 0})
    expect_error("cumsum/bad-axis", "cumsum", [x], "invalidAxis", lambda: np.cumsum(value(x), axis=3), {"axis": 3})


# ---------------------------------------------------------------------------------------------------------------
# Softmax

def softmax_ref(A, axis):
    A = A.astype(np.float64)
    with np.errstate(all="ignore"):
        m = A.max(axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # (an all -inf row gives NaN, as 0/0)
        e = np.exp(A - m)
        s = e.sum(axis=axis, keepdims=True)
        return r32(e / s), r32((A - m) - np.log(s))


def softmax_cases():
    x = named("sm_x", randn(3, 5, 7, scale=3.0))
    for axis in [0, 1, 2, -1, -2]:
        sm, lsm = softmax_ref(value(x), axis)
        add(f"softmax/3x5x7/axis{axis}", "softmax", [x], sm, {"axis": axis}, tol=REDUCE)
        add(f"log_softmax/3x5x7/axis{axis}", "log_softmax", [x], lsm, {"axis": axis}, tol=REDUCE)
    rows = named("sm_rows", np.array([
        [1000, 1000.5, -1000, 999, 1000, 0, 1, 2, 3],
        [-np.inf, 0, 1, -np.inf, 2, -np.inf, 3, 4, 5],
        [-np.inf] * 9,
        [1e30, -1e30, 0, 0, 0, 0, 0, 0, 0],
        [-1e4, -1e4 + 1, -1e4 + 2, -1e4, -1e4, -1e4, -1e4, -1e4, -1e4],
        [np.nan, 1, 2, 3, 4, 5, 6, 7, 8],
        [88.5, 89, 90, -88.5, -89, -90, 0, 1e-3, -1e-3],
        [0.0] * 9,
    ], f32))
    sm, lsm = softmax_ref(value(rows), -1)
    add("softmax/special-rows", "softmax", [rows], sm, {"axis": -1}, tol=REDUCE)
    add("log_softmax/special-rows", "log_softmax", [rows], lsm, {"axis": -1}, tol=REDUCE)
    long = named("sm_long", randn(2, 37, scale=4.0))
    for axis in [-1, 0]:
        sm, lsm = softmax_ref(value(long), axis)
        add(f"softmax/2x37/axis{axis}", "softmax", [long], sm, {"axis": axis}, tol=REDUCE)
        add(f"log_softmax/2x37/axis{axis}", "log_softmax", [long], lsm, {"axis": axis}, tol=REDUCE)
    one = named("sm_one", randn(4, 1))
    sm, lsm = softmax_ref(value(one), -1)
    add("softmax/width1", "softmax", [one], sm, {"axis": -1}, tol=REDUCE)
    add("log_softmax/width1", "log_softmax", [one], lsm, {"axis": -1}, tol=REDUCE)
    s0 = named("sm_scalar", np.array(3.0, f32))
    add("softmax/scalar", "softmax", [s0], np.array(1.0, f32), {"axis": -1}, tol=REDUCE)
    add("log_softmax/scalar", "log_softmax", [s0], np.array(0.0, f32), {"axis": -1}, tol=REDUCE)
    e = named("sm_empty", np.zeros((0, 4), f32))
    add("softmax/empty-rows", "softmax", [e], np.zeros((0, 4), f32), {"axis": -1})
    add("softmax/empty-axis", "softmax", [e], np.zeros((0, 4), f32), {"axis": 0})
    expect_error("softmax/bad-axis", "softmax", [x], "invalidAxis", None, {"axis": 3})


# ---------------------------------------------------------------------------------------------------------------
# Sorting and top-k

def stable_desc(A, axis):
    # Descending, stable (ties keep their order), NaN last: argsort of -x (-NaN is NaN, still last).
    return np.argsort(-A, axis=axis, kind="stable")


def sorting():
    x = named("sort_x", np.array([[3, 1, 2, 1, np.nan, -np.inf, 0, -0.0, 2],
                                  [np.nan, np.nan, 5, -5, 5, 0, np.inf, 1, 1],
                                  [1, 1, 1, 1, 1, 1, 1, 1, 1],
                                  [9, 8, 7, 6, 5, 4, 3, 2, 1]], f32))
    r = named("sort_r", np.round(rng.standard_normal((3, 4, 5)), 1).astype(f32))  # rounding makes ties
    for A, nm in [(x, "specials"), (r, "3x4x5")]:
        arr = value(A)
        for axis in range(-arr.ndim, arr.ndim):
            idx = np.argsort(arr, axis=axis, kind="stable")
            add(f"argsort/{nm}/axis{axis}", "argsort", [A], idx, {"axis": axis})
            add(f"sort/{nm}/axis{axis}", "sort", [A], np.take_along_axis(arr, idx, axis), {"axis": axis})
            didx = stable_desc(arr, axis)
            add(f"argsort/{nm}/axis{axis}/desc", "argsort", [A], didx, {"axis": axis, "descending": True})
            add(f"sort/{nm}/axis{axis}/desc", "sort", [A], np.take_along_axis(arr, didx, axis),
                {"axis": axis, "descending": True})
    v = named("sort_1d", np.array([5, -1, 3, 3, -1, 0, 8, 2, 7, 7, 6, 1, 0, 4, 9, 2, 11, -3, 3], f32))
    idx = np.argsort(value(v), kind="stable")
    add("argsort/1d", "argsort", [v], idx, {"axis": 0})
    add("sort/1d", "sort", [v], value(v)[idx], {"axis": -1})

    for A, nm in [(x, "specials"), (r, "3x4x5"), (v, "1d")]:
        arr = value(A)
        for axis in sorted({-1, 0}):
            n = arr.shape[axis]
            for k in sorted({0, 1, 3, n}):
                if k > n:
                    continue
                for largest in [True, False]:
                    if nm == "specials" and largest:
                        continue  # NaN ordering for "largest" is a convention, not numpy's; see the Swift tests
                    idx = stable_desc(arr, axis) if largest else np.argsort(arr, axis=axis, kind="stable")
                    idx = np.take(idx, np.arange(k), axis=axis)
                    add(f"topk/{nm}/axis{axis}/k{k}/largest={largest}", "topk", [A],
                        [np.take_along_axis(arr, idx, axis), idx], {"k": k, "axis": axis, "largest": largest})
    expect_error("topk/k-too-big", "topk", [v], "invalidArgument", None, {"k": 20, "axis": 0, "largest": True})
    expect_error("topk/k-negative", "topk", [v], "invalidArgument", None, {"k": -1, "axis": 0, "largest": True})


# ---------------------------------------------------------------------------------------------------------------
# Shape operations

def shape_ops():
    x = named("sh_x", np.arange(24, dtype=f32).reshape(2, 3, 4))
    X = value(x)
    for shp in [[-1, 4], [4, -1], [-1], [3, 8], [2, 3, 4], [1, 24, 1], [2, -1, 2], [24]]:
        add(f"reshape/{shp}", "reshape", [x], X.reshape(shp), {"shape": shp})
    expect_error("reshape/two-unknown", "reshape", [x], "invalidArgument", lambda: X.reshape(-1, -1), {"shape": [-1, -1]})
    expect_error("reshape/size", "reshape", [x], "shapeMismatch", lambda: X.reshape(7), {"shape": [7]})
    expect_error("reshape/unknown-no-fit", "reshape", [x], "shapeMismatch", lambda: X.reshape(5, -1), {"shape": [5, -1]})
    expect_error("reshape/negative", "reshape", [x], "invalidArgument", lambda: X.reshape(-2, -12), {"shape": [-2, -12]})
    s = named("sh_scalar", np.array(5.0, f32))
    add("reshape/scalar-to-1x1", "reshape", [s], np.reshape(value(s), (1, 1)), {"shape": [1, 1]})
    add("reshape/1x1-to-scalar", "reshape", [np.ones((1, 1), f32)], np.ones((), f32), {"shape": []})
    e = named("sh_empty", np.zeros((0, 3), f32))
    add("reshape/empty", "reshape", [e], value(e).reshape(3, 0), {"shape": [3, 0]})

    for order in [[2, 0, 1], [0, 1, 2], [1, 0, 2], [-1, 0, 1], [2, 1, 0]]:
        add(f"permute/{order}", "permute", [x], np.transpose(X, order), {"order": order})
    expect_error("permute/repeat", "permute", [x], "invalidArgument", lambda: np.transpose(X, [0, 0, 1]),
                 {"order": [0, 0, 1]})
    expect_error("permute/count", "permute", [x], "invalidArgument", lambda: np.transpose(X, [0, 1]), {"order": [0, 1]})
    expect_error("permute/bad-axis", "permute", [x], "invalidAxis", lambda: np.transpose(X, [0, 1, 3]),
                 {"order": [0, 1, 3]})
    add("transpose/default", "transpose", [x], np.swapaxes(X, -2, -1), {})
    add("transpose/0,2", "transpose", [x], np.swapaxes(X, 0, 2), {"a0": 0, "a1": 2})
    add("transpose/-3,1", "transpose", [x], np.swapaxes(X, -3, 1), {"a0": -3, "a1": 1})
    v = named("sh_vec", np.arange(5, dtype=f32))
    add("transpose/1d", "transpose", [v], value(v).T, {})
    big = named("sh_big", np.arange(3 * 37, dtype=f32).reshape(3, 37))
    add("transpose/3x37", "transpose", [big], value(big).T, {})

    sq = named("sh_sq", np.arange(6, dtype=f32).reshape(1, 3, 1, 2))
    add("squeeze/all", "squeeze", [sq], np.squeeze(value(sq)), {})
    add("squeeze/0", "squeeze", [sq], np.squeeze(value(sq), 0), {"axes": [0]})
    add("squeeze/-2", "squeeze", [sq], np.squeeze(value(sq), -2), {"axes": [-2]})
    add("squeeze/0,2", "squeeze", [sq], np.squeeze(value(sq), (0, 2)), {"axes": [0, 2]})
    expect_error("squeeze/not-1", "squeeze", [sq], "invalidArgument", lambda: np.squeeze(value(sq), 1), {"axes": [1]})
    add("squeeze/scalar", "squeeze", [s], value(s), {})
    for ax in [0, 1, 3, -1, -4]:
        add(f"unsqueeze/{ax}", "unsqueeze", [x], np.expand_dims(X, ax), {"axis": ax})
    expect_error("unsqueeze/5", "unsqueeze", [x], "invalidAxis", lambda: np.expand_dims(X, 5), {"axis": 5})
    add("unsqueeze/scalar", "unsqueeze", [s], np.expand_dims(value(s), 0), {"axis": 0})

    col = named("sh_col", np.arange(3, dtype=f32).reshape(3, 1))
    for tgt in [[3, 4], [2, 3, 4], [3, 1], [1, 3, 1], [0, 3, 5]]:
        add(f"broadcast_to/3x1->{tgt}", "broadcast_to", [col], np.broadcast_to(value(col), tgt), {"shape": tgt})
    add("broadcast_to/scalar", "broadcast_to", [s], np.broadcast_to(value(s), (2, 2)), {"shape": [2, 2]})
    add("broadcast_to/row", "broadcast_to", [v], np.broadcast_to(value(v), (3, 5)), {"shape": [3, 5]})
    expect_error("broadcast_to/shrink", "broadcast_to", [v], "shapeMismatch",
                 lambda: np.broadcast_to(value(v), (1,)), {"shape": [1]})
    expect_error("broadcast_to/fewer-dims", "broadcast_to", [col], "shapeMismatch",
                 lambda: np.broadcast_to(value(col), (3,)), {"shape": [3]})
    expect_error("broadcast_to/mismatch", "broadcast_to", [col], "shapeMismatch",
                 lambda: np.broadcast_to(value(col), (4, 2)), {"shape": [4, 2]})
    add("expand/-1,4", "expand", [col], np.broadcast_to(value(col), (3, 4)), {"shape": [-1, 4]})
    add("expand/2,-1,5", "expand", [col], np.broadcast_to(value(col), (2, 3, 5)), {"shape": [2, -1, 5]})

    a = named("cat_a", np.arange(6, dtype=f32).reshape(2, 3))
    b = named("cat_b", np.arange(100, 109, dtype=f32).reshape(3, 3))
    c = named("cat_c", np.arange(200, 204, dtype=f32).reshape(2, 2))
    add("concat/axis0", "concat", [a, b], np.concatenate([value(a), value(b)], 0), {"axis": 0})
    add("concat/axis1", "concat", [a, c, a], np.concatenate([value(a), value(c), value(a)], 1), {"axis": 1})
    add("concat/axis-1", "concat", [a, c], np.concatenate([value(a), value(c)], -1), {"axis": -1})
    add("concat/with-empty", "concat", [a, e, b], np.concatenate([value(a), value(e), value(b)], 0), {"axis": 0})
    add("concat/single", "concat", [a], value(a), {"axis": 0})
    add("concat/3d-axis1", "concat", [x, x], np.concatenate([X, X], 1), {"axis": 1})
    expect_error("concat/mismatch", "concat", [a, b], "shapeMismatch",
                 lambda: np.concatenate([value(a), value(b)], 1), {"axis": 1})
    expect_error("concat/rank", "concat", [a, v], "shapeMismatch", lambda: np.concatenate([value(a), value(v)]), {"axis": 0})
    expect_error("concat/scalar", "concat", [s, s], "invalidArgument", lambda: np.concatenate([value(s), value(s)]),
                 {"axis": 0})
    expect_error("concat/bad-axis", "concat", [a, a], "invalidAxis", lambda: np.concatenate([value(a), value(a)], 2),
                 {"axis": 2})
    sevens = named("cat_sevens", np.full((2, 3), 7, f32))
    for ax in [0, 1, 2, -1]:
        add(f"stack/axis{ax}", "stack", [a, sevens, a], np.stack([value(a), value(sevens), value(a)], ax), {"axis": ax})
    add("stack/scalars", "stack", [s, s], np.stack([value(s), value(s)]), {"axis": 0})
    expect_error("stack/mismatch", "stack", [a, c], "shapeMismatch", lambda: np.stack([value(a), value(c)]), {"axis": 0})
    expect_error("stack/bad-axis", "stack", [a, a], "invalidAxis", lambda: np.stack([value(a), value(a)], 3), {"axis": 3})

    w = named("split_x", np.arange(30, dtype=f32).reshape(3, 10))
    W = value(w)
    add("split/sizes", "split", [w], np.split(W, [1, 3, 3], axis=1), {"sizes": [1, 2, 0, 7], "axis": 1})
    add("split/sections", "split", [w], np.split(W, 5, axis=1), {"sections": 5, "axis": 1})
    add("split/sections-axis0", "split", [w], np.split(W, 3, axis=0), {"sections": 3, "axis": 0})
    add("split/negative-axis", "split", [w], np.split(W, 2, axis=-1), {"sections": 2, "axis": -1})
    expect_error("split/uneven", "split", [w], "invalidArgument", lambda: np.split(W, 3, axis=1),
                 {"sections": 3, "axis": 1})
    expect_error("split/sizes-sum", "split", [w], "invalidArgument", None, {"sizes": [4, 5], "axis": 1})
    expect_error("split/negative-size", "split", [w], "invalidArgument", None, {"sizes": [12, -2], "axis": 1})
    for ax in [0, 1, 2, -1]:
        add(f"flip/axis{ax}", "flip", [x], np.flip(X, ax), {"axis": ax})


# ---------------------------------------------------------------------------------------------------------------
# Slicing (basic indexing)

def S(*parts):
    """Encodes a numpy index expression for the fixture: ints, slices, None, Ellipsis."""
    out = []
    for p in parts:
        if p is None:
            out.append("newaxis")
        elif p is Ellipsis:
            out.append("ellipsis")
        elif isinstance(p, slice):
            out.append({"range": [p.start, p.stop, p.step]})
        else:
            out.append({"index": p})
    return out


def slicing():
    y = named("sl_y", np.arange(10, dtype=f32))
    Y = value(y)
    one_d = [
        (slice(None, None, -1),), (slice(5, 1, -2),), (-1,), (0,), (slice(-3, None),), (slice(None, -3),),
        (slice(1, 100),), (slice(-100, 3),), (slice(8, 2),), (slice(None, None, 3),), (slice(None, None, -3),),
        (slice(-1, -11, -1),), (slice(-1, -12, -1),), (slice(5, -1, -1),), (slice(100, None, -1),),
        (slice(None, -100, -1),), (slice(2, 8, 100),), (slice(7, 2, -100),), (slice(3, 3),), (slice(-2, -8, -2),),
        (slice(None, 5, -1),), (slice(5, None, -1),), (None,), (Ellipsis,), (Ellipsis, 3), (slice(None), None),
        (None, slice(2, 5), None),
    ]
    for idx in one_d:
        add(f"slice/1d/{idx}", "slice", [y], Y[idx], {"index": S(*idx)})
    x = named("sl_x", np.arange(120, dtype=f32).reshape(4, 5, 6))
    X = value(x)
    three_d = [
        (slice(None), None), (Ellipsis, 0), (Ellipsis, -1), (None, Ellipsis, slice(1, 3)), (1, slice(None), slice(None, None, -2)),
        (-1, -1, -1), (slice(None, None, -1), slice(1, 4), 2), (slice(1, 3), Ellipsis), (0, Ellipsis, None),
        (slice(3, 0, -2), slice(None, None, 2), slice(-2, None)), (Ellipsis,), (2,), (slice(None), 3),
        (slice(None), slice(None), slice(None), None), (None, None, 1, None, slice(0, 0), 2),
        (slice(None, None, -1), slice(None, None, -1), slice(None, None, -1)), (1, Ellipsis, 2), (-4,),
    ]
    for idx in three_d:
        add(f"slice/3d/{idx}", "slice", [x], X[idx], {"index": S(*idx)})
    s = named("sl_scalar", np.array(4.0, f32))
    add("slice/scalar/newaxis", "slice", [s], value(s)[None], {"index": S(None)})
    add("slice/scalar/ellipsis", "slice", [s], value(s)[...], {"index": S(Ellipsis)})
    for idx, kind in [((4,), "indexOutOfRange"), ((-5,), "indexOutOfRange"), ((0, 5), "indexOutOfRange"),
                      ((slice(None), slice(None), -7), "indexOutOfRange"), ((0, 0, 0, 0), "invalidArgument"),
                      ((Ellipsis, Ellipsis), "invalidArgument"), ((slice(None, None, 0),), "invalidArgument")]:
        expect_error(f"slice/error/{idx}", "slice", [x], kind, lambda: X[idx], {"index": S(*idx)})


# ---------------------------------------------------------------------------------------------------------------
# Integer indexing

def indexing():
    x = named("ix_x", randn(3, 4))
    X = value(x)
    i1 = np.array([[0, 3], [-1, 1], [2, 2]])
    add("take_along_axis/axis1", "take_along_axis", [x, i1], np.take_along_axis(X, i1, 1), {"axis": 1})
    add("take_along_axis/axis-1", "take_along_axis", [x, i1], np.take_along_axis(X, i1, -1), {"axis": -1})
    i0 = np.array([[2, 0, 1, 1], [0, 0, -3, 2]])
    add("take_along_axis/axis0", "take_along_axis", [x, i0], np.take_along_axis(X, i0, 0), {"axis": 0})
    ib = np.array([[1, 0]])
    add("take_along_axis/broadcast-index", "take_along_axis", [x, ib], np.take_along_axis(X, ib, 1), {"axis": 1})
    z = named("ix_z", randn(2, 3, 4))
    Z = value(z)
    am = np.argmax(Z, axis=-1)[..., None]
    add("take_along_axis/3d-argmax", "take_along_axis", [z, am], np.take_along_axis(Z, am, -1), {"axis": -1})
    i3 = np.array([[[0, 2, 1, 0]], [[1, 1, 2, 0]]])  # [2,1,4] along axis 1
    add("take_along_axis/3d-axis1", "take_along_axis", [z, i3], np.take_along_axis(Z, i3, 1), {"axis": 1})
    xb = named("ix_xb", randn(3, 1))
    ixb = np.array([[0, 0, -1]] * 3)  # x broadcasts along axis 1 is not allowed; index broadcasts along axis 0:
    add("take_along_axis/x-size1", "take_along_axis", [xb, ixb], np.take_along_axis(value(xb), ixb, 1), {"axis": 1})
    add("gather/axis1", "gather", [x, i1], np.take_along_axis(X, i1, 1), {"axis": 1})
    bad = np.array([[0, 4], [0, 0], [0, 0]])
    expect_error("take_along_axis/out-of-range", "take_along_axis", [x, bad], "indexOutOfRange",
                 lambda: np.take_along_axis(X, bad, 1), {"axis": 1})
    bad2 = np.array([[0, -5], [0, 0], [0, 0]])
    expect_error("take_along_axis/negative-out-of-range", "take_along_axis", [x, bad2], "indexOutOfRange",
                 lambda: np.take_along_axis(X, bad2, 1), {"axis": 1})
    expect_error("take_along_axis/rank", "take_along_axis", [x, np.array([0, 1])], "invalidArgument",
                 lambda: np.take_along_axis(X, np.array([0, 1]), 1), {"axis": 1})
    expect_error("take_along_axis/mismatch", "take_along_axis", [x, np.zeros((2, 2), np.int64)], "shapeMismatch",
                 lambda: np.take_along_axis(X, np.zeros((2, 2), np.int64), 1), {"axis": 1})

    for axis, ids in [(0, [3 - 1, 0, 0, -1]), (1, [2, 0]), (1, []), (-1, [3, 3, 3])]:
        add(f"index_select/axis{axis}/{ids}", "index_select", [x], np.take(X, np.array(ids, np.int64), axis=axis),
            {"axis": axis, "indices": ids})
    expect_error("index_select/out-of-range", "index_select", [x], "indexOutOfRange",
                 lambda: np.take(X, [3], axis=0), {"axis": 0, "indices": [3]})
    expect_error("index_select/negative", "index_select", [x], "indexOutOfRange",
                 lambda: np.take(X, [-5], axis=1), {"axis": 1, "indices": [-5]})

    oh = np.array([[0, 2], [1, 4]])
    add("one_hot/2x2", "one_hot", [oh], np.eye(5, dtype=f32)[oh], {"classes": 5})
    add("one_hot/empty", "one_hot", [np.zeros((0,), np.int64)], np.zeros((0, 3), f32), {"classes": 3})
    add("one_hot/scalar", "one_hot", [np.array(1)], np.eye(3, dtype=f32)[1], {"classes": 3})
    expect_error("one_hot/out-of-range", "one_hot", [np.array([0, 5])], "indexOutOfRange",
                 lambda: np.eye(5)[np.array([0, 5])], {"classes": 5})
    expect_error("one_hot/negative", "one_hot", [np.array([-1])], "indexOutOfRange", None, {"classes": 5})
    expect_error("one_hot/classes", "one_hot", [np.array([0])], "invalidArgument", None, {"classes": 0})

    table = named("ix_table", randn(6, 3))
    ids = np.array([[1, 5, 1], [0, 0, 2]])
    add("embedding/2x3", "embedding", [table, ids], value(table)[ids], {})
    add("embedding/1d", "embedding", [table, np.array([4, 3])], value(table)[[4, 3]], {})
    add("embedding/scalar-id", "embedding", [table, np.array(2)], value(table)[2], {})
    expect_error("embedding/out-of-range", "embedding", [table, np.array([6])], "indexOutOfRange",
                 lambda: value(table)[[6]], {})
    expect_error("embedding/table-rank", "embedding", [z, np.array([0])], "invalidArgument", None, {})


# ---------------------------------------------------------------------------------------------------------------
# Matrix products

def matmul_cases():
    pairs = [
        ("1d@1d", (5,), (5,)), ("1d@2d", (4,), (4, 3)), ("2d@1d", (3, 4), (4,)), ("2d@2d", (3, 4), (4, 5)),
        ("batched-broadcast", (2, 1, 3, 4), (5, 4, 2)), ("shared-right", (2, 3, 4), (4, 5)),
        ("shared-left", (3, 4), (2, 4, 5)), ("1d@3d", (4,), (2, 4, 3)), ("3d@1d", (2, 3, 4), (4,)),
        ("k=0", (3, 0), (0, 2)), ("m=0", (0, 4), (4, 2)), ("batch-0", (0, 2, 3), (3, 4)), ("1x1", (1, 1), (1, 1)),
        ("tall", (37, 9), (9, 11)), ("same-batch", (3, 2, 4), (3, 4, 2)), ("batch-1-vs-3", (1, 2, 4), (3, 4, 2)),
    ]
    for key, sa, sb in pairs:
        a = randn(*sa)
        b = randn(*sb)
        ref = r32(np.matmul(a.astype(np.float64), b.astype(np.float64)))
        add(f"matmul/{key}", "matmul", [a, b], ref, tol=REDUCE)
    for key, sa, sb in [("inner", (3, 4), (5, 2)), ("1d", (3,), (4,)), ("batch", (2, 3, 4), (3, 4, 5)),
                        ("1d@2d", (3,), (4, 5))]:
        A, B = np.zeros(sa, f32), np.zeros(sb, f32)
        expect_error(f"matmul/mismatch-{key}", "matmul", [A, B], "shapeMismatch", lambda: np.matmul(A, B))
    expect_error("matmul/0d", "matmul", [np.array(2.0, f32), np.ones(3, f32)], "invalidArgument",
                 lambda: np.matmul(np.array(2.0), np.ones(3)))
    for key, sa, sb in [("3x4", (3,), (4,)), ("2x2-3", (2, 2), (3,)), ("empty", (0,), (3,))]:
        a, b = randn(*sa), randn(*sb)
        add(f"outer/{key}", "outer", [a, b], r32(np.outer(a.astype(np.float64), b.astype(np.float64))), tol=REDUCE)


def main():
    creation()
    elementwise()
    reductions()
    softmax_cases()
    sorting()
    shape_ops()
    slicing()
    indexing()
    matmul_cases()
    names = [c["name"] for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, dup
    out = {"numpy": np.__version__, "tensors": {k: v[1] for k, v in tensors.items()}, "cases": cases}
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "LoupeTensorTests", "Fixtures", "ops.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"), allow_nan=False)
    print(f"{len(cases)} cases, {len(tensors)} shared tensors, {os.path.getsize(path)} bytes -> {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
