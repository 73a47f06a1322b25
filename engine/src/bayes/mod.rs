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

/// A fitted Gaussian naive Bayes over any number of classes (multiclass models on families):
/// class `k` is the `k`-th of the model's sorted class labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianNbClasses {
    /// Class frequencies in the training set.
    pub class_prior: Vec<f64>,
    /// Per class, the mean of each feature.
    pub means: Vec<Vec<f64>>,
    /// Per class, the variance of each feature, smoothing included.
    pub variances: Vec<Vec<f64>>,
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
    let classes: Vec<usize> = y.iter().map(|&l| usize::from(l)).collect();
    let mut m = fit_classes(hyper, x, &classes, 2)?;
    let pair = |v: &mut Vec<Vec<f64>>| [std::mem::take(&mut v[0]), std::mem::take(&mut v[1])];
    Ok(GaussianNb {
        class_prior: [m.class_prior[0], m.class_prior[1]],
        means: pair(&mut m.means),
        variances: pair(&mut m.variances),
        epsilon: m.epsilon,
    })
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &GaussianNbHyper) -> Result<(), ModelError> {
    if !(hyper.var_smoothing.is_finite() && hyper.var_smoothing >= 0.0) {
        return Err(ModelError::param(
            "var-smoothing",
            "a finite number, 0 or above",
        ));
    }
    Ok(())
}

/// Fits the model on `x` (n × d, standardised) and class indices `y` (each below `k`, every
/// class present: scikit-learn knows only the classes it saw).
pub fn fit_classes(
    hyper: &GaussianNbHyper,
    x: ArrayView2<f64>,
    y: &[usize],
    k: usize,
) -> Result<GaussianNbClasses, ModelError> {
    check_hyper(hyper)?;
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
    let mut counts = vec![0usize; k];
    for &c in y {
        if c >= k {
            return Err(ModelError::Data(format!("class {c} is not below {k}")));
        }
        counts[c] += 1;
    }
    if counts.contains(&0) {
        return Err(ModelError::Data(if k == 2 {
            "the training set has a single class".into()
        } else {
            "a class has no training row".into()
        }));
    }
    // Per class sums, then the centred second moments (two passes, as numpy's var).
    let mut means = vec![vec![0.0; d]; k];
    for (row, &c) in x.rows().into_iter().zip(y) {
        for (m, &v) in means[c].iter_mut().zip(row) {
            *m += v;
        }
    }
    for (c, m) in means.iter_mut().enumerate() {
        m.iter_mut().for_each(|v| *v /= counts[c] as f64);
    }
    let mut variances = vec![vec![0.0; d]; k];
    for (row, &c) in x.rows().into_iter().zip(y) {
        for ((s, &v), &m) in variances[c].iter_mut().zip(row).zip(&means[c]) {
            *s += (v - m) * (v - m);
        }
    }
    for (c, s) in variances.iter_mut().enumerate() {
        s.iter_mut().for_each(|v| *v /= counts[c] as f64);
    }
    // The largest variance of a feature over the whole set, from the class moments.
    let total = n as f64;
    let largest = (0..d)
        .map(|j| {
            let mean = (0..k).map(|c| means[c][j] * counts[c] as f64).sum::<f64>() / total;
            (0..k)
                .map(|c| {
                    counts[c] as f64
                        * (variances[c][j] + (means[c][j] - mean) * (means[c][j] - mean))
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
    Ok(GaussianNbClasses {
        class_prior: counts.iter().map(|&c| c as f64 / total).collect(),
        means,
        variances,
        epsilon,
    })
}

/// The joint log-likelihood log P(class) + log p(x | class) of each class, for every row.
fn joint_log_likelihood(
    priors: &[f64],
    means: &[Vec<f64>],
    variances: &[Vec<f64>],
    x: ArrayView2<f64>,
) -> Vec<Vec<f64>> {
    let inv: Vec<Vec<f64>> = variances
        .iter()
        .map(|v| v.iter().map(|v| 1.0 / v).collect())
        .collect();
    let constant: Vec<f64> = priors
        .iter()
        .zip(variances)
        .map(|(p, var)| {
            p.ln()
                - 0.5
                    * var
                        .iter()
                        .map(|v| (2.0 * std::f64::consts::PI * v).ln())
                        .sum::<f64>()
        })
        .collect();
    x.rows()
        .into_iter()
        .map(|row| {
            means
                .iter()
                .zip(&inv)
                .zip(&constant)
                .map(|((mean, inv), constant)| {
                    let mut s = 0.0;
                    for ((&v, &m), &iv) in row.iter().zip(mean).zip(inv) {
                        s += (v - m) * (v - m) * iv;
                    }
                    constant - 0.5 * s
                })
                .collect()
        })
        .collect()
}

/// exp(jll − logsumexp(jll)): the class probabilities of one row.
fn normalised(jll: Vec<f64>) -> Vec<f64> {
    let top = jll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = top + jll.iter().map(|j| (j - top).exp()).sum::<f64>().ln();
    jll.into_iter().map(|j| (j - lse).exp()).collect()
}

impl GaussianNb {
    /// The joint log-likelihood log P(class) + log p(x | class) of each class, for every row.
    pub fn joint_log_likelihood(&self, x: ArrayView2<f64>) -> Vec<[f64; 2]> {
        joint_log_likelihood(&self.class_prior, &self.means, &self.variances, x)
            .into_iter()
            .map(|j| [j[0], j[1]])
            .collect()
    }
}

impl GaussianNbClasses {
    /// The probability of each class (`n` rows of `k` values), as scikit-learn's
    /// `predict_proba`.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Vec<Vec<f64>> {
        joint_log_likelihood(&self.class_prior, &self.means, &self.variances, x)
            .into_iter()
            .map(normalised)
            .collect()
    }
}

impl Detector for GaussianNb {
    /// P(malicious | x) = exp(jll₁ − logsumexp(jll₀, jll₁)).
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        joint_log_likelihood(&self.class_prior, &self.means, &self.variances, x)
            .into_iter()
            .map(|j| normalised(j)[1])
            .collect()
    }

    fn output(&self) -> Output {
        Output::Probability
    }
}
