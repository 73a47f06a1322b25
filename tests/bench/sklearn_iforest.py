#!/usr/bin/env python3
"""scikit-learn reference of the engine's isolation forest (engine/src/iforest/), on NSL-KDD.

Run from the shared folder (the one holding bench/ and data/), as dump_nslkdd_matrices.py:
    python3 /path/to/tests/bench/sklearn_iforest.py            > tests/fixtures/sklearn_iforest_nslkdd.json
    OMP_NUM_THREADS=1 python3 /path/to/tests/bench/sklearn_iforest.py --time

SecuML's isolation forest: IsolationForest(n_estimators=100, max_samples="auto",
max_features=1.0), no scaler, fitted on train20 (labels ignored), scored on test. The anomaly
score is -score_samples (higher = more anomalous = more malicious).

Prints one JSON line: the test and train ROC AUC for random_state 0, the test AUC over
random_state 0..29 (the spread a randomised model has) and of 1000-tree forests for
random_state 0..2 (less spread), the number of nodes per tree, and the
anomaly scores of the first test rows. With --time: the wall time of fit on train20 and of
scoring train20 and test, n_jobs=1, the best of --repeat runs.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.join("bench", "reference"))
import diadem_logreg as ref  # noqa: E402


def load():
    tr, tr_idents, types = ref.load_dataset("data/NSL-KDD/train20")
    te, te_idents, _ = ref.load_dataset("data/NSL-KDD/test")
    nums, cats, enc = ref.fit_encoder(tr, types)
    return (ref.encode(tr, nums, cats, enc), tr_idents["label"].to_numpy(dtype=bool),
            ref.encode(te, nums, cats, enc), te_idents["label"].to_numpy(dtype=bool))


def forest(seed, n_estimators=100):
    return IsolationForest(n_estimators=n_estimators, max_samples="auto", max_features=1.0,
                           random_state=seed, n_jobs=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--time", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    x_train, y_train, x_test, y_test = load()

    if args.time:
        best = {"fit_s": float("inf"), "score_train_s": float("inf"),
                "score_test_s": float("inf"), "total_s": float("inf")}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            model = forest(0).fit(x_train)
            t1 = time.perf_counter()
            model.score_samples(x_train)
            t2 = time.perf_counter()
            model.score_samples(x_test)
            t3 = time.perf_counter()
            for key, value in (("fit_s", t1 - t0), ("score_train_s", t2 - t1),
                               ("score_test_s", t3 - t2), ("total_s", t3 - t0)):
                best[key] = min(best[key], value)
        print(json.dumps({"model": "IsolationForest", "n_jobs": 1, "repeat": args.repeat,
                          "best": best}))
        return

    model = forest(0).fit(x_train)
    test_scores = -model.score_samples(x_test)
    train_scores = -model.score_samples(x_train)
    seeds, seed_nodes = [], []
    for seed in range(30):
        m = forest(seed).fit(x_train)
        seeds.append(float(roc_auc_score(y_test, -m.score_samples(x_test))))
        seed_nodes.append(float(np.mean([est.tree_.node_count for est in m.estimators_])))
    large = []
    for seed in range(3):
        m = forest(seed, 1000).fit(x_train)
        large.append(float(roc_auc_score(y_test, -m.score_samples(x_test))))
    nodes = [est.tree_.node_count for est in model.estimators_]
    print(json.dumps({
        "model": "IsolationForest(n_estimators=100, max_samples='auto', max_features=1.0)",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "train_rows": int(x_train.shape[0]),
        "test_rows": int(x_test.shape[0]),
        "columns": int(x_train.shape[1]),
        "max_samples": int(model.max_samples_),
        "roc_auc_test": float(roc_auc_score(y_test, test_scores)),
        "roc_auc_train": float(roc_auc_score(y_train, train_scores)),
        "roc_auc_test_seeds_0_29": seeds,
        "roc_auc_test_seeds_mean": float(np.mean(seeds)),
        "roc_auc_test_seeds_std": float(np.std(seeds)),
        "roc_auc_test_1000_trees_seeds_0_2": large,
        "mean_nodes_per_tree": float(np.mean(nodes)),
        "mean_nodes_per_tree_seeds_0_29": float(np.mean(seed_nodes)),
        "mean_test_score": float(np.mean(test_scores)),
        "first_test_scores": [float(s) for s in test_scores[:5]],
    }))


if __name__ == "__main__":
    main()
