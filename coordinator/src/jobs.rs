//! Runs one job to its end, whoever runs its tasks: the embedded mode and the coordinator
//! service both call [`run_job`].
//!
//! A job's state lives in the store: its [`JobRecord`] in [`keys::jobs`], its experiment record,
//! its task states and results. [`run_job`] may be called again for a job that a dead
//! coordinator left half done: it reuses the job's experiment id, and the driver's stages skip
//! tasks already done, so nothing is redone or counted twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use secuml_proto::{
    keys, ClusteringSpec, DataRef, DiademSpec, EventKind, ExperimentRecord, ExperimentStatus,
    JobRecord, JobSpec, JobStatus, ModelSpec, ValidationSpec,
};
use secuml_runtime::{Store, TaskQueue};
use secuml_worker::DataCache;
use tracing::{info, warn};

use crate::clustering::{self, ClusteringResults};
use crate::config::Paths;
use crate::datasets;
use crate::diadem::{self, DiademData, DiademResults};
use crate::driver::{append_event, cancel_requested, JobDriver, JobError};
use crate::preflight;

/// What a job runs against.
#[derive(Clone)]
pub struct JobEnv {
    /// Input and data folders.
    pub paths: Paths,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The queue.
    pub queue: Arc<dyn TaskQueue>,
    /// Who runs the job (recorded in the job record and in events).
    pub coordinator: String,
    /// Loaded datasets, for the checks before planning; the embedded mode shares it with its workers.
    pub cache: Arc<DataCache>,
}

/// What a finished job produced.
#[derive(Debug, Clone)]
pub enum JobOutput {
    /// A DIADEM experiment.
    Diadem(DiademResults),
    /// A clustering.
    Clustering(ClusteringResults),
}

/// What a job needs once its data is resolved and checked.
// Built once per job and moved a few times: boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
enum Prepared {
    Diadem(DiademSpec, DiademData),
    Clustering(ClusteringSpec, DataRef),
}

fn prepare(
    paths: &Paths,
    cache: &DataCache,
    spec: &JobSpec,
    stored_model: Option<&[u8]>,
) -> anyhow::Result<Prepared> {
    match spec {
        JobSpec::Diadem(s) => {
            let data = prepare_diadem(paths, cache, s)?;
            if let ModelSpec::AlreadyTrained { model_exp_id } = s.model {
                preflight::already_trained(cache, &data, model_exp_id, stored_model)?;
            }
            Ok(Prepared::Diadem(s.clone(), data))
        }
        JobSpec::Clustering(s) => {
            let data = datasets::ensure(paths, cache.root(), &s.project, &s.dataset)?;
            preflight::clustering(cache, s, &data)?;
            Ok(Prepared::Clustering(s.clone(), data))
        }
    }
}

/// Reads a job record.
pub async fn load_job(store: &dyn Store, job_id: &str) -> anyhow::Result<Option<JobRecord>> {
    match store.hget(&keys::jobs(), job_id).await? {
        None => Ok(None),
        Some(bytes) => {
            Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("the record of job {job_id} does not parse")
            })?))
        }
    }
}

/// Writes a job record.
pub async fn save_job(store: &dyn Store, record: &JobRecord) -> anyhow::Result<()> {
    store
        .hset(&keys::jobs(), &record.job_id, &serde_json::to_vec(record)?)
        .await?;
    Ok(())
}

/// Every job record, newest first.
pub async fn list_jobs(store: &dyn Store) -> anyhow::Result<Vec<JobRecord>> {
    let mut jobs = Vec::new();
    for (job_id, bytes) in store.hgetall(&keys::jobs()).await? {
        match serde_json::from_slice::<JobRecord>(&bytes) {
            Ok(job) => jobs.push(job),
            Err(e) => {
                warn!(job_id = %job_id, error = %e, "skipping a job record that does not parse")
            }
        }
    }
    jobs.sort_by(|a, b| {
        b.submitted_ms
            .cmp(&a.submitted_ms)
            .then(b.job_id.cmp(&a.job_id))
    });
    Ok(jobs)
}

async fn save_experiment(store: &dyn Store, record: &ExperimentRecord) -> anyhow::Result<()> {
    store
        .hset(
            &keys::experiments(),
            &record.id.to_string(),
            &serde_json::to_vec(record)?,
        )
        .await?;
    Ok(())
}

/// Reads an experiment record.
pub async fn load_experiment(
    store: &dyn Store,
    id: u64,
) -> anyhow::Result<Option<ExperimentRecord>> {
    match store.hget(&keys::experiments(), &id.to_string()).await? {
        None => Ok(None),
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!("the record of experiment {id} does not parse")
        })?)),
    }
}

/// A new job record for `spec`, queued.
pub fn new_record(job_id: &str, spec: JobSpec, submitted_ms: u64) -> JobRecord {
    JobRecord {
        job_id: job_id.to_string(),
        spec,
        status: JobStatus::Queued,
        experiment_id: None,
        error: None,
        submitted_ms,
        started_ms: None,
        finished_ms: None,
        coordinator: None,
        tasks_planned: 0,
        tasks_done: 0,
        metrics: BTreeMap::new(),
    }
}

