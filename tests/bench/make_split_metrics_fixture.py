#!/usr/bin/env python3
"""Prints the scikit-learn values hard-coded in the split and metrics unit tests
of secuml-engine (engine/src/split.rs, engine/src/metrics/tests.rs).

Run: python3 tests/bench/make_split_metrics_fixture.py
"""
import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold


def bools(y):
    return "[" + ", ".join("true" if v else "false" for v in y) + "]"


def folds(y, k):
    out = np.empty(len(y), dtype=int)
    for i, (_, test) in enumerate(StratifiedKFold(n_splits=k).split(np.zeros(len(y)), y)):
        out[test] = i
    return out.tolist()


print("// stratified_kfold, unshuffled")
rng = np.random.RandomState(7)
cases = [
    [1, 1, 0, 0, 1, 0, 1, 0, 0, 0],
    [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0],
    (rng.rand(37) < 0.3).astype(int).tolist(),
]
for y, k in [(cases[0], 2), (cases[0], 3), (cases[1], 4), (cases[2], 4), (cases[2], 5)]:
    print("(%s, %d, %s)," % (bools(y), k, folds(y, k)))

print("// roc_auc on a seeded random vector with ties")
rng = np.random.RandomState(0)
y = rng.rand(60) < 0.4
s = np.round(rng.rand(60), 1)  # one decimal: many ties
print("labels:", bools(y))
print("scores:", "[" + ", ".join(repr(float(v)) for v in s) + "]")
print("auc: %r" % float(roc_auc_score(y, s)))
fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
print("fpr:", [float(v) for v in fpr])
print("tpr:", [float(v) for v in tpr])
