//! CART classification trees (Breiman et al., 1984) as scikit-learn's
//! `DecisionTreeClassifier` grows them, for two classes ([`fit`]) or K ([`fit_classes`]).
//!
//! - Splits minimise the weighted Gini impurity (`1 − Σ p_k²`) or entropy (`−Σ p_k log₂ p_k`)
//!   of the children over the classes; the `best`
//!   splitter takes the best threshold of each drawn feature (midway between consecutive
//!   distinct values), the `random` one a single threshold drawn uniformly between the node's
//!   lowest and highest values of each drawn feature.
//! - Each node draws `max_features` features without replacement, and keeps drawing while all
//!   those drawn are constant in the node (scikit-learn's rule); constant features are known
//!   to the node's descendants.
//! - Growth stops at `max_depth`, below `min_samples_split` rows, at pure nodes, when a child
//!   would have fewer than `min_samples_leaf` rows, or when the weighted decrease in impurity
//!   `N_t / N * (impurity - N_R / N_t * impurity_R - N_L / N_t * impurity_L)` is below
//!   `min_impurity_decrease`; with `max_leaf_nodes`, nodes are split best-first (largest
//!   decrease first) until the budget of leaves is spent.
//! - Leaves store the fraction of malicious training rows, the probability
//!   [`Detector::scores`] returns (with K classes, the fraction of each class);
//!   [`Detector::importances`] is the normalised mean decrease in impurity.
//!
//! Differences from scikit-learn: the random numbers (a ChaCha8 stream, so the features drawn
//! differ for the same seed); ties between equally good splits (both take the first found,
//! but in their own feature order); values are compared as f64 (scikit-learn casts `x` to
//! f32); ties in the best-first frontier go to the node created first; bootstrap samples
//! (see [`crate::forest`]) repeat rows, so `min_samples_*` count draws, not distinct rows.
//! How the split search is organised (rank codes, counting, histograms): `README.md`.

#[cfg(test)]
mod classes_tests;
mod data;
mod flat;
mod grow;
mod labels;
mod split;
#[cfg(test)]
mod tests;

use ndarray::ArrayView2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::{Criterion, DecisionTreeHyper, MaxFeatures, Splitter, TreeLimits};
use serde::{Deserialize, Serialize};

use crate::model::{Detector, ModelError, Output};
use crate::rows::Rows;

pub(crate) use data::TrainingSet;
pub(crate) use flat::for_each_row;
pub use flat::{ClassTree, FlatTree, LEAF};
pub(crate) use grow::{GrowParams, Grower, Grown};
pub(crate) use labels::{Binary, Classes, Labels};

/// A fitted classification tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTree {
    /// The nodes.
    pub tree: FlatTree,
    /// Normalised mean decrease in impurity per column (all zeros for a single leaf).
    pub importances: Vec<f64>,
}

/// A fitted classification tree of K classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTreeClasses {
    /// The nodes and the leaves' class fractions.
    pub tree: ClassTree,
    /// Normalised mean decrease in impurity per column (all zeros for a single leaf).
    pub importances: Vec<f64>,
}

/// Fits a tree to `x` (n × d, finite) and `y` (`true` for malicious), every random choice
/// drawn from a ChaCha8 stream seeded with `seed`.
pub fn fit(
    hyper: &DecisionTreeHyper,
    x: ArrayView2<f64>,
    y: &[bool],
    seed: u64,
) -> Result<DecisionTree, ModelError> {
    fit_rows(hyper, &Rows::all(x), y, seed)
}

/// [`fit`] on the rows `x` of a larger matrix, read once (rank-coded) without a copy.
pub fn fit_rows(
    hyper: &DecisionTreeHyper,
    x: &Rows,
    y: &[bool],
    seed: u64,
) -> Result<DecisionTree, ModelError> {
    grow_params(hyper.criterion, hyper.splitter, &hyper.limits, x.ncols())?;
    fit_coded(hyper, &Coded::new(x, y)?, seed)
}

/// [`fit`] on rows already rank-coded.
pub fn fit_coded(
    hyper: &DecisionTreeHyper,
    data: &Coded,
    seed: u64,
) -> Result<DecisionTree, ModelError> {
    let params = grow_params(hyper.criterion, hyper.splitter, &hyper.limits, data.0.d)?;
    let (grown, importances) = grow_one(&data.0, Binary, params, seed);
    Ok(DecisionTree {
        tree: grown.tree,
        importances,
    })
}

/// Two-class training rows rank-coded once: what every tree and forest fitted on them reads,
/// so that the candidates of a search fold share one coding (its cost and its memory, a
/// `u32` per value).
#[derive(Debug)]
pub struct Coded(TrainingSet);

impl Coded {
    /// Codes the rows `x` (finite values) with labels `y` (`true` for malicious).
    pub fn new(x: &Rows, y: &[bool]) -> Result<Self, ModelError> {
        Ok(Coded(TrainingSet::new(x, y)?))
    }

