//! Gaussian mixture: expectation-maximisation (EM) of a mixture of `k` Gaussians, initialised
//! from a k-means partition, as scikit-learn's `GaussianMixture(init_params="kmeans", n_init=1)`.
//!
//! The algorithm:
//! - **initialisation**: the responsibilities are the one-hot labels of one k-means run
//!   ([`super::fit`] with `n_init` 1, seeded), and the first parameters are the M-step of them;
//! - **E-step**: for every row, the log of each component's weighted density
//!   `ln w_c + ln N(x | mu_c, Sigma_c)`, their log-sum-exp (the row's log-likelihood) and the
//!   log responsibilities (the difference);
//! - **M-step**: `n_c = sum_i r_ic + 10 eps`, `w_c = n_c / sum n`, `mu_c = sum_i r_ic x_i / n_c`,
//!   and the covariance: per column (`Diag`, SecuML's choice: `sum_i r_ic x_ij^2 / n_c - mu_cj^2`)
//!   or whole (`Full`: `sum_i r_ic (x_i - mu_c)(x_i - mu_c)^T / n_c`), plus `reg_covar` on the
//!   diagonal; a full covariance is used through its Cholesky factor `L` (`ln det` from its
//!   diagonal, the Mahalanobis distance from the triangular solve `L^-1 (x - mu)`);
//! - **convergence** when the mean log-likelihood changes by less than `tol` between two
//!   iterations, or after `max_iter` iterations; a last E-step gives the labels (the component
//!   of highest responsibility, the lowest index on ties), so they agree with the final parameters.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use super::kmeans::{fit as kmeans_fit, KmeansParams};

/// The shape of every component's covariance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covariance {
    /// One variance per column (scikit-learn's `"diag"`; what SecuML's alert clustering uses).
    Diag,
    /// A whole covariance matrix (scikit-learn's `"full"`, its default).
    Full,
}

/// Parameters of a Gaussian mixture.
#[derive(Debug, Clone, PartialEq)]
pub struct GmmParams {
    /// Components.
    pub k: usize,
    /// Covariance shape.
    pub covariance: Covariance,
    /// EM iterations at most.
    pub max_iter: u32,
    /// Convergence threshold on the change of the mean log-likelihood.
    pub tol: f64,
    /// Added to the covariances' diagonal, so they stay positive definite.
    pub reg_covar: f64,
    /// Seed of the k-means initialisation.
    pub seed: u64,
}

impl GmmParams {
    /// scikit-learn's defaults (max_iter 100, tol 1e-3, reg_covar 1e-6), seed 0.
    pub fn new(k: usize, covariance: Covariance) -> GmmParams {
        GmmParams {
            k,
            covariance,
            max_iter: 100,
            tol: 1e-3,
            reg_covar: 1e-6,
            seed: 0,
        }
    }
}

/// Why a mixture cannot be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GmmError {
    /// `k` is 0 or above the number of rows.
    #[error(
        "a Gaussian mixture of {k} components needs between 1 and {rows} components (the rows)"
    )]
    Components {
        /// Components asked for.
        k: usize,
        /// Rows given.
        rows: usize,
    },
    /// A full covariance is not positive definite even with `reg_covar`.
    #[error("the covariance of component {component} is not positive definite: increase reg_covar or use a diagonal covariance")]
    IllDefined {
        /// Component.
        component: usize,
    },
}

/// A fitted Gaussian mixture.
#[derive(Debug, Clone, PartialEq)]
pub struct GmmFit {
    /// The component of highest responsibility of every row.
    pub labels: Vec<u32>,
    /// Weight of every component.
    pub weights: Array1<f64>,
    /// Mean of every component (k x d).
    pub means: Array2<f64>,
    /// Mean log-likelihood of the rows at the last EM iteration (scikit-learn's `lower_bound_`).
    pub mean_log_likelihood: f64,
    /// EM iterations run.
    pub n_iter: u32,
    /// Whether the change fell under `tol` before `max_iter`.
    pub converged: bool,
}

