#!/usr/bin/env python3
"""Side-by-side benchmark of secuml against the scikit-learn reference, in one run.

Usage (from the repository root, after `cargo build --release -p secuml-coordinator`):
    python3 tests/bench/bench.py [--repeats 3] [--reference DIR] [--only diadem,ingest]

Pairs, run round-robin (one run of every configuration, then the next round), each a
fresh process:
  diadem   secuml DIADEM LogisticRegression, SecuML's grid, NSL-KDD train20 -> test
           (whole process, fresh data folder: includes the ingest of both datasets)
           vs `diadem_logreg.py --variant secuml` with --n-jobs 1 and 2 (whole process)
  ingest   `secuml ingest` of NSL-KDD train20 (time the command reports: reading and
           validating idents and features, writing shards and manifest)
           vs `ingest.py` (median of pandas.read_csv + median of the Parquet write of
           the features file alone, as the script reports them)
Prints each pair's median wall time and the ratio ours / theirs, then one JSON line.
The reference scripts need scikit-learn, pandas and pyarrow (pip install ...).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd, env=None):
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stderr[-2000:]))
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--reference", default=os.path.join(ROOT, "..", "shared", "bench", "reference"),
                    help="folder of the scikit-learn reference scripts")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "secuml"))
    ap.add_argument("--only", default="diadem,ingest")
    args = ap.parse_args()
    only = set(args.only.split(","))
    for path in (args.binary, os.path.join(args.reference, "diadem_logreg.py")):
        if not os.path.exists(path):
            sys.exit("%s is missing (build with `cargo build --release -p secuml-coordinator`; "
                     "pass --reference to the reference scripts' folder)" % path)
    data = os.path.join(ROOT, "data")
    train, test = os.path.join(data, "NSL-KDD", "train20"), os.path.join(data, "NSL-KDD", "test")
    times = {}
    extra = {}

    def add(name, value):
        times.setdefault(name, []).append(value)

    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            if "diadem" in only:
                wall, out = run([args.binary, "--data-dir", os.path.join(tmp, "d"), "diadem", "NSL-KDD", "train20",
                                 "LogisticRegression", "--input-dir", data, "--validation-mode",
                                 "ValidationDatasets", "--validation-datasets", "test", "--json"])
                add("diadem_ours", wall)
                extra["diadem_ours"] = {"auc": out["validation"]["auc"], "best": out["best_params"]}
                for nj in (1, 2):
                    wall, out = run([sys.executable, os.path.join(args.reference, "diadem_logreg.py"), train, test,
                                     "--variant", "secuml", "--n-jobs", str(nj)])
                    add("diadem_sklearn_nj%d" % nj, wall)
                    extra["diadem_sklearn_nj%d" % nj] = {"auc": out["test_metrics"]["roc_auc"],
                                                         "best": [out["best_C"], out["best_penalty"]]}
            if "ingest" in only:
                for i in range(5):
                    _, out = run([args.binary, "--data-dir", os.path.join(tmp, "i%d" % i), "ingest", data,
                                  "NSL-KDD", "train20", "--json"])
                    add("ingest_ours", out["seconds"])
                _, out = run([sys.executable, os.path.join(args.reference, "ingest.py"), train, "--inner", "5"])
                ds = out["datasets"][0]
                add("ingest_reference", ds["csv_read_pandas"]["median_s"] + ds["parquet_write"]["median_s"])
        print("round %d/%d done" % (r + 1, args.repeats), file=sys.stderr)

    med = {k: statistics.median(v) for k, v in times.items()}
    pairs = []
    if "diadem" in only:
        pairs += [("diadem vs sklearn n_jobs=1", "diadem_ours", "diadem_sklearn_nj1"),
                  ("diadem vs sklearn n_jobs=2", "diadem_ours", "diadem_sklearn_nj2")]
    if "ingest" in only:
        pairs += [("ingest vs pandas+pyarrow", "ingest_ours", "ingest_reference")]
    print("%-30s %12s %12s %8s" % ("pair", "ours (s)", "theirs (s)", "ratio"))
    ratios = {}
    for label, ours, theirs in pairs:
        ratios[label] = med[ours] / med[theirs]
        print("%-30s %12.3f %12.3f %8.3f" % (label, med[ours], med[theirs], ratios[label]))
    print(json.dumps({"repeats": args.repeats, "runs": times, "medians": med, "ratios": ratios, "details": extra}))


if __name__ == "__main__":
    main()
