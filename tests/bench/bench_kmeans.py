#!/usr/bin/env python3
"""Side-by-side k-means benchmark: secuml's engine against scikit-learn, in one run.

Usage (from the repository root, after
`cargo build --release -p secuml-engine --example kmeans`):
    python3 tests/bench/bench_kmeans.py [--repeats 3] [--k 10] [--n-init 10] [--threads 1]
                                        [--reference DIR]

Both sides cluster NSL-KDD train20 + test concatenated (47,736 rows, 119 encoded
columns): StandardScaler, then k-means++ and Lloyd with n_init runs, seed 0.
  ours    target/release/examples/kmeans on a combined input dataset written to a
          temporary folder (in process, the same plan the coordinator distributes)
  theirs  ../shared/bench/reference/clustering_kmeans.py on the two datasets
          (--threads limits its BLAS/OpenMP threads; ours runs on one thread)
Runs are round-robin (ours, theirs, ours, ...), each a fresh process; prints the median
fit time and whole-process wall time of each side, the ratios ours / theirs, both
inertias, then one JSON line.
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


def run(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stderr[-2000:]))
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def write_combined(out):
    """train20 then test, test's instance ids shifted past train20's (SecuML layout)."""
    parts = [os.path.join(ROOT, "data", "NSL-KDD", d) for d in ("train20", "test")]
    os.makedirs(os.path.join(out, "features"))
    for rel in ("idents.csv", os.path.join("features", "features.csv")):
        offset = 0
        with open(os.path.join(out, rel), "w") as dst:
            for i, part in enumerate(parts):
                with open(os.path.join(part, rel)) as src:
                    header = src.readline()
                    if i == 0:
                        dst.write(header)
                    rows = 0
                    for line in src:
                        if not line.strip():
                            continue
                        ident, rest = line.split(",", 1)
                        dst.write("%d,%s" % (int(ident) + offset, rest))
                        rows += 1
                offset += rows
    desc = "features_description.csv"
    with open(os.path.join(parts[0], "features", desc)) as src, \
            open(os.path.join(out, "features", desc), "w") as dst:
        dst.write(src.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--n-init", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reference", default=os.path.join(ROOT, "..", "shared", "bench", "reference"))
    args = ap.parse_args()

    ours_bin = os.path.join(ROOT, os.environ.get("CARGO_TARGET_DIR", "target"), "release", "examples", "kmeans")
    if not os.path.isfile(ours_bin):
        sys.exit("%s is missing: cargo build --release -p secuml-engine --example kmeans" % ours_bin)
    with tempfile.TemporaryDirectory() as tmp:
        combined = os.path.join(tmp, "all")
        write_combined(combined)
        ours_cmd = [ours_bin, combined, str(args.k), str(args.n_init), "0"]
        theirs_cmd = [sys.executable, os.path.join(args.reference, "clustering_kmeans.py"),
                      os.path.join(ROOT, "data", "NSL-KDD", "train20"),
                      os.path.join(ROOT, "data", "NSL-KDD", "test"),
                      "--k", str(args.k), "--n-init", str(args.n_init), "--seed", "0",
                      "--threads", str(args.threads)]
        samples = {"ours": [], "theirs": []}
        for _ in range(args.repeats):
            for name, cmd in (("ours", ours_cmd), ("theirs", theirs_cmd)):
                wall, out = run(cmd)
                samples[name].append((wall, out["timings"]["fit_s"], out["inertia"]))

    def med(name, i):
        return statistics.median(s[i] for s in samples[name])

    summary = {
        "k": args.k, "n_init": args.n_init, "theirs_threads": args.threads,
        "repeats": args.repeats,
        "ours": {"wall_s": med("ours", 0), "fit_s": med("ours", 1), "inertia": samples["ours"][0][2]},
        "theirs": {"wall_s": med("theirs", 0), "fit_s": med("theirs", 1),
                   "inertia": samples["theirs"][0][2]},
    }
    summary["fit_ratio"] = summary["ours"]["fit_s"] / summary["theirs"]["fit_s"]
    summary["wall_ratio"] = summary["ours"]["wall_s"] / summary["theirs"]["wall_s"]
    summary["inertia_rel_diff"] = (summary["ours"]["inertia"] - summary["theirs"]["inertia"]) \
        / summary["theirs"]["inertia"]
    sys.stderr.write(
        "k-means k=%d n_init=%d (median of %d)\n"
        "  fit   ours %.3fs  scikit-learn %.3fs  ratio %.2f\n"
        "  wall  ours %.3fs  scikit-learn %.3fs  ratio %.2f\n"
        "  inertia ours %.1f  scikit-learn %.1f  (%+.3f%%)\n" % (
            args.k, args.n_init, args.repeats,
            summary["ours"]["fit_s"], summary["theirs"]["fit_s"], summary["fit_ratio"],
            summary["ours"]["wall_s"], summary["theirs"]["wall_s"], summary["wall_ratio"],
            summary["ours"]["inertia"], summary["theirs"]["inertia"],
            100 * summary["inertia_rel_diff"]))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
