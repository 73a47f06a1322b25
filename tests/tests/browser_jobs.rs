//! A real DIADEM job on NSL-KDD, watched live in headless Chromium: the job page, opened before the job's
//! tasks run, follows the job's server-sent events and shows its task rows go from queued to done, and its
//! progress bar reach 100%, without a reload.
//!
//! The job runs in the test through the job runner of both modes (`jobs::run_job`) with a real worker
//! over the in-memory queue, writing into the file store the dashboard reads.
//!
//! Runs with `cargo test -p secuml-tests --features browser-tests`; it needs Node, Debian's Chromium and
//! `tests/browser/node_modules` (`npm ci`), and fails with what to install when one is missing.
#![cfg(feature = "browser-tests")]

use std::sync::Arc;
use std::time::Duration;

use secuml_coordinator::embedded::open_store;
use secuml_coordinator::jobs::{self, JobEnv};
use secuml_proto::event::now_ms;
use secuml_proto::{DiademSpec, JobSpec, ModelSpec, Penalty, ValidationSpec};
use secuml_runtime::{DataRoot, MemoryQueue, TaskQueue};
use secuml_tests::browser::{serve_dashboard, BrowserTools};
use secuml_tests::paths_in;
use secuml_worker::{run_worker, DataCache, TaskContext, WorkerConfig};

/// A grid of six candidates on four folds: 24 search tasks, a refit, two detections and the test
/// detection's alert analysis, run one at a time.
fn nsl_kdd_spec() -> DiademSpec {
    DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::LogisticRegression {
            c: vec![0.01, 0.1, 1.0],
            penalty: vec![Penalty::L1, Penalty::L2],
            optim_algo: Default::default(),
        },
        ValidationSpec::RandomSplit { test_size: 0.2 },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_page_follows_a_running_job_live() {
    // Checked first, so a machine without the tools fails in a second with what to install.
    let tools = BrowserTools::find().unwrap_or_else(|e| panic!("{e:#}"));

    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let spec = nsl_kdd_spec();
    let store = open_store(&paths).unwrap();

    // The job is recorded (queued) before the page opens; it runs only once the page follows it,
    // so the page sees every task from queued to done.
    let job_id = secuml_proto::service::new_job_id("diadem");
    let mut job = jobs::new_record(&job_id, JobSpec::Diadem(spec.clone()), now_ms());
    jobs::save_job(&*store, &job).await.unwrap();
    let queue: Arc<dyn TaskQueue> = Arc::new(MemoryQueue::new());
    let env = JobEnv {
        paths: paths.clone(),
        store: store.clone(),
        queue: queue.clone(),
        coordinator: "browser-test".into(),
        cache: Arc::new(DataCache::new(DataRoot::local(&paths.data_dir), 4)),
    };

    let (addr, server) = serve_dashboard(store.clone(), &paths).await;
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

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(run_worker(
        queue.clone(),
        TaskContext {
            cache: env.cache.clone(),
            store: store.clone(),
        },
        WorkerConfig::new("browser-worker", 1),
        stopped,
    ));
    let started = std::time::Instant::now();
    jobs::run_job(&env, &mut job).await.expect("the job runs");
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    worker.await.unwrap().unwrap();

    let reading = browser.await.unwrap();
    server.abort();
    let reading = reading.unwrap_or_else(|e| panic!("{e:#}"));
    let planned = job.tasks_planned;
    assert_eq!(planned, 24 + 1 + 2 + 1);

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

    // The live leaderboard: fold scores arrived while the search ran (some candidates partly
    // scored), never went backwards, and the final leader is the candidate the search selected.
    let scores: Vec<u32> = reading
        .readings
        .iter()
        .filter_map(|r| r.board_scores)
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] <= w[1]),
        "leaderboard scores never go backwards: {scores:?}"
    );
    assert!(
        scores.iter().any(|s| *s > 0 && *s < 24),
        "the leaderboard showed partial scores: {scores:?}"
    );
    assert!(
        reading.readings.iter().any(|r| r.board_partial > 0),
        "a candidate was shown with some of its folds scored"
    );
    assert_eq!(
        (last.board_scores, last.board_rows),
        (Some(24), 6),
        "{last:?}"
    );
    let experiment_id = job.experiment_id.expect("the job filled an experiment");
    let train: secuml_proto::TrainSummary = serde_json::from_slice(
        &store
            .get(&secuml_proto::keys::train_summary(experiment_id))
            .await
            .unwrap()
            .expect("a training summary"),
    )
    .unwrap();
    let grid = spec.model.candidates().unwrap();
    let selected = grid.iter().position(|h| *h == train.best).unwrap();
    assert_eq!(
        last.board_leader,
        Some(selected),
        "the leaderboard's leader is the selected candidate {}",
        train.best
    );

    assert!(
        screenshot.is_file(),
        "screenshot at {}",
        screenshot.display()
    );
}
