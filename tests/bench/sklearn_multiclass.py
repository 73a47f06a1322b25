#!/usr/bin/env python3
"""scikit-learn's multiclass models on NSL-KDD families, the reference of engine/src/model/multiclass.rs.

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_multiclass.py > tests/fixtures/sklearn_multiclass.json
    python3 tests/bench/sklearn_multiclass.py --only KEY... --merge tests/fixtures/sklearn_multiclass.json
The second form computes only the fixture keys named (a key's prefix selects them: e.g.
`label_propagation`), and writes them into the existing file, the other keys kept; the whole
run takes more than 20 minutes on a shared 2-core machine, mostly the converged l1 fits.

SecuML's `--multiclass` pipeline: one-hot encoding with train20's categories, StandardScaler
fitted on train20, the model fitted on train20's families (22 classes), test's families
predicted (38 families). For each model, the test accuracy and F1 macro
(`f1_score(average="macro")` over the labels of the truth and of the predictions):
- LogisticRegression(fit_intercept=False, solver="liblinear") one-vs-rest for two of SecuML's
  grid points: SecuML's `multi_class="ovr"`, which scikit-learn 1.9 spells
  `OneVsRestClassifier` (liblinear refuses more than two classes); with liblinear's default
  `max_iter=100`, which stops some rare families' fits early, and `_converged` with 100000;
- GaussianNB() (native multiclass);
- DecisionTree (gini, best, no limit, all features) and RandomForest (SecuML's defaults: 100
  trees, sqrt, no bootstrap), both native (K-class impurity) and wrapped in
  OneVsRestClassifier (what our engine fitted for them before its native K-class trees, whose
  reference, over more seeds, is sklearn_multiclass_trees.py), mean over random_state
  0..seeds-1;
- LabelPropagation(kernel="knn", n_neighbors=7) (native label distributions) on train20's
  first 3000 rows, every other one unlabelled, predicting test's first 3000 rows.
"""

import argparse
import json
import os
import sys
import warnings

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.semi_supervised import LabelPropagation
from sklearn.tree import DecisionTreeClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_nslkdd import families, standardised  # noqa: E402

warnings.filterwarnings("ignore")


def scores(model, x_tr, f_tr, x_te, f_te):
    predicted = model.fit(x_tr, f_tr).predict(x_te)
    return {"accuracy": float(accuracy_score(f_te, predicted)),
            "f1_macro": float(f1_score(f_te, predicted, average="macro"))}


def mean(runs):
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


def reference(x_tr, f_tr, x_te, f_te, wanted):
    """The fixture's entries whose key `wanted` selects, computed lazily."""
    out = {"train_rows": int(x_tr.shape[0]), "test_rows": int(x_te.shape[0]),
           "train_families": len(set(f_tr)), "test_families": len(set(f_te))}
    for c, penalty in [(1.0, "l2"), (0.1, "l1")]:
        for suffix, max_iter in [("", 100), ("_converged", 100000)]:
            key = f"logistic_regression_c{c}_{penalty}{suffix}"
            if wanted(key):
                model = OneVsRestClassifier(LogisticRegression(
                    C=c, penalty=penalty, solver="liblinear", fit_intercept=False, max_iter=max_iter))
                out[key] = scores(model, x_tr, f_tr, x_te, f_te)
    if wanted("gaussian_nb"):
        out["gaussian_nb"] = scores(GaussianNB(), x_tr, f_tr, x_te, f_te)
    tree_seeds, forest_seeds = 10, 2
    out["tree_seeds"], out["forest_seeds"] = tree_seeds, forest_seeds
    tree = lambda s: DecisionTreeClassifier(random_state=s)
    forest = lambda s: RandomForestClassifier(n_estimators=100, max_features="sqrt", bootstrap=False,
                                              random_state=s)
    if wanted("decision_tree_native"):
        out["decision_tree_native"] = mean([scores(tree(s), x_tr, f_tr, x_te, f_te)
                                            for s in range(tree_seeds)])
    if wanted("decision_tree_ovr"):
        out["decision_tree_ovr"] = mean([scores(OneVsRestClassifier(tree(s)), x_tr, f_tr, x_te, f_te)
                                         for s in range(tree_seeds)])
    if wanted("random_forest_native"):
        out["random_forest_native"] = mean([scores(forest(s), x_tr, f_tr, x_te, f_te)
                                            for s in range(forest_seeds)])
    if wanted("random_forest_ovr"):
        out["random_forest_ovr"] = mean([scores(OneVsRestClassifier(forest(s)), x_tr, f_tr, x_te, f_te)
                                         for s in range(forest_seeds)])
    if wanted("label_propagation_knn"):
        # Label propagation (knn kernel, 7 neighbours) on train20's first 3000 rows, every other
        # one unlabelled, predicting test's first 3000 rows.
        n = 3000
        y = np.array(f_tr[:n], dtype=object)
        y[1::2] = None
        classes = sorted(set(f_tr[:n][::2]))
        y_code = np.array([classes.index(v) if v is not None else -1 for v in y])
        model = LabelPropagation(kernel="knn", n_neighbors=7).fit(x_tr[:n], y_code)
        predicted = np.array(classes)[model.predict(x_te[:n])]
        out["label_propagation_knn"] = {
            "train_rows": n, "test_rows": n, "classes": len(classes),
            "accuracy": float(accuracy_score(f_te[:n], predicted)),
            "f1_macro": float(f1_score(f_te[:n], predicted, average="macro"))}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="KEY",
                        help="compute only the keys starting with one of these")
    parser.add_argument("--merge", metavar="FILE",
                        help="write the keys computed into this fixture, keeping its others")
    args = parser.parse_args()
    wanted = (lambda key: any(key.startswith(k) for k in args.only)) if args.only else (lambda key: True)
    x_tr, _, x_te, _ = standardised()
    f_tr, f_te = families()
    out = reference(x_tr, f_tr, x_te, f_te, wanted)
    if args.merge:
        with open(args.merge) as f:
            merged = json.load(f)
        merged.update(out)
        with open(args.merge + ".tmp", "w") as f:
            f.write(json.dumps(merged, indent=1) + "\n")
        os.replace(args.merge + ".tmp", args.merge)
    else:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
