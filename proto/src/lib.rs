//! The wire contract of secuml, and nothing else.
//!
//! Job specs ([`job`]), task messages ([`task`]), result records ([`result`]),
//! progress events ([`event`]), experiment records ([`experiment`]), statistics across
//! cross-validation folds ([`fold_stats`]), the
//! failure codes ([`error`]) and every store key and queue name ([`keys`]).
//! This crate does no IO: writers, the coordinator and the dashboard agree on
//! the contract by sharing these types.
#![warn(missing_docs)]

pub mod error;
pub mod event;
pub mod experiment;
pub mod fold_stats;
pub mod hyper;
pub mod job;
pub mod keys;
pub mod result;
pub mod service;
pub mod task;

/// Version of the messages and records in this crate.
///
/// Every task message carries it; a receiver refuses a message of another version.
/// Version 2: the search objective in fit-and-score tasks, the temporal and cross-validation
/// outer splits, the outer fold of refit and detection tasks.
/// Version 3: every model class (hyperparameters of [`hyper`]), the refit's seed, the model a
/// detection applies, the stored model format 2 ([`StoredModel`]).
pub const PROTOCOL_VERSION: u32 = 3;

pub use error::{ErrorCode, TaskFailure};
pub use event::{Event, EventKind};
pub use experiment::{ExperimentRecord, ExperimentStatus};
pub use job::{
    AlertsAnalysis, AlertsClusteringAlgo, AnnotationsSource, ClusteringAlgo, ClusteringSpec,
    DiademSpec, JobSpec, ModelSpec, Objective, Penalty, SpecError, ValidationSpec,
};
pub use result::{
    AlertCluster, AlertRow, AlertsResult, ClusterMix, ClusterStatsResult, ClusterSummary,
    ClusteringResult, Coefficient, ColumnMomentsResult, Confusion, CvCandidate, DetectionResult,
    EncodedColumn, FamilyCoefficients, FamilyDetection, FitScoreResult, Histogram,
    KmeansAssignResult, KmeansCentroidSets, KmeansInitResult, KmeansPartial, KmeansStepResult,
    ModelOutput, MulticlassIndicators, StandardScaling, StoredModel, ThresholdIndicators,
    TrainSummary, TrainTimes, MODEL_FORMAT_VERSION,
};
pub use service::{
    new_job_id, DeadLetterRecord, JobRecord, JobStatus, JobSubmission, RunningTask, WorkerBeat,
    MAX_ATTEMPTS,
};
pub use task::{
    decode_outcomes, decode_task, DataRef, DecodeError, FoldSpec, Hyper, OutcomeBatch, OuterSplit,
    RowRange, RowSelection, Side, Supervision, TaskKind, TaskMessage, TaskOutcome, TrainingRows,
};
