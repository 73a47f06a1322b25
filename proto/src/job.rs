//! Job specs: what a user submits, validated once before any task exists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hyper;
use crate::task::{Hyper, Supervision};

/// A job submitted to the coordinator.
// A spec is built once per job and moved a few times: boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum JobSpec {
    /// A DIADEM experiment: train, tune, validate a detection model.
    Diadem(DiademSpec),
    /// A clustering of a dataset's instances (SecuML's `SecuML_clustering`).
    Clustering(ClusteringSpec),
}

impl JobSpec {
    /// Checks every parameter; a bad one is refused with its name.
    pub fn validate(&self) -> Result<(), SpecError> {
        match self {
            JobSpec::Diadem(spec) => spec.validate(),
            JobSpec::Clustering(spec) => spec.validate(),
        }
    }
}

/// A parameter that failed validation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid parameter `{param}`: {reason}")]
pub struct SpecError {
    /// Name of the parameter, as the command line spells it.
    pub param: String,
    /// What was expected.
    pub reason: String,
}

impl SpecError {
    fn new(param: &str, reason: impl Into<String>) -> Self {
        Self {
            param: param.to_string(),
            reason: reason.into(),
        }
    }
}

/// Where the training labels come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", content = "file", rename_all = "snake_case")]
pub enum AnnotationsSource {
    /// The `label` column of `idents.csv`.
    GroundTruth,
    /// An annotations file of the dataset (`annotations/<file>`).
    File(String),
}

/// How the model is validated (SecuML's `--validation-mode`).
///
/// Every split is over the labelled instances of the training dataset (except
/// UnlabeledLabeled's detection, on the unlabelled ones) and is seeded where it is random.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode")]
pub enum ValidationSpec {
    /// A stratified, seeded random split of the training dataset.
    RandomSplit {
        /// Fraction of the instances held out for validation, in (0, 1).
        test_size: f64,
    },
    /// Train on the whole dataset, validate on other datasets of the project.
    ValidationDatasets {
        /// Dataset names, at least one, no duplicates.
        datasets: Vec<String>,
    },
    /// The most recent `test_size` of the instances (by timestamp) are held out.
    TemporalSplit {
        /// Fraction of the instances held out, in (0, 1).
        test_size: f64,
    },
    /// Train on the instances before `cutoff_time`, validate on those at or after it.
    CutoffTime {
        /// Seconds since the Unix epoch (UTC), as idents.csv's timestamps are read.
        cutoff_time: i64,
    },
    /// Stratified, seeded k-fold cross-validation: each fold is held out once.
    Cv {
        /// Outer folds, at least 2.
        num_folds: u32,
    },
    /// `num_folds + 1` buckets of equal duration; fold `i` trains on the buckets before
    /// bucket `i + 1` and validates on it.
    TemporalCv {
        /// Outer folds, at least 1.
        num_folds: u32,
    },
    /// `num_buckets` buckets of equal duration; fold `i` trains on the buckets
    /// `i .. i + num_train_buckets` and validates on the next `num_test_buckets`.
    SlidingWindow {
        /// Buckets of the time range.
        num_buckets: u32,
        /// Buckets a model trains on.
        num_train_buckets: u32,
        /// Buckets it is validated on.
        num_test_buckets: u32,
    },
    /// Train on the labelled instances, predict the unlabelled ones (no performance).
    UnlabeledLabeled,
}

fn check_range(
    param: &str,
    value: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<(), SpecError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(SpecError::new(
            param,
            format!("{value} is not in [{}, {}]", range.start(), range.end()),
        ))
    }
}

/// SecuML's default outer folds of Cv and TemporalCv (`--num-folds-val`, `--num-folds-val-temp`).
pub const DEFAULT_VALIDATION_FOLDS: u32 = 4;
/// SecuML's default `--num-buckets` of SlidingWindow.
pub const DEFAULT_BUCKETS: u32 = 10;
/// SecuML's default `--num-train-buckets` of SlidingWindow.
pub const DEFAULT_TRAIN_BUCKETS: u32 = 4;
/// SecuML's default `--num-test-buckets` of SlidingWindow.
pub const DEFAULT_TEST_BUCKETS: u32 = 1;

