//! Task messages (coordinator to worker) and task outcomes (worker to coordinator).

use serde::{Deserialize, Serialize};

use crate::error::TaskFailure;
use crate::hyper;
use crate::job::{AlertsAnalysis, AnnotationsSource, Objective, Penalty};
use crate::result::StandardScaling;

/// A dataset as a task names it; the worker resolves it under its data root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRef {
    /// Project name.
    pub project: String,
    /// Dataset name.
    pub dataset: String,
    /// SHA-256 of the dataset's manifest, so every task reads the same data.
    pub manifest_sha256: String,
}

/// The outer split of the training dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "split", rename_all = "snake_case")]
pub enum OuterSplit {
    /// Every labelled instance trains (validation is on other datasets).
    Whole,
    /// A stratified random split seeded with `seed`.
    RandomSplit {
        /// Held-out fraction.
        test_size: f64,
        /// Seed of the split.
        seed: u64,
    },
    /// The most recent `test_size` of the instances are held out.
    TemporalSplit {
        /// Held-out fraction.
        test_size: f64,
    },
    /// Instances before `cutoff_time` train, the others are held out.
    CutoffTime {
        /// Seconds since the Unix epoch.
        cutoff_time: i64,
    },
    /// Fold `fold` of a stratified k-fold shuffled with `seed` is held out.
    Cv {
        /// Folds.
        num_folds: u32,
        /// Seed of the folds.
        seed: u64,
        /// The held-out fold, from 0.
        fold: u32,
    },
    /// `num_folds + 1` buckets of equal duration: the buckets up to `fold` train, bucket
    /// `fold + 1` is held out.
    TemporalCv {
        /// Folds.
        num_folds: u32,
        /// The fold, from 0.
        fold: u32,
    },
    /// Buckets of equal duration: `fold .. fold + num_train_buckets` train, the next
    /// `num_test_buckets` are held out.
    SlidingWindow {
        /// Buckets of the time range.
        num_buckets: u32,
        /// Training buckets.
        num_train_buckets: u32,
        /// Held-out buckets.
        num_test_buckets: u32,
        /// The fold, from 0.
        fold: u32,
    },
}

impl OuterSplit {
    /// Whether the split reads the instances' timestamps.
    pub fn is_temporal(&self) -> bool {
        matches!(
            self,
            OuterSplit::TemporalSplit { .. }
                | OuterSplit::CutoffTime { .. }
                | OuterSplit::TemporalCv { .. }
                | OuterSplit::SlidingWindow { .. }
        )
    }
}

/// Which side of a split a task reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The training side.
    Train,
    /// The held-out side.
    Test,
    /// Every row of the dataset.
    All,
    /// The rows without a label (UnlabeledLabeled's detection).
    Unlabeled,
}

/// The rows a task reads: a side of the outer split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowSelection {
    /// The outer split.
    pub outer: OuterSplit,
    /// Which side of it.
    pub side: Side,
}

/// Labelled rows a model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRows {
    /// Training dataset.
    pub data: DataRef,
    /// Where labels and families come from.
    pub annotations: AnnotationsSource,
    /// Training rows.
    pub rows: RowSelection,
}

/// Stratified folds of the hyperparameter search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldSpec {
    /// Number of folds.
    pub num_folds: u32,
    /// Shuffle within each class with `seed` (otherwise SecuML's order-based folds).
    pub shuffle: bool,
    /// Seed of the shuffle.
    pub seed: u64,
}

