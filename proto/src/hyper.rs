//! Hyperparameters of every model class but logistic regression (whose C and penalty live in
//! [`crate::Hyper::LogisticRegression`], with its [`OptimAlgo`]): one point of a grid, as a task carries it and a stored
//! model records it. Defaults are SecuML's (not always scikit-learn's: see each field).
//!
//! The engine's model implementations take these structs as their parameters.

use serde::{Deserialize, Serialize};

/// The solver of a logistic regression (SecuML's `--optim-algo`, scikit-learn's `solver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimAlgo {
    /// liblinear's objectives, solved to the optimum (SecuML's default).
    #[default]
    Liblinear,
    /// L-BFGS (l2 only).
    Lbfgs,
    /// Stochastic average gradient (l2 only).
    Sag,
    /// SAGA (l1 or l2).
    Saga,
}

impl OptimAlgo {
    /// The option's value for this solver.
    pub fn name(self) -> &'static str {
        match self {
            OptimAlgo::Liblinear => "liblinear",
            OptimAlgo::Lbfgs => "lbfgs",
            OptimAlgo::Sag => "sag",
            OptimAlgo::Saga => "saga",
        }
    }
}

impl std::fmt::Display for OptimAlgo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Impurity measure of a classification tree's splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Criterion {
    /// Gini impurity.
    Gini,
    /// Shannon entropy (information gain).
    Entropy,
}

/// How a tree picks the threshold of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Splitter {
    /// The best threshold of every feature drawn.
    Best,
    /// One random threshold per feature drawn, the best of those.
    Random,
}

/// How many features a split considers (drawn at random, without replacement, per node).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxFeatures {
    /// `max(1, floor(sqrt(d)))`.
    Sqrt,
    /// `max(1, floor(log2(d)))`.
    Log2,
    /// All `d` features (scikit-learn's `None`; GradientBoosting's `auto`).
    All,
    /// `max(1, floor(fraction * d))`, fraction in (0, 1].
    Fraction(f64),
}

impl MaxFeatures {
    /// Features considered per split among `d`.
    pub fn count(&self, d: usize) -> usize {
        let n = match self {
            MaxFeatures::Sqrt => (d as f64).sqrt().floor() as usize,
            MaxFeatures::Log2 => (d as f64).log2().floor() as usize,
            MaxFeatures::All => d,
            MaxFeatures::Fraction(f) => (f * d as f64).floor() as usize,
        };
        n.clamp(1, d.max(1))
    }
}

/// The growth limits shared by every tree-based class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TreeLimits {
    /// Deepest level (root at 0); `None` grows until leaves are pure or too small.
    pub max_depth: Option<u32>,
    /// Fewest rows a node needs to be split (>= 2).
    pub min_samples_split: u32,
    /// Fewest rows each child of a split keeps (>= 1).
    pub min_samples_leaf: u32,
    /// Features considered per split.
    pub max_features: MaxFeatures,
    /// Most leaves (grown best-first when set); `None` is unlimited.
    pub max_leaf_nodes: Option<u32>,
    /// A split is kept only if it lowers the weighted impurity by at least this.
    pub min_impurity_decrease: f64,
}

/// A decision tree classifier (CART).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecisionTreeHyper {
    /// Impurity measure.
    pub criterion: Criterion,
    /// Threshold choice.
    pub splitter: Splitter,
    /// Growth limits.
    #[serde(flatten)]
    pub limits: TreeLimits,
}

/// A random forest classifier: trees on bootstrap samples (or the whole set) averaged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RandomForestHyper {
    /// Number of trees (SecuML: 100).
    pub n_estimators: u32,
    /// Impurity measure (SecuML: gini).
    pub criterion: Criterion,
    /// Growth limits (SecuML: max_features sqrt, otherwise unlimited).
    #[serde(flatten)]
    pub limits: TreeLimits,
    /// Each tree on a bootstrap sample (SecuML: false, every tree sees every row).
    pub bootstrap: bool,
}

/// Gradient boosting of regression trees on the binomial deviance (log loss).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradientBoostingHyper {
    /// Shrinkage of each tree (SecuML: 0.1).
    pub learning_rate: f64,
    /// Boosting stages (SecuML: 100).
    pub n_estimators: u32,
    /// Growth limits of each tree, split by Friedman's MSE (SecuML: max_depth 3 or 5).
    #[serde(flatten)]
    pub limits: TreeLimits,
    /// Fraction of rows each stage is fitted on, drawn without replacement (SecuML: 0.1,
    /// where scikit-learn's default is 1.0).
    pub subsample: f64,
}

/// A linear support vector classifier with probabilities (Platt scaling).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SvcHyper {
    /// Inverse regularisation strength.
    pub c: f64,
}

/// Gaussian naive Bayes: no hyperparameter but the variance smoothing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GaussianNbHyper {
    /// Portion of the largest feature variance added to every variance (scikit-learn: 1e-9).
    pub var_smoothing: f64,
}

/// How many rows each isolation tree is grown on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxSamples {
    /// `min(256, n)`.
    Auto,
    /// A fixed count (capped at `n`).
    Count(u32),
    /// A fraction of `n`, in (0, 1].
    Fraction(f64),
}

