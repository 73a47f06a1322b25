#!/usr/bin/env python3
"""scikit-learn's GaussianNB on NSL-KDD, the reference of engine/src/bayes.

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_gaussian_nb.py > tests/fixtures/sklearn_gaussian_nb.json
    OMP_NUM_THREADS=1 python3 tests/bench/sklearn_gaussian_nb.py --time

SecuML's pipeline (`sklearn_nslkdd.standardised`): one-hot encoding with train20's categories,
StandardScaler fitted on train20,
GaussianNB() (var_smoothing 1e-9), fitted on train20, probabilities of the malicious class on
test. Prints one JSON line: the test ROC AUC, the class priors, the smoothing added to every
variance, the probabilities of the first test rows, and the fit and predict times (best of 5
with --time, one run otherwise).
"""

import argparse
import json
import os
import sys
import time

from sklearn.metrics import roc_auc_score
from sklearn.naive_bayes import GaussianNB

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_nslkdd import standardised  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", action="store_true", help="best of 5 fits and predictions")
    args = ap.parse_args()
    x_tr, y_tr, x_te, y_te = standardised()
    fits, predicts = [], []
    for _ in range(5 if args.time else 1):
        start = time.perf_counter()
        model = GaussianNB().fit(x_tr, y_tr)
        fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        proba = model.predict_proba(x_te)[:, 1]
        predicts.append(time.perf_counter() - start)
    print(json.dumps({
        "model": "GaussianNB(var_smoothing=1e-9)",
        "train_rows": int(x_tr.shape[0]), "test_rows": int(x_te.shape[0]),
        "test_auc": float(roc_auc_score(y_te, proba)),
        "class_prior": [float(p) for p in model.class_prior_],
        "epsilon": float(model.epsilon_),
        "first_test_proba": [float(p) for p in proba[:5]],
        "fit_seconds": min(fits), "predict_seconds": min(predicts),
    }))


if __name__ == "__main__":
    main()
