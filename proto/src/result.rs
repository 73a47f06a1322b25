//! Result records: what workers store and what the dashboard reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::job::Objective;
use crate::task::{DataRef, Hyper};

/// Version of the stored model format ([`StoredModel`]). Version 2: every model class (the
/// fitted model in `model`), optional standardisation, score quantiles, importances, and for a
/// multiclass model its class labels (`classes`; absent for a binary model).
pub const MODEL_FORMAT_VERSION: u32 = 2;

/// The score of one candidate on one fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitScoreResult {
    /// The candidate.
    pub hyper: Hyper,
    /// The fold scored.
    pub fold: u32,
    /// The objective's value on the fold.
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

/// What a stored model's scores are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ModelOutput {
    /// The probability that an instance is malicious, in [0, 1].
    #[default]
    Probability,
    /// An anomaly score, unbounded: the higher, the more likely malicious.
    Score,
}

/// A trained model, as stored (versioned, self-contained): format version 2.
///
/// `model` is the engine's fitted model in its serde form, tagged by `class`
/// (`secuml_engine::model::FittedModel`); the other fields are what every reader needs without
/// the engine: the columns and standardisation it expects, what its scores mean, and what it
/// says about its features. A reader refuses another `format_version`, and a dataset whose
/// encoded columns differ from `columns`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredModel {
    /// Must equal [`MODEL_FORMAT_VERSION`].
    pub format_version: u32,
    /// The hyperparameters.
    pub hyper: Hyper,
    /// Dataset it was trained on.
    pub trained_on: DataRef,
    /// Encoded columns, in order (the encoder, fixed at training).
    pub columns: Vec<EncodedColumn>,
    /// Standardisation fitted on the training rows; `None` for the classes that use raw
    /// features (the isolation forests).
    pub scaling: Option<StandardScaling>,
    /// What the model's scores are.
    pub output: ModelOutput,
    /// For [`ModelOutput::Score`]: 101 quantiles (0 %, 1 %, ..., 100 %) of the training rows'
    /// scores, which map a score to the share of training rows scoring lower (the value
    /// thresholds apply to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_quantiles: Option<Vec<f64>>,
    /// Linear models: one coefficient per encoded column, on the standardised columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coefficients: Option<Vec<f64>>,
    /// Tree models: one importance per encoded column (mean decrease in impurity, summing to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importances: Option<Vec<f64>>,
    /// Multiclass linear models: one coefficient per encoded column for each family's
    /// one-vs-rest model (that family against the others), on the standardised columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_coefficients: Option<Vec<FamilyCoefficients<f64>>>,
    /// Rows it was trained on.
    pub n_train: u64,
    /// Solver iterations (0 where the class has none).
    pub iterations: u32,
    /// A multiclass model's class labels (the training families, sorted), in the order of its
    /// class probabilities; `None` for a binary model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// The fitted model itself.
    pub model: serde_json::Value,
}

impl StoredModel {
    /// Maps a score to the share of training rows scoring lower, in [0, 1] (linear between the
    /// stored quantiles); a probability is returned unchanged.
    pub fn threshold_value(&self, score: f64) -> f64 {
        let Some(q) = self.score_quantiles.as_deref().filter(|q| q.len() >= 2) else {
            return score;
        };
        let last = q.len() - 1;
        if score <= q[0] {
            return 0.0;
        }
        if score >= q[last] {
            return 1.0;
        }
        // First quantile above the score: q[i - 1] <= score < q[i].
        let i = q.partition_point(|v| *v <= score);
        let (lo, hi) = (q[i - 1], q[i]);
        let frac = if hi > lo {
            (score - lo) / (hi - lo)
        } else {
            0.0
        };
        ((i - 1) as f64 + frac) / last as f64
    }
}

/// Cross-validation results of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvCandidate {
    /// The candidate.
    pub hyper: Hyper,
    /// Mean objective over the folds (NaN, stored as `null`, when a fold's objective is
    /// undefined).
    #[serde(with = "nan_as_null")]
    pub mean: f64,
    /// Standard deviation (population) over the folds.
    #[serde(with = "nan_as_null")]
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

/// The coefficients of one family's model in a multiclass linear model (one-vs-rest: that
/// family against every other): raw values per encoded column in a [`StoredModel`], named
/// [`Coefficient`]s in a [`TrainSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyCoefficients<T> {
    /// The family.
    pub family: String,
    /// Its model's coefficients.
    pub coefficients: Vec<T>,
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
    /// Its mean objective; NaN without a search (a single candidate, nothing scored), stored as
    /// `null`.
    #[serde(with = "nan_as_null")]
    pub best_score: f64,
    /// Every candidate, in grid order.
    pub candidates: Vec<CvCandidate>,
    /// Coefficients sorted by decreasing absolute value (linear models; empty otherwise).
    pub coefficients: Vec<Coefficient>,
    /// Feature importances sorted by decreasing value (tree models; empty otherwise).
    #[serde(default)]
    pub importances: Vec<Coefficient>,
    /// Multiclass linear models: each family's coefficients, sorted by decreasing absolute
    /// value, families in class order (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub family_coefficients: Vec<FamilyCoefficients<Coefficient>>,
    /// What the model's scores are.
    #[serde(default)]
    pub output: ModelOutput,
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

