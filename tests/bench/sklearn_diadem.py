#!/usr/bin/env python3
"""scikit-learn's version of a DIADEM pipeline on NSL-KDD, SecuML's configuration, timed.

Usage (from the repository root; needs scikit-learn, pandas):
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python3 tests/bench/sklearn_diadem.py PIPELINE [--n-jobs N]

What `secuml diadem NSL-KDD train20 <Class> --validation-mode ValidationDatasets
--validation-datasets test` does with SecuML's defaults: train20 one-hot encoded with its own
categories (sklearn_nslkdd.encoded), a grid search by GridSearchCV (StratifiedKFold with 4
unshuffled folds, scoring roc_auc, Pipeline StandardScaler -> model so each fold is
standardised on its fitting rows, refit on the whole of train20), then the test ROC AUC of the
refitted model's probability of the malicious class. PIPELINE:
  logreg   LogisticRegression(solver liblinear, fit_intercept False), C in {0.01, 0.1, 1, 10},
           penalty in {l1, l2} (8 candidates; as the reference's `diadem_logreg.py --variant secuml`)
  rf       RandomForestClassifier(100 trees, gini, max_features sqrt, bootstrap False), one
           candidate (as `diadem_rf.py --variant secuml`)
  dt       DecisionTreeClassifier over criterion {gini, entropy} x splitter {best, random} x
           max_depth {5, 10, 15, 20, None} x max_features {sqrt, log2, None} (60 candidates)
  gb       GradientBoostingClassifier(learning_rate 0.1, 100 estimators, subsample 0.1),
           max_depth in {3, 5}
  iforest  IsolationForest(100 trees, max_samples auto, max_features 1.0) on the raw features
           (no scaler, no search, labels unused); the score is -score_samples
random_state 0 everywhere. --n-jobs is GridSearchCV's n_jobs (IsolationForest's own for
iforest). Prints one JSON line: the best parameters, the CV and test ROC AUC, and timings
(import_s, load_s, fit_s, predict_s, total_s: all but import_s exclude the interpreter's
start and imports).
"""

import argparse
import json
import os
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    GradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_nslkdd import encoded  # noqa: E402

T_IMPORTED = time.perf_counter()
SEED = 0


def logreg_penalties():
    """The grid's penalty key and values: scikit-learn >= 1.8 names them by l1_ratio."""
    if LogisticRegression().get_params().get("penalty") == "deprecated":
        return "model__l1_ratio", [1.0, 0.0]
    return "model__penalty", ["l1", "l2"]


def search(pipeline):
    """(model, grid) of a searched pipeline."""
    if pipeline == "logreg":
        key, values = logreg_penalties()
        model = LogisticRegression(solver="liblinear", fit_intercept=False, random_state=SEED)
        return model, {"model__C": [0.01, 0.1, 1.0, 10.0], key: values}
    if pipeline == "rf":
        model = RandomForestClassifier(n_estimators=100, criterion="gini", max_features="sqrt",
                                       bootstrap=False, random_state=SEED, n_jobs=1)
        return model, {"model__max_features": ["sqrt"]}
    if pipeline == "dt":
        return DecisionTreeClassifier(random_state=SEED), {
            "model__criterion": ["gini", "entropy"],
            "model__splitter": ["best", "random"],
            "model__max_depth": [5, 10, 15, 20, None],
            "model__max_features": ["sqrt", "log2", None],
        }
    if pipeline == "gb":
        model = GradientBoostingClassifier(learning_rate=0.1, n_estimators=100, subsample=0.1,
                                           random_state=SEED)
        return model, {"model__max_depth": [3, 5]}
    raise ValueError(pipeline)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pipeline", choices=["logreg", "rf", "dt", "gb", "iforest"])
    ap.add_argument("--n-jobs", type=int, default=1)
    args = ap.parse_args()

    t0 = time.perf_counter()
    x_tr, y_tr, x_te, y_te = encoded()
    t_load = time.perf_counter()
    out = {"script": "sklearn_diadem", "pipeline": args.pipeline, "n_jobs": args.n_jobs,
           "n_train": int(x_tr.shape[0]), "n_test": int(x_te.shape[0]),
           "n_features_encoded": int(x_tr.shape[1])}
    if args.pipeline == "iforest":
        forest = IsolationForest(n_estimators=100, max_samples="auto", max_features=1.0,
                                 random_state=SEED, n_jobs=args.n_jobs).fit(x_tr)
        t_fit = time.perf_counter()
        scores = -forest.score_samples(x_te)
    else:
        model, grid = search(args.pipeline)
        pipe = Pipeline([("scaler", StandardScaler()), ("model", model)])
        cv = GridSearchCV(pipe, grid, scoring="roc_auc", cv=StratifiedKFold(n_splits=4),
                          n_jobs=args.n_jobs, refit=True).fit(x_tr, y_tr)
        t_fit = time.perf_counter()
        scores = cv.predict_proba(x_te)[:, 1]
        out["best_params"] = {k.removeprefix("model__"): v for k, v in cv.best_params_.items()}
        out["cv_auc"] = float(cv.best_score_)
        out["candidates"] = len(cv.cv_results_["mean_test_score"])
    t_pred = time.perf_counter()
    out["test_auc"] = float(roc_auc_score(y_te, scores))
    out["timings"] = {"import_s": T_IMPORTED - T_START, "load_s": t_load - t0,
                      "fit_s": t_fit - t_load, "predict_s": t_pred - t_fit,
                      "total_s": time.perf_counter() - t0}
    print(json.dumps(out, default=lambda v: v.item() if isinstance(v, np.generic) else str(v)))


if __name__ == "__main__":
    main()
