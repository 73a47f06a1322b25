//! The distributed mode against the real RabbitMQ and Redis, with the `secuml` services as
//! real processes: CI submission and its exit codes, and the fault scenarios. Every job must
//! end with results identical to the embedded run of the same spec: nothing lost, nothing
//! counted twice.
//!
//! Each scenario has a RabbitMQ virtual host and a Redis database of its own; they run one at a
//! time (they start several processes each on a 2-core machine).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use secuml_coordinator::diadem::{self, DiademResults};
use secuml_coordinator::embedded::run_diadem;
use secuml_proto::{
    keys, ClusteringResult, DeadLetterRecord, DiademSpec, EventKind, JobStatus, ModelSpec, Penalty,
    RunningTask, ValidationSpec,
};
use secuml_runtime::Store;
use secuml_tests::services::{events, job, until, Namespace};
use secuml_tests::{
    detection_fingerprint, paths_in, read_all_assignments, run_clustering, train20_kmeans,
};
use tokio::sync::{Mutex, OnceCell};

static SERIAL: Mutex<()> = Mutex::const_new(());
static REFERENCE: OnceCell<DiademResults> = OnceCell::const_new();

const JOB: &[&str] = &[
    "diadem",
    "NSL-KDD",
    "train20",
    "LogisticRegression",
    "--regularization",
    "1",
    "10",
    "--validation-mode",
    "ValidationDatasets",
    "--validation-datasets",
    "test",
];

fn spec() -> DiademSpec {
    DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::LogisticRegression {
            c: vec![1.0, 10.0],
            penalty: vec![Penalty::L1, Penalty::L2],
            optim_algo: Default::default(),
        },
        ValidationSpec::ValidationDatasets {
            datasets: vec!["test".into()],
        },
    )
}

/// The embedded run of the same spec: what every distributed run must reproduce.
async fn reference() -> &'static DiademResults {
    REFERENCE
        .get_or_init(|| async {
            let tmp = tempfile::tempdir().unwrap();
            run_diadem(&paths_in(tmp.path()), spec(), 2)
                .await
                .expect("embedded reference run")
                .results
        })
        .await
}

/// Asserts a finished job's stored results equal the reference, and that each task has exactly
/// one result.
async fn assert_identical(store: &dyn Store, job_id: &str) {
    let record = job(store, job_id).await.expect("job exists");
    assert_eq!(
        record.status,
        JobStatus::Succeeded,
        "job {job_id}: {:?}",
        record.error
    );
    let id = record.experiment_id.expect("experiment");
    let ours = diadem::load_results(store, id, &spec()).await.unwrap();
    let reference = reference().await;
    assert_eq!(ours.train.candidates, reference.train.candidates);
    assert_eq!(ours.train.best, reference.train.best);
    assert_eq!(ours.train.coefficients, reference.train.coefficients);
    assert_eq!(
        detection_fingerprint(&ours.detections),
        detection_fingerprint(&reference.detections)
    );
    let results = store.hgetall(&keys::task_results(job_id)).await.unwrap();
    assert_eq!(
        results.len(),
        20,
        "one result per task (16 fits, the refit, 2 detections, the alert analysis): {:?}",
        results.keys()
    );
}

fn submit_json(ns: &Namespace, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["submit", "--json"];
    args.extend(extra);
    args.extend(JOB);
    let out = ns.run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "submit prints JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

/// Submits without waiting; returns the job id.
fn submit(ns: &Namespace) -> String {
    let (code, value) = submit_json(ns, &[]);
    assert_eq!(code, 0, "{value}");
    value["job_id"].as_str().unwrap().to_string()
}

async fn wait_end(store: &dyn Store, job_id: &str, timeout: Duration) -> secuml_proto::JobRecord {
    until("the job's end", timeout, || async {
        job(store, job_id)
            .await
            .is_some_and(|r| r.status.is_final())
    })
    .await;
    job(store, job_id).await.unwrap()
}

async fn done_tasks(store: &dyn Store, job_id: &str) -> BTreeSet<String> {
    store
        .hgetall(&keys::job_tasks(job_id))
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, v)| String::from_utf8_lossy(v).contains("\"state\":\"done\""))
        .map(|(k, _)| k)
        .collect()
}

