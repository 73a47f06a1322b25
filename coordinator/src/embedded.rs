//! The embedded mode: coordinator and workers in one process, over the in-memory
//! queue and the file-backed store. No server to install.

use std::sync::Arc;

use anyhow::Context;
use secuml_proto::{
    keys, DiademSpec, EventKind, ExperimentRecord, ExperimentStatus, JobSpec, ValidationSpec,
};
use secuml_proto::{OuterSplit, RowSelection, Side};
use secuml_runtime::{Durability, FileStore, MemoryQueue, Store, TaskQueue};
use secuml_worker::data::select_rows;
use secuml_worker::{run_worker, DataCache, TaskContext, WorkerConfig};
use tokio::sync::watch;
use tracing::{error, info};

use crate::config::Paths;
use crate::datasets;
use crate::diadem::{self, DiademData, DiademResults};
use crate::driver::{JobDriver, JobError};

/// What a finished embedded DIADEM run gives back.
#[derive(Debug, Clone)]
pub struct DiademOutcome {
    /// Experiment id, for the dashboard.
    pub experiment_id: u64,
    /// Job id, for the event stream.
    pub job_id: String,
    /// The results.
    pub results: DiademResults,
    /// The experiment record as stored at the end.
    pub record: ExperimentRecord,
}

/// Number of workers the embedded mode runs by default: one per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Opens the file store of `paths`.
///
/// Writes survive the death of any process (a value is replaced by rename, never torn)
/// but are left to the page cache rather than flushed one by one: flushing every write
/// costs ~12 ms each here, seconds per job, for a guarantee (surviving a power cut
/// mid-job) that the embedded mode does not need; a job cut short is simply rerun.
pub fn open_store(paths: &Paths) -> anyhow::Result<Arc<dyn Store>> {
    let dir = paths.store_dir();
    let store = FileStore::open_with(&dir, Durability::Process)
        .with_context(|| format!("opening the store at {}", dir.display()))?;
    Ok(Arc::new(store))
}

async fn save_record(store: &dyn Store, record: &ExperimentRecord) -> anyhow::Result<()> {
    store
        .hset(
            &keys::experiments(),
            &record.id.to_string(),
            &serde_json::to_vec(record)?,
        )
        .await?;
    Ok(())
}

/// Runs a DIADEM job end to end with `workers` in-process workers.
pub async fn run_diadem(
    paths: &Paths,
    spec: DiademSpec,
    workers: usize,
) -> anyhow::Result<DiademOutcome> {
    let job = JobSpec::Diadem(spec.clone());
    job.validate()?;
    let train = datasets::ensure(paths, &spec.project, &spec.dataset)?;
    let mut validation = Vec::new();
    if let ValidationSpec::ValidationDatasets { datasets: names } = &spec.validation {
        for name in names {
            validation.push(datasets::ensure(paths, &spec.project, name)?);
        }
    }
    let data = DiademData { train, validation };
    let cache = Arc::new(DataCache::new(paths.datasets_dir(), 4));
    preflight(&cache, &spec, &data)?;

    let store = open_store(paths)?;
    let experiment_id = store.incr(&keys::experiment_counter()).await? as u64;
    let job_id = format!("diadem-{experiment_id}-{}", secuml_proto::event::now_ms());
    let mut record = ExperimentRecord {
        id: experiment_id,
        kind: "Diadem".into(),
        project: spec.project.clone(),
        dataset: spec.dataset.clone(),
        name: spec.name(),
        job_id: job_id.clone(),
        status: ExperimentStatus::Running,
        error: None,
        created_ms: secuml_proto::event::now_ms(),
        finished_ms: None,
        spec: job,
    };
    save_record(&*store, &record).await?;
    info!(experiment_id, job_id = %job_id, workers, "diadem job started");

    let queue: Arc<dyn TaskQueue> = Arc::new(MemoryQueue::new());
    let mut driver = JobDriver::new(&job_id, store.clone(), queue.clone()).await?;
    let (stop, stopped) = watch::channel(false);
    let ctx = TaskContext {
        cache: Arc::new(DataCache::new(paths.datasets_dir(), 4)),
        store: store.clone(),
    };
    let worker = tokio::spawn(run_worker(
        queue.clone(),
        ctx,
        WorkerConfig {
            worker_id: "embedded".into(),
            slots: workers.max(1),
        },
        stopped,
    ));

    driver
        .event(EventKind::JobStarted { planned_tasks: 0 })
        .await?;
    // Ctrl-C or SIGTERM ends the job as failed ("interrupted") rather than leaving it running for good.
    let result = tokio::select! {
        result = diadem::run(&mut driver, experiment_id, &spec, &data) => result,
        signal = interrupted() => Err(JobError::Infrastructure(anyhow::anyhow!("interrupted by {signal}"))),
    };
    let _ = stop.send(true);
    worker.await.context("worker task")??;

    record.finished_ms = Some(secuml_proto::event::now_ms());
    match result {
        Ok(results) => {
            record.status = ExperimentStatus::Succeeded;
            save_record(&*store, &record).await?;
            driver.event(EventKind::JobDone { experiment_id }).await?;
            info!(experiment_id, "diadem job done");
            Ok(DiademOutcome {
                experiment_id,
                job_id,
                results,
                record,
            })
        }
        Err(e) => {
            let message = e.to_string();
            error!(experiment_id, error = %message, "diadem job failed");
            record.status = ExperimentStatus::Failed;
            record.error = Some(message.clone());
            save_record(&*store, &record).await?;
            driver
                .event(EventKind::JobFailed {
                    error: message.clone(),
                })
                .await?;
            Err(anyhow::anyhow!(
                "experiment {experiment_id} failed: {message}"
            ))
        }
    }
}

/// Checks, before any task or experiment exists, what would otherwise fail inside every task:
/// labels to train on, enough of each class for the folds, validation datasets with the
/// training features. Loads the training data into `cache`, which the workers then reuse.
fn preflight(cache: &DataCache, spec: &DiademSpec, data: &DiademData) -> anyhow::Result<()> {
    let loaded = cache
        .load(&data.train, None)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    let labels = cache
        .labels(&data.train, &loaded, &spec.annotations)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    let rows = RowSelection {
        outer: match &spec.validation {
            ValidationSpec::RandomSplit { test_size } => OuterSplit::RandomSplit {
                test_size: *test_size,
                seed: spec.seed,
            },
            ValidationSpec::ValidationDatasets { .. } => OuterSplit::Whole,
        },
        side: Side::Train,
    };
    let train = select_rows(&labels, &rows).map_err(|f| anyhow::anyhow!(f.message))?;
    for (class, name) in [(false, "benign (label 0)"), (true, "malicious (label 1)")] {
        let count = train.labels.iter().filter(|l| **l == class).count();
        anyhow::ensure!(
            count >= spec.num_folds as usize,
            "the training rows of {}/{} hold {count} {name} instance(s), fewer than the {} folds of the search",
            spec.project,
            spec.dataset,
            spec.num_folds
        );
    }
    let features: Vec<&str> = loaded
        .encoder
        .columns()
        .iter()
        .map(|(f, _)| f.as_str())
        .collect();
    for v in &data.validation {
        let (manifest, _) = secuml_engine::dataset::read_manifest(&cache.dataset_dir(v))?;
        if let Some(missing) = features.iter().find(|f| manifest.feature(f).is_none()) {
            anyhow::bail!(
                "validation dataset {}/{} has no feature `{missing}`, which {}/{} trains on",
                v.project,
                v.dataset,
                spec.project,
                spec.dataset
            );
        }
    }
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM; returns the signal's name.
pub async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}
