//! What CI calls: submit a job, follow it to its end, check metric gates; job status,
//! listing and cancellation.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use secuml_proto::{
    keys, new_job_id, Event, EventKind, JobRecord, JobSpec, JobSubmission, PROTOCOL_VERSION,
};
use secuml_runtime::{Store, TaskQueue};
use serde::Serialize;
use tracing::debug;

use crate::driver::TaskState;
use crate::jobs;

/// Publications of a submission before giving up.
const PUBLISH_ATTEMPTS: u32 = 5;

/// How often `--wait` polls the job's event stream.
const POLL: Duration = Duration::from_millis(200);

/// A `--fail-under METRIC=VALUE` gate: the job passes only if `METRIC >= VALUE`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    /// Metric name, as in the job's metrics (`validation.auc`, `cv.best_score`, ...).
    pub metric: String,
    /// The least acceptable value.
    pub threshold: f64,
}

/// A gate checked against a finished job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateResult {
    /// Metric name.
    pub metric: String,
    /// The least acceptable value.
    pub threshold: f64,
    /// The job's value; `None` when the job has no such metric.
    pub value: Option<f64>,
    /// Whether the gate holds.
    pub passed: bool,
    /// `value - threshold` (negative: by how much it failed).
    pub margin: Option<f64>,
}

impl std::str::FromStr for Gate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (metric, value) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not METRIC=VALUE (e.g. validation.auc=0.9)"))?;
        let metric = metric.trim();
        let ok_name = !metric.is_empty()
            && metric
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok_name {
            return Err(format!(
                "`{metric}` is not a metric name (letters, digits, `.`, `_`, `-`)"
            ));
        }
        let threshold: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("`{value}` in `{s}` is not a number"))?;
        if !threshold.is_finite() {
            return Err(format!("`{value}` in `{s}` is not a finite number"));
        }
        Ok(Gate {
            metric: metric.to_string(),
            threshold,
        })
    }
}

/// The metrics of a clustering job, which its gates may name.
const CLUSTERING_METRICS: [&str; 3] = ["inertia", "iterations", "num_clusters"];

impl Gate {
    /// Checks that the gate names a metric a job of `spec` can have, before the job runs: a
    /// misspelt gate is refused at once, not failed after the whole job.
    ///
    /// A DIADEM job's metrics are `cv.best_score` and `<detection>.<indicator>[_std]`, the
    /// detection `train`, `test`, `validation`, `validation.<dataset>` or `<side>-fold-<k>`.
    pub fn check_for(&self, spec: &JobSpec) -> Result<(), String> {
        let metric = self.metric.as_str();
        let known = match spec {
            JobSpec::Clustering(_) => CLUSTERING_METRICS.contains(&metric),
            JobSpec::Diadem(_) => {
                metric == "cv.best_score"
                    || metric
                        .rsplit_once('.')
                        .is_some_and(|(detection, indicator)| {
                            let indicator = indicator.strip_suffix("_std").unwrap_or(indicator);
                            let side = detection.split('.').next().unwrap_or_default();
                            let side = side.split_once("-fold-").map_or(side, |(s, _)| s);
                            secuml_proto::fold_stats::FOLD_INDICATORS.contains(&indicator)
                                && matches!(side, "train" | "test" | "validation")
                        })
            }
        };
        if known {
            return Ok(());
        }
        Err(match spec {
            JobSpec::Clustering(_) => format!(
                "`{metric}` is not a metric of a clustering (one of {})",
                CLUSTERING_METRICS.join(", ")
            ),
            JobSpec::Diadem(_) => format!(
                "`{metric}` is not a metric of a DIADEM job: expected cv.best_score or \
                 <detection>.<indicator>, the detection train, test, validation, \
                 validation.<dataset> or test-fold-<k>, the indicator one of {} (or <indicator>_std)",
                secuml_proto::fold_stats::FOLD_INDICATORS.join(", ")
            ),
        })
    }
}

/// Checks every gate against a finished job's metrics.
pub fn check_gates(record: &JobRecord, gates: &[Gate]) -> Vec<GateResult> {
    gates
        .iter()
        .map(|g| {
            let value = record.metrics.get(&g.metric).copied();
            GateResult {
                metric: g.metric.clone(),
                threshold: g.threshold,
                value,
                passed: value.is_some_and(|v| v >= g.threshold),
                margin: value.map(|v| v - g.threshold),
            }
        })
        .collect()
}

