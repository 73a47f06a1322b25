//! Semi-supervised support vector data description (Görnitz, Kloft, Rieck and Brefeld,
//! "Toward Supervised Anomaly Detection", JAIR 2013) in the primal, as SecuML's `Sssvdd`
//! formulates it (`secuml/core/classif/classifiers/sssvdd.py`; here an own implementation of
//! that objective).
//!
//! A hypersphere of centre c and radius R, a margin γ, labels yᵢ = +1 for benign and −1 for
//! malicious rows; minimise
//! f(R, γ, c) = R² − κγ + (ν_u / n_u) Σ_unlabelled ℓ(R² − ‖xᵢ − c‖²)
//!            + (ν_l / n_l) Σ_labelled ℓ(yᵢ(R² − ‖xᵢ − c‖²) − γ),
//! with ℓ the hinge max(0, −t) smoothed on |t| ≤ ε = 0.5 (ℓ(t) = (ε − t)² / 4ε there), so that
//! f is continuously differentiable. As SecuML, the start is c = the mean of the unlabelled
//! and benign rows, R = their mean distance to it, γ = 1; SecuML minimises with scipy's BFGS
//! (`fmin_bfgs`, gtol 10⁻⁵ on ‖∇f‖∞), this module with the engine's own L-BFGS (`crate::lbfgs`, 10
//! correction pairs, the same stopping rule, at most 200 × (d + 2) iterations, SecuML's
//! `maxiter`). `scores` is the decision function ‖x − c‖² − R² (positive outside the sphere:
//! higher = more anomalous).
//!
//! Difference from SecuML: without labelled rows, γ only enters f as −κγ (unbounded below, so
//! BFGS drifts along it); it is then left at its start, which changes neither c nor R.

#[cfg(test)]
mod tests;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use secuml_proto::hyper::SssvddHyper;
use serde::{Deserialize, Serialize};

use crate::lbfgs;
use crate::lof::check_rows;
use crate::model::{Detector, ModelError, Output};

/// Half-width of the smoothed region of the hinge.
const EPS: f64 = 0.5;
/// Stopping threshold on ‖∇f‖∞ (scipy's `fmin_bfgs` default).
const GTOL: f64 = 1e-5;

/// A fitted semi-supervised SVDD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sssvdd {
    /// Centre of the sphere.
    pub center: Array1<f64>,
    /// Radius (its square is what the decision function uses).
    pub radius: f64,
    /// Margin of the labelled rows.
    pub gamma: f64,
    /// Objective at the solution.
    pub objective: f64,
    /// L-BFGS iterations run.
    pub iterations: usize,
    /// Whether ‖∇f‖∞ fell below 10⁻⁵.
    pub converged: bool,
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &SssvddHyper) -> Result<(), ModelError> {
    for (name, v) in [
        ("nu-l", hyper.nu_l),
        ("nu-u", hyper.nu_u),
        ("kappa", hyper.kappa),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(ModelError::param(name, "expected a finite number >= 0"));
        }
    }
    Ok(())
}

/// Fits the model on `x` (standardised) with labels `y` (`None`: unlabelled; `Some(true)`:
/// malicious). `seed` is unused: the fit is deterministic.
pub fn fit(
    hyper: &SssvddHyper,
    x: ArrayView2<f64>,
    y: &[Option<bool>],
    _seed: u64,
) -> Result<Sssvdd, ModelError> {
    check_hyper(hyper)?;
    check_rows(x, 1)?;
    if y.len() != x.nrows() {
        return Err(ModelError::Data(format!(
            "{} labels for {} rows",
            y.len(),
            x.nrows()
        )));
    }
    let problem = Problem::new(hyper, x, y);
    let inside: Vec<usize> = (0..x.nrows()).filter(|&i| y[i] != Some(true)).collect();
    if inside.is_empty() {
        return Err(ModelError::Data(
            "the sphere needs unlabelled or benign rows to start from".into(),
        ));
    }
    let start_rows = x.select(Axis(0), &inside);
    let center = start_rows.mean_axis(Axis(0)).expect("rows");
    let radius = start_rows
        .outer_iter()
        .map(|r| (&r - &center).mapv(|v| v * v).sum().sqrt())
        .sum::<f64>()
        / inside.len() as f64;
    let mut theta = vec![radius, 1.0];
    theta.extend(center.iter());
    let settings = lbfgs::Settings {
        gtol: GTOL,
        max_iter: 200 * theta.len(),
        memory: 10,
        ftol: None,
    };
    let min = lbfgs::minimise(|t, g| problem.value_and_gradient(t, g), theta, settings);
    if !min.x.iter().all(|v| v.is_finite()) {
        return Err(ModelError::Data("the optimisation diverged".into()));
    }
    Ok(Sssvdd {
        radius: min.x[0],
        gamma: min.x[1],
        center: Array1::from(min.x[2..].to_vec()),
        objective: min.value,
        iterations: min.iterations,
        converged: min.converged,
    })
}

