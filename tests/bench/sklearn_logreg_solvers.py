#!/usr/bin/env python3
"""scikit-learn's lbfgs, sag and saga logistic regressions on NSL-KDD, as SecuML configures them.

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_logreg_solvers.py > tests/fixtures/sklearn_logreg_solvers.json

Data as the engine's tests see it (`sklearn_nslkdd.standardised()`: train20 and test one-hot
encoded with train20's categories, StandardScaler fitted on train20). For each solver, penalty it
supports (lbfgs, sag: l2; saga: l1 and l2) and C in {0.01, 0.1, 1, 10}: LogisticRegression with
fit_intercept=False and scikit-learn's defaults (tol 1e-4, max_iter 100), random_state 0, fitted
on train20; records the test ROC AUC, the iterations, whether scikit-learn converged (no
ConvergenceWarning), liblinear's objective (0.5||w||^2 or ||w||_1, + C sum log-loss) at the
coefficients, and the fit time. Prints one JSON line.
"""
import json
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from sklearn_nslkdd import auc, standardised

SOLVERS = [("lbfgs", "l2"), ("sag", "l2"), ("saga", "l1"), ("saga", "l2")]
GRID = [0.01, 0.1, 1.0, 10.0]


def objective(x, signs, c, penalty, w):
    reg = np.abs(w).sum() if penalty == "l1" else 0.5 * w @ w
    return float(reg + c * np.logaddexp(0.0, -signs * (x @ w)).sum())


def main():
    x_tr, y_tr, x_te, y_te = standardised()
    signs = np.where(y_tr == 1, 1.0, -1.0)
    out = []
    for solver, penalty in SOLVERS:
        for c in GRID:
            model = LogisticRegression(C=c, l1_ratio=1.0 if penalty == "l1" else 0.0,
                                       solver=solver, fit_intercept=False, random_state=0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                start = time.perf_counter()
                model.fit(x_tr, y_tr)
                seconds = time.perf_counter() - start
            converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
            w = model.coef_.ravel()
            out.append({
                "solver": solver, "penalty": penalty, "C": c,
                "test_auc": auc(y_te, x_te @ w),
                "n_iter": int(model.n_iter_[0]),
                "converged": converged,
                "objective": objective(x_tr, signs, c, penalty, w),
                "fit_seconds": round(seconds, 3),
            })
    print(json.dumps({"sklearn": __import__("sklearn").__version__, "fits": out}))


if __name__ == "__main__":
    main()