/// How many malicious rows of one family a detection flagged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FamilyDetection {
    /// Labelled malicious rows of the family.
    pub n: u64,
    /// Those flagged (above the threshold).
    pub detected: u64,
    /// `detected / n`.
    pub detection_rate: f64,
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
    /// Parquet file of the predictions, relative to the datasets folder of the data root
    /// (`<project>/<dataset>/predictions/<experiment>/<detection>.parquet`).
    pub predictions_file: Option<String>,
    /// Detection rate at the threshold of each family of the labelled malicious rows, by
    /// family name (known when the dataset has families).
    #[serde(default)]
    pub family_detection: BTreeMap<String, FamilyDetection>,
    /// A multiclass model's indicators on the rows with a known family; `None` for a binary
    /// model (whose indicators are the fields above, empty for a multiclass one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiclass: Option<MulticlassIndicators>,
    /// Instances whose value is above the detection threshold.
    #[serde(default)]
    pub n_alerts: u64,
    /// Prediction time in seconds.
    pub seconds: f64,
}

/// A multiclass detection's indicators, scikit-learn's definitions: the accuracy, and the F1
/// score averaged over the families of the rows and of the predictions, micro (from the total
/// counts; equal to the accuracy) and macro (the unweighted mean of each family's F1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MulticlassIndicators {
    /// Rows with a known family.
    pub n: u64,
    /// Share of them whose family is predicted.
    pub accuracy: f64,
    /// Micro-averaged F1.
    pub f1_micro: f64,
    /// Macro-averaged F1.
    pub f1_macro: f64,
    /// The families of the rows and of the predictions, sorted: the confusion matrix's rows
    /// and columns.
    pub labels: Vec<String>,
    /// `confusion[i][j]`: rows of family `labels[i]` predicted `labels[j]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Column moments of a block of encoded rows (a `ClusterStats` task's result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMomentsResult {
    /// Rows.
    pub count: u64,
    /// Mean of each encoded column.
    pub mean: Vec<f64>,
    /// Sum of squared deviations from the mean of each column.
    pub m2: Vec<f64>,
}

/// A `ClusterStats` task's result: the dataset's shape and each block's column moments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatsResult {
    /// Rows of the dataset.
    pub n_rows: u64,
    /// Encoded column names, in order.
    pub columns: Vec<String>,
    /// Moments of each block, in row order.
    pub blocks: Vec<ColumnMomentsResult>,
}

/// The initial centroids of one k-means run (a `KmeansInit` task's result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmeansInitResult {
    /// Run index.
    pub run: u32,
    /// Centroids in the standardised space, one row per cluster.
    pub centroids: Vec<Vec<f64>>,
}

/// The centroid sets a k-means iteration evaluates, stored under a job key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmeansCentroidSets {
    /// Iteration, from 0.
    pub iteration: u32,
    /// Run index of each set.
    pub runs: Vec<u32>,
    /// Each set's centroids (standardised space), one row per cluster.
    pub sets: Vec<Vec<Vec<f64>>>,
}

/// A block's contribution to one centroid set's update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmeansPartial {
    /// Sum of the block's rows closest to each centre (standardised space).
    pub sums: Vec<Vec<f64>>,
    /// Rows closest to each centre.
    pub counts: Vec<u64>,
    /// Sum of squared distances of the block's rows to their closest centre.
    pub inertia: f64,
}

/// A `KmeansStep` task's result: one partial per centroid set, in the sets' order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmeansStepResult {
    /// Iteration.
    pub iteration: u32,
    /// Block index.
    pub block: u32,
    /// One per set.
    pub partials: Vec<KmeansPartial>,
}

/// Instances of one cluster by label and family.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterMix {
    /// Instances.
    pub size: u64,
    /// Labelled malicious.
    pub malicious: u64,
    /// Labelled benign.
    pub benign: u64,
    /// Without a label.
    pub unlabeled: u64,
    /// Instances per family (only those with one).
    #[serde(default)]
    pub families: BTreeMap<String, u64>,
}

impl ClusterMix {
    /// Adds the counts of `other`.
    pub fn add(&mut self, other: &ClusterMix) {
        self.size += other.size;
        self.malicious += other.malicious;
        self.benign += other.benign;
        self.unlabeled += other.unlabeled;
        for (f, c) in &other.families {
            *self.families.entry(f.clone()).or_default() += c;
        }
    }
}

/// Alerts listed per view (SecuML's `NUM_MAX_DISPLAY`).
pub const MAX_ALERTS_LISTED: usize = 100;

