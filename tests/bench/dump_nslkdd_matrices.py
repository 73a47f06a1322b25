#!/usr/bin/env python3
"""Writes the one-hot encoded NSL-KDD train20 and test matrices, exactly as the scikit-learn
reference (bench/reference/diadem_logreg.py) encodes them, for engine/benches/logreg_grid.rs.

Run from the shared folder (the one holding bench/ and data/):
    python3 /path/to/tests/bench/dump_nslkdd_matrices.py OUT_DIR
Format of OUT_DIR/{train,test}.bin: little-endian u64 rows, u64 columns, the row-major f64
features, then one f64 label (0 or 1) per row.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join("bench", "reference"))
import diadem_logreg as ref  # noqa: E402


def write(path, x, y):
    with open(path, "wb") as f:
        np.array(x.shape, dtype="<u8").tofile(f)
        np.ascontiguousarray(x, dtype="<f8").tofile(f)
        y.astype("<f8").tofile(f)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tr, tr_idents, types = ref.load_dataset("data/NSL-KDD/train20")
    te, te_idents, _ = ref.load_dataset("data/NSL-KDD/test")
    nums, cats, enc = ref.fit_encoder(tr, types)
    write(os.path.join(out, "train.bin"), ref.encode(tr, nums, cats, enc),
          tr_idents["label"].to_numpy(dtype=np.float64))
    write(os.path.join(out, "test.bin"), ref.encode(te, nums, cats, enc),
          te_idents["label"].to_numpy(dtype=np.float64))


if __name__ == "__main__":
    main()
