//! Records of the distributed services: job submissions and their state, worker heartbeats,
//! tasks in flight, dead letters. Embedded mode writes the same records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::job::JobSpec;

/// Attempts of a task whose failures are retryable, before its job fails.
pub const MAX_ATTEMPTS: u32 = 3;

/// What `secuml submit` publishes on [`crate::keys::JOB_QUEUE`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSubmission {
    /// Must equal [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// Chosen by the submitter, unique ([`new_job_id`]).
    pub job_id: String,
    /// The validated spec.
    pub spec: JobSpec,
    /// When it was submitted (ms since the epoch).
    pub submitted_ms: u64,
}

/// Life cycle of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, not yet started by a coordinator.
    Queued,
    /// A coordinator is running it.
    Running,
    /// Every task done, results stored.
    Succeeded,
    /// A task failed for good, or the data was refused.
    Failed,
    /// Cancelled by `secuml cancel`.
    Cancelled,
}

impl JobStatus {
    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// A job's state, in the [`crate::keys::jobs`] hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job id.
    pub job_id: String,
    /// The spec.
    pub spec: JobSpec,
    /// Where it is.
    pub status: JobStatus,
    /// The experiment it fills, once a coordinator started it.
    #[serde(default)]
    pub experiment_id: Option<u64>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Submission time (ms since the epoch).
    pub submitted_ms: u64,
    /// Start time.
    #[serde(default)]
    pub started_ms: Option<u64>,
    /// End time.
    #[serde(default)]
    pub finished_ms: Option<u64>,
    /// The coordinator that ran it last.
    #[serde(default)]
    pub coordinator: Option<String>,
    /// Tasks planned and done so far.
    #[serde(default)]
    pub tasks_planned: u32,
    /// Tasks done so far.
    #[serde(default)]
    pub tasks_done: u32,
    /// Headline metrics of a finished job, by name (e.g. `validation.auc`), for `--fail-under`.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
}

/// A task a worker is running, in the [`crate::keys::job_running`] hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningTask {
    /// The task.
    pub task_id: String,
    /// The attempt being run.
    pub attempt: u32,
    /// Worker id (the process, whose heartbeat is [`crate::keys::worker`]).
    pub worker: String,
    /// Slot of the worker running it.
    pub slot: u32,
    /// Start time.
    pub started_ms: u64,
}

/// A worker's heartbeat, at [`crate::keys::worker`] with a TTL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerBeat {
    /// Worker id.
    pub worker: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Task slots.
    pub slots: u32,
    /// Tasks in hand: `(job_id, task_id, attempt)`.
    pub running: Vec<(String, String, u32)>,
    /// Tasks finished since the worker started.
    pub tasks_done: u64,
    /// When the worker started.
    pub started_ms: u64,
    /// When this beat was written.
    pub beat_ms: u64,
    /// Whether it is draining (SIGTERM received).
    #[serde(default)]
    pub draining: bool,
}

/// A message that was dead-lettered, as recorded in the [`crate::keys::dead_letters`] stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterRecord {
    /// The queue it was taken from.
    pub queue: String,
    /// Why.
    pub reason: String,
    /// Its job and task, when the message could be read.
    #[serde(default)]
    pub job_id: Option<String>,
    /// Task id.
    #[serde(default)]
    pub task_id: Option<String>,
    /// Attempt.
    #[serde(default)]
    pub attempt: Option<u32>,
    /// The start of the message (at most 512 bytes, lossy UTF-8).
    pub excerpt: String,
    /// When.
    pub time_ms: u64,
}

impl DeadLetterRecord {
    /// The record of `payload`, dead-lettered from `queue` for `reason`, now; with the message's
    /// `(job_id, task_id, attempt)` when it could be read.
    pub fn new(queue: &str, reason: &str, payload: &[u8], task: Option<(&str, &str, u32)>) -> Self {
        DeadLetterRecord {
            queue: queue.to_string(),
            reason: reason.to_string(),
            job_id: task.map(|t| t.0.to_string()),
            task_id: task.map(|t| t.1.to_string()),
            attempt: task.map(|t| t.2),
            excerpt: String::from_utf8_lossy(&payload[..payload.len().min(512)]).into_owned(),
            time_ms: crate::event::now_ms(),
        }
    }
}

/// A new job id: `<kind>-<ms since epoch>-<4 random hex digits>`; sorts by submission time.
pub fn new_job_id(kind: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(crate::event::now_ms());
    h.write_u32(std::process::id());
    format!(
        "{kind}-{}-{:04x}",
        crate::event::now_ms(),
        h.finish() & 0xffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_distinct_and_named_by_kind() {
        let a = new_job_id("diadem");
        assert!(a.starts_with("diadem-"));
        let ids: std::collections::BTreeSet<_> = (0..50).map(|_| new_job_id("k")).collect();
        assert!(ids.len() > 40, "random suffix varies: {ids:?}");
        crate::job::check_name("job", &a).unwrap();
    }

    #[test]
    fn final_statuses() {
        assert!(!JobStatus::Running.is_final() && !JobStatus::Queued.is_final());
        assert!(JobStatus::Cancelled.is_final() && JobStatus::Failed.is_final());
    }
}
