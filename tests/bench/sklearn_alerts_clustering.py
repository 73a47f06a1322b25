#!/usr/bin/env python3
"""scikit-learn reference for the engine's alert clustering (`cluster::gmm`, `cluster::dbscan`):
SecuML's alert analysis standardises the alerts (StandardScaler fitted on the alerts
themselves) and clusters them with scikit-learn's GaussianMixture (covariance_type="diag",
init_params="kmeans", the other parameters scikit-learn's defaults: n_init 1, max_iter 100,
tol 1e-3, reg_covar 1e-6) or DBSCAN (eps 0.5, min_samples 5, euclidean).

Usage (from the repository root; needs scikit-learn, pandas):
    python3 tests/bench/sklearn_alerts_clustering.py > tests/fixtures/sklearn_alerts_clustering.json

Rows: every 10th malicious row of NSL-KDD test (the rows of label 1, in file order, then
rows 0, 10, 20, ... of them), encoded with train20's categories (`sklearn_nslkdd.py`), raw.
GaussianMixture runs for 4 components with random_state 0..4 (labels, mean log-likelihood
`score` and `lower_bound_`, and the k-means partition it starts from, `KMeans(n_clusters=4,
n_init=1, random_state=seed)` as GaussianMixture calls it), with the diagonal covariance SecuML
uses and with the full covariance.
"""
import json

import numpy as np
from sklearn.cluster import DBSCAN, KMeans
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

import sklearn_nslkdd


def alerts():
    tr, _, cats = sklearn_nslkdd._load(sklearn_nslkdd.os.path.join(sklearn_nslkdd.ROOT, "data", "NSL-KDD", "train20"))
    te, y_te, _ = sklearn_nslkdd._load(sklearn_nslkdd.os.path.join(sklearn_nslkdd.ROOT, "data", "NSL-KDD", "test"))
    nums = [c for c in tr.columns if c not in cats]
    enc = sklearn_nslkdd.OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(tr[cats])
    x_te = np.hstack([te[nums].to_numpy(float), enc.transform(te[cats])])
    rows = np.flatnonzero(y_te == 1)[::10]
    return rows, StandardScaler().fit_transform(x_te[rows])


def main():
    rows, x = alerts()
    out = {"rows": [int(r) for r in rows], "gmm": {}, "dbscan": {}}
    for cov in ("diag", "full"):
        runs = []
        for seed in range(5):
            g = GaussianMixture(n_components=4, covariance_type=cov, init_params="kmeans",
                                random_state=seed)
            labels = g.fit_predict(x)
            # The partition the mixture starts from: GaussianMixture's own k-means call.
            init = KMeans(n_clusters=4, n_init=1, random_state=seed).fit(x).labels_
            runs.append({"seed": seed, "labels": [int(v) for v in labels],
                         "kmeans_labels": [int(v) for v in init],
                         "score": float(g.score(x)), "lower_bound": float(g.lower_bound_),
                         "n_iter": int(g.n_iter_), "converged": bool(g.converged_)})
        out["gmm"][cov] = runs
    labels = DBSCAN(eps=0.5, min_samples=5).fit_predict(x)
    out["dbscan"] = {"eps": 0.5, "min_samples": 5, "labels": [int(v) for v in labels],
                     "clusters": int(labels.max() + 1), "noise": int((labels == -1).sum())}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
