//! Every store key and queue name, in one place, so writers and readers agree.
//!
//! Layout (all keys start with `secuml:`):
//! - `secuml:experiments` hash: experiment id -> [`crate::ExperimentRecord`] JSON
//! - `secuml:counter:experiment`: last experiment id
//! - `secuml:exp:<id>:model`: the trained model
//! - `secuml:exp:<id>:train`: [`crate::TrainSummary`]
//! - `secuml:exp:<id>:fold:<k>:model`, `secuml:exp:<id>:fold:<k>:train`: the model and
//!   [`crate::TrainSummary`] of outer fold `k` (cross-validation modes)
//! - `secuml:exp:<id>:detection` hash: detection name -> [`crate::DetectionResult`]
//! - `secuml:exp:<id>:alerts` hash: detection name -> [`crate::AlertsResult`]
//! - `secuml:exp:<id>:clustering`: [`crate::ClusteringResult`]
//! - `secuml:job:<id>:centroids:<name>`: [`crate::KmeansCentroidSets`] a k-means stage reads
//! - `secuml:job:<id>:tasks` hash: task id -> task state JSON
//! - `secuml:job:<id>:results` hash: task id -> task result JSON
//! - `secuml:job:<id>:events` stream of [`crate::Event`]
//! - `secuml:jobs` hash: job id -> [`crate::JobRecord`] JSON
//! - `secuml:job:<id>:lease`: the coordinator running the job (expiring)
//! - `secuml:job:<id>:cancel`: present once a cancel was requested
//! - `secuml:job:<id>:running` hash: task id -> [`crate::RunningTask`] JSON (tasks in a worker's hands)
//! - `secuml:job:<id>:outcomes` hash: task id -> the last [`crate::TaskOutcome`] JSON a worker
//!   recorded, written before it acknowledges the task
//! - `secuml:worker:<id>`: a worker's heartbeat, [`crate::WorkerBeat`] JSON (expiring)
//! - `secuml:coordinator:<id>`: a coordinator's heartbeat (expiring)
//! - `secuml:dead` stream of [`crate::DeadLetterRecord`]
//!
//! Queues: [`TASK_QUEUE`], [`JOB_QUEUE`], one outcome queue per job ([`outcome_queue`]),
//! and each one's dead-letter queue (`<queue>.dead`).

/// Queue of task messages.
pub const TASK_QUEUE: &str = "secuml.tasks";
/// Prefix of the per-job outcome queues ([`outcome_queue`]).
pub const OUTCOME_QUEUE_PREFIX: &str = "secuml.outcomes.";
/// Queue of submitted jobs.
pub const JOB_QUEUE: &str = "secuml.jobs";

/// Hash of every experiment record, keyed by experiment id.
pub fn experiments() -> String {
    "secuml:experiments".to_string()
}

/// Counter of experiment ids.
pub fn experiment_counter() -> String {
    "secuml:counter:experiment".to_string()
}

/// The trained model of an experiment.
pub fn model(experiment_id: u64) -> String {
    format!("secuml:exp:{experiment_id}:model")
}

/// The model of an experiment, or of one of its outer folds (cross-validation modes).
pub fn model_of(experiment_id: u64, fold: Option<u32>) -> String {
    match fold {
        None => model(experiment_id),
        Some(fold) => format!("secuml:exp:{experiment_id}:fold:{fold}:model"),
    }
}

/// The training summary of one outer fold of an experiment (cross-validation modes).
pub fn fold_train_summary(experiment_id: u64, fold: u32) -> String {
    format!("secuml:exp:{experiment_id}:fold:{fold}:train")
}

/// The training summary of an experiment (search results, coefficients, times).
pub fn train_summary(experiment_id: u64) -> String {
    format!("secuml:exp:{experiment_id}:train")
}

/// Hash of an experiment's detections, keyed by detection name.
pub fn detections(experiment_id: u64) -> String {
    format!("secuml:exp:{experiment_id}:detection")
}

/// Hash of an experiment's alert analyses ([`crate::AlertsResult`]), keyed by detection name.
pub fn alerts(experiment_id: u64) -> String {
    format!("secuml:exp:{experiment_id}:alerts")
}

/// The result of a clustering experiment.
pub fn clustering(experiment_id: u64) -> String {
    format!("secuml:exp:{experiment_id}:clustering")
}

/// Centroid sets of one k-means stage of a job (`<name>`: the iteration, or `final`).
pub fn job_centroids(job_id: &str, name: &str) -> String {
    format!("secuml:job:{job_id}:centroids:{name}")
}

/// Hash of a job's task states, keyed by task id.
pub fn job_tasks(job_id: &str) -> String {
    format!("secuml:job:{job_id}:tasks")
}

/// Hash of a job's task results, keyed by task id; a redelivered task overwrites its value.
pub fn task_results(job_id: &str) -> String {
    format!("secuml:job:{job_id}:results")
}

/// Field of one task in [`task_results`] and [`job_tasks`].
pub fn task_result(task_id: &str) -> String {
    task_id.to_string()
}

/// Event stream of a job.
pub fn job_events(job_id: &str) -> String {
    format!("secuml:job:{job_id}:events")
}

/// Queue of one job's task outcomes, consumed by the coordinator that runs the job:
/// outcomes never reach a coordinator that does not own their job.
pub fn outcome_queue(job_id: &str) -> String {
    format!("{OUTCOME_QUEUE_PREFIX}{job_id}")
}

/// Hash of every job record, keyed by job id.
pub fn jobs() -> String {
    "secuml:jobs".to_string()
}

/// The lease of the coordinator running a job.
pub fn job_lease(job_id: &str) -> String {
    format!("secuml:job:{job_id}:lease")
}

/// Present once a cancel of the job was requested.
pub fn job_cancel(job_id: &str) -> String {
    format!("secuml:job:{job_id}:cancel")
}

/// Hash of a job's tasks in a worker's hands, keyed by task id.
pub fn job_running(job_id: &str) -> String {
    format!("secuml:job:{job_id}:running")
}

/// Hash of the last outcome of each task, keyed by task id: the durable record of an outcome,
/// written by the worker before it acknowledges the task. The message on [`outcome_queue`]
/// only notifies the coordinator, which reads this hash for any outcome whose message was lost.
pub fn job_outcomes(job_id: &str) -> String {
    format!("secuml:job:{job_id}:outcomes")
}

/// Prefix of every worker heartbeat key.
pub const WORKER_PREFIX: &str = "secuml:worker:";

/// A worker's heartbeat.
pub fn worker(worker_id: &str) -> String {
    format!("{WORKER_PREFIX}{worker_id}")
}

/// Prefix of every coordinator heartbeat key.
pub const COORDINATOR_PREFIX: &str = "secuml:coordinator:";

/// A coordinator's heartbeat.
pub fn coordinator(coordinator_id: &str) -> String {
    format!("{COORDINATOR_PREFIX}{coordinator_id}")
}

/// Stream of dead-lettered messages.
pub fn dead_letters() -> String {
    "secuml:dead".to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_namespaced() {
        assert_eq!(super::model(7), "secuml:exp:7:model");
        assert_eq!(super::job_events("j"), "secuml:job:j:events");
    }
}
