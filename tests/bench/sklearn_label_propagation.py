#!/usr/bin/env python3
"""scikit-learn reference for the engine's `propagation` module: SecuML's LabelPropagation,
i.e. StandardScaler then LabelPropagation(kernel, gamma=20, n_neighbors=7, max_iter=1000,
tol=1e-3), for the rbf kernel (SecuML's default) and the knn kernel, on NSL-KDD.

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_label_propagation.py > tests/fixtures/sklearn_label_propagation.json
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 tests/bench/sklearn_label_propagation.py --time

Rows: the scaler is fitted on the whole of train20; the model is fitted on every 10th train20
row (rows 0, 10, 20, ...: 2,520 rows, the rbf kernel is a dense n x n matrix), of which only
every 4th (subsample positions 0, 4, 8, ...) keeps its label, the others are unlabelled (-1);
it scores every 5th test row (0, 5, 10, ...).
The score is predict_proba's malicious column. A test row whose kernel weights against the
training rows are all zero (exp(-20 d^2) underflows), or whose neighbours all carry an empty
label distribution, gets 0/0 = NaN from scikit-learn; the AUC is computed with NaN replaced by
0.5 (no information), which is what our model returns for such rows (`nan_rows` counts them).
"""
import argparse
import json
import time

import numpy as np
from sklearn.semi_supervised import LabelPropagation

from sklearn_nslkdd import auc, standardised


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", action="store_true")
    args = ap.parse_args()
    x_tr, y_tr, x_te, y_te = standardised()
    x_tr, y_tr, x_te, y_te = x_tr[::10], y_tr[::10].copy(), x_te[::5], y_te[::5]
    y_tr[np.arange(len(y_tr)) % 4 != 0] = -1
    out = {"rows_train": int(x_tr.shape[0]), "labelled": int((y_tr != -1).sum()),
           "rows_test": int(x_te.shape[0])}
    for kernel in ("rbf", "knn"):
        start = time.perf_counter()
        model = LabelPropagation(kernel=kernel, gamma=20, n_neighbors=7, max_iter=1000,
                                 tol=1e-3).fit(x_tr, y_tr)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        with np.errstate(invalid="ignore"):
            proba = model.predict_proba(x_te)[:, 1]
        score_s = time.perf_counter() - start
        if args.time:
            out[kernel] = {"fit_s": fit_s, "score_s": score_s, "total_s": fit_s + score_s}
            continue
        nan = np.isnan(proba)
        out[kernel] = {"test_auc": auc(y_te, np.where(nan, 0.5, proba)), "nan_rows": int(nan.sum()),
                       "n_iter": int(model.n_iter_),
                       "empty_train_distributions": int((model.label_distributions_.sum(1) == 0).sum()),
                       "transduction_malicious": int(model.transduction_.sum())}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