impl ValidationSpec {
    /// SecuML's name of the mode.
    pub fn mode_name(&self) -> &'static str {
        match self {
            ValidationSpec::RandomSplit { .. } => "RandomSplit",
            ValidationSpec::ValidationDatasets { .. } => "ValidationDatasets",
            ValidationSpec::TemporalSplit { .. } => "TemporalSplit",
            ValidationSpec::CutoffTime { .. } => "CutoffTime",
            ValidationSpec::Cv { .. } => "Cv",
            ValidationSpec::TemporalCv { .. } => "TemporalCv",
            ValidationSpec::SlidingWindow { .. } => "SlidingWindow",
            ValidationSpec::UnlabeledLabeled => "UnlabeledLabeled",
        }
    }

    /// Whether the mode splits by time (and so needs the dataset's timestamps).
    pub fn is_temporal(&self) -> bool {
        matches!(
            self,
            ValidationSpec::TemporalSplit { .. }
                | ValidationSpec::CutoffTime { .. }
                | ValidationSpec::TemporalCv { .. }
                | ValidationSpec::SlidingWindow { .. }
        )
    }

    /// Whether the mode holds instances out at random (where a temporal mode would reflect a
    /// deployment better, when the dataset has timestamps).
    pub fn is_random(&self) -> bool {
        matches!(
            self,
            ValidationSpec::RandomSplit { .. } | ValidationSpec::Cv { .. }
        )
    }

    /// Outer folds, each trained, searched, refitted and validated on its own: `Some` for the
    /// cross-validation modes (Cv, TemporalCv, SlidingWindow), `None` for one split.
    pub fn outer_folds(&self) -> Option<u32> {
        match self {
            ValidationSpec::Cv { num_folds } | ValidationSpec::TemporalCv { num_folds } => {
                Some(*num_folds)
            }
            ValidationSpec::SlidingWindow {
                num_buckets,
                num_train_buckets,
                num_test_buckets,
            } => Some((*num_buckets + 1).saturating_sub(*num_train_buckets + *num_test_buckets)),
            _ => None,
        }
    }

    fn validate(&self) -> Result<(), SpecError> {
        match self {
            ValidationSpec::RandomSplit { test_size }
            | ValidationSpec::TemporalSplit { test_size } => {
                if !(*test_size > 0.0 && *test_size < 1.0) {
                    return Err(SpecError::new(
                        "test-size",
                        format!("{test_size} is not in (0, 1)"),
                    ));
                }
            }
            ValidationSpec::ValidationDatasets { datasets } => {
                if datasets.is_empty() {
                    return Err(SpecError::new(
                        "validation-datasets",
                        "expected at least one dataset",
                    ));
                }
                for (i, d) in datasets.iter().enumerate() {
                    check_name("validation-datasets", d)?;
                    if datasets[..i].contains(d) {
                        return Err(SpecError::new(
                            "validation-datasets",
                            format!("`{d}` is given twice"),
                        ));
                    }
                }
            }
            ValidationSpec::CutoffTime { .. } | ValidationSpec::UnlabeledLabeled => {}
            ValidationSpec::Cv { num_folds } => {
                check_range("validation-folds", *num_folds, 2..=1000)?
            }
            ValidationSpec::TemporalCv { num_folds } => {
                check_range("validation-folds", *num_folds, 1..=1000)?
            }
            ValidationSpec::SlidingWindow {
                num_buckets,
                num_train_buckets,
                num_test_buckets,
            } => {
                check_range("buckets", *num_buckets, 2..=1000)?;
                check_range("train-buckets", *num_train_buckets, 1..=1000)?;
                check_range("test-buckets", *num_test_buckets, 1..=1000)?;
                if num_train_buckets + num_test_buckets > *num_buckets {
                    return Err(SpecError::new(
                        "buckets",
                        format!(
                            "{num_buckets} buckets cannot hold {num_train_buckets} train and {num_test_buckets} test buckets"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Hyperparameter search objective (SecuML's `--objective-func`), computed on each fold's
/// scored instances from the candidate's predicted probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Objective {
    /// Area under the ROC curve (scikit-learn's `roc_auc_score`).
    #[default]
    RocAuc,
    /// Share of instances classified correctly at the threshold 0.5 (`accuracy_score`).
    Accuracy,
    /// Normalised discounted cumulative gain of the ranking by decreasing probability, with
    /// binary relevance malicious = 1 (`ndcg_score`).
    Ndcg,
    /// Highest detection rate among the thresholds whose false alarm rate is at most `far`,
    /// the false alarm rate being SecuML's: the false discovery rate FP / (FP + TP), not the
    /// false positive rate.
    DrAtFar,
}

/// SecuML's default `--far` of the DrAtFar objective.
pub const DEFAULT_FAR: f64 = 0.05;

fn default_far() -> f64 {
    DEFAULT_FAR
}

/// SecuML's default `--stream-batch`: rows predicted at a time when streaming.
pub const DEFAULT_STREAM_BATCH: u32 = 1000;

/// Regularisation of a logistic regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    /// Lasso: sum of absolute weights.
    L1,
    /// Ridge: half the squared norm.
    L2,
}

impl std::fmt::Display for Penalty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Penalty::L1 => "l1",
            Penalty::L2 => "l2",
        })
    }
}

/// Grids of the growth limits of tree classes (field names as [`hyper::TreeLimits`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeLimitsGrid {
    /// Deepest levels (`None`: unlimited).
    pub max_depth: Vec<Option<u32>>,
    /// Fewest rows to split a node.
    pub min_samples_split: Vec<u32>,
    /// Fewest rows per leaf.
    pub min_samples_leaf: Vec<u32>,
    /// Features per split.
    pub max_features: Vec<hyper::MaxFeatures>,
    /// Most leaves (`None`: unlimited).
    pub max_leaf_nodes: Vec<Option<u32>>,
    /// Least impurity decrease of a split.
    pub min_impurity_decrease: Vec<f64>,
}

impl TreeLimitsGrid {
    fn single(limits: hyper::TreeLimits) -> Self {
        TreeLimitsGrid {
            max_depth: vec![limits.max_depth],
            min_samples_split: vec![limits.min_samples_split],
            min_samples_leaf: vec![limits.min_samples_leaf],
            max_features: vec![limits.max_features],
            max_leaf_nodes: vec![limits.max_leaf_nodes],
            min_impurity_decrease: vec![limits.min_impurity_decrease],
        }
    }
}

/// The model class and its hyperparameter grid (supervised classes), its single configuration
/// (semi- and unsupervised classes), or the stored model to apply (`AlreadyTrained`).
///
/// A grid's field names are the hyperparameters' ([`crate::hyper`]); its candidates are every
/// combination, in the order of scikit-learn's `ParameterGrid` (names sorted, the last varying
/// fastest), so ties between candidates break as in SecuML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class")]
pub enum ModelSpec {
    /// Logistic regression on standardised features, no intercept.
    LogisticRegression {
        /// Grid of inverse regularisation strengths.
        c: Vec<f64>,
        /// Grid of penalties.
        penalty: Vec<Penalty>,
        /// Solver of every candidate (not a grid; absent in specs of earlier versions: liblinear).
        #[serde(default)]
        optim_algo: hyper::OptimAlgo,
    },
    /// Linear SVC with probabilities.
    Svc {
        /// Grid of inverse regularisation strengths.
        c: Vec<f64>,
    },
    /// Gaussian naive Bayes (one candidate).
    GaussianNaiveBayes {
        /// Variance smoothing.
        var_smoothing: Vec<f64>,
    },
    /// Decision tree.
    DecisionTree {
        /// Impurity measures.
        criterion: Vec<hyper::Criterion>,
        /// Threshold choices.
        splitter: Vec<hyper::Splitter>,
        /// Growth limits.
        #[serde(flatten)]
        limits: TreeLimitsGrid,
    },
    /// Random forest.
    RandomForest {
        /// Numbers of trees.
        n_estimators: Vec<u32>,
        /// Impurity measures.
        criterion: Vec<hyper::Criterion>,
        /// Growth limits.
        #[serde(flatten)]
        limits: TreeLimitsGrid,
        /// Bootstrap or not.
        bootstrap: Vec<bool>,
    },
    /// Gradient boosting.
    GradientBoosting {
        /// Shrinkages.
        learning_rate: Vec<f64>,
        /// Numbers of stages.
        n_estimators: Vec<u32>,
        /// Growth limits.
        #[serde(flatten)]
        limits: TreeLimitsGrid,
        /// Row fractions per stage.
        subsample: Vec<f64>,
    },
    /// Label propagation.
    LabelPropagation(hyper::LabelPropagationHyper),
    /// Semi-supervised SVDD.
    Sssvdd(hyper::SssvddHyper),
    /// Feedback-weighted isolation forest.
    WeightedIsolationForest(hyper::WeightedIsolationForestHyper),
    /// Isolation forest.
    IsolationForest(hyper::IsolationForestHyper),
    /// Local outlier factor.
    Lof(hyper::LofHyper),
    /// One-class SVM.
    OneClassSvm(hyper::OneClassSvmHyper),
    /// Elliptic envelope.
    EllipticEnvelope(hyper::EllipticEnvelopeHyper),
    /// Applies the model of an earlier experiment (a DIADEM's, or the fold 0 model of a
    /// cross-validation one) to this job's validation data: no search, no training.
    AlreadyTrained {
        /// The experiment whose model is applied.
        model_exp_id: u64,
    },
}

/// Every combination of a grid given as `name -> values`, names in sorted order, the last
/// varying fastest; `None` when a name has no value.
fn grid_points(
    grid: &BTreeMap<String, Vec<serde_json::Value>>,
) -> Option<Vec<serde_json::Map<String, serde_json::Value>>> {
    let mut points = vec![serde_json::Map::new()];
    for (name, values) in grid {
        if values.is_empty() {
            return None;
        }
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut p = p.clone();
                    p.insert(name.clone(), v.clone());
                    p
                })
            })
            .collect();
    }
    Some(points)
}

