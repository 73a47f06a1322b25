#!/usr/bin/env python3
"""Reference one-hot encoding of NSL-KDD with pandas + scikit-learn, for the engine's tests.

Fits the encoder on train20 (numeric columns in file order, then OneHotEncoder columns with
categories sorted, unknown categories ignored) and encodes train20 and test. Writes
onehot_reference.json beside this script: per dataset the shape, the sha256 of the
row-major little-endian float64 matrix, the column names and rows 0, 1 and the last one.

Usage: python3 onehot_reference.py [DATA_DIR]   (default: ../../data/NSL-KDD)
"""

import hashlib
import json
import os
import sys

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path):
    desc = pd.read_csv(os.path.join(path, "features", "features_description.csv"), index_col=0)
    types = dict(zip(desc.index.astype(str), desc["type"].astype(str)))
    cats = [k for k, v in types.items() if v == "categorical"]
    feats = pd.read_csv(os.path.join(path, "features", "features.csv"), dtype={c: str for c in cats})
    feats = feats.drop(columns=["instance_id"])
    feats.columns = [str(c) for c in feats.columns]
    return feats, cats


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "data", "NSL-KDD")
    train, cats = load(os.path.join(data, "train20"))
    nums = [c for c in train.columns if c not in cats]
    enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    enc.fit(train[cats])
    names = list(nums) + ["%s=%s" % (c, v) for c, vs in zip(cats, enc.categories_) for v in vs]
    out = {"names": names}
    for name in ["train20", "test"]:
        feats = train if name == "train20" else load(os.path.join(data, name))[0]
        x = np.hstack([feats[nums].to_numpy(dtype=np.float64), enc.transform(feats[cats])])
        x = np.ascontiguousarray(x, dtype="<f8")
        out[name] = {
            "shape": list(x.shape),
            "sha256": hashlib.sha256(x.tobytes()).hexdigest(),
            "rows": {str(i): x[i].tolist() for i in [0, 1, x.shape[0] - 1]},
        }
    with open(os.path.join(HERE, "onehot_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
