//! Progress events: one stream per job, followed by the CLI and the dashboard.

use serde::{Deserialize, Serialize};

/// One entry of a job's event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Job the event belongs to.
    pub job_id: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// What happened.
    pub kind: EventKind,
}

/// What happened to a job or one of its tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The job was accepted and planned.
    JobStarted {
        /// Number of tasks planned so far.
        planned_tasks: u32,
    },
    /// A task was published.
    TaskQueued {
        /// Task id.
        task_id: String,
        /// Short human label ("fit C=0.1 l1 fold 2").
        label: String,
    },
    /// A worker started a task.
    TaskStarted {
        /// Task id.
        task_id: String,
        /// Attempt number, from 1.
        attempt: u32,
        /// Worker id.
        worker: String,
    },
    /// A task finished and its result is stored.
    TaskDone {
        /// Task id.
        task_id: String,
        /// Wall time of the task on the worker.
        seconds: f64,
    },
    /// A task failed.
    TaskFailed {
        /// Task id.
        task_id: String,
        /// Attempt number, from 1.
        attempt: u32,
        /// Error text.
        error: String,
        /// Whether it will be retried.
        will_retry: bool,
    },
    /// A coordinator took the job (again, after a restart or another coordinator's loss).
    JobAdopted {
        /// The coordinator.
        coordinator: String,
    },
    /// A worker's heartbeat expired while it held a task: the task is queued again.
    WorkerLost {
        /// The worker.
        worker: String,
        /// The task it held.
        task_id: String,
        /// The attempt it was running.
        attempt: u32,
    },
    /// The job was cancelled.
    JobCancelled,
    /// The job finished successfully.
    JobDone {
        /// Experiment the job filled.
        experiment_id: u64,
    },
    /// The job failed.
    JobFailed {
        /// Error text.
        error: String,
    },
}

impl Event {
    /// An event stamped with the current time.
    pub fn now(job_id: &str, kind: EventKind) -> Self {
        Self {
            job_id: job_id.to_string(),
            time_ms: now_ms(),
            kind,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