impl ModelSpec {
    /// SecuML's default logistic regression grid: C in {0.01, 0.1, 1, 10} x {l1, l2}.
    pub fn default_logistic_regression() -> Self {
        ModelSpec::LogisticRegression {
            c: vec![0.01, 0.1, 1.0, 10.0],
            penalty: vec![Penalty::L1, Penalty::L2],
            optim_algo: hyper::OptimAlgo::Liblinear,
        }
    }

    /// The name of every class [`ModelSpec::secuml_default`] knows, as SecuML spells them.
    pub const CLASS_NAMES: [&'static str; 13] = [
        "LogisticRegression",
        "Svc",
        "GaussianNaiveBayes",
        "DecisionTree",
        "RandomForest",
        "GradientBoosting",
        "LabelPropagation",
        "Sssvdd",
        "WeightedIsolationForest",
        "IsolationForest",
        "Lof",
        "OneClassSvm",
        "EllipticEnvelope",
    ];

    /// The class with SecuML's defaults (its grid for supervised classes), by SecuML's name;
    /// `None` for an unknown name and for `AlreadyTrained`, which needs a model.
    pub fn secuml_default(class: &str) -> Option<Self> {
        use hyper::*;
        Some(match class {
            "LogisticRegression" => Self::default_logistic_regression(),
            "Svc" => ModelSpec::Svc {
                c: vec![0.01, 0.1, 1.0, 10.0],
            },
            "GaussianNaiveBayes" => ModelSpec::GaussianNaiveBayes {
                var_smoothing: vec![GaussianNbHyper::default().var_smoothing],
            },
            "DecisionTree" => ModelSpec::DecisionTree {
                criterion: vec![Criterion::Gini, Criterion::Entropy],
                splitter: vec![Splitter::Best, Splitter::Random],
                limits: TreeLimitsGrid {
                    max_depth: vec![Some(5), Some(10), Some(15), Some(20), None],
                    max_features: vec![MaxFeatures::Sqrt, MaxFeatures::Log2, MaxFeatures::All],
                    ..TreeLimitsGrid::single(TreeLimits::unlimited(MaxFeatures::All))
                },
            },
            "RandomForest" => {
                let d = RandomForestHyper::default();
                ModelSpec::RandomForest {
                    n_estimators: vec![d.n_estimators],
                    criterion: vec![d.criterion],
                    limits: TreeLimitsGrid::single(d.limits),
                    bootstrap: vec![d.bootstrap],
                }
            }
            "GradientBoosting" => {
                let d = GradientBoostingHyper::default();
                ModelSpec::GradientBoosting {
                    learning_rate: vec![d.learning_rate],
                    n_estimators: vec![d.n_estimators],
                    limits: TreeLimitsGrid {
                        max_depth: vec![Some(3), Some(5)],
                        ..TreeLimitsGrid::single(d.limits)
                    },
                    subsample: vec![d.subsample],
                }
            }
            "LabelPropagation" => ModelSpec::LabelPropagation(Default::default()),
            "Sssvdd" => ModelSpec::Sssvdd(Default::default()),
            "WeightedIsolationForest" => ModelSpec::WeightedIsolationForest(Default::default()),
            "IsolationForest" => ModelSpec::IsolationForest(Default::default()),
            "Lof" => ModelSpec::Lof(Default::default()),
            "OneClassSvm" => ModelSpec::OneClassSvm(Default::default()),
            "EllipticEnvelope" => ModelSpec::EllipticEnvelope(Default::default()),
            _ => return None,
        })
    }

    /// How the class learns; `None` for `AlreadyTrained` (the stored model's class decides)
    /// and for an empty grid.
    pub fn supervision(&self) -> Option<Supervision> {
        self.candidates().ok()?.first().map(|h| h.supervision())
    }

