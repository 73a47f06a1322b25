//! Experiment records: what the dashboard menus list.

use serde::{Deserialize, Serialize};

use crate::job::JobSpec;

/// Lifecycle of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// Tasks are running.
    Running,
    /// Every result is stored.
    Succeeded,
    /// The job failed; `error` says why.
    Failed,
}

/// One experiment, stored under [`crate::keys::experiment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRecord {
    /// Numeric id, unique in the store.
    pub id: u64,
    /// Kind of experiment ("Diadem").
    pub kind: String,
    /// Project name.
    pub project: String,
    /// Dataset name (the training dataset).
    pub dataset: String,
    /// Experiment name (given, or generated from the parameters).
    pub name: String,
    /// Job that computes it.
    pub job_id: String,
    /// Current status.
    pub status: ExperimentStatus,
    /// Error text when failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// Completion time, milliseconds since the Unix epoch.
    #[serde(default)]
    pub finished_ms: Option<u64>,
    /// The full validated spec.
    pub spec: JobSpec,
}
