#!/usr/bin/env python3
"""Reference for the engine's `svdd` module: SecuML's own Sssvdd (there is no scikit-learn
version), run from a SecuML checkout's `secuml/core/classif/classifiers/sssvdd.py`, on NSL-KDD.

Usage (from the repository root; needs numpy, scipy, scikit-learn, pandas):
    git -C SECUML_GIT_DIR show HEAD:secuml/core/classif/classifiers/sssvdd.py > /tmp/sssvdd.py
    python3 tests/bench/sklearn_sssvdd.py /tmp/sssvdd.py > tests/fixtures/sklearn_sssvdd.json
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 tests/bench/sklearn_sssvdd.py /tmp/sssvdd.py --time

The file is read and executed in memory (its package-relative import replaced by a stub); it
is not part of this repository. SecuML's pipeline: StandardScaler (fitted on the whole of
train20), then _Sssvdd(nu_l=1, nu_u=1, kappa=1), minimised by scipy's fmin_bfgs.
Rows (SecuML's code loops over rows in Python, so a subsample): fitted on every 10th train20
row (0, 10, 20, ...), of which every 10th (subsample positions 0, 10, 20, ...) keeps its label
and the others are unlabelled; scored (decision_function, higher = more anomalous) on every
5th test row. `unsupervised` is the same fit with no label at all (a plain SVDD baseline).
"""
import argparse
import json
import time

import numpy as np

from sklearn_nslkdd import auc, standardised


def load_secuml(path):
    source = open(path).read().replace("from . import SemiSupervisedClassifier", "")
    namespace = {"SemiSupervisedClassifier": object, "__name__": "secuml_sssvdd"}
    exec(compile(source, path, "exec"), namespace)
    return namespace["_Sssvdd"], namespace["objective"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("secuml_sssvdd_py")
    ap.add_argument("--time", action="store_true")
    args = ap.parse_args()
    model_class, objective = load_secuml(args.secuml_sssvdd_py)
    x_tr, y_tr, x_te, y_te = standardised()
    x_tr, y_tr, x_te, y_te = x_tr[::10], y_tr[::10], x_te[::5], y_te[::5]
    labelled = np.arange(len(y_tr)) % 10 == 0
    out = {"rows_train": int(len(y_tr)), "labelled": int(labelled.sum()), "rows_test": int(len(y_te))}
    for name, mask in (("semi_supervised", labelled), ("unsupervised", np.zeros_like(labelled))):
        # SecuML's annotations: -1 unlabelled, else the label (True = malicious).
        annotations = [bool(y) if m else -1 for y, m in zip(y_tr, mask)]
        start = time.perf_counter()
        model = model_class(nu_l=1.0, nu_u=1.0, kappa=1.0)
        model.fit(x_tr, annotations)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        scores = model.decision_function(x_te)
        score_s = time.perf_counter() - start
        entry = {"test_auc": auc(y_te, scores), "radius": float(model.r),
                 "first_scores": [float(s) for s in scores[:5]]}
        if args.time:
            entry = {"fit_s": fit_s, "score_s": score_s, "total_s": fit_s + score_s}
        out[name] = entry
        print(name, "done", file=__import__("sys").stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