    /// Name of the model class, as SecuML spells it.
    pub fn class_name(&self) -> &'static str {
        match self {
            ModelSpec::LogisticRegression { .. } => "LogisticRegression",
            ModelSpec::Svc { .. } => "Svc",
            ModelSpec::GaussianNaiveBayes { .. } => "GaussianNaiveBayes",
            ModelSpec::DecisionTree { .. } => "DecisionTree",
            ModelSpec::RandomForest { .. } => "RandomForest",
            ModelSpec::GradientBoosting { .. } => "GradientBoosting",
            ModelSpec::LabelPropagation(_) => "LabelPropagation",
            ModelSpec::Sssvdd(_) => "Sssvdd",
            ModelSpec::WeightedIsolationForest(_) => "WeightedIsolationForest",
            ModelSpec::IsolationForest(_) => "IsolationForest",
            ModelSpec::Lof(_) => "Lof",
            ModelSpec::OneClassSvm(_) => "OneClassSvm",
            ModelSpec::EllipticEnvelope(_) => "EllipticEnvelope",
            ModelSpec::AlreadyTrained { .. } => "AlreadyTrained",
        }
    }

    /// Every candidate, in `ParameterGrid` order; a single one for the semi- and unsupervised
    /// classes, none for `AlreadyTrained`.
    pub fn candidates(&self) -> Result<Vec<Hyper>, SpecError> {
        let single = |h: Hyper| Ok(vec![h]);
        match self {
            ModelSpec::LabelPropagation(h) => single(Hyper::LabelPropagation(*h)),
            ModelSpec::Sssvdd(h) => single(Hyper::Sssvdd(*h)),
            ModelSpec::WeightedIsolationForest(h) => single(Hyper::WeightedIsolationForest(*h)),
            ModelSpec::IsolationForest(h) => single(Hyper::IsolationForest(*h)),
            ModelSpec::Lof(h) => single(Hyper::Lof(*h)),
            ModelSpec::OneClassSvm(h) => single(Hyper::OneClassSvm(*h)),
            ModelSpec::EllipticEnvelope(h) => single(Hyper::EllipticEnvelope(*h)),
            ModelSpec::AlreadyTrained { .. } => Ok(Vec::new()),
            grid => {
                let value = serde_json::to_value(grid)
                    .map_err(|e| SpecError::new("model", e.to_string()))?;
                let mut names = BTreeMap::new();
                for (name, values) in value.as_object().into_iter().flatten() {
                    if name == "class" {
                        continue;
                    }
                    // A scalar field is one value shared by every candidate.
                    let values = match values.as_array() {
                        Some(values) => values.clone(),
                        None => vec![values.clone()],
                    };
                    names.insert(name.clone(), values);
                }
                let empty = names
                    .iter()
                    .find(|(_, v)| v.is_empty())
                    .map(|(n, _)| n.replace('_', "-"));
                let points = grid_points(&names).ok_or_else(|| {
                    SpecError::new(&empty.unwrap_or_default(), "expected at least one value")
                })?;
                points
                    .into_iter()
                    .map(|mut p| {
                        p.insert("class".into(), self.class_name().into());
                        serde_json::from_value(serde_json::Value::Object(p))
                            .map_err(|e| SpecError::new("model", format!("bad grid point: {e}")))
                    })
                    .collect()
            }
        }
    }
}

/// A DIADEM job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiademSpec {
    /// Project name (folder under the input directory).
    pub project: String,
    /// Training dataset name.
    pub dataset: String,
    /// Experiment name; generated from the parameters when absent.
    #[serde(default)]
    pub exp_name: Option<String>,
    /// The model class and its grid.
    pub model: ModelSpec,
    /// Where the training labels come from.
    pub annotations: AnnotationsSource,
    /// How the model is validated.
    pub validation: ValidationSpec,
    /// Folds of the hyperparameter search.
    pub num_folds: u32,
    /// Objective of the hyperparameter search.
    pub objective: Objective,
    /// False alarm rate (false discovery rate) at which DrAtFar takes the detection rate.
    #[serde(default = "default_far")]
    pub far: f64,
    /// Seed of every random choice (splits, shuffled folds).
    pub seed: u64,
    /// Shuffle the stratified folds with `seed` (SecuML does not shuffle).
    #[serde(default)]
    pub shuffle_folds: bool,
    /// Probability above which an instance is an alert.
    pub detection_threshold: f64,
    /// Skip the detection on the training set.
    #[serde(default)]
    pub no_training_detection: bool,
    /// Streaming (SecuML's `--streaming --stream-batch`): the validation datasets are read shard by
    /// shard and predicted this many rows at a time, never whole in memory. ValidationDatasets only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_batch: Option<u32>,
    /// Train on the instances' families instead of their binary labels (SecuML's
    /// `--multiclass`): supervised classes and LabelPropagation only, selected by Accuracy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multiclass: bool,
    /// The analysis of the alerts of every detection but the training one (`--alerts-clustering`);
    /// `None`: the alerts are listed (Top N, Random), not grouped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertsAnalysis>,
}

/// SecuML's default number of alert clusters (`--num-alerts-clusters`).
pub const DEFAULT_NUM_ALERTS_CLUSTERS: u32 = 4;

/// The clustering algorithm of the alert analysis (`--alerts-clustering`). Every one runs on
/// the alerts standardised on themselves, as SecuML's clustering pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertsClusteringAlgo {
    /// k-means (k-means++, 10 runs, scikit-learn's defaults).
    Kmeans,
    /// Gaussian mixture with diagonal covariances, initialised by k-means (SecuML's
    /// `covariance_type="diag"`, scikit-learn's other defaults).
    GaussianMixture,
    /// DBSCAN with scikit-learn's defaults (eps 0.5, min_samples 5, euclidean); the number of
    /// clusters is found, not given; noise is a group of its own.
    Dbscan,
}

impl AlertsClusteringAlgo {
    /// Every algorithm, by SecuML's name.
    pub const ALL: [(&'static str, AlertsClusteringAlgo); 3] = [
        ("Kmeans", AlertsClusteringAlgo::Kmeans),
        ("GaussianMixture", AlertsClusteringAlgo::GaussianMixture),
        ("Dbscan", AlertsClusteringAlgo::Dbscan),
    ];

    /// The name, as SecuML spells it.
    pub fn name(&self) -> &'static str {
        match self {
            AlertsClusteringAlgo::Kmeans => "Kmeans",
            AlertsClusteringAlgo::GaussianMixture => "GaussianMixture",
            AlertsClusteringAlgo::Dbscan => "Dbscan",
        }
    }
}

/// How the alerts of a detection are grouped.
///
/// JSON: `{"analysis": "clustering", "algo": "Kmeans", "num_clusters": 4}` or
/// `{"analysis": "classification", "model": {"class": "GaussianNaiveBayes", ...}, "num_folds": 4}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "analysis", rename_all = "snake_case")]
pub enum AlertsAnalysis {
    /// Cluster the alerts.
    Clustering {
        /// Algorithm.
        algo: AlertsClusteringAlgo,
        /// Clusters asked for (`--num-alerts-clusters`, default 4; unused by DBSCAN). Fewer
        /// alerts than clusters make `min(alerts, 4)` clusters, as SecuML.
        num_clusters: u32,
    },
    /// SecuML's alert classification (`--alerts-classif`): a multiclass model of `model`'s
    /// class, its hyperparameters chosen by Accuracy over `num_folds` stratified folds, trained
    /// on the malicious families of the training rows, names the family of each alert; one
    /// group per family. Skipped when the training rows hold fewer than 2 malicious families.
    Classification {
        /// The class with its grid (SecuML's default grid of the class).
        model: Box<ModelSpec>,
        /// Folds of the grid search (the job's `--num-folds`).
        num_folds: u32,
    },
}