/// Resolves the datasets of a DIADEM job (ingesting on first use) and checks them.
fn prepare_diadem(
    paths: &Paths,
    cache: &DataCache,
    spec: &DiademSpec,
) -> anyhow::Result<DiademData> {
    let train = datasets::ensure(paths, cache.root(), &spec.project, &spec.dataset)?;
    let mut validation = Vec::new();
    if let ValidationSpec::ValidationDatasets { datasets: names } = &spec.validation {
        for name in names {
            validation.push(datasets::ensure(paths, cache.root(), &spec.project, name)?);
        }
    }
    let data = DiademData { train, validation };
    preflight::diadem(cache, spec, &data)?;
    Ok(data)
}

/// The headline metrics of a DIADEM job, by name: `cv.best_score`, then for each detection
/// `<name>.<metric>` (`train.auc`, `test.auc`, `validation.test.auc`, ...) and, for the held-out
/// detection (the test side, or the first validation dataset), `validation.<metric>`.
///
/// In the cross-validation modes, `cv.best_score` is the mean over the outer folds of their
/// best search score, `train.<metric>` and `test.<metric>` (and `validation.<metric>`) are the
/// means across folds and `<side>.<metric>_std` their standard deviations; each fold's
/// detection keeps its own `test-fold-<k>.<metric>`.
pub fn diadem_metrics(results: &DiademResults) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    let cross_validated = !results.folds.is_empty();
    let best_score = match diadem::mean_std(results.folds.iter().map(|f| f.best_score)) {
        Some((mean, _)) => mean,
        None => results.train.best_score,
    };
    // Without a search (a single candidate), there is no cross-validation score.
    if best_score.is_finite() {
        metrics.insert("cv.best_score".to_string(), best_score);
    }
    let held_out = results.detections.iter().position(|d| d.name != "train");
    for (i, d) in results.detections.iter().enumerate() {
        let mut names = vec![d.name.replace(':', ".")];
        if Some(i) == held_out && names[0] != "validation" && !cross_validated {
            names.push("validation".to_string());
        }
        let values = diadem::FOLD_INDICATORS
            .iter()
            .zip(diadem::detection_indicators(d))
            .filter_map(|(metric, value)| value.map(|v| (*metric, v)));
        for (metric, value) in values {
            for name in &names {
                if value.is_finite() {
                    metrics.insert(format!("{name}.{metric}"), value);
                }
            }
        }
    }
    for (side, stats) in diadem::fold_statistics(&results.detections, results.folds.len()) {
        let mut names = vec![side.clone()];
        if side == "test" {
            names.push("validation".to_string());
        }
        for (metric, stat) in stats {
            for name in &names {
                // JSON has no NaN: an undefined statistic is left out.
                if stat.mean.is_finite() && stat.std.is_finite() {
                    metrics.insert(format!("{name}.{metric}"), stat.mean);
                    metrics.insert(format!("{name}.{metric}_std"), stat.std);
                }
            }
        }
    }
    metrics
}

fn experiment_name(spec: &JobSpec) -> (&'static str, String, String, String) {
    match spec {
        JobSpec::Diadem(s) => ("Diadem", s.project.clone(), s.dataset.clone(), s.name()),
        JobSpec::Clustering(s) => ("Clustering", s.project.clone(), s.dataset.clone(), s.name()),
    }
}

/// The headline metrics of a clustering: `inertia`, `iterations`, `num_clusters`.
pub fn clustering_metrics(results: &ClusteringResults) -> BTreeMap<String, f64> {
    let r = &results.result;
    BTreeMap::from([
        ("inertia".to_string(), r.inertia),
        ("iterations".to_string(), f64::from(r.iterations)),
        ("num_clusters".to_string(), f64::from(r.num_clusters)),
    ])
}

