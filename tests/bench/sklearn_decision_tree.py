#!/usr/bin/env python3
"""scikit-learn reference for our CART decision tree (engine/src/tree) on NSL-KDD.

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_decision_tree.py > tests/fixtures/sklearn_decision_tree.json
    OMP_NUM_THREADS=1 python3 tests/bench/sklearn_decision_tree.py --time
    python3 tests/bench/sklearn_decision_tree.py --small > tests/fixtures/sklearn_decision_tree_small.json

Same data and preprocessing as SecuML's pipeline: one-hot encoding with train20's categories
(unseen test categories all zeros), StandardScaler fitted on train20, then
DecisionTreeClassifier on train20, scored on test (probability of the malicious class).
Without --time: one JSON line, the fixture, with
- `grid`: SecuML's 60-point grid (criterion x splitter x max_depth x max_features), each fitted
  once with random_state 0: test ROC AUC, node count, depth;
- `parity`: the configurations the unit tests compare, each fitted with random_state
  0..seeds-1: every seed's test ROC AUC, their mean and standard deviation, node counts.
With --small: a 200 x 3 synthetic problem (three-decimal values) and the exact trees scikit-learn grows on it for a few configurations, in pre-order (the root, then
the left subtree, then the right one; feature -1 at leaves), for the unit tests to compare
node by node (each checked to be the same for random_state 0..29, i.e. free of ties
between features).
With --time: the wall and CPU times of fitting the 60-point grid (one fit each, random_state 0), per
point and in total, as JSON; no fixture.
"""

import argparse
import itertools
import json
import os
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRID = list(itertools.product(["gini", "entropy"], ["best", "random"], [5, 10, 15, 20, None],
                              ["sqrt", "log2", None]))
# (configuration, seeds): the test AUC moves with the features drawn (standard deviation over
# seeds about 0.011 for the first, whose draws only break ties, 0.05 for the others), so
# each is summarised over enough seeds for its mean to be known to about 0.0025.
PARITY = [(("gini", "best", None, None), 100), (("entropy", "best", 10, "sqrt"), 400),
          (("gini", "random", 20, "log2"), 400)]


def load(path):
    idents = pd.read_csv(os.path.join(path, "idents.csv"))
    desc = pd.read_csv(os.path.join(path, "features", "features_description.csv"), index_col=0)
    types = dict(zip(desc.index.astype(str), desc["type"].astype(str)))
    cats = [k for k, v in types.items() if v == "categorical"]
    feats = pd.read_csv(os.path.join(path, "features", "features.csv"), dtype={c: str for c in cats})
    return feats.drop(columns=["instance_id"]), idents["label"].to_numpy(dtype=int), cats


def nsl_kdd():
    """Standardised train20 and test, labels, encoded column names."""
    tr, y_tr, cats = load(os.path.join(ROOT, "data", "NSL-KDD", "train20"))
    te, y_te, _ = load(os.path.join(ROOT, "data", "NSL-KDD", "test"))
    nums = [c for c in tr.columns if c not in cats]
    enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(tr[cats])
    x_tr = np.hstack([tr[nums].to_numpy(float), enc.transform(tr[cats])])
    x_te = np.hstack([te[nums].to_numpy(float), enc.transform(te[cats])])
    names = list(nums) + ["%s=%s" % (c, v) for c, vs in zip(cats, enc.categories_) for v in vs]
    scaler = StandardScaler().fit(x_tr)
    return scaler.transform(x_tr), y_tr, scaler.transform(x_te), y_te, names


def tree(config, seed):
    criterion, splitter, max_depth, max_features = config
    return DecisionTreeClassifier(criterion=criterion, splitter=splitter, max_depth=max_depth,
                                  max_features=max_features, random_state=seed)


def describe(config):
    return {"criterion": config[0], "splitter": config[1], "max_depth": config[2],
            "max_features": config[3] or "all"}


def malicious_fraction(v):
    return float(v[1] / v.sum())