impl AlertsAnalysis {
    /// The parameter that asked for this analysis, for error messages.
    pub fn param(&self) -> &'static str {
        match self {
            AlertsAnalysis::Clustering { .. } => "alerts-clustering",
            AlertsAnalysis::Classification { .. } => "alerts-classif",
        }
    }

    /// Checks the parameters.
    fn validate(&self) -> Result<(), SpecError> {
        match self {
            AlertsAnalysis::Clustering { num_clusters, .. } => {
                if *num_clusters == 0 {
                    return Err(SpecError::new("num-alerts-clusters", "expected at least 1"));
                }
            }
            AlertsAnalysis::Classification { model, num_folds } => {
                if model.supervision() != Some(Supervision::Supervised) {
                    return Err(SpecError::new(
                        "alerts-classif",
                        format!(
                            "expected a supervised model class (LogisticRegression, Svc, \
                             GaussianNaiveBayes, DecisionTree, RandomForest, GradientBoosting), \
                             got {}",
                            model.class_name()
                        ),
                    ));
                }
                if *num_folds < 2 {
                    return Err(SpecError::new("num-folds", "expected at least 2 folds"));
                }
                model.candidates()?;
            }
        }
        Ok(())
    }
}

/// Checks that `value` can name a project, dataset or file: letters, digits, `-`, `_`, `.`, and not `.` or `..`.
pub fn check_name(param: &str, value: &str) -> Result<(), SpecError> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(SpecError::new(
            param,
            format!("`{value}` is not a name of letters, digits, `-`, `_`, `.`"),
        ))
    }
}

