//! Gaussian naive Bayes, as scikit-learn's `GaussianNB`: class priors from the label
//! frequencies, a mean and a (population) variance per class and feature, `var_smoothing`
//! times the largest feature variance added to every variance, and class probabilities from
//! the joint log-likelihoods by log-sum-exp.
//!
//! Own code rather than linfa-bayes: the model is a few sums, and ours takes our types
//! (`&[bool]` labels, the proto hyperparameters, serde) directly; it computes in one pass per
//! class over row-major data.

#[cfg(test)]
mod tests;

use ndarray::ArrayView2;
use secuml_proto::hyper::GaussianNbHyper;
use serde::{Deserialize, Serialize};

use crate::model::{Detector, ModelError, Output};

/// A fitted Gaussian naive Bayes; class 0 is benign, class 1 malicious.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianNb {
    /// Class frequencies in the training set.
    pub class_prior: [f64; 2],
    /// Per class, the mean of each feature.
    pub means: [Vec<f64>; 2],
    /// Per class, the variance of each feature, smoothing included.
    pub variances: [Vec<f64>; 2],
    /// The smoothing added to every variance (`var_smoothing` × the largest feature variance).
    pub epsilon: f64,
}

/// Fits the model on `x` (n × d, standardised) and labels `y` (true = malicious); `seed` is
/// unused (the fit is deterministic).
pub fn fit(
    hyper: &GaussianNbHyper,
    x: ArrayView2<f64>,
    y: &[bool],
    _seed: u64,
) -> Result<GaussianNb, ModelError> {
    if !(hyper.var_smoothing.is_finite() && hyper.var_smoothing >= 0.0) {
        return Err(ModelError::param(
            "var-smoothing",
            "a finite number, 0 or above",
        ));
    }
    let (n, d) = x.dim();
    if n == 0 || d == 0 {
        return Err(ModelError::Data(
            "the training set has no row or no column".into(),
        ));
    }
    if y.len() != n {
        return Err(ModelError::Data(format!("{} labels for {n} rows", y.len())));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(ModelError::Data(
            "the training set has a non-finite value".into(),
        ));
    }
    let counts = [
        y.iter().filter(|&&l| !l).count(),
        y.iter().filter(|&&l| l).count(),
    ];
    if counts.contains(&0) {
        return Err(ModelError::Data(
            "the training set has a single class".into(),
        ));
    }
    // Per class sums, then the centred second moments (two passes, as numpy's var).
    let mut means = [vec![0.0; d], vec![0.0; d]];
    for (row, &label) in x.rows().into_iter().zip(y) {
        for (m, &v) in means[label as usize].iter_mut().zip(row) {
            *m += v;
        }
    }
    for (k, m) in means.iter_mut().enumerate() {
        m.iter_mut().for_each(|v| *v /= counts[k] as f64);
    }
    let mut variances = [vec![0.0; d], vec![0.0; d]];
    for (row, &label) in x.rows().into_iter().zip(y) {
        let k = label as usize;
        for ((s, &v), &m) in variances[k].iter_mut().zip(row).zip(&means[k]) {
            *s += (v - m) * (v - m);
        }
    }
    for (k, s) in variances.iter_mut().enumerate() {
        s.iter_mut().for_each(|v| *v /= counts[k] as f64);
    }
    // The largest variance of a feature over the whole set, from the class moments.
    let total = n as f64;
    let largest = (0..d)
        .map(|j| {
            let mean = (means[0][j] * counts[0] as f64 + means[1][j] * counts[1] as f64) / total;
            (0..2)
                .map(|k| {
                    counts[k] as f64
                        * (variances[k][j] + (means[k][j] - mean) * (means[k][j] - mean))
                })
                .sum::<f64>()
                / total
        })
        .fold(0.0, f64::max);
    let epsilon = hyper.var_smoothing * largest;
    for s in variances.iter_mut() {
        s.iter_mut().for_each(|v| *v += epsilon);
    }
    if variances.iter().flatten().any(|&v| v <= 0.0) {
        return Err(ModelError::Data(
            "a feature is constant within a class and var-smoothing is 0".into(),
        ));
    }
    Ok(GaussianNb {
        class_prior: [counts[0] as f64 / total, counts[1] as f64 / total],
        means,
        variances,
        epsilon,
    })
}

impl GaussianNb {
    /// The joint log-likelihood log P(class) + log p(x | class) of each class, for every row.
    pub fn joint_log_likelihood(&self, x: ArrayView2<f64>) -> Vec<[f64; 2]> {
        let inv: [Vec<f64>; 2] =
            [0, 1].map(|k| self.variances[k].iter().map(|v| 1.0 / v).collect());
        let constant: [f64; 2] = [0, 1].map(|k| {
            self.class_prior[k].ln()
                - 0.5
                    * self.variances[k]
                        .iter()
                        .map(|v| (2.0 * std::f64::consts::PI * v).ln())
                        .sum::<f64>()
        });
        x.rows()
            .into_iter()
            .map(|row| {
                [0, 1].map(|k| {
                    let mut s = 0.0;
                    for ((&v, &m), &iv) in row.iter().zip(&self.means[k]).zip(&inv[k]) {
                        s += (v - m) * (v - m) * iv;
                    }
                    constant[k] - 0.5 * s
                })
            })
            .collect()
    }
}

impl Detector for GaussianNb {
    /// P(malicious | x) = exp(jll₁ − logsumexp(jll₀, jll₁)).
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.joint_log_likelihood(x)
            .into_iter()
            .map(|[j0, j1]| {
                let top = j0.max(j1);
                let lse = top + ((j0 - top).exp() + (j1 - top).exp()).ln();
                (j1 - lse).exp()
            })
            .collect()
    }

    fn output(&self) -> Output {
        Output::Probability
    }
}