/// One point of a hyperparameter grid: a model class and its hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class")]
pub enum Hyper {
    /// Logistic regression.
    LogisticRegression {
        /// Inverse regularisation strength.
        c: f64,
        /// Penalty.
        penalty: Penalty,
        /// Solver (absent in tasks and models of earlier versions: liblinear).
        #[serde(default)]
        optim_algo: hyper::OptimAlgo,
    },
    /// Linear support vector classifier with probabilities.
    Svc(hyper::SvcHyper),
    /// Gaussian naive Bayes.
    GaussianNaiveBayes(hyper::GaussianNbHyper),
    /// Decision tree.
    DecisionTree(hyper::DecisionTreeHyper),
    /// Random forest.
    RandomForest(hyper::RandomForestHyper),
    /// Gradient boosting.
    GradientBoosting(hyper::GradientBoostingHyper),
    /// Label propagation (semi-supervised).
    LabelPropagation(hyper::LabelPropagationHyper),
    /// Semi-supervised SVDD.
    Sssvdd(hyper::SssvddHyper),
    /// Feedback-weighted isolation forest (semi-supervised).
    WeightedIsolationForest(hyper::WeightedIsolationForestHyper),
    /// Isolation forest (unsupervised).
    IsolationForest(hyper::IsolationForestHyper),
    /// Local outlier factor (unsupervised).
    Lof(hyper::LofHyper),
    /// One-class SVM (unsupervised).
    OneClassSvm(hyper::OneClassSvmHyper),
    /// Elliptic envelope (unsupervised).
    EllipticEnvelope(hyper::EllipticEnvelopeHyper),
}

/// The labels a model class learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Supervision {
    /// Labelled rows only; hyperparameters tuned by grid search.
    Supervised,
    /// Every training row, labelled or not; a single configuration.
    SemiSupervised,
    /// Every training row, labels ignored; a single configuration.
    Unsupervised,
}

impl Hyper {
    /// The model class, as SecuML names it.
    pub fn class_name(&self) -> &'static str {
        match self {
            Hyper::LogisticRegression { .. } => "LogisticRegression",
            Hyper::Svc(_) => "Svc",
            Hyper::GaussianNaiveBayes(_) => "GaussianNaiveBayes",
            Hyper::DecisionTree(_) => "DecisionTree",
            Hyper::RandomForest(_) => "RandomForest",
            Hyper::GradientBoosting(_) => "GradientBoosting",
            Hyper::LabelPropagation(_) => "LabelPropagation",
            Hyper::Sssvdd(_) => "Sssvdd",
            Hyper::WeightedIsolationForest(_) => "WeightedIsolationForest",
            Hyper::IsolationForest(_) => "IsolationForest",
            Hyper::Lof(_) => "Lof",
            Hyper::OneClassSvm(_) => "OneClassSvm",
            Hyper::EllipticEnvelope(_) => "EllipticEnvelope",
        }
    }

    /// The labels the class learns from.
    pub fn supervision(&self) -> Supervision {
        match self {
            Hyper::LabelPropagation(_) | Hyper::Sssvdd(_) | Hyper::WeightedIsolationForest(_) => {
                Supervision::SemiSupervised
            }
            Hyper::IsolationForest(_)
            | Hyper::Lof(_)
            | Hyper::OneClassSvm(_)
            | Hyper::EllipticEnvelope(_) => Supervision::Unsupervised,
            _ => Supervision::Supervised,
        }
    }

    /// Whether the class is fitted on standardised features (every class but the isolation
    /// forests, as SecuML's pipelines).
    pub fn standardises(&self) -> bool {
        !matches!(
            self,
            Hyper::IsolationForest(_) | Hyper::WeightedIsolationForest(_)
        )
    }

    /// The hyperparameters as a JSON object, without the class.
    pub fn params_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.remove("class");
        }
        v
    }
}

impl std::fmt::Display for Hyper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hyper::LogisticRegression {
                c,
                penalty,
                optim_algo: hyper::OptimAlgo::Liblinear,
            } => write!(f, "C={c} {penalty}"),
            Hyper::LogisticRegression {
                c,
                penalty,
                optim_algo,
            } => write!(f, "C={c} {penalty} {optim_algo}"),
            other => {
                let params = other.params_json();
                let mut first = true;
                for (k, v) in params.as_object().into_iter().flatten() {
                    if !first {
                        f.write_str(" ")?;
                    }
                    first = false;
                    match v {
                        serde_json::Value::String(s) => write!(f, "{k}={s}")?,
                        v => write!(f, "{k}={v}")?,
                    }
                }
                if first {
                    f.write_str(other.class_name())?;
                }
                Ok(())
            }
        }
    }
}