/// A component's covariance as the E-step uses it.
enum Precision {
    /// Inverse standard deviation of every column.
    Diag(Array1<f64>),
    /// The lower Cholesky factor of the covariance.
    Full(Array2<f64>),
}

struct Params {
    weights: Array1<f64>,
    means: Array2<f64>,
    precisions: Vec<Precision>,
}

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Lower Cholesky factor of a symmetric positive definite matrix, `None` otherwise.
pub(crate) fn cholesky(a: &Array2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let mut d = a[[j, j]];
        for p in 0..j {
            d -= l[[j, p]] * l[[j, p]];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        l[[j, j]] = d;
        for i in j + 1..n {
            let mut s = a[[i, j]];
            for p in 0..j {
                s -= l[[i, p]] * l[[j, p]];
            }
            l[[i, j]] = s / d;
        }
    }
    Some(l)
}

/// The M-step: weights, means and covariances from the responsibilities `resp` (n x k).
fn m_step(x: ArrayView2<f64>, resp: &Array2<f64>, params: &GmmParams) -> Result<Params, GmmError> {
    let d = x.ncols();
    let k = resp.ncols();
    let nk: Array1<f64> = resp.sum_axis(Axis(0)) + 10.0 * f64::EPSILON;
    let means = resp.t().dot(&x) / nk.view().insert_axis(Axis(1));
    let mut precisions = Vec::with_capacity(k);
    match params.covariance {
        Covariance::Diag => {
            let x2 = x.mapv(|v| v * v);
            let avg_x2 = resp.t().dot(&x2) / nk.view().insert_axis(Axis(1));
            for c in 0..k {
                let prec: Array1<f64> = (0..d)
                    .map(|j| {
                        let var = avg_x2[[c, j]] - means[[c, j]] * means[[c, j]] + params.reg_covar;
                        1.0 / var.sqrt()
                    })
                    .collect();
                precisions.push(Precision::Diag(prec));
            }
        }
        Covariance::Full => {
            for c in 0..k {
                let mut diff = x.to_owned();
                diff -= &means.row(c);
                let mut weighted = diff.clone();
                for (mut row, r) in weighted.rows_mut().into_iter().zip(resp.column(c)) {
                    row *= *r;
                }
                let mut cov = weighted.t().dot(&diff) / nk[c];
                for j in 0..d {
                    cov[[j, j]] += params.reg_covar;
                }
                let l = cholesky(&cov).ok_or(GmmError::IllDefined { component: c })?;
                precisions.push(Precision::Full(l));
            }
        }
    }
    let weights = &nk / nk.sum();
    Ok(Params {
        weights,
        means,
        precisions,
    })
}

/// `ln w_c + ln N(x_i | c)` for every row and component (n x k).
fn weighted_log_prob(x: ArrayView2<f64>, p: &Params) -> Array2<f64> {
    let (n, d) = x.dim();
    let k = p.means.nrows();
    let mut out = Array2::<f64>::zeros((n, k));
    let mut z = vec![0.0; d];
    for (c, precision) in p.precisions.iter().enumerate() {
        let mu = p.means.row(c);
        let (log_det, mut column) = match precision {
            Precision::Diag(prec) => (prec.iter().map(|v| v.ln()).sum::<f64>(), out.column_mut(c)),
            Precision::Full(l) => (
                -l.diag().iter().map(|v| v.ln()).sum::<f64>(),
                out.column_mut(c),
            ),
        };
        for (i, row) in x.rows().into_iter().enumerate() {
            let maha = match precision {
                Precision::Diag(prec) => row
                    .iter()
                    .zip(mu)
                    .zip(prec)
                    .map(|((v, m), s)| {
                        let t = (v - m) * s;
                        t * t
                    })
                    .sum::<f64>(),
                Precision::Full(l) => {
                    // Forward substitution: z = L^-1 (x - mu).
                    let mut sum = 0.0;
                    for a in 0..d {
                        let mut s = row[a] - mu[a];
                        for b in 0..a {
                            s -= l[[a, b]] * z[b];
                        }
                        z[a] = s / l[[a, a]];
                        sum += z[a] * z[a];
                    }
                    sum
                }
            };
            column[i] = -0.5 * (d as f64 * LN_2PI + maha) + log_det + p.weights[c].ln();
        }
    }
    out
}

