#!/usr/bin/env python3
"""Reference values for Sources/LoupeTensor/Optimizers.swift, written to Tests/LoupeTensorTests/Fixtures/optimizers.json.

The update rules below are PyTorch's, transcribed from torch/optim/sgd.py and torch/optim/adamw.py (single-tensor,
non-foreach path, maximize=False, dampening=0, amsgrad=False) into numpy and evaluated in float64 from float32
inputs, so the Swift (float32) results should agree to ~1e-6 relative:

  SGD      d = g + wd * p                               (L2 weight decay: folded into the gradient)
           momentum != 0:  b = d on the first step, else b = momentum * b + d
                           d = d + momentum * b  (nesterov)   or   d = b
           p = p - lr * d
  AdamW    p = p * (1 - lr * wd)                        (decoupled weight decay, applied first)
           m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
           p = p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
  clip_grad_norm_  total = sqrt(sum_i ||g_i||^2);  coef = min(1, max_norm / (total + 1e-6));  g_i *= coef
                   (PyTorch multiplies by the clamped coefficient always; it is exactly 1 when no clipping)

The learning rate may change at every step (as when a schedule sets it), so each case lists one lr per step.

Schedules (Loupe's LRSchedule, documented in Optimizers.swift; the llm.c / nanoGPT convention): during warm-up
lr = base * (step + 1) / warmup (so the first step already moves and step warmup - 1 reaches base), then
cosine: min + (base - min) * 0.5 * (1 + cos(pi * t)) or linear: base + (min - base) * t, with
t = min(1, (step - warmup) / max(1, total - warmup)).

Run from the repository root:  python3 Tests/Fixtures/make_optimizer_fixtures.py
"""
import json
import math
import os

import numpy as np

STEPS = 5
rng = np.random.RandomState(20240611)
SHAPES = [[3, 4], [5], []]


def f32(a):
    return np.asarray(a, dtype=np.float32)


params0 = [f32(rng.uniform(-1, 1, size=s)) for s in SHAPES]
# Gradients of different scales per parameter (the last is tiny, where AdamW's eps matters).
scales = [1.0, 0.1, 1e-3]
grads = [[f32(rng.normal(size=s) * sc) for s, sc in zip(SHAPES, scales)] for _ in range(STEPS)]


def sgd(lrs, momentum=0.0, weight_decay=0.0, nesterov=False):
    ps = [p.astype(np.float64) for p in params0]
    bufs = [None] * len(ps)
    out = []
    for t in range(STEPS):
        lr = float(np.float32(lrs[t]))
        for i, p in enumerate(ps):
            d = grads[t][i].astype(np.float64)
            if weight_decay != 0:
                d = d + weight_decay * p
            if momentum != 0:
                if bufs[i] is None:
                    bufs[i] = d.copy()
                else:
                    bufs[i] = momentum * bufs[i] + d
                d = d + momentum * bufs[i] if nesterov else bufs[i]
            ps[i] = p - lr * d
        out.append([p.copy() for p in ps])
    return out


def adamw(lrs, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    ps = [p.astype(np.float64) for p in params0]
    ms = [np.zeros_like(p) for p in ps]
    vs = [np.zeros_like(p) for p in ps]
    out = []
    for t in range(1, STEPS + 1):
        lr = float(np.float32(lrs[t - 1]))
        for i, p in enumerate(ps):
            g = grads[t - 1][i].astype(np.float64)
            p = p * (1 - lr * weight_decay)
            ms[i] = beta1 * ms[i] + (1 - beta1) * g
            vs[i] = beta2 * vs[i] + (1 - beta2) * g * g
            bc1 = 1 - beta1 ** t
            bc2 = 1 - beta2 ** t
            step_size = lr / bc1
            denom = np.sqrt(vs[i]) / math.sqrt(bc2) + eps
            ps[i] = p - step_size * ms[i] / denom
        out.append([p.copy() for p in ps])
    return out


def flat(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).reshape(-1)]


constant = [0.1] * STEPS
varying = [0.05, 0.2, 0.1, 0.02, 0.3]
cases = []


def add(name, kind, lrs, expected, **hp):
    cases.append({"name": name, "optimizer": kind, "lr": [float(np.float32(x)) for x in lrs], **hp,
                  "expected": [[flat(p) for p in step] for step in expected]})


add("sgd", "sgd", constant, sgd(constant), momentum=0.0, weight_decay=0.0, nesterov=False)
add("sgd_weight_decay", "sgd", constant, sgd(constant, weight_decay=0.05), momentum=0.0, weight_decay=0.05, nesterov=False)
add("sgd_momentum", "sgd", constant, sgd(constant, momentum=0.9), momentum=0.9, weight_decay=0.0, nesterov=False)
add("sgd_nesterov", "sgd", constant, sgd(constant, momentum=0.9, nesterov=True), momentum=0.9, weight_decay=0.0, nesterov=True)
add("sgd_momentum_weight_decay_varying_lr", "sgd", varying, sgd(varying, momentum=0.8, weight_decay=0.1),
    momentum=0.8, weight_decay=0.1, nesterov=False)
add("sgd_nesterov_weight_decay", "sgd", constant, sgd(constant, momentum=0.5, weight_decay=0.02, nesterov=True),
    momentum=0.5, weight_decay=0.02, nesterov=True)
add("adamw_defaults", "adamw", [1e-2] * STEPS, adamw([1e-2] * STEPS),
    beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01)
add("adamw_no_decay", "adamw", [1e-2] * STEPS, adamw([1e-2] * STEPS, weight_decay=0.0),
    beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0)
add("adamw_custom_varying_lr", "adamw", varying, adamw(varying, beta1=0.8, beta2=0.95, eps=1e-3, weight_decay=0.1),
    beta1=0.8, beta2=0.95, eps=1e-3, weight_decay=0.1)


def clip(gs, max_norm):
    total = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in gs))
    coef = min(1.0, max_norm / (total + 1e-6))
    return total, [g.astype(np.float64) * coef for g in gs]


clips = []
for max_norm in [0.5, 1.0, 100.0]:
    gs = grads[0]
    total, clipped = clip(gs, max_norm)
    clips.append({"max_norm": max_norm, "grads": [flat(g) for g in gs], "norm": total,
                  "clipped": [flat(g) for g in clipped]})


def schedule(kind, base, warmup, total, min_lr, step):
    if step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    if kind == "cosine":
        return min_lr + (base - min_lr) * 0.5 * (1 + math.cos(math.pi * t))
    return base + (min_lr - base) * t


schedules = []
for kind in ["cosine", "linear"]:
    for base, warmup, total, min_lr in [(1e-3, 10, 100, 1e-5), (0.5, 0, 20, 0.0), (3e-4, 4, 4, 1e-6)]:
        steps = sorted(set([0, 1, warmup // 2, max(warmup - 1, 0), warmup, warmup + 1, (warmup + total) // 2,
                            total - 1, total, total + 7]))
        schedules.append({"kind": kind, "base": base, "warmup": warmup, "total": total, "min_lr": min_lr,
                          "steps": steps, "values": [schedule(kind, base, warmup, total, min_lr, s) for s in steps]})

fixture = {
    "steps": STEPS,
    "shapes": SHAPES,
    "params": [flat(p) for p in params0],
    "grads": [[flat(g) for g in step] for step in grads],
    "cases": cases,
    "clip": clips,
    "schedules": schedules,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "LoupeTensorTests", "Fixtures", "optimizers.json")
with open(path, "w") as f:
    json.dump(fixture, f, indent=1)
print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")
