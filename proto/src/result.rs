//! Result records: what workers store and what the dashboard reads.

use serde::{Deserialize, Serialize};

use crate::job::Objective;
use crate::task::{DataRef, Hyper};

/// Version of the stored model format ([`LogisticModel`]).
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// The score of one candidate on one fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitScoreResult {
    /// The candidate.
    pub hyper: Hyper,
    /// The fold scored.
    pub fold: u32,
    /// Objective value on the fold (ROC AUC).
    pub score: f64,
    /// Rows the candidate was fitted on.
    pub n_train: u64,
    /// Rows it was scored on.
    pub n_test: u64,
    /// Fit time in seconds.
    pub fit_seconds: f64,
    /// Solver iterations of the fit.
    pub iterations: u32,
}

/// One column of the encoded feature matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedColumn {
    /// Id of the source feature.
    pub feature: String,
    /// For a one-hot column, the category it indicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl EncodedColumn {
    /// Display name: the feature id, or `feature=category`.
    pub fn name(&self) -> String {
        match &self.category {
            Some(c) => format!("{}={}", self.feature, c),
            None => self.feature.clone(),
        }
    }
}

/// Per-column standardisation: `(x - mean) / scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardScaling {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (1 for constant columns).
    pub scale: Vec<f64>,
}

/// A trained logistic regression, as stored (versioned, self-contained).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// Must equal [`MODEL_FORMAT_VERSION`].
    pub format_version: u32,
    /// The hyperparameters.
    pub hyper: Hyper,
    /// Dataset it was trained on.
    pub trained_on: DataRef,
    /// Encoded columns, in order (the encoder, fixed at training).
    pub columns: Vec<EncodedColumn>,
    /// Standardisation fitted on the training rows.
    pub scaling: StandardScaling,
    /// One coefficient per encoded column; no intercept.
    pub coefficients: Vec<f64>,
    /// Rows it was trained on.
    pub n_train: u64,
    /// Solver iterations.
    pub iterations: u32,
}

/// Cross-validation results of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvCandidate {
    /// The candidate.
    pub hyper: Hyper,
    /// Mean objective over the folds.
    pub mean: f64,
    /// Standard deviation (population) over the folds.
    pub std: f64,
    /// Objective per fold.
    pub per_fold: Vec<f64>,
}

/// One coefficient of a linear model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// Encoded column name.
    pub feature: String,
    /// Coefficient on the standardised column.
    pub value: f64,
}

/// Execution times of the training, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainTimes {
    /// Search for the best hyperparameters (wall time of the search stage).
    pub search_seconds: f64,
    /// Refit of the best candidate.
    pub training_seconds: f64,
    /// Whole job.
    pub total_seconds: f64,
}

/// Summary of a training: the search, the chosen candidate, the model's coefficients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Model class.
    pub model_class: String,
    /// Objective of the search.
    pub objective: Objective,
    /// Chosen candidate.
    pub best: Hyper,
    /// Its mean objective.
    pub best_score: f64,
    /// Every candidate, in grid order.
    pub candidates: Vec<CvCandidate>,
    /// Coefficients sorted by decreasing absolute value.
    pub coefficients: Vec<Coefficient>,
    /// Training rows.
    pub n_train: u64,
    /// Model fits run (candidates x folds + refit).
    pub num_fits: u32,
    /// Execution times.
    pub times: TrainTimes,
}

/// Confusion matrix at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Confusion {
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// True negatives.
    pub tn: u64,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: u64,
}

/// Indicators at one detection threshold (an instance is flagged when its probability is above it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdIndicators {
    /// The threshold, in [0, 1].
    pub threshold: f64,
    /// TP / (TP + FN).
    pub detection_rate: f64,
    /// SecuML's false alarm rate: the false discovery rate FP / (FP + TP).
    pub false_alarm_rate: f64,
    /// TP / (TP + FP).
    pub precision: f64,
    /// Harmonic mean of precision and detection rate.
    pub f_score: f64,
    /// False positive rate FP / (FP + TN).
    pub false_positive_rate: f64,
    /// (TP + TN) / N.
    pub accuracy: f64,
    /// The counts.
    pub confusion: Confusion,
}

/// Histogram of predicted probabilities, by label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bin edges (bins + 1 values, from 0 to 1).
    pub edges: Vec<f64>,
    /// Counts of benign instances per bin.
    pub benign: Vec<u64>,
    /// Counts of malicious instances per bin.
    pub malicious: Vec<u64>,
    /// Counts of instances without a label per bin.
    pub unlabeled: Vec<u64>,
}

/// One detection: a model applied to a set of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionResult {
    /// `train`, `test` or `validation:<dataset>`.
    pub name: String,
    /// Dataset of the rows.
    pub dataset: String,
    /// Rows predicted.
    pub n_instances: u64,
    /// Rows with a known label.
    pub n_labeled: u64,
    /// Malicious rows among them.
    pub n_malicious: u64,
    /// The threshold of the alerts and of `confusion`.
    pub detection_threshold: f64,
    /// ROC AUC, when both labels occur.
    pub auc: Option<f64>,
    /// Confusion matrix at `detection_threshold`.
    pub confusion: Option<Confusion>,
    /// Indicators at `detection_threshold`.
    pub indicators: Option<ThresholdIndicators>,
    /// Indicators at the 101 thresholds 0, 0.01, ..., 1.
    pub thresholds: Vec<ThresholdIndicators>,
    /// ROC curve as (false positive rate, detection rate) points.
    pub roc: Vec<[f64; 2]>,
    /// FAR-DR curve as (false alarm rate, detection rate) points.
    pub far_dr: Vec<[f64; 2]>,
    /// Histogram of the predicted probabilities.
    pub histogram: Histogram,
    /// Parquet file of the predictions, relative to the data root.
    pub predictions_file: Option<String>,
    /// Prediction time in seconds.
    pub seconds: f64,
}
