#!/usr/bin/env python3
"""DIADEM pipelines side by side with scikit-learn, one and two cores, in one run.

Usage (from the repository root; needs scikit-learn, pandas):
    cargo build -p secuml-coordinator --bin secuml        # our crates at opt-level 3 (Cargo.toml)
    nice python3 tests/bench/diadem_pipelines.py [--repeats 1] [--only logreg,rf,dt,gb,iforest]
        [--jobs 1,2] [--binary target/debug/secuml] [--ours-only]

For each pipeline, then each number of cores N, one after the other (each a fresh process):
  ours   `secuml diadem NSL-KDD train20 <Class> --validation-mode ValidationDatasets
         --validation-datasets test --n-jobs N --json`, embedded, SecuML's default grid of the
         class, on a data folder where both datasets were ingested beforehand (not timed)
  theirs `sklearn_diadem.py <pipeline> --n-jobs N` (the same pipeline: GridSearchCV with
         n_jobs N, refit, test probabilities), OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
         MKL_NUM_THREADS set to 1 for both.
Pipelines: logreg (LogisticRegression, C x penalty, 8 candidates), rf (RandomForest),
dt (DecisionTree, 60 candidates), gb (GradientBoosting, max_depth 3 and 5), iforest
(IsolationForest, no search).
Prints a table: wall time of the whole process, ours and theirs (median of --repeats), the
ratio ours / theirs, their time inside the script (load + search + predict, without the
interpreter's start and imports), the test ROC AUC of both, and our peak RSS; then one JSON
line with every run. `--ours-only` runs ours alone (its times, AUCs and peak RSS; no ratios),
for measuring memory without waiting for the reference.

Peak RSS is in MiB (ru_maxrss / 1024), against the features a run holds: train20 and test
encoded, (25,192 + 22,544) rows x 118 columns x 8 bytes = 43.0 MiB (45.1 MB).
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
HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINES = {
    "logreg": "LogisticRegression",
    "rf": "RandomForest",
    "dt": "DecisionTree",
    "gb": "GradientBoosting",
    "iforest": "IsolationForest",
}
# train20 and test encoded as f64: (25,192 + 22,544) x 118 x 8 bytes, in MiB (the unit of the
# peak RSS printed: ru_maxrss / 1024).
FEATURES_MB = (25192 + 22544) * 118 * 8 / 2**20
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run(cmd):
    """(wall seconds, peak RSS in MB, last stdout line as JSON) of one process."""
    env = dict(os.environ, **THREADS)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), stderr[-3000:]))
    return wall, usage.ru_maxrss / 1024.0, json.loads(stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--only", default=",".join(PIPELINES))
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "debug", "secuml"))
    ap.add_argument("--ours-only", action="store_true",
                    help="run ours alone: times, AUCs and peak RSS, no scikit-learn")
    args = ap.parse_args()
    if not os.path.exists(args.binary):
        sys.exit("%s is missing: cargo build -p secuml-coordinator --bin secuml" % args.binary)
    pipelines = args.only.split(",")
    for p in pipelines:
        if p not in PIPELINES:
            sys.exit("--only: unknown pipeline %s (one of %s)" % (p, ", ".join(PIPELINES)))
    jobs = [int(j) for j in args.jobs.split(",")]
    data = os.path.join(ROOT, "data")
    runs = []
    rows = []
    with tempfile.TemporaryDirectory(prefix="secuml-bench-") as folder:
        for dataset in ("train20", "test"):
            run([args.binary, "--data-dir", folder, "ingest", data,
                 "NSL-KDD", dataset, "--json"])
        for pipeline in pipelines:
            for n in jobs:
                ours_cmd = [args.binary, "--data-dir", folder, "diadem", "NSL-KDD", "train20",
                            PIPELINES[pipeline], "--input-dir", data,
                            "--validation-mode", "ValidationDatasets",
                            "--validation-datasets", "test", "--n-jobs", str(n), "--json"]
                theirs_cmd = [sys.executable, os.path.join(HERE, "sklearn_diadem.py"), pipeline,
                              "--n-jobs", str(n)]
                pair = {"ours": [], "theirs": []}
                for _ in range(args.repeats):
                    wall, rss, out = run(ours_cmd)
                    pair["ours"].append({"wall_s": wall, "peak_rss_mb": rss,
                                         "test_auc": out["validation"]["auc"],
                                         "best": out.get("best_params")})
                    if args.ours_only:
                        print("%s n_jobs=%d: ours %.2f s, peak RSS %.0f MB, test AUC %.4f" % (
                            pipeline, n, wall, rss, out["validation"]["auc"]),
                            file=sys.stderr, flush=True)
                        continue
                    wall, rss, out = run(theirs_cmd)
                    pair["theirs"].append({"wall_s": wall, "peak_rss_mb": rss,
                                           "test_auc": out["test_auc"],
                                           "inside_s": out["timings"]["total_s"],
                                           "best": out.get("best_params")})
                    print("%s n_jobs=%d: ours %.2f s, scikit-learn %.2f s" % (
                        pipeline, n, pair["ours"][-1]["wall_s"], pair["theirs"][-1]["wall_s"]),
                        file=sys.stderr, flush=True)
                med = {side: {k: statistics.median(r[k] for r in pair[side])
                              for k in pair[side][0] if k != "best"}
                       for side in pair if pair[side]}
                rows.append((pipeline, n, med))
                runs.append({"pipeline": pipeline, "n_jobs": n, **pair})
    if args.ours_only:
        print("| pipeline | cores | ours (s) | test ROC AUC ours | ours peak RSS (MB) | x features |")
        print("|---|---|---|---|---|---|")
        for pipeline, n, med in rows:
            o = med["ours"]
            print("| %s | %d | %.2f | %.4f | %.0f | %.2f |" % (
                PIPELINES[pipeline], n, o["wall_s"], o["test_auc"], o["peak_rss_mb"],
                o["peak_rss_mb"] / FEATURES_MB))
        print(json.dumps({"repeats": args.repeats, "runs": runs}))
        return
    print("| pipeline | cores | ours (s) | scikit-learn (s) | ratio | scikit-learn inside (s) "
          "| test ROC AUC ours | scikit-learn | ours peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for pipeline, n, med in rows:
        o, t = med["ours"], med["theirs"]
        print("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.4f | %.4f | %.0f |" % (
            PIPELINES[pipeline], n, o["wall_s"], t["wall_s"], o["wall_s"] / t["wall_s"],
            t["inside_s"], o["test_auc"], t["test_auc"], o["peak_rss_mb"]))
    print(json.dumps({"repeats": args.repeats, "runs": runs}))


if __name__ == "__main__":
    main()
