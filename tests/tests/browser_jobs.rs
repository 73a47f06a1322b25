//! A real DIADEM job on NSL-KDD, watched live in headless Chromium: the job page, opened before the job's
//! tasks run, follows the job's server-sent events and shows its task rows go from queued to done, and its
//! progress bar reach 100%, without a reload.
//!
//! The job runs in the test as the embedded mode runs one (a coordinator's `JobDriver` and a real worker
//! over the in-memory queue), writing into the file store the dashboard reads.
//!
//! Runs with `cargo test -p secuml-tests --features browser-tests`; it needs Node, Debian's Chromium and
//! `tests/browser/node_modules` (`npm ci`), and fails with what to install when one is missing.
#![cfg(feature = "browser-tests")]

use std::sync::Arc;
use std::time::Duration;

use secuml_coordinator::diadem::{self, DiademData};
use secuml_coordinator::driver::JobDriver;
use secuml_coordinator::embedded::open_store;
use secuml_proto::event::now_ms;
use secuml_proto::{
    keys, DiademSpec, EventKind, ExperimentRecord, ExperimentStatus, JobRecord, JobSpec, JobStatus,
    ModelSpec, Penalty, ValidationSpec,
};
use secuml_runtime::{MemoryQueue, Store, TaskQueue};
use secuml_tests::browser::BrowserTools;
use secuml_tests::paths_in;
use secuml_worker::{run_worker, DataCache, TaskContext, WorkerConfig};

/// A grid of six candidates on four folds: 24 search tasks, a refit and two detections, run one at a time.
fn nsl_kdd_spec() -> DiademSpec {
    DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::LogisticRegression {
            c: vec![0.01, 0.1, 1.0],
            penalty: vec![Penalty::L1, Penalty::L2],
        },
        ValidationSpec::RandomSplit { test_size: 0.2 },
    )
}

