#!/usr/bin/env python3
"""scikit-learn's linear SVC with probabilities on NSL-KDD, the reference of engine/src/svm (Svc).

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_svc.py --c 0.01 > /tmp/svc_0.01.json
    OMP_NUM_THREADS=1 python3 tests/bench/sklearn_svc.py --c 1 --time
(tests/fixtures/sklearn_svc.json gathers the lines of --c 0.01, 1 and 10, in that order.)

SecuML's Svc: StandardScaler fitted on train20, then SVC(kernel='linear', C=c, probability=True)
with scikit-learn's other defaults (tol 1e-3, shrinking, libsvm's 5-fold Platt scaling), here
random_state 0. Fitted on train20 (25,192 rows), scored on test. Prints one JSON line: the test
ROC AUC of the decision function and of the probability, the intercept, the support vector
counts, the primal objective 0.5 |w|^2 + C sum hinge, Platt's A and B, the decision values of
the first test rows, and the fit and predict times (one run: a fit takes minutes).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_nslkdd import standardised as standardised_nslkdd  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--c", type=float, required=True)
    ap.add_argument("--time", action="store_true", help="also time a fit without probabilities")
    args = ap.parse_args()
    x_tr, y_tr, x_te, y_te = standardised_nslkdd()
    out = {"model": "SVC(kernel='linear', C=%g, probability=True, random_state=0)" % args.c,
           "C": args.c, "train_rows": int(x_tr.shape[0]), "test_rows": int(x_te.shape[0])}
    if args.time:
        start = time.perf_counter()
        SVC(kernel="linear", C=args.c).fit(x_tr, y_tr)
        out["fit_seconds_without_probability"] = time.perf_counter() - start
    start = time.perf_counter()
    model = SVC(kernel="linear", C=args.c, probability=True, random_state=0).fit(x_tr, y_tr)
    out["fit_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    decision = model.decision_function(x_te)
    proba = model.predict_proba(x_te)[:, 1]
    out["predict_seconds"] = time.perf_counter() - start
    w = model.coef_.ravel()
    margins = (2 * y_tr - 1) * model.decision_function(x_tr)
    out.update({
        "decision_test_auc": float(roc_auc_score(y_te, decision)),
        "proba_test_auc": float(roc_auc_score(y_te, proba)),
        "intercept": float(model.intercept_[0]),
        "n_support": [int(n) for n in model.n_support_],
        "primal_objective": float(0.5 * w @ w + args.c * np.maximum(0.0, 1.0 - margins).sum()),
        "prob_a": float(model.probA_[0]), "prob_b": float(model.probB_[0]),
        "first_test_decision": [float(v) for v in decision[:5]],
    })
    print(json.dumps(out))


if __name__ == "__main__":
    main()
