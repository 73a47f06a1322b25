#!/usr/bin/env python3
"""scikit-learn reference for our random forest (engine/src/forest) on NSL-KDD.

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_random_forest.py > tests/fixtures/sklearn_random_forest.json
    OMP_NUM_THREADS=1 python3 tests/bench/sklearn_random_forest.py --time

SecuML's random forest: RandomForestClassifier(n_estimators=100, criterion="gini",
max_features="sqrt", bootstrap=False, max_depth=None, n_jobs=1), on train20 standardised as the
pipeline does (StandardScaler fitted on train20; one-hot encoding with train20's categories),
scored on test (probability of the malicious class).
Without --time: one JSON line, the fixture: for random_state 0..SEEDS-1 the test ROC AUC, their
mean and standard deviation, the mean node count per tree, and the top-10 features by
importance (random_state 0, and the mean importances over the seeds).
With --time: wall and CPU times of one fit (random_state 0) and of predict_proba on test, as JSON.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_decision_tree import nsl_kdd  # noqa: E402

SEEDS = 5


def forest(seed):
    return RandomForestClassifier(n_estimators=100, criterion="gini", max_features="sqrt",
                                  bootstrap=False, n_jobs=1, random_state=seed)


def top10(importances, names):
    order = np.argsort(-importances, kind="stable")[:10]
    return [[names[j], float(importances[j])] for j in order]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", action="store_true", help="time one fit and predict instead")
    args = ap.parse_args()
    x_tr, y_tr, x_te, y_te, names = nsl_kdd()
    if args.time:
        t, c = time.perf_counter(), time.process_time()
        model = forest(0).fit(x_tr, y_tr)
        fit_s, fit_cpu_s = time.perf_counter() - t, time.process_time() - c
        t = time.perf_counter()
        model.predict_proba(x_te)
        print(json.dumps({"script": "sklearn_random_forest --time", "fit_s": fit_s, "fit_cpu_s": fit_cpu_s,
                          "predict_s": time.perf_counter() - t}))
        return
    aucs, nodes, importances = [], [], []
    for seed in range(SEEDS):
        model = forest(seed).fit(x_tr, y_tr)
        aucs.append(float(roc_auc_score(y_te, model.predict_proba(x_te)[:, 1])))
        nodes.append(float(np.mean([t.tree_.node_count for t in model.estimators_])))
        importances.append(model.feature_importances_)
    print(json.dumps({"script": "sklearn_random_forest", "n_estimators": 100,
                      "max_features": "sqrt", "bootstrap": False, "seeds": SEEDS,
                      "test_auc": aucs, "mean_auc": float(np.mean(aucs)),
                      "std_auc": float(np.std(aucs)), "mean_tree_nodes": nodes,
                      "top10_importance_seed0": top10(importances[0], names),
                      "top10_importance_mean": top10(np.mean(importances, axis=0), names),
                      "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__}}))


if __name__ == "__main__":
    main()
