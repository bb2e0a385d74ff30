#!/usr/bin/env python3
"""Reference values for LoupeMethods' Metrics and ML, from scikit-learn, scipy and numpy.

Writes Tests/LoupeMethodsTests/Fixtures/metrics.json and ml.json. Inputs are drawn at random (several seeds and
sizes, with ties and edge cases) and written beside the references, so the Swift tests need no Python.

References:
- AUROC: sklearn.metrics.roc_auc_score; average precision: sklearn.metrics.average_precision_score.
- accuracy, precision / recall / F1 (binary, macro, micro, weighted, per class), confusion matrix, balanced
  accuracy: sklearn.metrics (zero_division=0, the value of sklearn's default "warn").
- Brier: sklearn.metrics.brier_score_loss; MSE / MAE: sklearn.metrics.mean_squared_error / mean_absolute_error.
- ECE: no library defines it; computed here with numpy from specs/methods.md's definition: bins ((m-1)/M, m/M]
  with edges the doubles m / M, confidence 0 in bin 1 (np.searchsorted with side='left' on the edges).
- entropy, KL: scipy.stats.entropy (nats); JSD of two distributions: scipy.spatial.distance.jensenshannon(p, q)**2
  (scipy returns the distance, methods.md's JSD is its square); JSD of K weighted distributions:
  H(sum pi_k q_k) - sum pi_k H(q_k) with scipy.stats.entropy.
- pass@k: exact rationals, 1 - C(n-c, k) / C(n, k) with math.comb and fractions.Fraction.
- CHAIR: counted here in plain Python from the definition (per-caption sets); POPE: sklearn.metrics with pos_label=1.
- bootstrap: numpy's Generator(Philox(key)) with Loupe's seed -> key (SplitMix64, as RandomStream(seed:) does),
  integers(0, n, size=n) per resample, np.percentile (linear).
- StandardScaler, LogisticRegression(solver='newton-cg', tol=1e-12), StratifiedKFold(shuffle=False),
  cross_val_score(make_pipeline(StandardScaler(), LogisticRegression), scoring='roc_auc'), cross_val_predict.

Run: python3 Tests/Fixtures/make_metrics_fixtures.py
"""
import json
import math
import os
import warnings
from fractions import Fraction

import numpy as np
import scipy
import scipy.spatial.distance
import scipy.stats
import sklearn
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

warnings.filterwarnings("ignore")  # zero_division and small-class warnings are part of the cases
M64 = (1 << 64) - 1
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "LoupeMethodsTests", "Fixtures")


def fl(xs):
    return [float(x) for x in xs]


def ints(xs):
    return [int(x) for x in xs]


# ---- Ranking ----

def ranking_cases():
    cases = []
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        for n in [2, 7, 40, 300]:
            labels = rng.integers(0, 2, size=n)
            if labels.min() == labels.max():
                labels[0] = 1 - labels[0]
            if seed % 2 == 0:
                # Coarse scores: many ties, within and across classes.
                scores = np.round(rng.random(n) * 4) / 4
            else:
                scores = rng.normal(size=n) + 0.8 * labels
            cases.append({"scores": fl(scores), "labels": ints(labels),
                          "auroc": float(skm.roc_auc_score(labels, scores)),
                          "ap": float(skm.average_precision_score(labels, scores))})
    # All scores tied: AUROC 0.5, AP = prevalence.
    cases.append({"scores": [0.5] * 5, "labels": [1, 0, 0, 1, 0],
                  "auroc": float(skm.roc_auc_score([1, 0, 0, 1, 0], [0.5] * 5)),
                  "ap": float(skm.average_precision_score([1, 0, 0, 1, 0], [0.5] * 5))})
    # All positive: sklearn's AP is 1 (AUROC undefined, checked as an error in Swift).
    cases.append({"scores": [0.1, 0.4, 0.3], "labels": [1, 1, 1], "auroc": None,
                  "ap": float(skm.average_precision_score([1, 1, 1], [0.1, 0.4, 0.3]))})
    return cases


# ---- Classification ----

