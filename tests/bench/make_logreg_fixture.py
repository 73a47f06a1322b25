#!/usr/bin/env python3
"""Prints the synthetic problem and scikit-learn's liblinear coefficients (tol 1e-10, no
intercept) hard-coded in engine/src/linear/tests.rs.

Run: python3 tests/bench/make_logreg_fixture.py
"""
import numpy as np
from sklearn.linear_model import LogisticRegression

rng = np.random.RandomState(42)
n, d = 40, 4
X = np.round(rng.randn(n, d), 2)
w_true = np.array([1.5, -2.0, 0.0, 0.7])
y = (X @ w_true + rng.randn(n) > 0).astype(int)

print("x:", "[" + ", ".join("[" + ", ".join(repr(float(v)) for v in row) + "]" for row in X) + "]")
print("y:", "[" + ", ".join("true" if v else "false" for v in y) + "]")
for penalty in ["l1", "l2"]:
    for C in [0.1, 1.0, 10.0]:
        m = LogisticRegression(solver="liblinear", fit_intercept=False, C=C,
                               l1_ratio=1.0 if penalty == "l1" else 0.0,
                               tol=1e-10, max_iter=100000, random_state=0).fit(X, y)
        print("(Penalty::%s, %r, [%s])," % (penalty.upper(), C,
              ", ".join(repr(float(v)) for v in m.coef_[0])))
