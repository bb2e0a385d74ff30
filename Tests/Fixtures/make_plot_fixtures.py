#!/usr/bin/env python3
"""Reference histograms for LoupePlot's binning, computed with numpy.histogram.

Writes Tests/LoupePlotTests/Fixtures/histograms.json: for each case the data, bins, optional range, and numpy's
counts and edges. The cases cover the places where binning goes wrong: values exactly on edges (integers, a
linspace), the last bin's closed right edge, constant data (numpy widens the range by 0.5 each side), an explicit
range that drops values, tiny and offset scales where rounding moves values across edges.
Run from the repository root: python3 Tests/Fixtures/make_plot_fixtures.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(20261129)
cases = []


def add(name, data, bins, range_=None):
    data = np.asarray(data, dtype=np.float64)
    counts, edges = np.histogram(data, bins=bins, range=range_)
    cases.append({
        "name": name,
        "data": [float(x) for x in data],
        "bins": bins,
        "range": None if range_ is None else [float(range_[0]), float(range_[1])],
        "counts": [int(c) for c in counts],
        "edges": [float(e) for e in edges],
    })


add("normal-1000-bins10", rng.normal(0.0, 1.0, 1000), 10)
add("integers-on-edges-bins5", rng.integers(0, 10, 200), 5)
add("integers-bins9", rng.integers(0, 10, 200), 9)
add("constant", [3.0, 3.0, 3.0], 4)
add("range-drops-outside", rng.normal(0.0, 1.0, 300), 7, (-1.0, 1.0))
add("single-value-one-bin", [42.5], 1)
add("linspace-edges", np.linspace(0.0, 1.0, 101), 10)
add("tiny-scale", rng.normal(0.0, 1e-9, 200), 13)
add("large-offset", 1e6 + rng.normal(0.0, 1e-3, 300), 20)
add("exponential-bins30", rng.exponential(2.0, 500), 30)
add("thirds", [i / 3 for i in range(31)], 10)

out = os.path.join(os.path.dirname(__file__), "..", "LoupePlotTests", "Fixtures", "histograms.json")
with open(out, "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases}, f, indent=1)
    f.write("\n")
print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")