def classification_cases():
    cases = []
    for seed in range(5):
        rng = np.random.default_rng(200 + seed)
        n = [5, 30, 200, 17, 60][seed]
        k = [2, 3, 4, 5, 2][seed]
        truth = rng.integers(0, k, size=n)
        pred = np.where(rng.random(n) < 0.6, truth, rng.integers(0, k + (seed % 2), size=n))  # odd seeds: a label only predicted
        labels = sorted(set(truth.tolist()) | set(pred.tolist()))
        p, r, f, s = skm.precision_recall_fscore_support(truth, pred, labels=labels, average=None, zero_division=0)
        case = {"truth": ints(truth), "pred": ints(pred), "labels": labels,
                "accuracy": float(skm.accuracy_score(truth, pred)),
                "balanced_accuracy": float(skm.balanced_accuracy_score(truth, pred)),
                "confusion": skm.confusion_matrix(truth, pred, labels=labels).tolist(),
                "per_class": {"precision": fl(p), "recall": fl(r), "f1": fl(f), "support": ints(s)}}
        for avg in ["macro", "micro", "weighted"]:
            case[avg] = fl(skm.precision_recall_fscore_support(truth, pred, average=avg, zero_division=0)[:3])
        case["binary"] = fl(skm.precision_recall_fscore_support(truth, pred, average=None, labels=[1],
                                                                zero_division=0)[i][0] for i in range(3))
        cases.append(case)
    return cases


# ---- Calibration ----

def ece_reference(conf, correct, bins):
    edges = np.array([m / bins for m in range(bins + 1)])
    idx = np.maximum(np.searchsorted(edges, conf, side="left"), 1) - 1
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() / len(conf) * abs(correct[mask].mean() - conf[mask].mean())
    return float(total), [int(x) for x in np.bincount(idx, minlength=bins)]


def calibration_cases():
    cases = []
    for seed in range(5):
        rng = np.random.default_rng(300 + seed)
        n = [4, 25, 100, 500, 9][seed]
        conf = rng.random(n)
        if seed >= 1:
            # Confidences exactly on bin edges, and the ends 0 and 1.
            conf[: min(n, 11)] = [m / 10 for m in range(11)][: min(n, 11)]
        correct = (rng.random(n) < conf).astype(int)
        for bins in [10, 5, 15]:
            e, counts = ece_reference(conf, correct, bins)
            cases.append({"conf": fl(conf), "correct": ints(correct), "bins": bins, "ece": e, "counts": counts,
                          "brier": float(skm.brier_score_loss(correct, conf))})
    return cases


def regression_cases():
    cases = []
    for seed in range(4):
        rng = np.random.default_rng(400 + seed)
        n = [1, 10, 96, 500][seed]
        t = rng.normal(size=n) * 3
        p = t + rng.normal(size=n)
        cases.append({"truth": fl(t), "pred": fl(p), "mse": float(skm.mean_squared_error(t, p)),
                      "mae": float(skm.mean_absolute_error(t, p))})
    return cases


# ---- Information ----

def information_cases():
    cases = []
    for seed in range(6):
        rng = np.random.default_rng(500 + seed)
        v = [2, 3, 10, 50, 1000, 4][seed]
        k = [2, 2, 3, 4, 5, 2][seed]
        qs = rng.dirichlet(np.full(v, 0.5), size=k)
        if seed == 5:
            qs[0] = [0.5, 0.5, 0.0, 0.0]  # zeros: 0 log 0 = 0
            qs[1] = [0.25, 0.0, 0.25, 0.5]
        w = rng.dirichlet(np.ones(k))
        case = {"distributions": [fl(q) for q in qs], "weights": fl(w),
                "entropy": [float(scipy.stats.entropy(q)) for q in qs],
                "kl01": float(scipy.stats.entropy(qs[0], qs[1])),
                "kl10": float(scipy.stats.entropy(qs[1], qs[0]))}
        mix_u = qs.mean(axis=0)
        case["jsd_uniform"] = float(scipy.stats.entropy(mix_u) - np.mean([scipy.stats.entropy(q) for q in qs]))
        mix_w = (w[:, None] * qs).sum(axis=0)
        case["jsd_weighted"] = float(scipy.stats.entropy(mix_w) - sum(wk * scipy.stats.entropy(q) for wk, q in zip(w, qs)))
        if k == 2:
            case["jsd_scipy_squared"] = float(scipy.spatial.distance.jensenshannon(qs[0], qs[1]) ** 2)
        cases.append(case)
    return cases


