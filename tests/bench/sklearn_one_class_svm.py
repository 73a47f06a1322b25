#!/usr/bin/env python3
"""scikit-learn's one-class SVM on NSL-KDD, the reference of engine/src/svm (OneClassSvm).

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_one_class_svm.py > tests/fixtures/sklearn_one_class_svm.json
    OMP_NUM_THREADS=1 python3 tests/bench/sklearn_one_class_svm.py --time

SecuML's OneClassSvm: StandardScaler fitted on train20, then OneClassSVM(kernel='rbf', nu=0.5,
gamma='scale') with scikit-learn's other defaults (tol 1e-3, shrinking). The fit is quadratic in
rows, so it is fitted on every 10th row of the standardised train20 (rows 0, 10, 20, ...: 2,520
rows; gamma = 1 / (d var(x)) over those rows), and scores all of test. Prints one JSON line: the
test ROC AUC of minus the decision function (higher = more anomalous = malicious), gamma, rho,
the support vector count, the decision values of the first test rows, and the fit and predict
times (best of 3 with --time, one run otherwise).
"""

import argparse
import json
import os
import sys
import time

from sklearn.metrics import roc_auc_score
from sklearn.svm import OneClassSVM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_nslkdd import standardised as standardised_nslkdd  # noqa: E402

STEP = 10


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", action="store_true", help="best of 3 fits and predictions")
    args = ap.parse_args()
    x_tr, _, x_te, y_te = standardised_nslkdd()
    x_sub = x_tr[::STEP]
    fits, predicts = [], []
    for _ in range(3 if args.time else 1):
        start = time.perf_counter()
        model = OneClassSVM(kernel="rbf", nu=0.5, gamma="scale").fit(x_sub)
        fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        decision = model.decision_function(x_te)
        predicts.append(time.perf_counter() - start)
    print(json.dumps({
        "model": "OneClassSVM(kernel='rbf', nu=0.5, gamma='scale')",
        "train_step": STEP, "train_rows": int(x_sub.shape[0]), "test_rows": int(x_te.shape[0]),
        "test_auc": float(roc_auc_score(y_te, -decision)),
        "gamma": float(1.0 / (x_sub.shape[1] * x_sub.var())),
        "rho": float(model.offset_[0]),
        "n_support": int(model.support_.shape[0]),
        "first_test_decision": [float(v) for v in decision[:5]],
        "fit_seconds": min(fits), "predict_seconds": min(predicts),
    }))


if __name__ == "__main__":
    main()