def preorder(model, value=malicious_fraction, key="value"):
    """The tree's nodes in pre-order: feature, threshold, right child, and `key`: `value` of
    each node's class counts or fractions (P(malicious) by default)."""
    t = model.tree_
    out = {"feature": [], "threshold": [], "right": [], key: []}
    stack = [(0, None)]
    while stack:
        i, right_of = stack.pop()
        at = len(out["feature"])
        if right_of is not None:
            out["right"][right_of] = at
        leaf = t.children_left[i] == -1
        out["feature"].append(-1 if leaf else int(t.feature[i]))
        out["threshold"].append(0.0 if leaf else float(t.threshold[i]))
        out["right"].append(0)
        out[key].append(value(t.value[i][0]))
        if not leaf:
            stack.append((t.children_right[i], at))
            stack.append((t.children_left[i], None))
    return out


def small():
    rng = np.random.RandomState(0)
    x = np.round(rng.normal(size=(200, 3)), 3)
    y = (x[:, 0] + x[:, 1] * x[:, 2] + 0.5 * rng.normal(size=200) > 0).astype(int)
    configs = [
        {"criterion": "gini", "max_depth": 4},
        {"criterion": "entropy", "max_depth": 4, "min_samples_leaf": 6},
        {"criterion": "entropy", "max_depth": 3, "min_samples_leaf": 3},
        {"criterion": "gini", "min_samples_split": 50, "min_samples_leaf": 8},
        {"criterion": "gini", "min_impurity_decrease": 0.01},
        {"criterion": "entropy", "max_leaf_nodes": 8},
    ]
    return {"x": x.tolist(), "y": y.tolist(), "trees": exact_trees(x, y, configs)}


def exact_trees(x, y, configs, describe=preorder):
    """For each configuration, the tree of random_state 0 (`describe`d), its importances, and
    whether random_state 1..29 grow the same tree."""
    trees = []
    for c in configs:
        model = DecisionTreeClassifier(random_state=0, **c).fit(x, y)
        tree = describe(model)
        # Ties between features would make the tree depend on the order features are drawn
        # in: each configuration is checked to give the same tree for every random_state.
        invariant = all(describe(DecisionTreeClassifier(random_state=s, **c).fit(x, y)) == tree
                        for s in range(1, 30))
        trees.append({"config": c, "tree": tree, "seed_invariant": invariant,
                      "importances": [float(v) for v in model.feature_importances_]})
    return trees


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", action="store_true", help="time the grid fit instead")
    ap.add_argument("--small", action="store_true", help="the exact trees of a small problem")
    args = ap.parse_args()
    if args.small:
        print(json.dumps(small()))
        return
    x_tr, y_tr, x_te, y_te, _ = nsl_kdd()
    if args.time:
        per_point = []
        start, cpu = time.perf_counter(), time.process_time()
        for config in GRID:
            t, c = time.perf_counter(), time.process_time()
            tree(config, 0).fit(x_tr, y_tr)
            per_point.append(dict(describe(config), fit_s=time.perf_counter() - t,
                                  fit_cpu_s=time.process_time() - c))
        total, total_cpu = time.perf_counter() - start, time.process_time() - cpu
        print(json.dumps({"script": "sklearn_decision_tree --time", "grid_points": len(GRID),
                          "grid_fit_s": total, "grid_fit_cpu_s": total_cpu,
                          "per_point": per_point}))
        return
    grid = []
    for config in GRID:
        model = tree(config, 0).fit(x_tr, y_tr)
        grid.append(dict(describe(config),
                         test_auc=float(roc_auc_score(y_te, model.predict_proba(x_te)[:, 1])),
                         node_count=int(model.tree_.node_count), depth=int(model.get_depth())))
    parity = []
    for config, seeds in PARITY:
        aucs, nodes = [], []
        for seed in range(seeds):
            model = tree(config, seed).fit(x_tr, y_tr)
            aucs.append(float(roc_auc_score(y_te, model.predict_proba(x_te)[:, 1])))
            nodes.append(int(model.tree_.node_count))
        parity.append(dict(describe(config), seeds=seeds, test_auc=aucs,
                           mean_auc=float(np.mean(aucs)), std_auc=float(np.std(aucs)),
                           node_count=nodes))
    print(json.dumps({"script": "sklearn_decision_tree", "n_train": int(x_tr.shape[0]),
                      "n_test": int(x_te.shape[0]), "n_features": int(x_tr.shape[1]),
                      "standardised": True, "grid": grid, "parity": parity,
                      "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__}}))


if __name__ == "__main__":
    main()
