#!/usr/bin/env python3
"""Distributed k-means (coordinator + workers over RabbitMQ and Redis) against scikit-learn.

Usage (from the repository root, after `cargo build --release -p secuml-coordinator`):
    python3 tests/bench/bench_kmeans_distributed.py [--repeats 3] [--k 10] [--n-init 10]
        [--workers 2] [--threads 0] [--reference DIR] [--db 15]

Both sides cluster NSL-KDD train20 + test concatenated (47,736 rows, 119 encoded columns),
written once as a combined SecuML dataset `NSL-KDD-all/all` (as bench_kmeans.py does) and
ingested once beforehand (`secuml ingest`, not timed).
  ours    `secuml submit --wait --json clustering NSL-KDD-all all Kmeans --num-clusters K
          --n-init N`, with `secuml coordinator` and W `secuml worker --slots 1` already
          running on a fresh virtual host and Redis database (wall time of the submit)
  theirs  `clustering_kmeans.py --k K --n-init N --seed 0` on the two datasets (whole
          process; --threads 0 leaves scikit-learn its default threads, one per core)
Round-robin (ours, theirs, ours, ...); prints both median wall times, the ratio
ours / theirs and both inertias, then one JSON line.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_distributed import ROOT, Services, common_args, ingest  # noqa: E402
from bench_kmeans import write_combined  # noqa: E402


def run(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stderr[-2000:]))
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_args(ap, 15)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--n-init", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="scikit-learn's threads (0: its default)")
    ap.add_argument("--reference", default=os.path.join(ROOT, "..", "shared", "bench", "reference"))
    args = ap.parse_args()
    if not os.path.isfile(args.binary):
        sys.exit("%s is missing: cargo build --release -p secuml-coordinator" % args.binary)
    theirs_cmd = [sys.executable, os.path.join(args.reference, "clustering_kmeans.py"),
                  os.path.join(ROOT, "data", "NSL-KDD", "train20"),
                  os.path.join(ROOT, "data", "NSL-KDD", "test"),
                  "--k", str(args.k), "--n-init", str(args.n_init), "--seed", "0"]
    if args.threads > 0:
        theirs_cmd += ["--threads", str(args.threads)]
    job = ["clustering", "NSL-KDD-all", "all", "Kmeans", "--num-clusters", str(args.k),
           "--n-init", str(args.n_init)]
    samples = {"ours": [], "theirs": []}
    with tempfile.TemporaryDirectory() as tmp:
        input_dir = os.path.join(tmp, "input")
        write_combined(os.path.join(input_dir, "NSL-KDD-all", "all"))
        data_dir = os.path.join(tmp, "data")
        ingest(args, data_dir, [("NSL-KDD-all", "all")], input_dir)
        for r in range(args.repeats):
            services = Services(args, "secuml-bench-kmeans", args.db, data_dir, args.workers,
                                input_dir=input_dir)
            try:
                wall, out = services.submit(job)
            finally:
                services.close()
            if out["status"] != "succeeded":
                sys.exit("job %s: %s" % (out["status"], out.get("error")))
            report = out["report"]
            samples["ours"].append((wall, report["inertia"], report["seconds"], report["iterations"]))
            wall, out = run(theirs_cmd)
            samples["theirs"].append((wall, out["inertia"], out["timings"]["fit_s"], out.get("n_iter")))
            sys.stderr.write("round %d: ours %.2fs (inertia %.1f), scikit-learn %.2fs (inertia %.1f)\n" % (
                r + 1, samples["ours"][-1][0], samples["ours"][-1][1], samples["theirs"][-1][0],
                samples["theirs"][-1][1]))

    def med(name, i):
        return statistics.median(s[i] for s in samples[name])

    summary = {
        "k": args.k, "n_init": args.n_init, "workers": args.workers, "repeats": args.repeats,
        "theirs_threads": args.threads or "default",
        "ours": {"wall_s": med("ours", 0), "inertia": samples["ours"][0][1], "job_seconds": med("ours", 2)},
        "theirs": {"wall_s": med("theirs", 0), "inertia": samples["theirs"][0][1], "fit_s": med("theirs", 2)},
        "runs": samples,
    }
    summary["wall_ratio"] = summary["ours"]["wall_s"] / summary["theirs"]["wall_s"]
    summary["inertia_rel_diff"] = (summary["ours"]["inertia"] - summary["theirs"]["inertia"]) \
        / summary["theirs"]["inertia"]
    print("k-means k=%d n_init=%d, %d workers (median of %d)" % (args.k, args.n_init, args.workers, args.repeats))
    print("  wall     ours %.3fs  scikit-learn %.3fs  ratio ours/sklearn %.3f" % (
        summary["ours"]["wall_s"], summary["theirs"]["wall_s"], summary["wall_ratio"]))
    print("  inside   ours job %.3fs  scikit-learn fit %.3fs" % (
        summary["ours"]["job_seconds"], summary["theirs"]["fit_s"]))
    print("  inertia  ours %.1f  scikit-learn %.1f  (%+.3f%%)" % (
        summary["ours"]["inertia"], summary["theirs"]["inertia"], 100 * summary["inertia_rel_diff"]))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
