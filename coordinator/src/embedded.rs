//! The embedded mode: coordinator and workers in one process, over the in-memory
//! queue and the file-backed store. No server to install.

use std::sync::Arc;

use anyhow::Context;
use secuml_proto::{new_job_id, ClusteringSpec, DiademSpec, ExperimentRecord, JobRecord, JobSpec};
use secuml_runtime::{DataRoot, Durability, FileStore, MemoryQueue, Store, TaskQueue};
use secuml_worker::{run_worker, DataCache, TaskContext, WorkerConfig};
use tokio::sync::watch;
use tracing::{debug, error, info};

use crate::clustering::ClusteringResults;
use crate::config::Paths;
use crate::diadem::DiademResults;
use crate::driver::JobError;
use crate::jobs::{self, JobEnv, JobOutput};

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

/// Runs a job end to end with `workers` in-process workers; returns its final record and output.
pub async fn run_embedded(
    paths: &Paths,
    job: JobSpec,
    workers: usize,
) -> anyhow::Result<(JobRecord, JobOutput)> {
    crate::preflight::request(&job)?;
    let kind = match &job {
        JobSpec::Diadem(_) => "diadem",
        JobSpec::Clustering(_) => "clustering",
    };
    let store = open_store(paths)?;
    let queue: Arc<dyn TaskQueue> = Arc::new(MemoryQueue::new());
    // One search fold alive when the slots can share a fold's candidates: the job's search plans
    // its tasks fold by fold, and at the passage to the next a slot waits for the others to
    // finish with the last one (a fold is a copy of most of the dataset). With fewer candidates
    // than slots (a forest's single one), that wait would run the folds one after the other:
    // then one fold per slot.
    let candidates = match &job {
        JobSpec::Diadem(spec) => spec.model.candidates().map_or(1, |c| c.len()),
        JobSpec::Clustering(_) => 1,
    };
    let live_folds = if candidates >= workers { 1 } else { workers };
    let cache =
        Arc::new(DataCache::new(DataRoot::local(&paths.data_dir), 4).with_live_folds(live_folds));
    let job_id = new_job_id(kind);
    let mut record = jobs::new_record(&job_id, job, secuml_proto::event::now_ms());
    jobs::save_job(&*store, &record).await?;
    let env = JobEnv {
        paths: paths.clone(),
        store: store.clone(),
        queue: queue.clone(),
        coordinator: format!("embedded-{}", std::process::id()),
        cache: cache.clone(),
    };
    info!(job_id = %job_id, workers, "{kind} job started");

    let (stop, stopped) = watch::channel(false);
    let ctx = TaskContext {
        cache,
        store: store.clone(),
    };
    let worker = tokio::spawn(run_worker(
        queue.clone(),
        ctx,
        WorkerConfig::new(env.coordinator.clone(), workers.max(1)),
        stopped,
    ));
    // Ctrl-C or SIGTERM ends the job as failed ("interrupted") rather than leaving it running for good.
    let result = tokio::select! {
        result = jobs::run_job(&env, &mut record) => result,
        signal = interrupted() => Err(JobError::Infrastructure(anyhow::anyhow!("interrupted by {signal}"))),
    };
    let _ = stop.send(true);
    worker.await.context("worker task")??;
    match result {
        Ok(output) => {
            info!(experiment_id = ?record.experiment_id, job_id = %job_id, "{kind} job done");
            Ok((record, output))
        }
        Err(e) => {
            if let JobError::Infrastructure(_) = &e {
                // Nothing resumes an embedded job once its process is gone: record its end.
                if let Err(record_error) = jobs::fail_job(&env, &mut record, &e).await {
                    error!(error = %record_error, "the job's failure could not be recorded");
                }
            }
            let message = e.to_string();
            // The caller reports the error (the CLI prints it once).
            debug!(job_id = %job_id, error = %message, "{kind} job failed");
            let message = match (&e, record.experiment_id) {
                (JobError::Refused(_), _) | (_, None) => message,
                (_, Some(id)) => format!("experiment {id} failed: {message}"),
            };
            match e {
                JobError::Infrastructure(_) => Err(anyhow::anyhow!(message)),
                _ => Err(crate::connect::JobFailed {
                    message,
                    record: Box::new(record),
                }
                .into()),
            }
        }
    }
}

async fn experiment_of(
    paths: &Paths,
    record: &JobRecord,
) -> anyhow::Result<(u64, ExperimentRecord)> {
    let id = record
        .experiment_id
        .context("a finished job has an experiment")?;
    let store = open_store(paths)?;
    let experiment = jobs::load_experiment(&*store, id)
        .await?
        .context("the experiment record is missing")?;
    Ok((id, experiment))
}

/// Runs a DIADEM job end to end with `workers` in-process workers.
pub async fn run_diadem(
    paths: &Paths,
    spec: DiademSpec,
    workers: usize,
) -> anyhow::Result<DiademOutcome> {
    let (record, output) = run_embedded(paths, JobSpec::Diadem(spec), workers).await?;
    let JobOutput::Diadem(results) = output else {
        anyhow::bail!("a DIADEM job gave another kind of output");
    };
    let (experiment_id, experiment) = experiment_of(paths, &record).await?;
    Ok(DiademOutcome {
        experiment_id,
        job_id: record.job_id,
        results,
        record: experiment,
    })
}

/// What a finished embedded clustering gives back.
#[derive(Debug, Clone)]
pub struct ClusteringOutcome {
    /// Experiment id, for the dashboard.
    pub experiment_id: u64,
    /// Job id.
    pub job_id: String,
    /// The results.
    pub results: ClusteringResults,
    /// The experiment record as stored at the end.
    pub record: ExperimentRecord,
}

/// Runs a clustering job end to end with `workers` in-process workers.
pub async fn run_clustering(
    paths: &Paths,
    spec: ClusteringSpec,
    workers: usize,
) -> anyhow::Result<ClusteringOutcome> {
    let (record, output) = run_embedded(paths, JobSpec::Clustering(spec), workers).await?;
    let JobOutput::Clustering(results) = output else {
        anyhow::bail!("a clustering job gave another kind of output");
    };
    let (experiment_id, experiment) = experiment_of(paths, &record).await?;
    Ok(ClusteringOutcome {
        experiment_id,
        job_id: record.job_id,
        results,
        record: experiment,
    })
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