fn default_far() -> f64 {
    crate::job::DEFAULT_FAR
}

/// A contiguous range of rows `[start, end)` of a dataset, in dataset order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowRange {
    /// First row.
    pub start: u64,
    /// One past the last row.
    pub end: u64,
}

/// What a task does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum TaskKind {
    /// Fit one candidate on the other folds, score it on one fold.
    FitScore {
        /// Training dataset.
        data: DataRef,
        /// Where labels come from.
        annotations: AnnotationsSource,
        /// Rows of the search (the training side of the outer split).
        rows: RowSelection,
        /// The folds.
        folds: FoldSpec,
        /// The fold scored, from 0.
        fold: u32,
        /// The candidate.
        hyper: Hyper,
        /// What the fold's score measures.
        #[serde(default)]
        objective: Objective,
        /// The false discovery rate of [`Objective::DrAtFar`].
        #[serde(default = "default_far")]
        far: f64,
        /// Train on families (the score is then the accuracy on families).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        multiclass: bool,
    },
    /// Fit the chosen candidate on the whole training side; store the model.
    Refit {
        /// Experiment whose model this is.
        experiment_id: u64,
        /// Training dataset.
        data: DataRef,
        /// Where labels come from.
        annotations: AnnotationsSource,
        /// Training rows.
        rows: RowSelection,
        /// The chosen candidate.
        hyper: Hyper,
        /// The outer fold whose model this is (cross-validation modes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fold: Option<u32>,
        /// Seed of the model's random choices (the spec's).
        #[serde(default)]
        seed: u64,
        /// Train on families.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        multiclass: bool,
    },
    /// Apply the experiment's model to some rows; store predictions and metrics.
    Detect {
        /// Experiment whose model is applied.
        experiment_id: u64,
        /// Name of the detection: `train`, `test`, `validation:<dataset>`, or in the
        /// cross-validation modes `train-fold-<k>` and `test-fold-<k>`.
        detection: String,
        /// Dataset the rows come from.
        data: DataRef,
        /// Where the ground truth comes from (labels of the rows, when known).
        annotations: AnnotationsSource,
        /// Rows predicted.
        rows: RowSelection,
        /// Probability above which an instance is an alert.
        detection_threshold: f64,
        /// The outer fold whose model is applied (cross-validation modes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fold: Option<u32>,
        /// The experiment whose model is applied when it is not `experiment_id`'s own
        /// (`AlreadyTrained`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model_experiment: Option<u64>,
        /// Streaming: the rows are read shard by shard and predicted this many at a time,
        /// never the whole dataset in memory (validation datasets, [`Side::All`] only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream_batch: Option<u32>,
    },
    /// The alert analysis of a detection: reads its alerts from its predictions file, lists the
    /// highest scoring ones and a seeded random sample, and clusters them (their feature rows,
    /// encoded as the model's columns, standardised on the alerts) when `analysis` asks;
    /// result [`crate::AlertsResult`] under [`crate::keys::alerts`].
    Alerts {
        /// Experiment of the detection.
        experiment_id: u64,
        /// Name of the detection.
        detection: String,
        /// Dataset the detection predicted.
        data: DataRef,
        /// The detection's predictions file, relative to the datasets folder.
        predictions_file: String,
        /// The detection's threshold (the alerts are the rows above it).
        detection_threshold: f64,
        /// The experiment whose model the detection applied (its columns encode the features).
        model_experiment: u64,
        /// The outer fold whose model the detection applied (cross-validation modes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fold: Option<u32>,
        /// Seed of the random sample and of the clustering.
        seed: u64,
        /// How the alerts are grouped, if at all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        analysis: Option<AlertsAnalysis>,
        /// The model's training rows, where an alert classification learns the families.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        training: Option<TrainingRows>,
    },
    /// The dataset's shape and the column moments (count, mean, squared deviations) of each
    /// block of `block_rows` encoded rows, one pass; result [`crate::ClusterStatsResult`].
    ClusterStats {
        /// Dataset.
        data: DataRef,
        /// Rows per block.
        block_rows: u64,
    },
    /// Greedy k-means++ for one run on the whole standardised dataset; result
    /// [`crate::KmeansInitResult`].
    KmeansInit {
        /// Dataset.
        data: DataRef,
        /// Standardisation of every column.
        scaling: StandardScaling,
        /// Clusters.
        num_clusters: u32,
        /// Run index, from 0.
        run: u32,
        /// Seed of this run.
        seed: u64,
    },
    /// One Lloyd partial step on a block for every centroid set stored under `centroids_key`
    /// ([`crate::KmeansCentroidSets`]); result [`crate::KmeansStepResult`].
    KmeansStep {
        /// Dataset.
        data: DataRef,
        /// Block index, from 0.
        block: u32,
        /// Rows of the block.
        rows: RowRange,
        /// Standardisation of every column.
        scaling: StandardScaling,
        /// Store key of the centroid sets of this iteration.
        centroids_key: String,
        /// Iteration (pass over the data) this step belongs to, from 0.
        iteration: u32,
    },
    /// Final assignment of a block to the chosen centroids (the single set under
    /// `centroids_key`): writes the block's assignments Parquet file, reports each cluster's
    /// label and family mix; result [`crate::KmeansAssignResult`].
    KmeansAssign {
        /// Experiment the assignments belong to.
        experiment_id: u64,
        /// Dataset.
        data: DataRef,
        /// Block index, from 0.
        block: u32,
        /// Rows of the block.
        rows: RowRange,
        /// Standardisation of every column.
        scaling: StandardScaling,
        /// Store key of the chosen centroids.
        centroids_key: String,
        /// Where labels and families come from, if anywhere.
        annotations: Option<AnnotationsSource>,
    },
    /// Does nothing but the bookkeeping every task has (result write, events, outcome,
    /// acknowledgement): measures the overhead a task adds, and checks a deployment end to end.
    Noop {
        /// Bytes of the result written (a string of that length).
        result_bytes: u32,
    },
}