/// Runs (or resumes) the job of `record` to its end, keeping `record` and the store current.
///
/// A job that fails (a task failed for good, its data was refused) or is cancelled is
/// recorded as such before the error is returned. An [`JobError::Infrastructure`] error
/// (store or queue unreachable) is returned without recording an end: the job can be resumed.
pub async fn run_job(env: &JobEnv, record: &mut JobRecord) -> Result<JobOutput, JobError> {
    let store = &*env.store;
    if cancel_requested(store, &record.job_id).await? {
        finish(env, record, Err(&JobError::Cancelled)).await?;
        return Err(JobError::Cancelled);
    }
    // The model an AlreadyTrained job applies, checked with the data before any task.
    let stored_model = match &record.spec {
        JobSpec::Diadem(DiademSpec {
            model: ModelSpec::AlreadyTrained { model_exp_id },
            ..
        }) => store.get(&keys::model_of(*model_exp_id, None)).await?,
        _ => None,
    };
    let prepared = {
        let (paths, cache, spec) = (env.paths.clone(), env.cache.clone(), record.spec.clone());
        tokio::task::spawn_blocking(move || prepare(&paths, &cache, &spec, stored_model.as_deref()))
            .await
            .map_err(|e| anyhow::anyhow!("preparing the data panicked: {e}"))?
    };
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            let error = JobError::Refused(format!("{e:#}"));
            finish(env, record, Err(&error)).await?;
            return Err(error);
        }
    };

    let adopted = record.experiment_id.is_some();
    let experiment_id = match record.experiment_id {
        Some(id) => id,
        None => store.incr(&keys::experiment_counter()).await? as u64,
    };
    if load_experiment(store, experiment_id).await?.is_none() {
        let (kind, project, dataset, name) = experiment_name(&record.spec);
        save_experiment(
            store,
            &ExperimentRecord {
                id: experiment_id,
                kind: kind.into(),
                project,
                dataset,
                name,
                job_id: record.job_id.clone(),
                status: ExperimentStatus::Running,
                error: None,
                created_ms: secuml_proto::event::now_ms(),
                finished_ms: None,
                spec: record.spec.clone(),
            },
        )
        .await?;
    }
    record.experiment_id = Some(experiment_id);
    record.status = JobStatus::Running;
    record
        .started_ms
        .get_or_insert_with(secuml_proto::event::now_ms);
    record.coordinator = Some(env.coordinator.clone());
    save_job(store, record).await?;
    let kind = if adopted {
        EventKind::JobAdopted {
            coordinator: env.coordinator.clone(),
        }
    } else {
        EventKind::JobStarted { planned_tasks: 0 }
    };
    append_event(store, &record.job_id, kind).await?;
    info!(job_id = %record.job_id, experiment_id, adopted, coordinator = %env.coordinator, "job running");

    let mut driver = JobDriver::new(&record.job_id, env.store.clone(), env.queue.clone()).await?;
    let result = match &prepared {
        Prepared::Diadem(spec, data) => diadem::run(&mut driver, experiment_id, spec, data)
            .await
            .map(JobOutput::Diadem),
        Prepared::Clustering(spec, data) => clustering::run(&mut driver, experiment_id, spec, data)
            .await
            .map(JobOutput::Clustering),
    };
    record.tasks_planned = driver.planned as u32;
    record.tasks_done = driver.done as u32;
    drop(driver);
    match result {
        Ok(output) => {
            record.metrics = match &output {
                JobOutput::Diadem(results) => diadem_metrics(results),
                JobOutput::Clustering(results) => clustering_metrics(results),
            };
            finish(env, record, Ok(&output)).await?;
            Ok(output)
        }
        Err(JobError::Infrastructure(e)) => Err(JobError::Infrastructure(e)),
        Err(error) => {
            finish(env, record, Err(&error)).await?;
            Err(error)
        }
    }
}

/// Records the end of a job: its record, its experiment's, the final event; deletes its
/// outcome queue, its in-flight table and its outcome records.
async fn finish(
    env: &JobEnv,
    record: &mut JobRecord,
    result: Result<&JobOutput, &JobError>,
) -> anyhow::Result<()> {
    let store = &*env.store;
    let now = secuml_proto::event::now_ms();
    let (status, experiment_status, event) = match result {
        Ok(_) => (
            JobStatus::Succeeded,
            ExperimentStatus::Succeeded,
            EventKind::JobDone {
                experiment_id: record.experiment_id.unwrap_or_default(),
            },
        ),
        Err(JobError::Cancelled) => (
            JobStatus::Cancelled,
            ExperimentStatus::Failed,
            EventKind::JobCancelled,
        ),
        Err(e) => (
            JobStatus::Failed,
            ExperimentStatus::Failed,
            EventKind::JobFailed {
                error: e.to_string(),
            },
        ),
    };
    let error = result.err().map(|e| e.to_string());
    if let Some(id) = record.experiment_id {
        if let Some(mut experiment) = load_experiment(store, id).await? {
            experiment.status = experiment_status;
            experiment.error = error.clone();
            experiment.finished_ms = Some(now);
            save_experiment(store, &experiment).await?;
        }
    }
    record.status = status;
    record.error = error;
    record.finished_ms = Some(now);
    save_job(store, record).await?;
    append_event(store, &record.job_id, event).await?;
    store.delete(&keys::job_running(&record.job_id)).await?;
    store.delete(&keys::job_outcomes(&record.job_id)).await?;
    env.queue
        .delete_queue(&keys::outcome_queue(&record.job_id))
        .await?;
    info!(job_id = %record.job_id, status = ?record.status, error = ?record.error, "job finished");
    Ok(())
}

/// Records an infrastructure failure as the end of a job (the embedded mode, which cannot
/// resume a job once its process is gone).
pub async fn fail_job(
    env: &JobEnv,
    record: &mut JobRecord,
    error: &JobError,
) -> anyhow::Result<()> {
    finish(env, record, Err(error)).await
}