impl DiademSpec {
    /// A spec with SecuML's defaults for everything but the data, the model and the validation:
    /// ground-truth labels, 4 folds, ROC AUC, seed 0, unshuffled folds, threshold 0.5.
    pub fn with_defaults(
        project: &str,
        dataset: &str,
        model: ModelSpec,
        validation: ValidationSpec,
    ) -> Self {
        DiademSpec {
            project: project.to_string(),
            dataset: dataset.to_string(),
            exp_name: None,
            model,
            annotations: AnnotationsSource::GroundTruth,
            validation,
            num_folds: 4,
            objective: Objective::RocAuc,
            far: DEFAULT_FAR,
            seed: 0,
            shuffle_folds: false,
            detection_threshold: 0.5,
            no_training_detection: false,
            stream_batch: None,
            multiclass: false,
            alerts: None,
        }
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<(), SpecError> {
        check_name("project", &self.project)?;
        check_name("dataset", &self.dataset)?;
        if let AnnotationsSource::File(file) = &self.annotations {
            check_name("annotations", file)?;
        }
        if let ModelSpec::LogisticRegression {
            c,
            penalty,
            optim_algo,
        } = &self.model
        {
            if c.is_empty() {
                return Err(SpecError::new(
                    "regularization",
                    "expected at least one value",
                ));
            }
            if let Some(bad) = c.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                return Err(SpecError::new(
                    "regularization",
                    format!("{bad} is not a positive finite number"),
                ));
            }
            if penalty.is_empty() {
                return Err(SpecError::new("penalty", "expected at least one of l1, l2"));
            }
            let l2_only = matches!(optim_algo, hyper::OptimAlgo::Lbfgs | hyper::OptimAlgo::Sag);
            if l2_only && penalty.contains(&Penalty::L1) {
                return Err(SpecError::new(
                    "optim-algo",
                    format!(
                        "{optim_algo} supports only the l2 penalty, but the penalty grid holds l1 \
                         (SecuML's default grid is l1 l2): pass --penalty l2, or use liblinear \
                         or saga for l1"
                    ),
                ));
            }
        }
        let candidates = self.model.candidates()?;
        if candidates.is_empty() && !matches!(self.model, ModelSpec::AlreadyTrained { .. }) {
            return Err(SpecError::new("model", "the grid has no candidate"));
        }
        if matches!(self.model, ModelSpec::AlreadyTrained { .. })
            && !matches!(self.validation, ValidationSpec::ValidationDatasets { .. })
        {
            return Err(SpecError::new(
                "validation-mode",
                "AlreadyTrained applies a stored model to validation datasets: expected \
                 ValidationDatasets with --validation-datasets",
            ));
        }
        self.validation.validate()?;
        if self.multiclass {
            self.validate_multiclass()?;
        }
        if self.num_folds < 2 {
            return Err(SpecError::new(
                "num-folds",
                format!("{} is below 2", self.num_folds),
            ));
        }
        if !(0.0..=1.0).contains(&self.far) {
            return Err(SpecError::new(
                "far",
                format!(
                    "{} is not in [0, 1] (a false discovery rate FP / (FP + TP))",
                    self.far
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.detection_threshold) {
            return Err(SpecError::new(
                "detection-threshold",
                format!("{} is not in [0, 1]", self.detection_threshold),
            ));
        }
        if let Some(batch) = self.stream_batch {
            if !matches!(self.validation, ValidationSpec::ValidationDatasets { .. }) {
                return Err(SpecError::new(
                    "streaming",
                    format!(
                        "streaming reads validation datasets: expected --validation-mode \
                         ValidationDatasets, not {}",
                        self.validation.mode_name()
                    ),
                ));
            }
            if batch == 0 {
                return Err(SpecError::new("stream-batch", "expected at least 1 row"));
            }
        }
        if let Some(name) = &self.exp_name {
            if name.trim().is_empty() || name.len() > 200 {
                return Err(SpecError::new("exp-name", "expected 1 to 200 characters"));
            }
        }
        if let Some(alerts) = &self.alerts {
            alerts.validate()?;
            // As SecuML: no alert analysis of a multiclass model, nor of streamed validation
            // datasets (their alerts are not held to be grouped).
            let param = alerts.param();
            if self.multiclass {
                return Err(SpecError::new(
                    param,
                    "an alert analysis needs a binary model: not with --multiclass",
                ));
            }
            if self.stream_batch.is_some() {
                return Err(SpecError::new(
                    param,
                    "an alert analysis reads the alerts whole: not with --streaming",
                ));
            }
            // As SecuML: the families are learnt from labelled training rows, which an
            // unsupervised main model does not have.
            let classif = matches!(alerts, AlertsAnalysis::Classification { .. });
            if classif && matches!(self.model, ModelSpec::AlreadyTrained { .. }) {
                return Err(SpecError::new(
                    param,
                    "an alert classification learns the families of this job's training rows: \
                     not with AlreadyTrained (use --alerts-clustering)",
                ));
            }
            if classif && self.model.supervision() == Some(Supervision::Unsupervised) {
                return Err(SpecError::new(
                    param,
                    format!(
                        "a supervised alert classification needs labelled training rows: not \
                         with the unsupervised {}",
                        self.model.class_name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `--multiclass`: a class that learns from families, the Accuracy objective.
    fn validate_multiclass(&self) -> Result<(), SpecError> {
        let class = self.model.class_name();
        let multiclass_class = match &self.model {
            ModelSpec::LabelPropagation(_) => true,
            ModelSpec::AlreadyTrained { .. } => false,
            _ => self
                .model
                .candidates()?
                .first()
                .is_some_and(|h| h.supervision() == crate::Supervision::Supervised),
        };
        if !multiclass_class {
            return Err(SpecError::new(
                "multiclass",
                format!(
                    "{class} cannot be trained on families: --multiclass applies to the \
                     supervised classes and LabelPropagation"
                ),
            ));
        }
        if self.objective != Objective::Accuracy {
            return Err(SpecError::new(
                "objective-func",
                format!(
                    "a multiclass model is selected by Accuracy (as in SecuML), not {:?}",
                    self.objective
                ),
            ));
        }
        Ok(())
    }

    /// The experiment name: the given one, or one built from the parameters.
    pub fn name(&self) -> String {
        if let Some(name) = &self.exp_name {
            return name.clone();
        }
        let validation = match &self.validation {
            ValidationSpec::RandomSplit { test_size } => format!("RandomSplit{test_size}"),
            ValidationSpec::ValidationDatasets { datasets } => {
                format!("Validation-{}", datasets.join("+"))
            }
            ValidationSpec::TemporalSplit { test_size } => format!("TemporalSplit{test_size}"),
            ValidationSpec::CutoffTime { cutoff_time } => format!("CutoffTime{cutoff_time}"),
            ValidationSpec::Cv { num_folds } => format!("Cv{num_folds}"),
            ValidationSpec::TemporalCv { num_folds } => format!("TemporalCv{num_folds}"),
            ValidationSpec::SlidingWindow {
                num_buckets,
                num_train_buckets,
                num_test_buckets,
            } => format!("SlidingWindow{num_buckets}-{num_train_buckets}-{num_test_buckets}"),
            ValidationSpec::UnlabeledLabeled => "UnlabeledLabeled".to_string(),
        };
        let annotations = match &self.annotations {
            AnnotationsSource::GroundTruth => "GROUND_TRUTH".to_string(),
            AnnotationsSource::File(f) => f.clone(),
        };
        format!(
            "{}__{}__{}",
            self.model.class_name(),
            annotations,
            validation
        )
    }
}

/// SecuML's default number of clusters.
pub const DEFAULT_NUM_CLUSTERS: u32 = 4;
/// Default rows per block task of a clustering.
pub const DEFAULT_BLOCK_ROWS: u64 = 8192;

/// A clustering algorithm and its parameters.
///
/// JSON: `{"algo": "Kmeans", "num_clusters": 4, "n_init": 10, "max_iter": 300, "tol": 0.0001}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algo")]
pub enum ClusteringAlgo {
    /// k-means: greedy k-means++ initialisation, Lloyd iterations, on standardised columns.
    Kmeans {
        /// Clusters (`--num-clusters`, default 4).
        num_clusters: u32,
        /// Runs from different seeds; the one of lowest inertia is kept (`--n-init`, default 10).
        n_init: u32,
        /// Lloyd updates per run at most (`--max-iter`, default 300).
        max_iter: u32,
        /// Relative tolerance on the centre shift (`--tol`, default 1e-4).
        tol: f64,
    },
}

impl ClusteringAlgo {
    /// k-means with `num_clusters` and scikit-learn's other defaults.
    pub fn kmeans(num_clusters: u32) -> Self {
        ClusteringAlgo::Kmeans {
            num_clusters,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
        }
    }

    /// Name, as SecuML spells it.
    pub fn name(&self) -> &'static str {
        match self {
            ClusteringAlgo::Kmeans { .. } => "Kmeans",
        }
    }
}

/// A clustering job: `secuml clustering <project> <dataset> Kmeans --num-clusters K`.
///
/// JSON field names are stable: `project`, `dataset`, `exp_name`, `annotations`, `algo`,
/// `seed`, `block_rows`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringSpec {
    /// Project name.
    pub project: String,
    /// Dataset name.
    pub dataset: String,
    /// Experiment name; generated from the parameters when absent.
    #[serde(default)]
    pub exp_name: Option<String>,
    /// Labels and families shown per cluster; `None` when the dataset has none.
    #[serde(default)]
    pub annotations: Option<AnnotationsSource>,
    /// The algorithm.
    pub algo: ClusteringAlgo,
    /// Seed of every random choice (the runs' initialisations).
    pub seed: u64,
    /// Rows per block task; fixed in the spec so results never depend on the worker count.
    #[serde(default = "default_block_rows")]
    pub block_rows: u64,
}

fn default_block_rows() -> u64 {
    DEFAULT_BLOCK_ROWS
}

impl ClusteringSpec {
    /// A k-means spec with the defaults: ground-truth annotations, n_init 10, max_iter 300,
    /// tol 1e-4, seed 0, blocks of 8192 rows.
    pub fn kmeans(project: &str, dataset: &str, num_clusters: u32) -> Self {
        ClusteringSpec {
            project: project.to_string(),
            dataset: dataset.to_string(),
            exp_name: None,
            annotations: Some(AnnotationsSource::GroundTruth),
            algo: ClusteringAlgo::kmeans(num_clusters),
            seed: 0,
            block_rows: DEFAULT_BLOCK_ROWS,
        }
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<(), SpecError> {
        check_name("project", &self.project)?;
        check_name("dataset", &self.dataset)?;
        if let Some(AnnotationsSource::File(file)) = &self.annotations {
            check_name("annotations", file)?;
        }
        match &self.algo {
            ClusteringAlgo::Kmeans {
                num_clusters,
                n_init,
                max_iter,
                tol,
            } => {
                if !(1..=10_000).contains(num_clusters) {
                    return Err(SpecError::new(
                        "num-clusters",
                        format!("{num_clusters} is not in [1, 10000]"),
                    ));
                }
                if !(1..=1000).contains(n_init) {
                    return Err(SpecError::new(
                        "n-init",
                        format!("{n_init} is not in [1, 1000]"),
                    ));
                }
                if *max_iter == 0 {
                    return Err(SpecError::new("max-iter", "expected at least 1"));
                }
                if !(tol.is_finite() && *tol >= 0.0) {
                    return Err(SpecError::new(
                        "tol",
                        format!("{tol} is not a non-negative finite number"),
                    ));
                }
            }
        }
        if self.block_rows == 0 {
            return Err(SpecError::new("block-rows", "expected at least 1"));
        }
        if let Some(name) = &self.exp_name {
            if name.trim().is_empty() || name.len() > 200 {
                return Err(SpecError::new("exp-name", "expected 1 to 200 characters"));
            }
        }
        Ok(())
    }

    /// Number of clusters.
    pub fn num_clusters(&self) -> u32 {
        match &self.algo {
            ClusteringAlgo::Kmeans { num_clusters, .. } => *num_clusters,
        }
    }

    /// The experiment name: the given one, or `Kmeans_<k>`.
    pub fn name(&self) -> String {
        match &self.exp_name {
            Some(name) => name.clone(),
            None => format!("{}_{}", self.algo.name(), self.num_clusters()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clustering_spec_validates_and_round_trips() {
        let spec = ClusteringSpec::kmeans("NSL-KDD", "train20", 10);
        let job = JobSpec::Clustering(spec.clone());
        job.validate().unwrap();
        let text = serde_json::to_string(&job).unwrap();
        assert!(text.contains(r#""job":"clustering""#), "{text}");
        assert!(text.contains(r#""algo":"Kmeans""#), "{text}");
        assert_eq!(serde_json::from_str::<JobSpec>(&text).unwrap(), job);
        assert_eq!(spec.name(), "Kmeans_10");
        let mut bad = spec.clone();
        bad.algo = ClusteringAlgo::kmeans(0);
        assert_eq!(bad.validate().unwrap_err().param, "num-clusters");
        let mut bad = spec.clone();
        bad.block_rows = 0;
        assert_eq!(bad.validate().unwrap_err().param, "block-rows");
        let mut bad = spec;
        bad.algo = ClusteringAlgo::Kmeans {
            num_clusters: 4,
            n_init: 1,
            max_iter: 300,
            tol: f64::NAN,
        };
        assert_eq!(bad.validate().unwrap_err().param, "tol");
    }

    fn spec() -> DiademSpec {
        DiademSpec::with_defaults(
            "NSL-KDD",
            "train20",
            ModelSpec::default_logistic_regression(),
            ValidationSpec::RandomSplit { test_size: 0.1 },
        )
    }

    #[test]
    fn alert_clustering_round_trips_and_needs_a_cluster() {
        let mut s = spec();
        s.alerts = Some(AlertsAnalysis::Clustering {
            algo: AlertsClusteringAlgo::GaussianMixture,
            num_clusters: 3,
        });
        s.validate().unwrap();
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            text.contains(
                r#""alerts":{"analysis":"clustering","algo":"GaussianMixture","num_clusters":3}"#
            ),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<DiademSpec>(&text).unwrap(), s);
        // A spec written before alert analyses existed reads as none.
        assert!(!serde_json::to_string(&spec()).unwrap().contains("alerts"));
        s.alerts = Some(AlertsAnalysis::Clustering {
            algo: AlertsClusteringAlgo::Kmeans,
            num_clusters: 0,
        });
        assert_eq!(s.validate().unwrap_err().param, "num-alerts-clusters");
        if let Some(AlertsAnalysis::Clustering { num_clusters, .. }) = &mut s.alerts {
            *num_clusters = 4;
        }
        s.validate().unwrap();
        s.validation = ValidationSpec::ValidationDatasets {
            datasets: vec!["test".into()],
        };
        s.stream_batch = Some(100);
        assert_eq!(s.validate().unwrap_err().param, "alerts-clustering");
    }

    #[test]
    fn default_spec_is_valid_and_round_trips() {
        let job = JobSpec::Diadem(spec());
        job.validate().unwrap();
        let text = serde_json::to_string(&job).unwrap();
        let back: JobSpec = serde_json::from_str(&text).unwrap();
        assert_eq!(job, back);
    }

    #[test]
    fn bad_parameters_are_named() {
        let mut s = spec();
        s.validation = ValidationSpec::RandomSplit { test_size: 1.5 };
        assert_eq!(s.validate().unwrap_err().param, "test-size");
        let mut s = spec();
        s.num_folds = 1;
        assert_eq!(s.validate().unwrap_err().param, "num-folds");
        let mut s = spec();
        s.project = "../etc".into();
        assert_eq!(s.validate().unwrap_err().param, "project");
        let mut s = spec();
        s.validation = ValidationSpec::ValidationDatasets {
            datasets: vec!["a".into(), "a".into()],
        };
        assert_eq!(s.validate().unwrap_err().param, "validation-datasets");
        let mut s = spec();
        s.model = ModelSpec::LogisticRegression {
            c: vec![0.0],
            penalty: vec![Penalty::L1],
            optim_algo: hyper::OptimAlgo::Liblinear,
        };
        assert_eq!(s.validate().unwrap_err().param, "regularization");
        for algo in [hyper::OptimAlgo::Lbfgs, hyper::OptimAlgo::Sag] {
            let mut s = spec();
            s.model = ModelSpec::LogisticRegression {
                c: vec![1.0],
                penalty: vec![Penalty::L1, Penalty::L2],
                optim_algo: algo,
            };
            let err = s.validate().unwrap_err();
            assert_eq!(err.param, "optim-algo");
            assert!(err.reason.contains("l1") && err.reason.contains("--penalty l2"));
        }
        let mut s = spec();
        s.model = ModelSpec::LogisticRegression {
            c: vec![1.0],
            penalty: vec![Penalty::L1, Penalty::L2],
            optim_algo: hyper::OptimAlgo::Saga,
        };
        s.validate().unwrap();
        for (validation, param) in [
            (
                ValidationSpec::TemporalSplit { test_size: 0.0 },
                "test-size",
            ),
            (ValidationSpec::Cv { num_folds: 1 }, "validation-folds"),
            (
                ValidationSpec::TemporalCv { num_folds: 0 },
                "validation-folds",
            ),
            (
                ValidationSpec::SlidingWindow {
                    num_buckets: 5,
                    num_train_buckets: 4,
                    num_test_buckets: 2,
                },
                "buckets",
            ),
            (
                ValidationSpec::SlidingWindow {
                    num_buckets: 5,
                    num_train_buckets: 0,
                    num_test_buckets: 1,
                },
                "train-buckets",
            ),
            (
                ValidationSpec::SlidingWindow {
                    num_buckets: 5,
                    num_train_buckets: 2,
                    num_test_buckets: 0,
                },
                "test-buckets",
            ),
        ] {
            let mut s = spec();
            s.validation = validation.clone();
            assert_eq!(s.validate().unwrap_err().param, param, "{validation:?}");
        }
        for far in [-0.1, 1.5, f64::NAN] {
            let mut s = spec();
            s.objective = Objective::DrAtFar;
            s.far = far;
            assert_eq!(s.validate().unwrap_err().param, "far", "far {far}");
        }
    }

    #[test]
    fn objectives_keep_secuml_names_and_far_defaults() {
        let mut s = spec();
        s.objective = Objective::DrAtFar;
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains(r#""objective":"DrAtFar""#), "{text}");
        // A spec written before `far` existed reads with SecuML's default.
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value.as_object_mut().unwrap().remove("far");
        let back: DiademSpec = serde_json::from_value(value).unwrap();
        assert_eq!(back.far, DEFAULT_FAR);
    }

    #[test]
    fn sliding_window_folds_follow_secuml() {
        let window = ValidationSpec::SlidingWindow {
            num_buckets: DEFAULT_BUCKETS,
            num_train_buckets: DEFAULT_TRAIN_BUCKETS,
            num_test_buckets: DEFAULT_TEST_BUCKETS,
        };
        assert_eq!(window.outer_folds(), Some(6), "10 - (4 + 1) + 1");
        assert_eq!(ValidationSpec::Cv { num_folds: 4 }.outer_folds(), Some(4));
        assert_eq!(
            ValidationSpec::TemporalSplit { test_size: 0.1 }.outer_folds(),
            None
        );
        assert!(window.is_temporal() && !window.is_random());
        assert!(ValidationSpec::Cv { num_folds: 4 }.is_random());
        let mut s = spec();
        s.validation = window;
        let job = JobSpec::Diadem(s);
        job.validate().unwrap();
        let text = serde_json::to_string(&job).unwrap();
        assert!(text.contains(r#""mode":"SlidingWindow""#), "{text}");
        assert_eq!(serde_json::from_str::<JobSpec>(&text).unwrap(), job);
    }

    #[test]
    fn generated_name_names_the_parameters() {
        assert_eq!(
            spec().name(),
            "LogisticRegression__GROUND_TRUTH__RandomSplit0.1"
        );
    }
}

#[cfg(test)]
mod grid_tests {
    use super::*;
    use crate::hyper::{Criterion, MaxFeatures, Splitter};

    #[test]
    fn secuml_grids_have_secuml_sizes_in_parameter_grid_order() {
        let size = |c: &str| {
            ModelSpec::secuml_default(c)
                .unwrap()
                .candidates()
                .unwrap()
                .len()
        };
        assert_eq!(size("LogisticRegression"), 8);
        assert_eq!(size("DecisionTree"), 60);
        assert_eq!(size("RandomForest"), 1);
        assert_eq!(size("GradientBoosting"), 2);
        assert_eq!(size("Svc"), 4);
        assert_eq!(size("IsolationForest"), 1);
        let lr = ModelSpec::default_logistic_regression()
            .candidates()
            .unwrap();
        assert_eq!(
            lr[1],
            Hyper::LogisticRegression {
                c: 0.01,
                penalty: Penalty::L2,
                optim_algo: hyper::OptimAlgo::Liblinear,
            }
        );
        let saga = ModelSpec::LogisticRegression {
            c: vec![0.1, 1.0],
            penalty: vec![Penalty::L2],
            optim_algo: hyper::OptimAlgo::Saga,
        };
        let points = saga.candidates().unwrap();
        assert_eq!(points.len(), 2);
        assert!(points.iter().all(|h| matches!(
            h,
            Hyper::LogisticRegression {
                optim_algo: hyper::OptimAlgo::Saga,
                ..
            }
        )));
        // Specs and tasks written before the option parse as liblinear.
        let old: ModelSpec =
            serde_json::from_str(r#"{"class":"LogisticRegression","c":[1.0],"penalty":["l1"]}"#)
                .unwrap();
        assert_eq!(
            old.candidates().unwrap(),
            vec![Hyper::LogisticRegression {
                c: 1.0,
                penalty: Penalty::L1,
                optim_algo: hyper::OptimAlgo::Liblinear,
            }]
        );
        // Names sorted: criterion, max_depth, max_features, ..., splitter (fastest).
        let dt = ModelSpec::secuml_default("DecisionTree")
            .unwrap()
            .candidates()
            .unwrap();
        let Hyper::DecisionTree(first) = dt[0] else {
            panic!("not a tree: {:?}", dt[0])
        };
        assert_eq!(
            (first.criterion, first.splitter, first.limits.max_depth),
            (Criterion::Gini, Splitter::Best, Some(5))
        );
        assert_eq!(first.limits.max_features, MaxFeatures::Sqrt);
        let Hyper::DecisionTree(second) = dt[1] else {
            panic!()
        };
        assert_eq!(second.splitter, Splitter::Random);
        let Hyper::DecisionTree(last) = dt[59] else {
            panic!()
        };
        assert_eq!(
            (
                last.criterion,
                last.limits.max_depth,
                last.limits.max_features
            ),
            (Criterion::Entropy, None, MaxFeatures::All)
        );
    }

    #[test]
    fn an_empty_grid_names_its_parameter() {
        let spec = ModelSpec::Svc { c: vec![] };
        assert_eq!(spec.candidates().unwrap_err().param, "c");
    }

    #[test]
    fn hypers_round_trip_through_json() {
        for class in [
            "DecisionTree",
            "RandomForest",
            "GradientBoosting",
            "Lof",
            "OneClassSvm",
        ] {
            let spec = ModelSpec::secuml_default(class).unwrap();
            let back: ModelSpec =
                serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
            assert_eq!(back, spec);
            for h in spec.candidates().unwrap() {
                let json = serde_json::to_string(&h).unwrap();
                assert_eq!(serde_json::from_str::<Hyper>(&json).unwrap(), h, "{json}");
                assert_eq!(h.class_name(), class);
            }
        }
    }
}