async fn save<T: serde::Serialize>(store: &dyn Store, key: &str, field: &str, value: &T) {
    store
        .hset(key, field, &serde_json::to_vec(value).unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_page_follows_a_running_job_live() {
    // Checked first, so a machine without the tools fails in a second with what to install.
    let tools = BrowserTools::find().unwrap_or_else(|e| panic!("{e:#}"));

    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let spec = nsl_kdd_spec();
    let train = secuml_coordinator::datasets::ensure(&paths, &spec.project, &spec.dataset)
        .expect("NSL-KDD ingests");
    let data = DiademData {
        train,
        validation: vec![],
    };
    let store = open_store(&paths).unwrap();

    // The records the embedded mode writes when a job starts.
    let experiment_id = store.incr(&keys::experiment_counter()).await.unwrap() as u64;
    let job_id = secuml_proto::service::new_job_id("diadem");
    let mut experiment = ExperimentRecord {
        id: experiment_id,
        kind: "Diadem".into(),
        project: spec.project.clone(),
        dataset: spec.dataset.clone(),
        name: spec.name(),
        job_id: job_id.clone(),
        status: ExperimentStatus::Running,
        error: None,
        created_ms: now_ms(),
        finished_ms: None,
        spec: JobSpec::Diadem(spec.clone()),
    };
    save(
        &*store,
        &keys::experiments(),
        &experiment_id.to_string(),
        &experiment,
    )
    .await;
    let mut job = JobRecord {
        job_id: job_id.clone(),
        spec: JobSpec::Diadem(spec.clone()),
        status: JobStatus::Running,
        experiment_id: Some(experiment_id),
        error: None,
        submitted_ms: now_ms(),
        started_ms: Some(now_ms()),
        finished_ms: None,
        coordinator: Some("browser-test".into()),
        tasks_planned: 0,
        tasks_done: 0,
        metrics: Default::default(),
    };
    save(&*store, &keys::jobs(), &job_id, &job).await;
    let queue: Arc<dyn TaskQueue> = Arc::new(MemoryQueue::new());
    let mut driver = JobDriver::new(&job_id, store.clone(), queue.clone())
        .await
        .unwrap();
    driver
        .event(EventKind::JobStarted { planned_tasks: 0 })
        .await
        .unwrap();

    let (addr, server) = secuml_dashboard::bind(store.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let server = tokio::spawn(server);
    let url = format!("http://{addr}/jobs/{job_id}");
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser_jobs.png");
    let (ready, page_ready) = tokio::sync::oneshot::channel();
    let browser = {
        let tools = tools.clone();
        let screenshot = screenshot.clone();
        tokio::spawn(async move { tools.watch_job_page(&url, &screenshot, ready).await })
    };
    tokio::time::timeout(Duration::from_secs(60), page_ready)
        .await
        .expect("the page follows the job within a minute")
        .unwrap_or_else(|_| panic!("the browser script stopped: {:?}", browser));

    // The job runs only once the page follows it, so the page sees every task from queued to done.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(run_worker(
        queue.clone(),
        TaskContext {
            cache: Arc::new(DataCache::new(paths.datasets_dir(), 4)),
            store: store.clone(),
        },
        WorkerConfig {
            worker_id: "browser-worker".into(),
            slots: 1,
        },
        stopped,
    ));
    let started = std::time::Instant::now();
    diadem::run(&mut driver, experiment_id, &spec, &data)
        .await
        .expect("the job runs");
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    worker.await.unwrap().unwrap();
    experiment.status = ExperimentStatus::Succeeded;
    experiment.finished_ms = Some(now_ms());
    save(
        &*store,
        &keys::experiments(),
        &experiment_id.to_string(),
        &experiment,
    )
    .await;
    job.status = JobStatus::Succeeded;
    job.finished_ms = Some(now_ms());
    job.tasks_planned = driver.planned as u32;
    job.tasks_done = driver.done as u32;
    save(&*store, &keys::jobs(), &job_id, &job).await;
    driver
        .event(EventKind::JobDone { experiment_id })
        .await
        .unwrap();

    let reading = browser.await.unwrap();
    server.abort();
    let reading = reading.unwrap_or_else(|e| panic!("{e:#}"));
    let planned = driver.planned as u32;
    assert_eq!(planned, 24 + 1 + 2);

    assert_eq!(reading.navigations, 1, "the page never reloads");
    let first = reading.readings.first().expect("a first reading");
    assert_eq!(
        (first.rows, first.done),
        (0, 0),
        "the page opened before any task: {first:?}"
    );
    let last = reading.readings.last().unwrap();
    assert!(last.ended, "{last:?}");
    assert_eq!(last.status.as_deref(), Some("succeeded"), "{last:?}");
    assert_eq!((last.rows, last.done), (planned, planned), "{last:?}");
    assert_eq!(last.percent, Some(100), "{last:?}");
    assert_eq!(
        (last.bar_value, last.bar_max),
        (Some(planned), Some(planned))
    );

    // Live: the page showed states between the start and the end, with queued rows and rows done.
    let intermediate: Vec<_> = reading
        .readings
        .iter()
        .filter(|r| !r.ended && r.queued + r.running > 0 && r.done > 0 && r.done < planned)
        .collect();
    assert!(
        intermediate.len() >= 2,
        "at least two intermediate states over the {seconds:.1} s job: {:#?}",
        reading.readings
    );
    let queued_seen = reading.readings.iter().any(|r| r.queued > 0);
    assert!(
        queued_seen,
        "queued rows were shown: {:#?}",
        reading.readings
    );
    let dones: Vec<u32> = reading.readings.iter().map(|r| r.done).collect();
    assert!(
        dones.windows(2).all(|w| w[0] <= w[1]),
        "tasks done never go backwards: {dones:?}"
    );
    let percents: Vec<u32> = intermediate.iter().filter_map(|r| r.percent).collect();
    assert!(
        percents.iter().any(|p| *p > 0 && *p < 100),
        "the progress bar moved through {percents:?}"
    );
    assert!(
        screenshot.is_file(),
        "screenshot at {}",
        screenshot.display()
    );
}
