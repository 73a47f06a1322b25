#!/usr/bin/env python3
"""scikit-learn's native multiclass GradientBoostingClassifier, the reference of
engine/src/boosting/multiclass.rs.

Usage (from the repository root; needs scikit-learn, pandas):
    nice python3 tests/bench/sklearn_multiclass_boosting.py > tests/fixtures/sklearn_multiclass_boosting.json
    OMP_NUM_THREADS=1 python3 tests/bench/sklearn_multiclass_boosting.py --time

GradientBoostingClassifier(loss="log_loss") with K > 2 classes: K regression trees per stage on
the multinomial deviance (softmax), SecuML's default hyperparameters (learning_rate 0.1,
n_estimators 100, max_depth 3, min_samples_split 2, min_samples_leaf 1, max_features all,
subsample 0.1), the cheapest point of SecuML's grid (22 classes make 22 trees per stage).
Default output, one JSON object:
- `nsl_kdd_d3_sub0.1`: SecuML's `--multiclass` pipeline (`sklearn_nslkdd`: one-hot encoding with
  train20's categories, StandardScaler fitted on train20), fitted on train20's families (22
  classes), test's families predicted (38): per random_state 0..N-1 (`--seeds N`, default 10)
  the test accuracy and F1 macro (`f1_score(average="macro")` over the labels of the truth and
  of the predictions), and their means, standard deviations and medians (the subsample of 0.1
  moves them by more than the implementations differ, and some seeds' fits blow up: leaves of
  1e90 after a rare family's saturated probabilities, accuracy near 0, which moves the mean
  but not the median);
- `small_exact`: a small 3-class problem (40, 30 and 20 rows, 3 features, drawn from a seeded normal
  generator, stored in the fixture) fitted with subsample 1 (every row at every stage), 10
  stages, max_depth 2: the initial raw scores, the raw scores (`decision_function`) and
  probabilities (`predict_proba`) of the training rows, and the feature importances.
`--time`: the NSL-KDD fit and predict wall times (best of `--repeats`, default 1), to run beside
engine/examples/boosting_timing.rs's multiclass mode (one thread: scikit-learn's trees are
single-threaded anyway).
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_nslkdd import families, standardised  # noqa: E402

warnings.filterwarnings("ignore")


def model(seed=0, subsample=0.1, max_depth=3, n_estimators=100):
    return GradientBoostingClassifier(
        loss="log_loss", learning_rate=0.1, n_estimators=n_estimators, criterion="friedman_mse",
        max_depth=max_depth, min_samples_split=2, min_samples_leaf=1, max_features=None,
        max_leaf_nodes=None, min_impurity_decrease=0.0, subsample=subsample, random_state=seed)


def small_exact():
    rng = np.random.default_rng(2)
    sizes, d = [40, 30, 20], 3
    centres = np.array([[0.0, 0.0, 0.0], [1.5, 0.5, -0.5], [0.0, 1.5, 1.0]])
    x = np.vstack([c + rng.normal(size=(k, d)) for c, k in zip(centres, sizes)])
    x = np.round(x, 4)
    y = np.repeat(np.arange(3), sizes)
    m = model(subsample=1.0, max_depth=2, n_estimators=10).fit(x, y)
    return {
        "x": x.tolist(), "y": y.tolist(), "n_estimators": 10, "max_depth": 2, "subsample": 1.0,
        "init_raw": m._raw_predict_init(x[:1])[0].tolist(),
        "decision_function": m.decision_function(x).tolist(),
        "predict_proba": m.predict_proba(x).tolist(),
        "importances": m.feature_importances_.tolist(),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    x_tr, _, x_te, _ = standardised()
    f_tr, f_te = families()

    if args.time:
        fits, predicts = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            m = model().fit(x_tr, f_tr)
            fits.append(time.perf_counter() - start)
            start = time.perf_counter()
            predicted = m.predict(x_te)
            predicts.append(time.perf_counter() - start)
        out = {"fit_s": min(fits), "predict_s": min(predicts),
               "accuracy": float(accuracy_score(f_te, predicted)),
               "f1_macro": float(f1_score(f_te, predicted, average="macro"))}
        print("d3_sub0.1, %d classes: fit %.3f s, predict %.3f s, accuracy %.4f, F1 macro %.4f"
              % (len(set(f_tr)), out["fit_s"], out["predict_s"], out["accuracy"], out["f1_macro"]),
              file=sys.stderr)
        print(json.dumps(out))
        return

    runs = []
    for s in range(args.seeds):
        predicted = model(s).fit(x_tr, f_tr).predict(x_te)
        runs.append({"accuracy": float(accuracy_score(f_te, predicted)),
                     "f1_macro": float(f1_score(f_te, predicted, average="macro"))})
        print("seed %d: %s" % (s, runs[-1]), file=sys.stderr, flush=True)
    nsl = {"train_families": len(set(f_tr)), "test_families": len(set(f_te)),
           "max_depth": 3, "subsample": 0.1, "seeds": args.seeds, "seed_runs": runs}
    for k in ["accuracy", "f1_macro"]:
        nsl[k] = float(np.mean([r[k] for r in runs]))
        nsl[k + "_std"] = float(np.std([r[k] for r in runs]))
        nsl[k + "_median"] = float(np.median([r[k] for r in runs]))
    out = {"nsl_kdd_d3_sub0.1": nsl, "small_exact": small_exact()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