const LONG: Duration = Duration::from_secs(240);

/// Waits until a worker (`worker`, or any) holds a task of the job; returns it.
async fn held_task(store: &dyn Store, job_id: &str, worker: Option<&str>) -> RunningTask {
    let deadline = std::time::Instant::now() + LONG;
    loop {
        let running = store.hgetall(&keys::job_running(job_id)).await.unwrap();
        let found = running
            .into_values()
            .filter_map(|v| serde_json::from_slice::<RunningTask>(&v).ok())
            .find(|t| worker.is_none_or(|w| t.worker == w));
        if let Some(task) = found {
            return task;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no worker took a task of {job_id}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_waits_checks_gates_and_exits_with_the_documented_codes() {
    let _serial = SERIAL.lock().await;
    reference().await;
    let ns = Namespace::new("submit", 1);
    let _coordinator = ns.coordinator("c1");
    let _w1 = ns.worker("w1", 1);
    let _w2 = ns.worker("w2", 1);
    let store = ns.store().await;

    let (code, value) = submit_json(&ns, &["--wait", "--fail-under", "validation.auc=0.5"]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(value["status"], "succeeded");
    assert_eq!(value["gates"][0]["passed"], true);
    let auc = value["metrics"]["validation.auc"].as_f64().unwrap();
    assert!((auc - value["gates"][0]["value"].as_f64().unwrap()).abs() < 1e-12);
    assert!(value["dashboard_url"]
        .as_str()
        .unwrap()
        .contains("/SecuML/"));
    assert!(value["report"]["cv"]["best_score"].as_f64().unwrap() > 0.9);
    let job_id = value["job_id"].as_str().unwrap().to_string();
    assert_identical(&*store, &job_id).await;

    // A gate that fails: exit 1, and the JSON says which and by how much.
    let (code, value) = submit_json(
        &ns,
        &[
            "--wait",
            "--fail-under",
            "validation.auc=0.999",
            "--fail-under",
            "cv.best_score=0.5",
        ],
    );
    assert_eq!(code, 1, "{value}");
    assert_eq!(value["gates"][0]["passed"], false);
    assert!(value["gates"][0]["margin"].as_f64().unwrap() < 0.0);
    assert_eq!(value["gates"][1]["passed"], true);

    // Bad requests: exit 3, before anything is submitted.
    let jobs_before = store.hgetall(&keys::jobs()).await.unwrap().len();
    for bad in [
        vec![
            "submit",
            "--wait",
            "--fail-under",
            "auc",
            "diadem",
            "NSL-KDD",
            "train20",
            "LogisticRegression",
        ],
        // A misspelt metric: refused before the job, not failed after it.
        vec![
            "submit",
            "--wait",
            "--fail-under",
            "validation.acu=0.5",
            "diadem",
            "NSL-KDD",
            "train20",
            "LogisticRegression",
        ],
        vec![
            "submit",
            "diadem",
            "NSL-KDD",
            "train20",
            "LogisticRegression",
            "--num-folds",
            "1",
        ],
        vec!["submit", "diadem", "NSL-KDD", "train20", "NoSuchModel"],
    ] {
        let out = ns.run(&bad);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        store.hgetall(&keys::jobs()).await.unwrap().len(),
        jobs_before
    );

    // status and jobs see the finished job.
    let out = ns.run(&["status", &job_id, "--json"]);
    assert!(out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["job"]["status"], "succeeded");
    let out = ns.run(&["jobs"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&job_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_task_loses_nothing() {
    let _serial = SERIAL.lock().await;
    reference().await;
    let ns = Namespace::new("worker-kill", 2);
    let _coordinator = ns.coordinator("c1");
    let mut victim = ns.worker("victim", 1);
    let store = ns.store().await;
    let job_id = submit(&ns);
    // Kill the worker while it holds a task, before the job has a second worker.
    let held = held_task(&*store, &job_id, Some("victim")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    victim.kill();
    let _survivor = ns.worker("survivor", 1);
    let record = wait_end(&*store, &job_id, LONG).await;
    assert_eq!(record.status, JobStatus::Succeeded, "{:?}", record.error);
    assert_identical(&*store, &job_id).await;
    let kinds = events(&*store, &job_id).await;
    let rerun = kinds.iter().any(|k| matches!(k, EventKind::TaskStarted { task_id, worker, .. } if *task_id == held.task_id && worker.starts_with("survivor")));
    assert!(
        rerun,
        "the killed worker's task {} was run again",
        held.task_id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_killed_and_restarted_finishes_the_job_without_redoing_tasks() {
    let _serial = SERIAL.lock().await;
    reference().await;
    let ns = Namespace::new("coordinator-kill", 3);
    let mut first = ns.coordinator("c1");
    let _w1 = ns.worker("w1", 1);
    let _w2 = ns.worker("w2", 1);
    let store = ns.store().await;
    let job_id = submit(&ns);
    until("a few tasks done", LONG, || async {
        done_tasks(&*store, &job_id).await.len() >= 4
    })
    .await;
    first.kill();
    let done_before = done_tasks(&*store, &job_id).await;
    let seen_before = events(&*store, &job_id).await.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _second = ns.coordinator("c2");
    let record = wait_end(&*store, &job_id, LONG).await;
    assert_eq!(record.status, JobStatus::Succeeded, "{:?}", record.error);
    assert_eq!(record.coordinator.as_deref(), Some("c2"));
    assert_identical(&*store, &job_id).await;
    let after = &events(&*store, &job_id).await[seen_before..];
    assert!(after
        .iter()
        .any(|k| matches!(k, EventKind::JobAdopted { coordinator } if coordinator == "c2")));
    for kind in after {
        if let EventKind::TaskQueued { task_id, .. } = kind {
            assert!(
                !done_before.contains(task_id),
                "task {task_id} was done before the kill but queued again"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_by_the_broker_are_recovered() {
    let _serial = SERIAL.lock().await;
    reference().await;
    let ns = Namespace::new("connection-cut", 4);
    let _coordinator = ns.coordinator("c1");
    let _w1 = ns.worker("w1", 1);
    let _w2 = ns.worker("w2", 1);
    let store = ns.store().await;
    let job_id = submit(&ns);
    until("some tasks done", LONG, || async {
        done_tasks(&*store, &job_id).await.len() >= 3
    })
    .await;
    let closed = ns.cut_connections();
    assert!(
        closed >= 3,
        "closed {closed} connection(s) of the coordinator and workers"
    );
    let record = wait_end(&*store, &job_id, LONG).await;
    assert_eq!(record.status, JobStatus::Succeeded, "{:?}", record.error);
    assert_identical(&*store, &job_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_and_work_goes_on() {
    let _serial = SERIAL.lock().await;
    reference().await;
    let ns = Namespace::new("poison", 5);
    let _coordinator = ns.coordinator("c1");
    let _w1 = ns.worker("w1", 1);
    let store = ns.store().await;
    let queue = ns.queue().await;
    queue.declare(keys::TASK_QUEUE).await.unwrap();
    queue.publish(keys::TASK_QUEUE, b"{not json").await.unwrap();
    queue
        .publish(
            keys::TASK_QUEUE,
            br#"{"protocol_version":99,"job_id":"j","task_id":"t","attempt":1}"#,
        )
        .await
        .unwrap();
    let job_id = submit(&ns);
    let record = wait_end(&*store, &job_id, LONG).await;
    assert_eq!(record.status, JobStatus::Succeeded, "{:?}", record.error);
    assert_identical(&*store, &job_id).await;
    let dead: Vec<DeadLetterRecord> = store
        .read_stream(&keys::dead_letters(), 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| serde_json::from_slice(&e.value).unwrap())
        .collect();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead[0].reason.contains("does not parse"), "{:?}", dead[0]);
    assert!(
        dead[1].reason.contains("protocol version 99"),
        "{:?}",
        dead[1]
    );
    // Both sit in the task queue's dead-letter queue, with their reasons.
    let mut consumer = queue
        .consume(&secuml_runtime::dead_letter_queue(keys::TASK_QUEUE), 10)
        .await
        .unwrap();
    let mut reasons = Vec::new();
    for _ in 0..2 {
        let d = tokio::time::timeout(Duration::from_secs(10), consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        reasons.push(d.dead_reason.clone().unwrap_or_default());
        d.ack().await.unwrap();
    }
    assert!(reasons[1].contains("protocol version"), "{reasons:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_always_fails_fails_its_job_cleanly() {
    let _serial = SERIAL.lock().await;
    let ns = Namespace::new("always-fails", 6);
    let _coordinator = ns.coordinator("c1");
    let _w1 = ns.worker("w1", 1);
    let store = ns.store().await;
    // The validation dataset's shard is damaged after ingest: the checks before planning
    // read only its manifest, so the detection task fails, on every attempt.
    let out = ns.run(&[
        "ingest",
        secuml_tests::input_dir().to_str().unwrap(),
        "NSL-KDD",
        "test",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shards = ns.data_dir.join("datasets/NSL-KDD/test/shards");
    for entry in std::fs::read_dir(&shards).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle..middle + 64].fill(0xAB);
        std::fs::write(&path, bytes).unwrap();
    }
    let (code, value) = submit_json(&ns, &["--wait"]);
    assert_eq!(code, 2, "{value}");
    assert_eq!(value["status"], "failed");
    let error = value["error"].as_str().unwrap();
    assert!(error.contains("detect-validation-test"), "{error}");
    let job_id = value["job_id"].as_str().unwrap();
    let out = ns.run(&["status", job_id]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("failed") && text.contains("detect-validation-test"),
        "{text}"
    );
    // Dead-lettered once, with the error; no endless redelivery.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let dead = store
        .read_stream(&keys::dead_letters(), 0, 100)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    let queue = ns.queue().await;
    assert_eq!(queue.len(keys::TASK_QUEUE).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_coordinators_never_plan_a_job_twice() {
    let _serial = SERIAL.lock().await;
    reference().await;
    let ns = Namespace::new("two-coordinators", 7);
    let _c1 = ns.coordinator("c1");
    let _c2 = ns.coordinator("c2");
    let _w1 = ns.worker("w1", 2);
    let store = ns.store().await;
    let jobs = [submit(&ns), submit(&ns)];
    for job_id in &jobs {
        let record = wait_end(&*store, job_id, LONG).await;
        assert_eq!(record.status, JobStatus::Succeeded, "{:?}", record.error);
        assert_identical(&*store, job_id).await;
        let mut queued: BTreeMap<String, usize> = BTreeMap::new();
        let mut started = 0;
        for kind in events(&*store, job_id).await {
            match kind {
                EventKind::TaskQueued { task_id, .. } => *queued.entry(task_id).or_default() += 1,
                EventKind::JobStarted { .. } | EventKind::JobAdopted { .. } => started += 1,
                _ => {}
            }
        }
        assert_eq!(started, 1, "one coordinator ran job {job_id}");
        assert!(queued.values().all(|n| *n == 1), "{queued:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_worker_and_cancel_stops_a_job() {
    let _serial = SERIAL.lock().await;
    let ns = Namespace::new("drain-cancel", 8);
    let _coordinator = ns.coordinator("c1");
    let mut worker = ns.worker("w1", 1);
    let store = ns.store().await;
    let job_id = submit(&ns);
    let held = held_task(&*store, &job_id, None).await;
    assert!(
        worker.terminate(Duration::from_secs(120)),
        "the worker exits cleanly on SIGTERM:\n{}",
        worker.log_text()
    );
    let kinds = events(&*store, &job_id).await;
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, EventKind::TaskDone { task_id, .. } if *task_id == held.task_id)),
        "the task in hand ({}) was finished before exiting",
        held.task_id
    );
    assert!(
        store.get(&keys::worker("w1")).await.unwrap().is_none(),
        "heartbeat removed"
    );

    let out = ns.run(&["cancel", &job_id]);
    assert!(out.status.success());
    let record = wait_end(&*store, &job_id, LONG).await;
    assert_eq!(record.status, JobStatus::Cancelled);
    let queue = ns.queue().await;
    assert!(
        queue.len(&keys::outcome_queue(&job_id)).await.is_err(),
        "the cancelled job's outcome queue is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kmeans_job_survives_a_killed_worker_with_the_embedded_result() {
    let _serial = SERIAL.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let embedded = run_clustering(&paths, &train20_kmeans(6, 3, 11, 4096), 2)
        .await
        .expect("embedded k-means")
        .result;
    let ns = Namespace::new("kmeans", 10);
    let _coordinator = ns.coordinator("c1");
    let mut victim = ns.worker("victim", 1);
    let _other = ns.worker("other", 1);
    let store = ns.store().await;
    let out = ns.run(&[
        "submit",
        "--json",
        "clustering",
        "NSL-KDD",
        "train20",
        "Kmeans",
        "--num-clusters",
        "6",
        "--n-init",
        "3",
        "--seed",
        "11",
        "--block-rows",
        "4096",
    ]);
    let submitted: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "submit prints JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(0), "{submitted}");
    let job_id = submitted["job_id"].as_str().unwrap().to_string();
    // Kill a worker in the Lloyd iterations, while it holds a block's step.
    let deadline = std::time::Instant::now() + LONG;
    loop {
        let held = held_task(&*store, &job_id, Some("victim")).await;
        let label = store
            .hget(&keys::job_tasks(&job_id), &held.task_id)
            .await
            .unwrap()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        if label.contains("step") || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    victim.kill();
    let record = wait_end(&*store, &job_id, LONG).await;
    assert_eq!(record.status, JobStatus::Succeeded, "{:?}", record.error);
    let id = record.experiment_id.expect("experiment");
    let stored: ClusteringResult = serde_json::from_slice(
        &store
            .get(&keys::clustering(id))
            .await
            .unwrap()
            .expect("clustering result stored"),
    )
    .unwrap();
    assert_eq!(stored.clusters, embedded.clusters, "centroids and mixes");
    assert_eq!(stored.inertia, embedded.inertia);
    assert_eq!(stored.run_inertias, embedded.run_inertias);
    assert_eq!(stored.run_iterations, embedded.run_iterations);
    let sizes: u64 = stored.clusters.iter().map(|c| c.mix.size).sum();
    assert_eq!(sizes, 25192, "every row in exactly one cluster");
    assert_eq!(
        read_all_assignments(&ns.data_dir.join("datasets"), &stored),
        read_all_assignments(&paths.datasets_dir(), &embedded)
    );
    // Exactly one result per task, every task done.
    let tasks = store.hgetall(&keys::job_tasks(&job_id)).await.unwrap();
    let results = store.hgetall(&keys::task_results(&job_id)).await.unwrap();
    assert_eq!(
        tasks.keys().collect::<Vec<_>>(),
        results.keys().collect::<Vec<_>>()
    );
    assert_eq!(done_tasks(&*store, &job_id).await.len(), tasks.len());
}
