#!/usr/bin/env python3
"""scikit-learn reference for the engine's `lof` module: SecuML's Lof, i.e.
StandardScaler then LocalOutlierFactor(n_neighbors=20, contamination=0.1, novelty=True)
(algorithm=auto, which is brute force for 118 columns), on NSL-KDD.

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_lof.py > tests/fixtures/sklearn_lof.json
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 tests/bench/sklearn_lof.py --time

Rows: the scaler is fitted on the whole of train20; the model is fitted on every 10th train20
row (rows 0, 10, 20, ...) and scores every 5th test row (0, 5, 10, ...), the `subsample` entry;
`full` fits on the whole of train20 and scores the whole test set.
The anomaly score is the LOF, `-score_samples` (higher = more anomalous).
With --time, prints the fit and scoring wall and CPU times of the full run instead.
"""
import argparse
import json
import time

from sklearn.neighbors import LocalOutlierFactor

from sklearn_nslkdd import auc, standardised


def run(x_tr, x_te, y_te):
    start, cpu = time.perf_counter(), time.process_time()
    model = LocalOutlierFactor(n_neighbors=20, contamination=0.1, novelty=True).fit(x_tr)
    fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    scores = -model.score_samples(x_te)
    score_s, score_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {"rows_train": int(x_tr.shape[0]), "rows_test": int(x_te.shape[0]),
            "test_auc": auc(y_te, scores), "offset": float(model.offset_),
            "first_scores": [float(s) for s in scores[:5]],
            "fit_s": fit_s, "score_s": score_s, "fit_cpu_s": fit_cpu_s, "score_cpu_s": score_cpu_s}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", action="store_true")
    args = ap.parse_args()
    x_tr, _, x_te, y_te = standardised()
    full = run(x_tr, x_te, y_te)
    if args.time:
        print(json.dumps({"fit_s": full["fit_s"], "score_s": full["score_s"],
                          "total_s": full["fit_s"] + full["score_s"],
                          "fit_cpu_s": full["fit_cpu_s"], "score_cpu_s": full["score_cpu_s"],
                          "total_cpu_s": full["fit_cpu_s"] + full["score_cpu_s"]}))
        return
    sub = run(x_tr[::10], x_te[::5], y_te[::5])
    for r in (sub, full):
        del r["fit_s"], r["score_s"], r["fit_cpu_s"], r["score_cpu_s"]
    print(json.dumps({"estimator": "LocalOutlierFactor(n_neighbors=20, contamination=0.1, novelty=True)",
                      "subsample": sub, "full": full}))


if __name__ == "__main__":
    main()