/// One alert of a detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    /// Instance id.
    pub instance_id: i64,
    /// Readable name.
    pub ident: String,
    /// The model's score (probability, or anomaly score).
    pub score: f64,
    /// Label, when known.
    pub label: Option<bool>,
    /// Family, when known.
    pub family: Option<String>,
}

/// One group of alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertCluster {
    /// Name: the cluster index from 0, or `noise` for DBSCAN's noise.
    pub name: String,
    /// Its label and family mix (size included).
    pub mix: ClusterMix,
    /// Up to [`MAX_ALERTS_LISTED`] of its alerts, by decreasing score (dataset order on ties).
    pub alerts: Vec<AlertRow>,
}

/// The alert analysis of a detection, stored under [`crate::keys::alerts`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsResult {
    /// The detection.
    pub detection: String,
    /// The threshold the alerts are above.
    pub detection_threshold: f64,
    /// Alerts.
    pub n_alerts: u64,
    /// The highest scoring alerts, up to [`MAX_ALERTS_LISTED`], by decreasing score (dataset
    /// order on ties).
    pub top: Vec<AlertRow>,
    /// A sample of up to [`MAX_ALERTS_LISTED`] alerts drawn without replacement with the job's
    /// seed, in dataset order.
    pub random: Vec<AlertRow>,
    /// The clustering algorithm, when the alerts were clustered.
    pub algo: Option<String>,
    /// The clusters (DBSCAN's noise last), or with an alert classification one group per
    /// predicted family; empty unless grouped.
    pub clusters: Vec<AlertCluster>,
    /// The groups are the families an alert classification (of class `algo`) named, not
    /// clusters.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub classified: bool,
    /// Why the asked-for grouping was not done (an alert classification with fewer than 2
    /// malicious families to learn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Wall time of the analysis.
    pub seconds: f64,
}

/// A `KmeansAssign` task's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmeansAssignResult {
    /// Block index.
    pub block: u32,
    /// Per cluster mix of the block's rows.
    pub clusters: Vec<ClusterMix>,
    /// Sum of squared distances of the block's rows to their centre.
    pub inertia: f64,
    /// The block's assignments Parquet file, relative to the datasets folder.
    pub file: String,
}

/// One cluster of a clustering result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// Cluster index, from 0.
    pub cluster: u32,
    /// Its centre in the standardised space.
    pub centroid: Vec<f64>,
    /// Its label and family mix (size always; labels and families when annotations exist).
    pub mix: ClusterMix,
}

/// The result of a clustering experiment, stored under [`crate::keys::clustering`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringResult {
    /// Algorithm (`Kmeans`).
    pub algo: String,
    /// Clusters.
    pub num_clusters: u32,
    /// Rows clustered.
    pub n_rows: u64,
    /// Encoded columns, in order (the centroids' coordinates).
    pub columns: Vec<String>,
    /// Every cluster, by index.
    pub clusters: Vec<ClusterSummary>,
    /// Inertia (sum of squared distances to the closest centre, standardised space) of the
    /// best run.
    pub inertia: f64,
    /// Lloyd updates of the best run.
    pub iterations: u32,
    /// Index of the best run (lowest inertia, first on ties).
    pub best_run: u32,
    /// Inertia of every run.
    pub run_inertias: Vec<f64>,
    /// Lloyd updates of every run.
    pub run_iterations: Vec<u32>,
    /// Whether label counts are meaningful (annotations were given).
    pub has_labels: bool,
    /// Whether family counts are meaningful.
    pub has_families: bool,
    /// Assignments Parquet files (`instance_id`, `ident`, `cluster`, `distance`), one per
    /// block in row order, relative to the datasets folder.
    pub assignments_files: Vec<String>,
    /// Wall time of the job in seconds.
    pub seconds: f64,
}

/// An `f64` that may be NaN, as JSON: `null` for NaN (JSON has no NaN, and serde_json writes a
/// NaN as `null` but refuses to read `null` back as an `f64`), a number otherwise.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes NaN as `null`.
    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_nan() {
            serializer.serialize_none()
        } else {
            serializer.serialize_f64(*value)
        }
    }

    /// Reads `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }

    #[cfg(test)]
    mod tests {
        #[derive(Debug, serde::Serialize, serde::Deserialize)]
        struct Score {
            #[serde(with = "super")]
            value: f64,
        }

        #[test]
        fn nan_round_trips_through_null() {
            let json = serde_json::to_string(&Score { value: f64::NAN }).unwrap();
            assert_eq!(json, r#"{"value":null}"#);
            let back: Score = serde_json::from_str(&json).unwrap();
            assert!(back.value.is_nan());
            let back: Score = serde_json::from_str(r#"{"value":0.25}"#).unwrap();
            assert_eq!(back.value, 0.25);
            assert!(serde_json::from_str::<Score>(r#"{"value":"x"}"#).is_err());
        }
    }
}
