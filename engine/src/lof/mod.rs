//! Local outlier factor (Breunig, Kriegel, Ng and Sander, 2000) as a novelty detector, as
//! scikit-learn's `LocalOutlierFactor(novelty=True)` (SecuML's Lof: `n_neighbors=20`,
//! `contamination=0.1`, brute-force Euclidean neighbours).
//!
//! Fit: the k nearest neighbours of each training row among the others, its k-distance (the
//! distance to its k-th neighbour) and its local reachability density
//! lrd(p) = 1 / (mean over its neighbours o of max(d(p, o), k-distance(o)) + 10⁻¹⁰).
//! Score of a new row p: its k nearest training rows, its lrd computed the same way, and
//! LOF(p) = mean over its neighbours o of lrd(o) / lrd(p) (scikit-learn's `score_samples` is
//! −LOF). The model keeps the training rows, their k-distances and their lrds.
//!
//! Differences from scikit-learn: the neighbours are the k smallest distances computed
//! directly from the row differences (`neighbours::kneighbors`), ties going to the lower
//! training index. scikit-learn ranks by the ‖a‖² − 2a·b + ‖b‖² values and keeps them, so
//! duplicate rows sit at rounding noise, ~10⁻⁸, instead of exactly 0, and between rows at
//! nearly equal distances (within ~10⁻¹⁵ relative) it may keep another one.

use ndarray::{Array2, ArrayView2};
use secuml_proto::hyper::LofHyper;
use serde::{Deserialize, Serialize};

use crate::model::{Detector, ModelError, Output};
use crate::neighbours::kneighbors;

#[cfg(test)]
mod tests;

/// A fitted local outlier factor model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lof {
    /// Neighbours used (the hyperparameter, capped at the training rows − 1).
    pub n_neighbors: usize,
    /// The training rows.
    pub train: Array2<f64>,
    /// Distance of each training row to its k-th nearest other training row.
    pub k_distances: Vec<f64>,
    /// Local reachability density of each training row.
    pub lrd: Vec<f64>,
    /// LOF above which a row is an outlier: the (1 − contamination) quantile of the training
    /// rows' LOF (scikit-learn's `-offset_`).
    pub threshold: f64,
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &LofHyper) -> Result<(), ModelError> {
    if hyper.n_neighbors == 0 {
        return Err(ModelError::param("n-neighbors", "expected at least 1"));
    }
    if !(hyper.contamination > 0.0 && hyper.contamination <= 0.5) {
        return Err(ModelError::param(
            "contamination",
            "expected a share in (0, 0.5]",
        ));
    }
    Ok(())
}

/// Fits the model on `x` (rows × columns, standardised). `seed` is unused: the fit is exact.
pub fn fit(hyper: &LofHyper, x: ArrayView2<f64>, _seed: u64) -> Result<Lof, ModelError> {
    check_hyper(hyper)?;
    check_rows(x, 2)?;
    let k = (hyper.n_neighbors as usize).min(x.nrows() - 1);
    let nb = kneighbors(x, x, k, true);
    let k_distances: Vec<f64> = (0..x.nrows()).map(|i| nb.of(i).1[k - 1]).collect();
    let lrd: Vec<f64> = (0..x.nrows())
        .map(|i| reachability_density(nb.of(i), &k_distances))
        .collect();
    let mut train_lof: Vec<f64> = (0..x.nrows())
        .map(|i| outlier_factor(nb.of(i).0, lrd[i], &lrd))
        .collect();
    let threshold = percentile(&mut train_lof, 100.0 * (1.0 - hyper.contamination));
    Ok(Lof {
        n_neighbors: k,
        train: x.to_owned(),
        k_distances,
        lrd,
        threshold,
    })
}

impl Detector for Lof {
    /// The LOF of each row: about 1 inside a cluster, larger for outliers.
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        if x.nrows() == 0 {
            return Vec::new();
        }
        let nb = kneighbors(self.train.view(), x, self.n_neighbors, false);
        (0..x.nrows())
            .map(|i| {
                let own = reachability_density(nb.of(i), &self.k_distances);
                outlier_factor(nb.of(i).0, own, &self.lrd)
            })
            .collect()
    }

    fn output(&self) -> Output {
        Output::Score
    }
}

/// Checks there are at least `min_rows` rows, some column and only finite values.
pub(crate) fn check_rows(x: ArrayView2<f64>, min_rows: usize) -> Result<(), ModelError> {
    if x.nrows() < min_rows || x.ncols() == 0 {
        return Err(ModelError::Data(format!(
            "expected at least {min_rows} rows and one column, got {} x {}",
            x.nrows(),
            x.ncols()
        )));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(ModelError::Data(
            "the features hold non-finite values".into(),
        ));
    }
    Ok(())
}

/// lrd of a row from its neighbours and their distances.
fn reachability_density((indices, distances): (&[usize], &[f64]), k_distances: &[f64]) -> f64 {
    let reach: f64 = indices
        .iter()
        .zip(distances)
        .map(|(&o, &d)| d.max(k_distances[o]))
        .sum();
    1.0 / (reach / indices.len() as f64 + 1e-10)
}

/// Mean of lrd(o) / lrd(p) over the neighbours o of p.
fn outlier_factor(indices: &[usize], own_lrd: f64, lrd: &[f64]) -> f64 {
    indices.iter().map(|&o| lrd[o] / own_lrd).sum::<f64>() / indices.len() as f64
}

/// numpy's default (linear) percentile `q` in [0, 100] of `values` (reordered in place).
pub(crate) fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(values.len() - 1);
    values[lo] + (pos - lo as f64) * (values[hi] - values[lo])
}
