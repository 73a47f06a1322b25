#!/usr/bin/env python3
"""scikit-learn's native multiclass trees and forests, the reference of the K-class CART of
engine/src/tree and engine/src/forest (engine/src/model/multiclass.rs).

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_multiclass_trees.py > tests/fixtures/sklearn_multiclass_trees.json
    python3 tests/bench/sklearn_multiclass_trees.py --small > tests/fixtures/sklearn_multiclass_trees_small.json
    OMP_NUM_THREADS=1 python3 tests/bench/sklearn_multiclass_trees.py --time

Without options: NSL-KDD as SecuML's `--multiclass` pipeline sees it (one-hot encoding with
train20's categories, StandardScaler fitted on train20), the model fitted on train20's
families (22 classes), test's families predicted (38 families); for SecuML's defaults,
DecisionTreeClassifier (gini, best, no limit, all features) and RandomForestClassifier (100
trees, sqrt, no bootstrap), both native (K-class impurity), the test accuracy and F1 macro
(`f1_score(average="macro")` over the labels of the truth and of the predictions) of each
random_state 0..seeds-1, their mean and standard deviation.
With --small: a 150 x 3 synthetic problem of three classes (three-decimal values) and the
exact trees scikit-learn grows on it for a few configurations, in pre-order (the root, then
the left subtree, then the right one; feature -1 at leaves; the class fractions of every
node), with importances; each marked `seed_invariant` when random_state 0..29 give the same
tree (no ties between features).
With --time: the wall and CPU times of one fit of each default model on train20's families
(random_state 0), as JSON; no fixture.
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.tree import DecisionTreeClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sklearn_decision_tree as decision_tree  # noqa: E402
from sklearn_nslkdd import families, standardised  # noqa: E402

warnings.filterwarnings("ignore")

TREE_SEEDS, FOREST_SEEDS = 20, 5


def tree(seed):
    return DecisionTreeClassifier(random_state=seed)


def forest(seed):
    return RandomForestClassifier(n_estimators=100, max_features="sqrt", bootstrap=False,
                                  random_state=seed, n_jobs=1)


def over_seeds(make, seeds, x_tr, f_tr, x_te, f_te):
    runs = []
    for s in range(seeds):
        predicted = make(s).fit(x_tr, f_tr).predict(x_te)
        runs.append((float(accuracy_score(f_te, predicted)),
                     float(f1_score(f_te, predicted, average="macro"))))
    acc, f1 = np.array([r[0] for r in runs]), np.array([r[1] for r in runs])
    return {"seeds": seeds, "accuracy": float(acc.mean()), "f1_macro": float(f1.mean()),
            "accuracy_std": float(acc.std()), "f1_macro_std": float(f1.std()),
            "accuracy_per_seed": acc.tolist(), "f1_macro_per_seed": f1.tolist()}


def preorder(model):
    """The tree's nodes in pre-order: feature, threshold, right child, class fractions."""
    return decision_tree.preorder(model, lambda v: [float(p) for p in v / v.sum()], "proba")


def small():
    rng = np.random.RandomState(5)
    x = np.round(rng.normal(size=(150, 3)), 3)
    score = x[:, 0] + 0.8 * x[:, 1] * x[:, 2] + 0.4 * rng.normal(size=150)
    y = np.digitize(score, [-0.5, 0.6])
    configs = [
        {"criterion": "gini", "max_depth": 3},
        {"criterion": "entropy", "max_depth": 4, "min_samples_leaf": 5},
        {"criterion": "gini", "min_samples_split": 30, "min_samples_leaf": 6},
        {"criterion": "entropy", "min_impurity_decrease": 0.02},
        {"criterion": "gini", "max_leaf_nodes": 7},
    ]
    return {"x": x.tolist(), "y": y.tolist(), "classes": 3,
            "trees": decision_tree.exact_trees(x, y, configs, preorder)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", action="store_true", help="time one fit of each model instead")
    ap.add_argument("--small", action="store_true", help="the exact trees of a small problem")
    args = ap.parse_args()
    if args.small:
        print(json.dumps(small()))
        return
    x_tr, _, x_te, _ = standardised()
    f_tr, f_te = families()
    if args.time:
        out = {"script": "sklearn_multiclass_trees --time", "train_families": len(set(f_tr))}
        for name, make in [("decision_tree", tree), ("random_forest", forest)]:
            t, c = time.perf_counter(), time.process_time()
            make(0).fit(x_tr, f_tr)
            out[name] = {"fit_s": time.perf_counter() - t, "fit_cpu_s": time.process_time() - c}
        print(json.dumps(out))
        return
    out = {"script": "sklearn_multiclass_trees", "train_rows": int(x_tr.shape[0]),
           "test_rows": int(x_te.shape[0]), "train_families": len(set(f_tr)),
           "test_families": len(set(f_te)),
           "decision_tree_native": over_seeds(tree, TREE_SEEDS, x_tr, f_tr, x_te, f_te),
           "random_forest_native": over_seeds(forest, FOREST_SEEDS, x_tr, f_tr, x_te, f_te),
           "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
