"""NSL-KDD as the engine's tests see it, for the scikit-learn reference scripts of this folder.

One-hot encoding with train20's categories (a test-only category encodes as all zeros),
columns in our order (numeric columns in file order, then each categorical column's categories
sorted), StandardScaler fitted on train20: `crate::test_data::nsl_kdd().standardised()`.
"""
import os

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load(path):
    idents = pd.read_csv(os.path.join(path, "idents.csv"))
    desc = pd.read_csv(os.path.join(path, "features", "features_description.csv"), index_col=0)
    types = dict(zip(desc.index.astype(str), desc["type"].astype(str)))
    cats = [k for k, v in types.items() if v == "categorical"]
    feats = pd.read_csv(os.path.join(path, "features", "features.csv"), dtype={c: str for c in cats})
    feats = feats.drop(columns=["instance_id"])
    feats.columns = [str(c) for c in feats.columns]
    return feats, idents["label"].to_numpy(dtype=int), cats


def encoded_with_names():
    """(x_train, y_train, x_test, y_test, names): train20 and test, encoded (not standardised),
    with the encoded column names (numeric columns, then `column=category`)."""
    tr, y_tr, cats = _load(os.path.join(ROOT, "data", "NSL-KDD", "train20"))
    te, y_te, _ = _load(os.path.join(ROOT, "data", "NSL-KDD", "test"))
    nums = [c for c in tr.columns if c not in cats]
    enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(tr[cats])
    x_tr = np.hstack([tr[nums].to_numpy(float), enc.transform(tr[cats])])
    x_te = np.hstack([te[nums].to_numpy(float), enc.transform(te[cats])])
    names = list(nums)
    for c, values in zip(cats, enc.categories_):
        names += ["%s=%s" % (c, v) for v in values]
    return x_tr, y_tr, x_te, y_te, names


def encoded():
    """(x_train, y_train, x_test, y_test): train20 and test, encoded (not standardised)."""
    return encoded_with_names()[:4]


def standardised_with_names():
    """(x_train, y_train, x_test, y_test, names): train20 and test, encoded and standardised,
    with the encoded column names (numeric columns, then `column=category`)."""
    x_tr, y_tr, x_te, y_te, names = encoded_with_names()
    scaler = StandardScaler().fit(x_tr)
    return scaler.transform(x_tr), y_tr, scaler.transform(x_te), y_te, names


def standardised():
    """(x_train, y_train, x_test, y_test): train20 and test, encoded and standardised."""
    return standardised_with_names()[:4]


def auc(y, scores):
    return float(roc_auc_score(y, scores))


def families():
    """(families_train, families_test): the `family` column of train20's and test's idents.csv."""
    read = lambda name: pd.read_csv(os.path.join(ROOT, "data", "NSL-KDD", name, "idents.csv"))["family"]
    return read("train20").astype(str).to_numpy(), read("test").astype(str).to_numpy()
