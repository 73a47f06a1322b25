#!/usr/bin/env python3
"""scikit-learn's GradientBoostingClassifier on NSL-KDD, the reference of engine/src/boosting.

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_gradient_boosting.py > tests/fixtures/sklearn_gradient_boosting.json
    OMP_NUM_THREADS=1 python3 tests/bench/sklearn_gradient_boosting.py --time
    python3 tests/bench/sklearn_gradient_boosting.py --seeds 5 > /tmp/gb.json

Same data and preprocessing as SecuML's pipeline (`sklearn_nslkdd`): one-hot encoding with train20's categories
(a test category never seen in training encodes as all zeros), StandardScaler fitted on
train20. SecuML's configuration: loss log_loss (deviance), learning_rate 0.1, n_estimators 100,
criterion friedman_mse, max_depth 3 or 5, min_samples_split 2, min_samples_leaf 1,
max_features all, max_leaf_nodes None, min_impurity_decrease 0, subsample 0.1 (scikit-learn's
default is 1.0), random_state 0. Configurations:
- `d3_sub0.1`, `d5_sub0.1`: SecuML's grid (randomised by the subsample);
- `d3_sub1.0`, `d5_sub1.0`: every row at every stage (deterministic up to ties between
  features).
Default output, one JSON line: per configuration the test ROC AUC of predict_proba, the top-10
feature importances (name and value), the node count of the forest, and the decision function
of the first five test rows; for the randomised configurations, also the test ROC AUC for
random_state 0..N-1 (`--seeds N`, default 20) and their mean and standard deviation, since the
subsample alone moves it by far more than the parity tolerance (standard deviation 0.008 at
max_depth 3, 0.02 at max_depth 5).
`--time`: fit and predict wall times (best of `--repeats`, default 3) of the two SecuML
configurations on train20, to run beside engine/examples/boosting_timing.rs (one thread:
scikit-learn's trees are single-threaded anyway).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_nslkdd import standardised_with_names  # noqa: E402

CONFIGS = [("d3_sub0.1", 3, 0.1), ("d5_sub0.1", 5, 0.1), ("d3_sub1.0", 3, 1.0), ("d5_sub1.0", 5, 1.0)]


def data():
    return standardised_with_names()


def model(depth, subsample, seed=0):
    return GradientBoostingClassifier(
        loss="log_loss", learning_rate=0.1, n_estimators=100, criterion="friedman_mse",
        max_depth=depth, min_samples_split=2, min_samples_leaf=1, max_features=None,
        max_leaf_nodes=None, min_impurity_decrease=0.0, subsample=subsample, random_state=seed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    x_tr, y_tr, x_te, y_te, names = data()

    if args.time:
        out = {}
        for key, depth, subsample in CONFIGS[:2]:
            fits, predicts = [], []
            for _ in range(args.repeats):
                start = time.perf_counter()
                m = model(depth, subsample).fit(x_tr, y_tr)
                fits.append(time.perf_counter() - start)
                start = time.perf_counter()
                m.predict_proba(x_te)
                predicts.append(time.perf_counter() - start)
            out[key] = {"fit_s": min(fits), "predict_s": min(predicts)}
            print("%s: fit %.3f s, predict %.3f s" % (key, min(fits), min(predicts)), file=sys.stderr)
        print(json.dumps(out))
        return

    out = {}
    for key, depth, subsample in CONFIGS:
        m = model(depth, subsample).fit(x_tr, y_tr)
        imp = m.feature_importances_
        top = np.argsort(-imp, kind="stable")[:10]
        out[key] = {
            "max_depth": depth,
            "subsample": subsample,
            "test_auc": float(roc_auc_score(y_te, m.predict_proba(x_te)[:, 1])),
            "top_importances": [[names[j], float(imp[j])] for j in top],
            "nodes": int(sum(t.tree_.node_count for t in m.estimators_[:, 0])),
            "decision_function_head": [float(v) for v in m.decision_function(x_te[:5])],
        }
        if subsample < 1.0 and args.seeds:
            aucs = [float(roc_auc_score(y_te, model(depth, subsample, s).fit(x_tr, y_tr)
                                        .predict_proba(x_te)[:, 1])) for s in range(args.seeds)]
            out[key]["seed_aucs"] = aucs
            out[key]["seed_auc_mean"] = float(np.mean(aucs))
            out[key]["seed_auc_std"] = float(np.std(aucs))
        print("%s done: AUC %.4f" % (key, out[key]["test_auc"]), file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