/// Records the job as queued and publishes it for a coordinator; returns its id.
pub async fn submit(
    store: &dyn Store,
    queue: &dyn TaskQueue,
    spec: JobSpec,
) -> anyhow::Result<String> {
    crate::preflight::request(&spec)?;
    let kind = match &spec {
        JobSpec::Diadem(_) => "diadem",
        JobSpec::Clustering(_) => "clustering",
    };
    let job_id = new_job_id(kind);
    let submitted_ms = secuml_proto::event::now_ms();
    jobs::save_job(
        store,
        &jobs::new_record(&job_id, spec.clone(), submitted_ms),
    )
    .await?;
    let submission = JobSubmission {
        protocol_version: PROTOCOL_VERSION,
        job_id: job_id.clone(),
        spec,
        submitted_ms,
    };
    queue.declare(keys::JOB_QUEUE).await?;
    let body = serde_json::to_vec(&submission)?;
    // A quorum queue just declared (or whose leader is moving) can refuse a message with a
    // nack for a moment: publish again, a few times. A duplicate submission is harmless: the
    // coordinator runs a job under its lease, once.
    let mut attempt = 1;
    loop {
        match queue.publish(keys::JOB_QUEUE, &body).await {
            Ok(()) => break,
            Err(e) if attempt < PUBLISH_ATTEMPTS => {
                tracing::warn!(job_id = %job_id, attempt, error = %e, "job not accepted by the broker, publishing again");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt as u64)).await;
                attempt += 1;
            }
            Err(e) => return Err(anyhow::Error::from(e).context("publishing the job")),
        }
    }
    Ok(job_id)
}

/// Shows progress while waiting: a bar on a terminal, plain lines otherwise (CI logs).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    planned: u64,
    done: u64,
    job_id: String,
}

impl Progress {
    fn new(job_id: &str, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:30}] {pos}/{len} tasks {elapsed} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(job_id.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            planned: 0,
            done: 0,
            job_id: job_id.to_string(),
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln_line(&format!("{} {text}", self.job_id)),
        }
    }

    fn event(&mut self, kind: &EventKind) {
        match kind {
            EventKind::TaskQueued { .. } => {
                self.planned += 1;
                if let Some(bar) = &self.bar {
                    bar.set_length(self.planned);
                }
            }
            EventKind::TaskDone { task_id, seconds } => {
                self.done += 1;
                match &self.bar {
                    Some(bar) => bar.set_position(self.done),
                    None => self.line(&format!(
                        "task {task_id} done in {seconds:.2} s ({}/{})",
                        self.done, self.planned
                    )),
                }
            }
            EventKind::TaskFailed {
                task_id,
                attempt,
                error,
                will_retry,
            } => self.line(&format!(
                "task {task_id} attempt {attempt} failed{}: {error}",
                if *will_retry { ", retrying" } else { "" }
            )),
            EventKind::WorkerLost {
                worker, task_id, ..
            } => self.line(&format!("worker {worker} lost; task {task_id} re-queued")),
            EventKind::JobAdopted { coordinator } => {
                self.line(&format!("resumed by {coordinator}"))
            }
            EventKind::JobStarted { .. } => self.line("started"),
            _ => {}
        }
    }

    fn finish(&self, record: &JobRecord) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.line(&format!("{:?}", record.status).to_lowercase());
    }
}