impl Detector for Sssvdd {
    /// ‖x − c‖² − R² for each row.
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let r2 = self.radius * self.radius;
        x.outer_iter()
            .map(|row| {
                row.iter()
                    .zip(&self.center)
                    .map(|(a, c)| (a - c) * (a - c))
                    .sum::<f64>()
                    - r2
            })
            .collect()
    }

    fn output(&self) -> Output {
        Output::Score
    }
}

/// The smoothed hinge ℓ(t) and its derivative.
fn hinge(t: f64) -> (f64, f64) {
    if t <= -EPS {
        (-t, -1.0)
    } else if t <= EPS {
        (
            (EPS - t) * (EPS - t) / (4.0 * EPS),
            -(EPS - t) / (2.0 * EPS),
        )
    } else {
        (0.0, 0.0)
    }
}

/// The objective's data: rows, their weights (ν / n of their group), signs and whether the
/// margin applies.
struct Problem {
    x: Array2<f64>,
    sq_norms: Vec<f64>,
    /// Per row: (weight, sign yᵢ or 1, labelled).
    rows: Vec<(f64, f64, bool)>,
    kappa: f64,
    has_labels: bool,
}

impl Problem {
    fn new(hyper: &SssvddHyper, x: ArrayView2<f64>, y: &[Option<bool>]) -> Problem {
        let labelled = y.iter().filter(|l| l.is_some()).count();
        let unlabelled = y.len() - labelled;
        let nu_l = if labelled > 0 {
            hyper.nu_l / labelled as f64
        } else {
            0.0
        };
        let nu_u = if unlabelled > 0 {
            hyper.nu_u / unlabelled as f64
        } else {
            0.0
        };
        let rows = y
            .iter()
            .map(|l| match l {
                None => (nu_u, 1.0, false),
                Some(true) => (nu_l, -1.0, true),
                Some(false) => (nu_l, 1.0, true),
            })
            .collect();
        Problem {
            x: x.to_owned(),
            sq_norms: x.outer_iter().map(|r| r.dot(&r)).collect(),
            rows,
            kappa: hyper.kappa,
            has_labels: labelled > 0,
        }
    }

    /// f(θ) for θ = (R, γ, c), its gradient written into `grad`.
    fn value_and_gradient(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (r, gamma) = (theta[0], theta[1]);
        let c = ndarray::ArrayView1::from(&theta[2..]);
        let c_norm = c.dot(&c);
        let xc = self.x.dot(&c);
        let r2 = r * r;
        let mut value = r2
            - if self.has_labels {
                self.kappa * gamma
            } else {
                0.0
            };
        // w_i = weight · ℓ'(t_i) · sign: ∂f/∂R = 2R (1 + Σ w), ∂f/∂c = 2 (Xᵀw − c Σ w).
        let mut w = Array1::<f64>::zeros(self.x.nrows());
        let mut margin_slope = 0.0;
        for (i, &(weight, sign, labelled)) in self.rows.iter().enumerate() {
            if weight == 0.0 {
                continue;
            }
            let dist = self.sq_norms[i] - 2.0 * xc[i] + c_norm;
            let t = sign * (r2 - dist) - if labelled { gamma } else { 0.0 };
            let (l, dl) = hinge(t);
            value += weight * l;
            w[i] = weight * dl * sign;
            if labelled {
                margin_slope -= weight * dl;
            }
        }
        let w_sum = w.sum();
        grad[0] = 2.0 * r * (1.0 + w_sum);
        grad[1] = if self.has_labels {
            -self.kappa + margin_slope
        } else {
            0.0
        };
        let xtw = self.x.t().dot(&w);
        for (j, g) in grad[2..].iter_mut().enumerate() {
            *g = 2.0 * (xtw[j] - c[j] * w_sum);
        }
        value
    }
}