impl TaskKind {
    /// A short human label for progress displays.
    pub fn label(&self) -> String {
        match self {
            TaskKind::FitScore { fold, hyper, .. } => format!("fit {hyper} fold {fold}"),
            TaskKind::Refit { hyper, .. } => format!("refit {hyper}"),
            TaskKind::Detect { detection, .. } => format!("detect {detection}"),
            TaskKind::Alerts { detection, .. } => format!("alerts {detection}"),
            TaskKind::ClusterStats { .. } => "column statistics".to_string(),
            TaskKind::KmeansInit { run, .. } => format!("k-means++ run {run}"),
            TaskKind::KmeansStep {
                block, iteration, ..
            } => format!("k-means step {iteration} block {block}"),
            TaskKind::KmeansAssign { block, .. } => format!("k-means assign block {block}"),
            TaskKind::Noop { .. } => "no-op".to_string(),
        }
    }
}

/// A task message as published on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskMessage {
    /// Must equal [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// Job the task belongs to.
    pub job_id: String,
    /// Task id, unique in the job and stable across attempts.
    pub task_id: String,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// What to do.
    pub kind: TaskKind,
}

/// What a worker reports once a task's result is stored (or the task failed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskOutcome {
    /// Must equal [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// Job id.
    pub job_id: String,
    /// Task id.
    pub task_id: String,
    /// Attempt number.
    pub attempt: u32,
    /// Worker id.
    pub worker: String,
    /// Wall time spent on the task.
    pub seconds: f64,
    /// `Ok` once the result is stored under [`crate::keys::task_result`].
    pub result: Result<(), TaskFailure>,
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not valid JSON of the expected shape.
    #[error("message does not parse: {0}")]
    Parse(#[from] serde_json::Error),
    /// Another protocol version.
    #[error("protocol version {found} is not the supported version {expected}")]
    Version {
        /// Version in the message.
        found: u32,
        /// Version of this build.
        expected: u32,
    },
}

/// The message on a job's outcome queue: the outcomes of one or more of its tasks, each
/// already recorded in [`crate::keys::job_outcomes`]. A worker sends together the outcomes
/// that finished while its previous message awaited the broker's confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeBatch {
    /// Must equal [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// Outcomes of tasks of one job, in the order they finished.
    pub outcomes: Vec<TaskOutcome>,
}