/// Progress goes to stderr: stdout carries only the result.
fn eprintln_line(text: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Follows a job's events until it is finished; returns its final record.
pub async fn wait(store: &dyn Store, job_id: &str, quiet: bool) -> anyhow::Result<JobRecord> {
    let mut progress = Progress::new(job_id, quiet);
    let mut after = 0;
    loop {
        let entries = store
            .read_stream(&keys::job_events(job_id), after, 512)
            .await?;
        for entry in &entries {
            after = entry.seq;
            match serde_json::from_slice::<Event>(&entry.value) {
                Ok(event) => progress.event(&event.kind),
                Err(e) => debug!(error = %e, "skipping an event that does not parse"),
            }
        }
        if entries.is_empty() {
            let record = jobs::load_job(store, job_id)
                .await?
                .with_context(|| format!("job {job_id} does not exist"))?;
            if record.status.is_final() {
                progress.finish(&record);
                return Ok(record);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Requests the cancel of a job; returns its record.
pub async fn cancel(store: &dyn Store, job_id: &str) -> anyhow::Result<JobRecord> {
    let Some(record) = jobs::load_job(store, job_id).await? else {
        return Err(crate::connect::BadRequest(format!("job {job_id} does not exist")).into());
    };
    if !record.status.is_final() {
        store.set(&keys::job_cancel(job_id), b"1").await?;
    }
    Ok(record)
}

/// A job's record and its task states, for `secuml status`.
pub async fn status(
    store: &dyn Store,
    job_id: &str,
) -> anyhow::Result<Option<(JobRecord, Vec<(String, TaskState)>)>> {
    let Some(record) = jobs::load_job(store, job_id).await? else {
        return Ok(None);
    };
    let mut tasks = Vec::new();
    for (task_id, bytes) in store.hgetall(&keys::job_tasks(job_id)).await? {
        if let Ok(state) = serde_json::from_slice::<TaskState>(&bytes) {
            tasks.push((task_id, state));
        }
    }
    Ok(Some((record, tasks)))
}

/// A short text of a job's status.
pub fn status_text(record: &JobRecord, tasks: &[(String, TaskState)], url: &str) -> String {
    let count = |s: &str| tasks.iter().filter(|(_, t)| t.state == s).count();
    let mut text = format!(
        "job {}: {}\n  tasks: {} done, {} queued, {} failed\n  dashboard: {url}\n",
        record.job_id,
        format!("{:?}", record.status).to_lowercase(),
        count("done"),
        count("queued"),
        count("failed"),
    );
    if let Some(id) = record.experiment_id {
        text.push_str(&format!("  experiment: {id}\n"));
    }
    if let Some(coordinator) = &record.coordinator {
        text.push_str(&format!("  coordinator: {coordinator}\n"));
    }
    for (task_id, t) in tasks.iter().filter(|(_, t)| t.error.is_some()) {
        text.push_str(&format!(
            "  task {task_id} ({}) attempt {}: {}\n",
            t.state,
            t.attempt,
            t.error.as_deref().unwrap_or_default()
        ));
    }
    if let Some(error) = &record.error {
        text.push_str(&format!("  error: {error}\n"));
    }
    for (name, value) in &record.metrics {
        text.push_str(&format!("  {name} = {value:.4}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_parse_and_check() {
        let g: Gate = "validation.auc=0.9".parse().unwrap();
        assert_eq!(g.metric, "validation.auc");
        assert!("validation.auc".parse::<Gate>().is_err());
        assert!("validation.auc=x".parse::<Gate>().is_err());
        assert!("a b=1".parse::<Gate>().is_err());
        assert!("auc=inf".parse::<Gate>().is_err());
        let mut record = jobs::new_record("j", JobSpec::Diadem(crate::cli::demo_spec()), 0);
        record.metrics.insert("validation.auc".into(), 0.8);
        let results = check_gates(
            &record,
            &[
                g.clone(),
                "validation.auc=0.8".parse().unwrap(),
                "nope=1".parse().unwrap(),
            ],
        );
        assert!(!results[0].passed);
        assert!((results[0].margin.unwrap() + 0.1).abs() < 1e-12);
        assert!(results[1].passed, "equal to the threshold passes");
        assert!(!results[2].passed && results[2].value.is_none());
    }

    #[test]
    fn a_gate_must_name_a_metric_the_job_can_have() {
        let diadem = JobSpec::Diadem(crate::cli::demo_spec());
        for ok in [
            "cv.best_score",
            "validation.auc",
            "validation.test.detection_rate",
            "train.false_alarm_rate",
            "test-fold-2.auc",
            "test.auc_std",
            "validation.accuracy",
        ] {
            let gate: Gate = format!("{ok}=0.5").parse().unwrap();
            assert_eq!(gate.check_for(&diadem), Ok(()), "{ok}");
        }
        for bad in [
            "validation.acu",
            "nosuch.metric",
            "auc",
            "cv.best",
            "inertia",
        ] {
            let gate: Gate = format!("{bad}=0.5").parse().unwrap();
            let error = gate.check_for(&diadem).unwrap_err();
            assert!(
                error.contains(bad) && error.contains("cv.best_score"),
                "{error}"
            );
        }
        let clustering = JobSpec::Clustering(secuml_proto::ClusteringSpec::kmeans(
            "NSL-KDD", "train20", 4,
        ));
        let inertia: Gate = "inertia=1".parse().unwrap();
        assert_eq!(inertia.check_for(&clustering), Ok(()));
        let auc: Gate = "validation.auc=1".parse().unwrap();
        assert!(auc.check_for(&clustering).unwrap_err().contains("inertia"));
    }
}