def pass_at_k_cases():
    singles = []
    for n, c, k in [(5, 2, 2), (1, 0, 1), (1, 1, 1), (10, 0, 3), (10, 10, 3), (10, 3, 1), (10, 3, 8), (10, 3, 7),
                    (200, 13, 1), (200, 13, 10), (200, 13, 100), (200, 1, 199), (1000, 7, 500), (100, 50, 50)]:
        exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
        singles.append({"n": n, "c": c, "k": k, "value": float(exact)})
    rng = np.random.default_rng(600)
    lists = []
    for k in [1, 5, 10]:
        n = rng.integers(10, 40, size=12)
        c = [int(rng.integers(0, x + 1)) for x in n]
        value = float(sum(1 - Fraction(math.comb(int(x) - ci, k), math.comb(int(x), k)) for x, ci in zip(n, c)) / len(c))
        lists.append({"n": ints(n), "c": c, "k": k, "value": value})
    return {"single": singles, "lists": lists}


# ---- Hallucination ----

OBJECTS = ["dog", "cat", "car", "frisbee", "sofa", "person", "tree", "bus", "cup", "chair"]


def chair_reference(mentions, truths):
    m = h = t = correct = bad = 0
    for said, real in zip(mentions, truths):
        s, r = set(said), set(real)
        m += len(s)
        h += len(s - r)
        t += len(r)
        correct += len(s & r)
        bad += 1 if s - r else 0
    ci = h / m
    rec = correct / t
    prec = 1 - ci
    return {"chair_i": ci, "chair_s": bad / len(mentions), "recall": rec, "precision": prec,
            "f1": 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)}