/// An isolation forest (Liu et al., 2008): the anomaly score is the normalised mean path length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IsolationForestHyper {
    /// Number of trees (SecuML: 100).
    pub n_estimators: u32,
    /// Rows per tree (SecuML: auto).
    pub max_samples: MaxSamples,
    /// Fraction of the features each tree draws from (SecuML: 1.0).
    pub max_features: f64,
}

/// An isolation forest whose node weights are updated from labelled feedback (Siddiqui et al.,
/// KDD 2018).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeightedIsolationForestHyper {
    /// The forest.
    #[serde(flatten)]
    pub forest: IsolationForestHyper,
    /// Learning rate of the weight updates (SecuML: 1.0).
    pub eta: f64,
}

/// Local outlier factor (Breunig et al., 2000), as a novelty detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LofHyper {
    /// Neighbours (SecuML: 20).
    pub n_neighbors: u32,
    /// Expected share of outliers, which places the decision threshold (SecuML: 0.1).
    pub contamination: f64,
}

/// The width of an RBF kernel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gamma {
    /// `1 / (d * var(X))`, scikit-learn's default.
    Scale,
    /// A fixed value.
    Value(f64),
}

/// One-class SVM with an RBF kernel (Schölkopf et al., 2001).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OneClassSvmHyper {
    /// Upper bound on the share of outliers, lower bound on that of support vectors (SecuML: 0.5).
    pub nu: f64,
    /// Kernel width.
    pub gamma: Gamma,
}

/// Elliptic envelope: Mahalanobis distance to a robust covariance (minimum covariance
/// determinant, FastMCD).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EllipticEnvelopeHyper {
    /// Expected share of outliers (SecuML: 0.1).
    pub contamination: f64,
}

/// Graph kernel of label propagation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropagationKernel {
    /// `exp(-gamma * |x - y|^2)`.
    Rbf,
    /// The `n_neighbors` nearest neighbours.
    Knn,
}

/// Label propagation (Zhu and Ghahramani, 2002).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelPropagationHyper {
    /// Kernel (SecuML: rbf).
    pub kernel: PropagationKernel,
    /// Neighbours of the knn kernel (SecuML: 7).
    pub n_neighbors: u32,
    /// Width of the rbf kernel (SecuML: 20).
    pub gamma: f64,
}

/// Semi-supervised support vector data description (Görnitz et al., 2013).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SssvddHyper {
    /// Weight of the labelled instances' slacks (SecuML: 1.0).
    pub nu_l: f64,
    /// Weight of the unlabelled instances' slacks (SecuML: 1.0).
    pub nu_u: f64,
    /// Margin of the labelled instances (SecuML: 1.0).
    pub kappa: f64,
}

impl TreeLimits {
    /// No limit but the given features per split: scikit-learn's tree defaults.
    pub fn unlimited(max_features: MaxFeatures) -> Self {
        TreeLimits {
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features,
            max_leaf_nodes: None,
            min_impurity_decrease: 0.0,
        }
    }
}

impl Default for RandomForestHyper {
    fn default() -> Self {
        RandomForestHyper {
            n_estimators: 100,
            criterion: Criterion::Gini,
            limits: TreeLimits::unlimited(MaxFeatures::Sqrt),
            bootstrap: false,
        }
    }
}

impl Default for GradientBoostingHyper {
    fn default() -> Self {
        GradientBoostingHyper {
            learning_rate: 0.1,
            n_estimators: 100,
            limits: TreeLimits {
                max_depth: Some(3),
                ..TreeLimits::unlimited(MaxFeatures::All)
            },
            subsample: 0.1,
        }
    }
}

impl Default for GaussianNbHyper {
    fn default() -> Self {
        GaussianNbHyper {
            var_smoothing: 1e-9,
        }
    }
}

impl Default for IsolationForestHyper {
    fn default() -> Self {
        IsolationForestHyper {
            n_estimators: 100,
            max_samples: MaxSamples::Auto,
            max_features: 1.0,
        }
    }
}

impl Default for WeightedIsolationForestHyper {
    fn default() -> Self {
        WeightedIsolationForestHyper {
            forest: IsolationForestHyper::default(),
            eta: 1.0,
        }
    }
}

impl Default for LofHyper {
    fn default() -> Self {
        LofHyper {
            n_neighbors: 20,
            contamination: 0.1,
        }
    }
}

impl Default for OneClassSvmHyper {
    fn default() -> Self {
        OneClassSvmHyper {
            nu: 0.5,
            gamma: Gamma::Scale,
        }
    }
}

impl Default for EllipticEnvelopeHyper {
    fn default() -> Self {
        EllipticEnvelopeHyper { contamination: 0.1 }
    }
}

impl Default for LabelPropagationHyper {
    fn default() -> Self {
        LabelPropagationHyper {
            kernel: PropagationKernel::Rbf,
            n_neighbors: 7,
            gamma: 20.0,
        }
    }
}

impl Default for SssvddHyper {
    fn default() -> Self {
        SssvddHyper {
            nu_l: 1.0,
            nu_u: 1.0,
            kappa: 1.0,
        }
    }
}