    /// The coded training set.
    pub(crate) fn set(&self) -> &TrainingSet {
        &self.0
    }
}

/// Fits a tree of `k` classes to `x` (n × d, finite) and the class of each row, `y` (below
/// `k`; at least two present), every random choice drawn from a ChaCha8 stream seeded with
/// `seed`.
pub fn fit_classes(
    hyper: &DecisionTreeHyper,
    x: ArrayView2<f64>,
    y: &[usize],
    k: usize,
    seed: u64,
) -> Result<DecisionTreeClasses, ModelError> {
    let params = grow_params(hyper.criterion, hyper.splitter, &hyper.limits, x.ncols())?;
    let data = TrainingSet::with_classes(&Rows::all(x), y, k)?;
    let (grown, importances) = grow_one(&data, Classes::new(k), params, seed);
    Ok(DecisionTreeClasses {
        tree: ClassTree {
            tree: grown.tree,
            classes: k,
            proba: grown.proba,
        },
        importances,
    })
}

/// One tree on every row of `data`, and its normalised importances.
fn grow_one<L: Labels>(
    data: &TrainingSet,
    labels: L,
    params: GrowParams,
    seed: u64,
) -> (Grown, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut grown = Grower::new(data, labels, params).grow(0..data.n as u32, &mut rng);
    let mut importances = std::mem::take(&mut grown.decrease);
    normalise(&mut importances);
    (grown, importances)
}

impl DecisionTreeClasses {
    /// The probability of each class for every row of `x` (each row summing to 1).
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Vec<Vec<f64>> {
        check_columns(x, &self.importances);
        let mut out = Vec::with_capacity(x.nrows());
        for_each_row(x, |row| out.push(self.tree.predict_row(row).to_vec()));
        out
    }
}

impl DecisionTree {
    /// The probability of the malicious class of each row of `x`.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Vec<f64> {
        check_columns(x, &self.importances);
        let mut out = Vec::with_capacity(x.nrows());
        for_each_row(x, |row| out.push(self.tree.predict_row(row)));
        out
    }
}

impl Detector for DecisionTree {
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.predict_proba(x)
    }

    fn output(&self) -> Output {
        Output::Probability
    }

    fn importances(&self) -> Option<Vec<f64>> {
        Some(self.importances.clone())
    }
}

/// Checks the growth limits shared by every tree-based class (no data needed).
pub(crate) fn check_limits(limits: &TreeLimits) -> Result<(), ModelError> {
    if limits.max_depth == Some(0) {
        return Err(ModelError::param(
            "max-depth",
            "expected at least 1, or none",
        ));
    }
    if limits.min_samples_split < 2 {
        return Err(ModelError::param(
            "min-samples-split",
            format!("expected at least 2, got {}", limits.min_samples_split),
        ));
    }
    if limits.min_samples_leaf < 1 {
        return Err(ModelError::param(
            "min-samples-leaf",
            "expected at least 1, got 0",
        ));
    }
    if let MaxFeatures::Fraction(f) = limits.max_features {
        if !(f > 0.0 && f <= 1.0) {
            return Err(ModelError::param(
                "max-features",
                format!("expected a fraction in (0, 1], got {f}"),
            ));
        }
    }
    if let Some(leaves) = limits.max_leaf_nodes {
        if leaves < 2 {
            return Err(ModelError::param(
                "max-leaf-nodes",
                format!("expected at least 2, or none, got {leaves}"),
            ));
        }
    }
    let decrease = limits.min_impurity_decrease;
    if !(decrease.is_finite() && decrease >= 0.0) {
        return Err(ModelError::param(
            "min-impurity-decrease",
            format!("expected a finite value of at least 0, got {decrease}"),
        ));
    }
    Ok(())
}

/// Checks the growth hyperparameters of a tree on `d` columns and resolves them.
pub(crate) fn grow_params(
    criterion: Criterion,
    splitter: Splitter,
    limits: &TreeLimits,
    d: usize,
) -> Result<GrowParams, ModelError> {
    check_limits(limits)?;
    let decrease = limits.min_impurity_decrease;
    Ok(GrowParams {
        criterion,
        splitter,
        max_depth: limits.max_depth.map_or(usize::MAX, |v| v as usize),
        min_samples_split: limits.min_samples_split,
        min_samples_leaf: limits.min_samples_leaf,
        max_features: limits.max_features.count(d),
        max_leaf_nodes: limits.max_leaf_nodes.map(|v| v as usize),
        min_impurity_decrease: decrease,
    })
}

/// Panics unless `x` has a column per importance (the fit's columns).
pub(crate) fn check_columns(x: ArrayView2<f64>, importances: &[f64]) {
    assert_eq!(
        x.ncols(),
        importances.len(),
        "columns differ from the fit's"
    );
}

/// Scales `v` to sum to 1, unless it sums to 0.
pub(crate) fn normalise(v: &mut [f64]) {
    let total: f64 = v.iter().sum();
    if total > 0.0 {
        v.iter_mut().for_each(|x| *x /= total);
    }
}
