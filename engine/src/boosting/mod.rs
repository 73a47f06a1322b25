//! Gradient boosting of regression trees on the binomial deviance (log loss), and on the
//! multinomial deviance for more than two classes (K trees per stage, [`fit_classes`]), as
//! scikit-learn's `GradientBoostingClassifier` does it (Friedman, "Greedy function
//! approximation: a gradient boosting machine", 2001, and "Stochastic gradient boosting", 2002).
//!
#![doc = include_str!("README.md")]

mod columns;
mod grow;
mod multiclass;
#[cfg(test)]
mod multiclass_tests;
#[cfg(test)]
mod tests;
mod tree;

pub use multiclass::{fit_classes, GradientBoostingClasses};
pub use tree::RegressionTree;

use ndarray::ArrayView2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::GradientBoostingHyper;
use serde::{Deserialize, Serialize};
use tracing::debug;

use crate::model::{Detector, ModelError, Output};
use crate::rows::Rows;
use columns::RankedColumns;
use grow::{Bag, Grower, Limits};

/// A fitted gradient boosting classifier: raw score `init + Σ learning_rate · tree(x)`, the
/// log-odds of the malicious class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientBoosting {
    /// Raw score before the first stage: the log-odds of the training prior.
    pub init: f64,
    /// Shrinkage applied to every tree's values.
    pub learning_rate: f64,
    /// One tree per stage.
    pub trees: Vec<RegressionTree>,
    /// Normalised total impurity decrease per feature (sums to 1, or all 0 when no tree
    /// split).
    pub importances: Vec<f64>,
}

/// Fits a gradient boosting classifier on `x` (n × d, standardised) and labels `y` (true =
/// malicious); the subsamples and the features' order of every split come from `seed`.
pub fn fit(
    hyper: &GradientBoostingHyper,
    x: ArrayView2<f64>,
    y: &[bool],
    seed: u64,
) -> Result<GradientBoosting, ModelError> {
    fit_rows(hyper, &Rows::all(x), y, seed)
}

/// [`fit`] on the rows `x` of a larger matrix, read once (rank-coded) without a copy.
pub fn fit_rows(
    hyper: &GradientBoostingHyper,
    x: &Rows,
    y: &[bool],
    seed: u64,
) -> Result<GradientBoosting, ModelError> {
    let limits = resolve(hyper, x.ncols())?;
    check_data(x, y)?;
    let (n, d) = (x.len(), x.ncols());
    let columns = RankedColumns::new(x);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let positives = y.iter().filter(|&&v| v).count();
    let prior = (positives as f64 / n as f64).clamp(f64::EPSILON, 1.0 - f64::EPSILON);
    let init = (prior / (1.0 - prior)).ln();
    let mut raw = vec![init; n];
    let m = bag_size(hyper.subsample, n);

    let mut grower = Grower::new(limits, &columns.values, m);
    let mut sampler = Sampler::new(n, m, d);
    let mut importances = vec![0.0; d];
    let mut trees = Vec::with_capacity(hyper.n_estimators as usize);
    let (mut g, mut h) = (vec![0.0; m], vec![0.0; m]);
    for stage in 0..hyper.n_estimators {
        sampler.draw(&columns, &mut rng);
        for (k, &i) in sampler.rows.iter().enumerate() {
            let p = sigmoid(raw[i]);
            g[k] = if y[i] { 1.0 - p } else { -p };
            h[k] = p * (1.0 - p);
        }
        let bag = Bag {
            m,
            codes: sampler.codes(&columns),
            g: &g,
            h: &h,
            scale: 1.0,
        };
        let grown = grower.grow(&bag, &mut rng, &mut importances);
        // Every training row, in bag or not, moves by the tree's value.
        for (i, r) in raw.iter_mut().enumerate() {
            *r += hyper.learning_rate * grown.tree.value[grown.training_leaf(&columns, i)];
        }
        debug!(stage, nodes = grown.tree.node_count(), "boosting stage");
        trees.push(grown.tree);
    }
    normalise(&mut importances);
    Ok(GradientBoosting {
        init,
        learning_rate: hyper.learning_rate,
        trees,
        importances,
    })
}

impl GradientBoosting {
    /// The raw score of each row of `x`: the log-odds of the malicious class (scikit-learn's
    /// `decision_function`). Values are rounded to `f32` before they meet the thresholds, as
    /// scikit-learn does.
    ///
    /// # Panics
    /// When `x` has another number of columns than the training matrix.
    pub fn decision_function(&self, x: ArrayView2<f64>) -> Vec<f64> {
        map_rows(x, self.importances.len(), |row| {
            let mut raw = self.init;
            for tree in &self.trees {
                raw += self.learning_rate * tree.value[tree.leaf(row)];
            }
            raw
        })
    }

    /// Number of features the model was fitted on.
    pub fn n_features(&self) -> usize {
        self.importances.len()
    }
}

impl Detector for GradientBoosting {
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let mut raw = self.decision_function(x);
        raw.iter_mut().for_each(|v| *v = sigmoid(*v));
        raw
    }

    fn output(&self) -> Output {
        Output::Probability
    }

    fn importances(&self) -> Option<Vec<f64>> {
        Some(self.importances.clone())
    }
}

/// `f` of every row of `x`, its values rounded to `f32` (as scikit-learn casts its input).
///
/// # Panics
/// When `x` has another number of columns than `d`, the training matrix's.
fn map_rows<T>(x: ArrayView2<f64>, d: usize, mut f: impl FnMut(&[f32]) -> T) -> Vec<T> {
    assert_eq!(
        x.ncols(),
        d,
        "gradient boosting fitted on {d} columns, given {}",
        x.ncols()
    );
    let mut row = vec![0f32; d];
    x.rows()
        .into_iter()
        .map(|xi| {
            for (r, &v) in row.iter_mut().zip(xi.iter()) {
                *r = v as f32;
            }
            f(&row)
        })
        .collect()
}

