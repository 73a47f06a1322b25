//! Random forests of classification trees (Breiman, 2001) as scikit-learn's
//! `RandomForestClassifier` builds them: each tree is a CART tree of [`crate::tree`] grown on
//! the whole training set (SecuML's default) or on a bootstrap sample of it, drawing its
//! features per node, for two classes ([`fit`]) or K ([`fit_classes`]); the forest's
//! probability (of each class) is the mean of its trees' leaf probabilities and its
//! importances the mean of its trees' normalised importances (trees reduced to a single leaf
//! left out), normalised.
//!
//! Differences from scikit-learn: the random numbers (each tree's ChaCha8 stream is seeded by
//! a draw of the forest's, itself seeded with `seed`) and what [`crate::tree`] lists; a
//! bootstrap sample repeats the rows drawn several times instead of weighting them, so
//! `min_samples_split` and `min_samples_leaf` count draws rather than distinct rows.

#[cfg(test)]
mod tests;

use ndarray::ArrayView2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::{RandomForestHyper, Splitter};
use serde::{Deserialize, Serialize};

use crate::model::{Detector, ModelError, Output};
use crate::rows::Rows;
use crate::tree::{
    check_columns, check_limits, for_each_row, grow_params, normalise, Binary, ClassTree, Classes,
    Coded, FlatTree, GrowParams, Grower, Grown, Labels, TrainingSet,
};

/// A fitted random forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForest {
    /// The trees.
    pub trees: Vec<FlatTree>,
    /// Normalised mean of the trees' normalised importances, per column.
    pub importances: Vec<f64>,
}

/// A fitted random forest of K classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForestClasses {
    /// The trees.
    pub trees: Vec<ClassTree>,
    /// Normalised mean of the trees' normalised importances, per column.
    pub importances: Vec<f64>,
}

/// Fits a forest to `x` (n × d, finite) and `y` (`true` for malicious), every random choice
/// drawn from ChaCha8 streams derived from `seed`; one thread.
pub fn fit(
    hyper: &RandomForestHyper,
    x: ArrayView2<f64>,
    y: &[bool],
    seed: u64,
) -> Result<RandomForest, ModelError> {
    fit_rows(hyper, &Rows::all(x), y, seed)
}

/// [`fit`] on the rows `x` of a larger matrix, read once (rank-coded) without a copy.
pub fn fit_rows(
    hyper: &RandomForestHyper,
    x: &Rows,
    y: &[bool],
    seed: u64,
) -> Result<RandomForest, ModelError> {
    resolve(hyper, x.ncols())?;
    fit_coded(hyper, &Coded::new(x, y)?, seed)
}

/// [`fit`] on rows already rank-coded.
pub fn fit_coded(
    hyper: &RandomForestHyper,
    data: &Coded,
    seed: u64,
) -> Result<RandomForest, ModelError> {
    let params = resolve(hyper, data.set().d)?;
    let (trees, importances) = grow_forest(hyper, data.set(), Binary, params, seed);
    Ok(RandomForest {
        trees: trees.into_iter().map(|g| g.tree).collect(),
        importances,
    })
}

/// Fits a forest of `k` classes to `x` (n × d, finite) and the class of each row, `y` (below
/// `k`; at least two present), every random choice drawn from ChaCha8 streams derived from
/// `seed` as [`fit`] draws them; one thread.
pub fn fit_classes(
    hyper: &RandomForestHyper,
    x: ArrayView2<f64>,
    y: &[usize],
    k: usize,
    seed: u64,
) -> Result<RandomForestClasses, ModelError> {
    let params = resolve(hyper, x.ncols())?;
    let data = TrainingSet::with_classes(&Rows::all(x), y, k)?;
    let (trees, importances) = grow_forest(hyper, &data, Classes::new(k), params, seed);
    let trees = trees
        .into_iter()
        .map(|g| ClassTree {
            tree: g.tree,
            classes: k,
            proba: g.proba,
        })
        .collect();
    Ok(RandomForestClasses { trees, importances })
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &RandomForestHyper) -> Result<(), ModelError> {
    check_trees(hyper)?;
    check_limits(&hyper.limits)
}

fn check_trees(hyper: &RandomForestHyper) -> Result<(), ModelError> {
    if hyper.n_estimators == 0 {
        return Err(ModelError::param(
            "n-estimators",
            "expected at least 1, got 0",
        ));
    }
    Ok(())
}

/// The growth parameters of the trees of `hyper` on `d` columns, checked.
pub(crate) fn resolve(hyper: &RandomForestHyper, d: usize) -> Result<GrowParams, ModelError> {
    check_trees(hyper)?;
    grow_params(hyper.criterion, Splitter::Best, &hyper.limits, d)
}

/// The trees of a forest on `data`, each on every row or a bootstrap sample, and the
/// forest's importances.
fn grow_forest<L: Labels>(
    hyper: &RandomForestHyper,
    data: &TrainingSet,
    labels: L,
    params: GrowParams,
    seed: u64,
) -> (Vec<Grown>, Vec<f64>) {
    let mut grower = Grower::new(data, labels, params);
    let mut forest_rng = ChaCha8Rng::seed_from_u64(seed);
    let mut trees = Vec::with_capacity(hyper.n_estimators as usize);
    let mut importances = vec![0.0; data.d];
    let mut informative = 0usize;
    for _ in 0..hyper.n_estimators {
        let mut rng = ChaCha8Rng::seed_from_u64(forest_rng.gen());
        let mut grown = if hyper.bootstrap {
            let n = data.n as u32;
            let rows: Vec<u32> = (0..n).map(|_| rng.gen_range(0..n)).collect();
            grower.grow(rows, &mut rng)
        } else {
            grower.grow(0..data.n as u32, &mut rng)
        };
        if grown.tree.len() > 1 {
            let mut own = std::mem::take(&mut grown.decrease);
            normalise(&mut own);
            importances.iter_mut().zip(&own).for_each(|(a, b)| *a += b);
            informative += 1;
        }
        trees.push(grown);
    }
    if informative > 0 {
        importances
            .iter_mut()
            .for_each(|v| *v /= informative as f64);
        normalise(&mut importances);
    }
    (trees, importances)
}

impl RandomForest {
    /// The probability of the malicious class of each row of `x`: the mean over the trees.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Vec<f64> {
        check_columns(x, &self.importances);
        let n_trees = self.trees.len() as f64;
        let mut out = Vec::with_capacity(x.nrows());
        for_each_row(x, |row| {
            let sum: f64 = self.trees.iter().map(|t| t.predict_row(row)).sum();
            out.push(sum / n_trees);
        });
        out
    }
}

impl RandomForestClasses {
    /// The probability of each class for every row of `x`: the mean of the trees' class
    /// fractions.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Vec<Vec<f64>> {
        check_columns(x, &self.importances);
        let k = self.trees.first().map_or(0, |t| t.classes);
        let n_trees = self.trees.len() as f64;
        let mut out = Vec::with_capacity(x.nrows());
        for_each_row(x, |row| {
            let mut sum = vec![0.0; k];
            for t in &self.trees {
                sum.iter_mut()
                    .zip(t.predict_row(row))
                    .for_each(|(s, p)| *s += p);
            }
            sum.iter_mut().for_each(|s| *s /= n_trees);
            out.push(sum);
        });
        out
    }
}

impl Detector for RandomForest {
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