/// Checks the protocol version of a message before it is parsed whole.
fn check_version(bytes: &[u8]) -> Result<(), DecodeError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        protocol_version: u32,
    }
    let v: VersionOnly = serde_json::from_slice(bytes)?;
    if v.protocol_version != crate::PROTOCOL_VERSION {
        return Err(DecodeError::Version {
            found: v.protocol_version,
            expected: crate::PROTOCOL_VERSION,
        });
    }
    Ok(())
}

/// Parses a task message and checks its protocol version.
pub fn decode_task(bytes: &[u8]) -> Result<TaskMessage, DecodeError> {
    check_version(bytes)?;
    Ok(serde_json::from_slice(bytes)?)
}

/// Parses an outcome message ([`OutcomeBatch`]) and checks its protocol version.
pub fn decode_outcomes(bytes: &[u8]) -> Result<Vec<TaskOutcome>, DecodeError> {
    check_version(bytes)?;
    Ok(serde_json::from_slice::<OutcomeBatch>(bytes)?.outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> TaskMessage {
        TaskMessage {
            protocol_version: crate::PROTOCOL_VERSION,
            job_id: "j1".into(),
            task_id: "fit-0-0".into(),
            attempt: 1,
            kind: TaskKind::FitScore {
                data: DataRef {
                    project: "p".into(),
                    dataset: "d".into(),
                    manifest_sha256: "00".into(),
                },
                annotations: AnnotationsSource::GroundTruth,
                rows: RowSelection {
                    outer: OuterSplit::Whole,
                    side: Side::Train,
                },
                folds: FoldSpec {
                    num_folds: 4,
                    shuffle: false,
                    seed: 0,
                },
                fold: 0,
                hyper: Hyper::LogisticRegression {
                    c: 0.1,
                    penalty: Penalty::L1,
                    optim_algo: Default::default(),
                },
                objective: Objective::Ndcg,
                far: 0.05,
                multiclass: false,
            },
        }
    }

    #[test]
    fn task_round_trips() {
        let m = message();
        let bytes = serde_json::to_vec(&m).unwrap();
        assert_eq!(decode_task(&bytes).unwrap(), m);
        assert_eq!(m.kind.label(), "fit C=0.1 l1 fold 0");
    }

    #[test]
    fn other_version_and_garbage_are_refused() {
        let mut m = message();
        m.protocol_version = 99;
        let bytes = serde_json::to_vec(&m).unwrap();
        assert!(matches!(
            decode_task(&bytes),
            Err(DecodeError::Version { found: 99, .. })
        ));
        assert!(matches!(
            decode_task(b"{not json"),
            Err(DecodeError::Parse(_))
        ));
    }

    #[test]
    fn outcome_batches_round_trip_and_other_versions_are_refused() {
        let outcome = |task_id: &str, result| TaskOutcome {
            protocol_version: crate::PROTOCOL_VERSION,
            job_id: "j1".into(),
            task_id: task_id.into(),
            attempt: 2,
            worker: "w/0".into(),
            seconds: 0.5,
            result,
        };
        let mut batch = OutcomeBatch {
            protocol_version: crate::PROTOCOL_VERSION,
            outcomes: vec![
                outcome("a", Ok(())),
                outcome("b", Err(crate::TaskFailure::transient("reset"))),
            ],
        };
        let bytes = serde_json::to_vec(&batch).unwrap();
        assert_eq!(decode_outcomes(&bytes).unwrap(), batch.outcomes);
        batch.protocol_version = 99;
        let bytes = serde_json::to_vec(&batch).unwrap();
        assert!(matches!(
            decode_outcomes(&bytes),
            Err(DecodeError::Version { found: 99, .. })
        ));
        // A bare outcome is not a batch.
        let bytes = serde_json::to_vec(&outcome("a", Ok(()))).unwrap();
        assert!(matches!(
            decode_outcomes(&bytes),
            Err(DecodeError::Parse(_))
        ));
    }
}