/// The logistic function, without overflow.
fn sigmoid(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

/// The number of in-bag rows of every stage: `max(1, floor(subsample · n))`.
fn bag_size(subsample: f64, n: usize) -> usize {
    ((subsample * n as f64).floor() as usize).clamp(1, n)
}

/// Scales the summed impurity decreases to sum to 1 (all 0 when no tree split).
fn normalise(importances: &mut [f64]) {
    let total: f64 = importances.iter().sum();
    if total > 0.0 {
        importances.iter_mut().for_each(|v| *v /= total);
    }
}

/// The in-bag rows of the current stage and their rank codes.
struct Sampler {
    n: usize,
    m: usize,
    /// The in-bag rows, increasing.
    rows: Vec<usize>,
    /// Their codes column-major (`codes[f * m + k]`), when not every row is in bag.
    codes: Vec<u32>,
}

impl Sampler {
    fn new(n: usize, m: usize, d: usize) -> Self {
        Sampler {
            n,
            m,
            rows: Vec::with_capacity(m),
            codes: if m < n { vec![0; m * d] } else { Vec::new() },
        }
    }

    /// Draws the next stage's rows and gathers their codes.
    fn draw(&mut self, columns: &RankedColumns, rng: &mut ChaCha8Rng) {
        draw_rows(self.n, self.m, rng, &mut self.rows);
        if self.m < self.n {
            for (f, out) in self.codes.chunks_exact_mut(self.m).enumerate() {
                let column = columns.column(f);
                for (o, &i) in out.iter_mut().zip(&self.rows) {
                    *o = column[i];
                }
            }
        }
    }

    /// The in-bag rows' codes, column-major: the full code matrix when every row is in bag.
    fn codes<'a>(&'a self, columns: &'a RankedColumns) -> &'a [u32] {
        if self.m < self.n {
            &self.codes
        } else {
            &columns.codes
        }
    }
}

/// `m` of the `n` rows without replacement, in increasing order (selection sampling, Knuth's
/// algorithm S, as scikit-learn's `_random_sample_mask`); all rows, and no draw, when `m == n`.
fn draw_rows(n: usize, m: usize, rng: &mut ChaCha8Rng, out: &mut Vec<usize>) {
    out.clear();
    if m >= n {
        out.extend(0..n);
        return;
    }
    for i in 0..n {
        let needed = m - out.len();
        if needed == 0 {
            break;
        }
        if rng.gen::<f64>() * ((n - i) as f64) < needed as f64 {
            out.push(i);
        }
    }
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &GradientBoostingHyper) -> Result<(), ModelError> {
    if !(hyper.learning_rate.is_finite() && hyper.learning_rate > 0.0) {
        return Err(ModelError::param("learning-rate", "a finite number > 0"));
    }
    if hyper.n_estimators == 0 {
        return Err(ModelError::param("n-estimators", "an integer >= 1"));
    }
    if !(hyper.subsample > 0.0 && hyper.subsample <= 1.0) {
        return Err(ModelError::param("subsample", "a fraction in (0, 1]"));
    }
    crate::tree::check_limits(&hyper.limits)
}

/// The growth limits of the trees of `hyper` on `d` columns, checked.
pub(crate) fn resolve(hyper: &GradientBoostingHyper, d: usize) -> Result<Limits, ModelError> {
    check_hyper(hyper)?;
    let lim = &hyper.limits;
    Ok(Limits {
        max_depth: lim.max_depth.map_or(usize::MAX, |v| v as usize),
        min_samples_split: lim.min_samples_split as usize,
        min_samples_leaf: lim.min_samples_leaf as usize,
        max_features: lim.max_features.count(d),
        max_leaf_nodes: lim.max_leaf_nodes.map(|v| v as usize),
        min_impurity_decrease: lim.min_impurity_decrease,
    })
}

fn check_data(x: &Rows, y: &[bool]) -> Result<(), ModelError> {
    check_matrix(x, y.len())?;
    if y.iter().all(|&v| v) || y.iter().all(|&v| !v) {
        return Err(ModelError::Data(
            "gradient boosting needs both classes in the training labels".into(),
        ));
    }
    Ok(())
}

/// Checks the training matrix against `labels` labels: rows and columns, every value finite
/// in f32.
fn check_matrix(x: &Rows, labels: usize) -> Result<(), ModelError> {
    let (n, d) = (x.len(), x.ncols());
    if n == 0 || d == 0 {
        return Err(ModelError::Data(format!(
            "gradient boosting needs rows and columns, got {n} x {d}"
        )));
    }
    if labels != n {
        return Err(ModelError::Data(format!("{n} rows but {labels} labels")));
    }
    if n > u32::MAX as usize {
        return Err(ModelError::Data(format!("{n} rows: at most 2^32 - 1")));
    }
    // The trees compare f32 values: a value beyond f32's range would become infinite.
    let too_large = |v: f64| !v.is_finite() || v.abs() > f64::from(f32::MAX);
    let mut row = vec![0.0; d];
    for i in 0..n {
        x.row_into(i, &mut row);
        if let Some((j, v)) = row.iter().enumerate().find(|(_, &v)| too_large(v)) {
            return Err(ModelError::Data(format!(
                "value {v} at row {i}, column {j} is not finite in f32"
            )));
        }
    }
    Ok(())
}