/// The E-step: the mean log-likelihood and the log responsibilities (in place of `wlp`).
fn e_step(x: ArrayView2<f64>, p: &Params) -> (f64, Array2<f64>) {
    let mut wlp = weighted_log_prob(x, p);
    let mut total = 0.0;
    for mut row in wlp.rows_mut() {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = if max.is_finite() {
            max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
        } else {
            max
        };
        total += lse;
        row -= lse;
    }
    (total / x.nrows() as f64, wlp)
}

fn argmax_rows(a: &Array2<f64>) -> Vec<u32> {
    a.rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (j, v) in row.iter().enumerate() {
                if *v > row[best] {
                    best = j;
                }
            }
            best as u32
        })
        .collect()
}

/// Fits a Gaussian mixture on the rows `x` (standardised by the caller when it should be),
/// starting from a k-means partition seeded with `params.seed`.
pub fn fit_gmm(x: ArrayView2<f64>, params: &GmmParams) -> Result<GmmFit, GmmError> {
    let (n, d) = x.dim();
    if params.k == 0 || params.k > n {
        return Err(GmmError::Components {
            k: params.k,
            rows: n,
        });
    }
    let mean_variance = if d == 0 {
        0.0
    } else {
        x.var_axis(Axis(0), 0.0).sum() / d as f64
    };
    let kmeans = kmeans_fit(
        x,
        &KmeansParams {
            n_init: 1,
            seed: params.seed,
            ..KmeansParams::new(params.k)
        },
        mean_variance,
    );
    fit_gmm_from(x, &kmeans.labels, params)
}

/// Fits a Gaussian mixture on the rows `x` starting from the partition `init` (a component
/// below `params.k` for every row): EM from the M-step of its one-hot responsibilities.
pub fn fit_gmm_from(
    x: ArrayView2<f64>,
    init: &[u32],
    params: &GmmParams,
) -> Result<GmmFit, GmmError> {
    let n = x.nrows();
    if params.k == 0 || params.k > n || init.len() != n {
        return Err(GmmError::Components {
            k: params.k,
            rows: n,
        });
    }
    let mut resp = Array2::<f64>::zeros((n, params.k));
    for (i, &c) in init.iter().enumerate() {
        if c as usize >= params.k {
            return Err(GmmError::Components {
                k: c as usize + 1,
                rows: n,
            });
        }
        resp[[i, c as usize]] = 1.0;
    }
    let mut p = m_step(x, &resp, params)?;
    let mut lower_bound = f64::NEG_INFINITY;
    let (mut n_iter, mut converged) = (0, false);
    for iter in 1..=params.max_iter.max(1) {
        let previous = lower_bound;
        let (mean_ll, log_resp) = e_step(x, &p);
        p = m_step(x, &log_resp.mapv(f64::exp), params)?;
        lower_bound = mean_ll;
        n_iter = iter;
        if (lower_bound - previous).abs() < params.tol {
            converged = true;
            break;
        }
    }
    tracing::debug!(n_iter, converged, lower_bound, "gaussian mixture fitted");
    let (_, log_resp) = e_step(x, &p);
    Ok(GmmFit {
        labels: argmax_rows(&log_resp),
        weights: p.weights,
        means: p.means,
        mean_log_likelihood: lower_bound,
        n_iter,
        converged,
    })
}
