//! Elliptic envelope: the Mahalanobis distance to a robust location and covariance, the
//! minimum covariance determinant found by FastMCD (Rousseeuw and Van Driessen, 1999), as
//! scikit-learn's `EllipticEnvelope(contamination=0.1)` (SecuML's EllipticEnvelope) computes it
//! with `MinCovDet`'s defaults (support of ⌈(n + d + 1) / 2⌉ rows).
//!
//! FastMCD, for n > 500 rows (`mcd.rs`): the rows are shuffled and cut into ⌊n / 300⌋ subsets;
//! in each, max(10, 500 / subsets) random (h_sub)-subsets are refined by two C-steps (location
//! and covariance of the support, then the h rows of smallest Mahalanobis distance as the next
//! support) and the 10 of lowest determinant kept; those candidates are refined to convergence
//! (at most 30 C-steps) on 1,500 random rows, the best 10 again on all rows, and the best one
//! wins. Up to 500 rows, 30 random subsets of all rows, the best 10 refined. Then, as
//! `MinCovDet`: the raw distances are divided by the consistency factor of Croux and Haesbroeck
//! (1999), c = α / F_{χ²(d+2)}(q_α), q_α = F⁻¹_{χ²(d)}(α), α = h / n; the rows with a corrected
//! distance below the 97.5 % quantile of χ²(d) give the reweighted location and covariance
//! (times the consistency factor at α = 0.975). `scores` is the squared Mahalanobis distance
//! to them (scikit-learn's `score_samples` is its negative).
//!
//! Singular covariances: standardised one-hot columns (and NSL-KDD's two constant columns)
//! make every covariance of NSL-KDD singular. scikit-learn warns ("The covariance matrix
//! associated to your dataset is not full rank"), takes the log-determinant of a singular
//! covariance as −∞, uses the pseudo-inverse (`pinvh`: eigenvalues below d·ε·max|λ| dropped)
//! for the distances, and stops the C-steps of a candidate as soon as its determinant is −∞;
//! ties between candidates go to the first one. This module does the same (a `tracing`
//! warning, the same pseudo-inverse through its own symmetric eigensolver, the same stopping
//! rule and tie order), so on NSL-KDD each candidate is one random subset moved once towards
//! its nearest rows, and the result depends on the seed as much as scikit-learn's does on
//! `random_state`.
//!
//! Differences from scikit-learn: the random subsets come from `ChaCha8Rng` (another stream
//! than numpy's), ties between equal distances at the support's edge go to the lower row
//! index, and the raw candidates' determinants are computed only where scikit-learn uses them.

mod chi2;
mod linalg;
mod mcd;
#[cfg(test)]
mod tests;

use ndarray::{Array1, Array2, ArrayView2};
use secuml_proto::hyper::EllipticEnvelopeHyper;
use serde::{Deserialize, Serialize};

use crate::lof::{check_rows, percentile};
use crate::model::{Detector, ModelError, Output};
use linalg::PseudoInverse;

/// A fitted elliptic envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EllipticEnvelope {
    /// The robust (reweighted) location.
    pub location: Array1<f64>,
    /// The precision (pseudo-inverse of the reweighted covariance) as retained eigenvectors,
    /// one per row: precision = Σₖ vₖ vₖᵀ / λₖ.
    pub components: Array2<f64>,
    /// 1 / λₖ of each retained eigenvector.
    pub inverse_eigenvalues: Vec<f64>,
    /// Rows of the reweighted support.
    pub support_size: usize,
    /// Squared distance above which a row is an outlier: the (1 − contamination) quantile of
    /// the training rows' distances (scikit-learn's `-offset_`).
    pub threshold: f64,
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &EllipticEnvelopeHyper) -> Result<(), ModelError> {
    if !(hyper.contamination > 0.0 && hyper.contamination <= 0.5) {
        return Err(ModelError::param(
            "contamination",
            "expected a share in (0, 0.5]",
        ));
    }
    Ok(())
}

/// Fits the envelope on `x` (standardised), every random subset drawn from `seed`.
pub fn fit(
    hyper: &EllipticEnvelopeHyper,
    x: ArrayView2<f64>,
    seed: u64,
) -> Result<EllipticEnvelope, ModelError> {
    check_hyper(hyper)?;
    check_rows(x, 2)?;
    let raw = mcd::fast_mcd(x, seed);
    let (n, d) = (x.nrows() as f64, x.ncols() as f64);
    let h = raw.support.len();
    if h < x.nrows() && raw.covariance.iter().all(|v| v.abs() <= 1e-8) {
        return Err(ModelError::Data(
            "the covariance of the robust support is 0: more than half the rows are identical"
                .into(),
        ));
    }
    let correction = consistency_factor(d, h as f64 / n);
    // Reweighting: the rows within the 97.5 % quantile of the corrected distances.
    let limit = chi2::isf(0.025, d);
    let kept: Vec<usize> = (0..x.nrows())
        .filter(|&i| raw.distances[i] / correction < limit)
        .collect();
    if kept.is_empty() {
        return Err(ModelError::Data(
            "no row is within the robust envelope".into(),
        ));
    }
    let (location, mut covariance) = linalg::moments(x, &kept);
    covariance *= consistency_factor(d, 0.975);
    let precision = PseudoInverse::of(&covariance);
    let mut distances = precision.mahalanobis(x, &location);
    let threshold = percentile(&mut distances, 100.0 * (1.0 - hyper.contamination));
    Ok(EllipticEnvelope {
        location,
        components: precision.components,
        inverse_eigenvalues: precision.inverse_eigenvalues,
        support_size: kept.len(),
        threshold,
    })
}

impl Detector for EllipticEnvelope {
    /// The squared Mahalanobis distance of each row to the robust location.
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let precision = PseudoInverse {
            components: self.components.clone(),
            inverse_eigenvalues: self.inverse_eigenvalues.clone(),
        };
        precision.mahalanobis(x, &self.location)
    }

    fn output(&self) -> Output {
        Output::Score
    }
}

/// Croux and Haesbroeck's factor making the covariance of the α share of rows nearest the
/// centre consistent at the normal distribution (Pison et al., 2002, section 3).
fn consistency_factor(d: f64, alpha: f64) -> f64 {
    if alpha >= 1.0 {
        return 1.0;
    }
    let q = chi2::ppf(alpha, d);
    alpha / chi2::cdf(q, d + 2.0)
}