def hallucination_cases():
    chair = []
    for seed in range(4):
        rng = np.random.default_rng(700 + seed)
        mentions, truths = [], []
        for _ in range([3, 10, 40, 1][seed]):
            truths.append([str(o) for o in rng.choice(OBJECTS, size=rng.integers(1, 5), replace=False)])
            said = [str(o) for o in rng.choice(OBJECTS, size=rng.integers(1, 5), replace=False)]
            if rng.random() < 0.3:
                said.append(said[0])  # an object mentioned twice counts once
            mentions.append(said)
        chair.append({"mentions": mentions, "truths": truths, **chair_reference(mentions, truths)})
    pope = []
    for seed in range(4):
        rng = np.random.default_rng(800 + seed)
        n = [4, 20, 100, 8][seed]
        gold = np.array([1, 0] * (n // 2))
        pred = np.where(rng.random(n) < 0.7, gold, 1 - gold)
        if seed == 3:
            pred[:] = 0  # nothing predicted yes: precision 0 (sklearn's zero_division)
        pope.append({"gold": ints(gold), "pred": ints(pred),
                     "accuracy": float(skm.accuracy_score(gold, pred)),
                     "precision": float(skm.precision_score(gold, pred, zero_division=0)),
                     "recall": float(skm.recall_score(gold, pred, zero_division=0)),
                     "f1": float(skm.f1_score(gold, pred, zero_division=0)),
                     "yes_ratio": float(pred.mean())})
    return {"chair": chair, "pope": pope}


# ---- Bootstrap ----

def splitmix64(state):
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        yield z ^ (z >> 31)


def loupe_generator(seed):
    """numpy's Generator over the Philox key that Loupe's RandomStream(seed:) uses."""
    g = splitmix64(seed)
    k0, k1 = next(g), next(g)
    return np.random.Generator(np.random.Philox(key=k0 | (k1 << 64)))


def bootstrap_cases():
    cases = []
    for seed, n, b, conf in [(0, 20, 200, 0.95), (7, 50, 1000, 0.9), (12345, 3, 100, 0.95), (99, 11, 500, 0.5)]:
        data = np.random.default_rng(900 + seed).normal(size=n) * 2 + 1
        gen = loupe_generator(seed)
        stats = []
        for _ in range(b):
            idx = gen.integers(0, n, size=n)
            stats.append(data[idx].mean())
        alpha = 1 - conf
        low, high = np.percentile(stats, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        cases.append({"seed": seed, "data": fl(data), "resamples": b, "confidence": conf,
                      "estimate": float(data.mean()), "low": float(low), "high": float(high),
                      "first_indices": ints(loupe_generator(seed).integers(0, n, size=n))})
    return cases


# ---- ML ----

def ml_data(seed, n, d, sep=1.0):
    rng = np.random.default_rng(1000 + seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=d) + rng.normal(size=d)
    w = rng.normal(size=d)
    logits = sep * ((x - x.mean(0)) / x.std(0)) @ w + 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(int)
    return x, y


def ml_cases():
    scaler = []
    for seed, n, d in [(0, 5, 2), (1, 40, 4), (2, 200, 3)]:
        x, _ = ml_data(seed, n, d)
        if seed == 1:
            x[:, 2] = 3.25  # a constant feature gets scale 1
        s = StandardScaler().fit(x)
        scaler.append({"x": [fl(r) for r in x], "mean": fl(s.mean_), "scale": fl(s.scale_),
                       "transformed": [fl(r) for r in s.transform(x)]})
    logreg = []
    for seed, n, d, c in [(0, 60, 2, 1.0), (1, 120, 4, 0.1), (2, 200, 6, 10.0), (3, 80, 3, 1.0), (4, 150, 5, 0.5)]:
        x, y = ml_data(seed, n, d)
        m = LogisticRegression(C=c, solver="newton-cg", tol=1e-12, max_iter=10000).fit(x, y)
        m2 = LogisticRegression(C=c, solver="lbfgs", tol=1e-12, max_iter=100000).fit(x, y)
        assert np.allclose(m.coef_, m2.coef_, atol=1e-6), "newton-cg and lbfgs disagree"
        xt = np.random.default_rng(1100 + seed).normal(size=(5, d)) + x.mean(0)
        logreg.append({"x": [fl(r) for r in x], "y": ints(y), "C": c, "coef": fl(m.coef_[0]),
                       "intercept": float(m.intercept_[0]), "x_test": [fl(r) for r in xt],
                       "proba": fl(m.predict_proba(xt)[:, 1])})
    folds = []
    for seed, n, k, classes in [(0, 10, 2, 2), (1, 23, 3, 2), (2, 50, 5, 3), (3, 37, 4, 4), (4, 12, 5, 2)]:
        rng = np.random.default_rng(1200 + seed)
        y = rng.choice(classes, size=n, p=np.linspace(1, 2, classes) / np.linspace(1, 2, classes).sum())
        if seed == 4:
            y = np.array([0] * 9 + [1] * 3)  # a class smaller than k: allowed, with sklearn's warning
            rng.shuffle(y)
        splits = list(StratifiedKFold(n_splits=k, shuffle=False).split(np.zeros(n), y))
        folds.append({"labels": ints(y), "k": k, "test": [ints(te) for _, te in splits]})
    cv = []
    for seed, n, d, k, c in [(5, 100, 3, 5, 1.0), (6, 150, 8, 3, 0.3), (7, 61, 2, 4, 5.0)]:
        x, y = ml_data(seed, n, d, sep=1.5)
        make = lambda: make_pipeline(StandardScaler(), LogisticRegression(C=c, solver="newton-cg", tol=1e-12,
                                                                          max_iter=10000))
        cvk = StratifiedKFold(n_splits=k, shuffle=False)
        scores = cross_val_score(make(), x, y, cv=cvk, scoring="roc_auc")
        oof = cross_val_predict(make(), x, y, cv=cvk, method="predict_proba")[:, 1]
        cv.append({"x": [fl(r) for r in x], "y": ints(y), "k": k, "C": c, "folds": fl(scores),
                   "mean": float(scores.mean()), "oof": fl(oof), "pooled": float(skm.roc_auc_score(y, oof))})
    return {"scaler": scaler, "logreg": logreg, "stratified_kfold": folds, "cv_auroc": cv}


def finite_json(value):
    """JSON has no infinities or NaN: they are written as the strings "inf", "-inf" and "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_json(v) for v in value]
    return value


def write(name, value):
    path = os.path.normpath(os.path.join(OUT, name))
    with open(path, "w") as f:
        json.dump(finite_json(value), f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    versions = f"scikit-learn {sklearn.__version__}, scipy {scipy.__version__}, numpy {np.__version__}"
    write("metrics.json", {
        "generator": versions,
        "ranking": ranking_cases(),
        "classification": classification_cases(),
        "calibration": calibration_cases(),
        "regression": regression_cases(),
        "information": information_cases(),
        "pass_at_k": pass_at_k_cases(),
        **hallucination_cases(),
        "bootstrap": bootstrap_cases(),
    })
    write("ml.json", {"generator": versions, **ml_cases()})


if __name__ == "__main__":
    main()
