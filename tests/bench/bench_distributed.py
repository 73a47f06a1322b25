#!/usr/bin/env python3
"""Scaling of the distributed mode: one DIADEM job on 1 worker, then on 2 workers.

Usage (from the repository root, after `cargo build --release -p secuml-coordinator`):
    python3 tests/bench/bench_distributed.py [--repeats 3] [--workers 1,2]
        [--amqp amqp://guest:guest@127.0.0.1:5672] [--redis-host 127.0.0.1:6379] [--db 14]

For each worker count W, round-robin over the repeats: a fresh RabbitMQ virtual host
(rabbitmqctl add_vhost / set_permissions) and an emptied Redis database, `secuml
coordinator` and W `secuml worker --slots 1` processes, then the timed command
    secuml submit --wait --json diadem NSL-KDD train20 LogisticRegression \
        --validation-mode ValidationDatasets --validation-datasets test
(SecuML's default grid: 32 fit-and-score tasks, the refit, the detections). The datasets
are ingested once into a shared data folder beforehand (`secuml ingest`), so no run times
an ingest. Prints the median wall time of the submit for each W, the speed-up t(1)/t(W),
and the job's own task seconds (sum over tasks, and the refit's) to show its serial part.
Needs rabbitmqctl and redis-cli on the PATH.
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


def check(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stderr[-2000:]))
    return proc.stdout


class Services:
    """A fresh namespace (virtual host + Redis database), a coordinator and W workers."""

    def __init__(self, args, vhost, db, data_dir, workers, slots=1, input_dir=os.path.join(ROOT, "data")):
        self.vhost, self.db, self.args = vhost, db, args
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)
        check(["rabbitmqctl", "add_vhost", vhost])
        check(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"])
        check(["redis-cli", "-h", args.redis_host.split(":")[0], "-p", args.redis_host.split(":")[1],
               "-n", str(db), "flushdb"])
        self.base = [args.binary, "--amqp", "%s/%s" % (args.amqp.rstrip("/"), vhost),
                     "--redis", "redis://%s/%d" % (args.redis_host, db), "--data-dir", data_dir]
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        env.pop("SECUML_CONFIG", None)
        self.env = env
        self.logs = tempfile.TemporaryFile()
        self.procs = [subprocess.Popen(self.base + ["coordinator", "--id", "bench-coordinator",
                                                    "--input-dir", input_dir],
                                       stdout=subprocess.DEVNULL, stderr=self.logs, env=env)]
        for i in range(workers):
            self.procs.append(subprocess.Popen(self.base + ["worker", "--id", "bench-worker-%d" % i,
                                                            "--slots", str(slots)],
                                               stdout=subprocess.DEVNULL, stderr=self.logs, env=env))
        self.wait_workers(workers)

    def redis(self, *cmd):
        host, port = self.args.redis_host.split(":")
        return check(["redis-cli", "-h", host, "-p", port, "-n", str(self.db), "--raw"] + list(cmd))

    def wait_workers(self, n, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len([k for k in self.redis("keys", "secuml:worker:*").split() if k]) >= n:
                return
            for p in self.procs:
                if p.poll() is not None:
                    self.logs.seek(0)
                    sys.exit("a service exited (%d):\n%s" % (p.returncode, self.logs.read()[-3000:].decode()))
            time.sleep(0.1)
        sys.exit("the workers did not start within %ds" % timeout)

    def submit(self, job_args):
        """Runs `secuml submit --wait --json ...`; returns (wall seconds, parsed JSON)."""
        cmd = self.base + ["submit", "--wait", "--json"] + job_args
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            self.logs.seek(0)
            sys.exit("submit failed (%d): %s\n%s\nservices:\n%s" % (
                proc.returncode, " ".join(cmd), proc.stderr[-2000:], self.logs.read()[-3000:].decode()))
        return wall, json.loads(proc.stdout.strip().splitlines()[-1])

    def task_states(self, job_id):
        """The job's task states (label, seconds, worker), from the store."""
        out = self.redis("hvals", "secuml:job:%s:tasks" % job_id)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def close(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        subprocess.run(["rabbitmqctl", "delete_vhost", self.vhost], capture_output=True)
        self.redis("flushdb")


def ingest(args, data_dir, datasets, input_dir=os.path.join(ROOT, "data")):
    for project, dataset in datasets:
        check([args.binary, "--data-dir", data_dir, "ingest", input_dir, project, dataset])


def common_args(ap, db):
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--binary", default=os.path.join(
        ROOT, os.environ.get("CARGO_TARGET_DIR", "target"), "release", "secuml"))
    ap.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672")
    ap.add_argument("--redis-host", default="127.0.0.1:6379")
    ap.add_argument("--db", type=int, default=db, help="Redis database used (emptied)")


DIADEM = ["diadem", "NSL-KDD", "train20", "LogisticRegression", "--validation-mode",
          "ValidationDatasets", "--validation-datasets", "test"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_args(ap, 14)
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()
    if not os.path.isfile(args.binary):
        sys.exit("%s is missing: cargo build --release -p secuml-coordinator" % args.binary)
    counts = [int(w) for w in args.workers.split(",")]
    walls = {w: [] for w in counts}
    tasks = {w: [] for w in counts}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        ingest(args, data_dir, [("NSL-KDD", "train20"), ("NSL-KDD", "test")])
        for r in range(args.repeats):
            for w in counts:
                services = Services(args, "secuml-bench-dist", args.db, data_dir, w)
                try:
                    wall, out = services.submit(DIADEM)
                    if out["status"] != "succeeded":
                        sys.exit("job %s: %s" % (out["status"], out.get("error")))
                    states = services.task_states(out["job_id"])
                finally:
                    services.close()
                walls[w].append(wall)
                total = sum(s.get("seconds") or 0 for s in states)
                refit = sum(s.get("seconds") or 0 for s in states if s["label"].startswith("refit"))
                fits = sorted((s.get("seconds") or 0 for s in states if s["label"].startswith("fit")), reverse=True)
                tasks[w].append({"tasks": len(states), "task_s_sum": total, "refit_s": refit,
                                 "longest_fit_s": fits[0] if fits else 0.0,
                                 "workers_used": len({s.get("worker") for s in states})})
                sys.stderr.write("round %d W=%d: %.2fs (%d tasks, task seconds %.2f, refit %.2f)\n" % (
                    r + 1, w, wall, len(states), total, refit))
    med = {w: statistics.median(walls[w]) for w in counts}
    sums = {w: statistics.median(t["task_s_sum"] for t in tasks[w]) for w in counts}
    refit = {w: statistics.median(t["refit_s"] for t in tasks[w]) for w in counts}
    print("%-10s %12s %14s %10s %10s" % ("workers", "submit (s)", "task s (sum)", "refit (s)", "speed-up"))
    for w in counts:
        print("%-10d %12.3f %14.3f %10.3f %10.3f" % (w, med[w], sums[w], refit[w], med[counts[0]] / med[w]))
    print(json.dumps({"repeats": args.repeats, "walls": walls, "medians": med, "tasks": tasks,
                      "speedup": {w: med[counts[0]] / med[w] for w in counts}}))


if __name__ == "__main__":
    main()
