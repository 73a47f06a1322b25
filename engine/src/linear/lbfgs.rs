//! scikit-learn's `lbfgs` solver of the L2 objective: limited-memory BFGS (the engine's own,
//! [`crate::lbfgs`], with scipy's L-BFGS-B defaults: 10 correction pairs) on the objective as
//! scikit-learn scales it, (1/n) Σᵢ log(1 + exp(−yᵢwᵀxᵢ)) + ‖w‖² / (2Cn), liblinear's L2
//! objective divided by Cn (same minimiser). It stops as scikit-learn's call to scipy does:
//! when ‖∇‖∞ ≤ `tol` (`gtol`), when an iteration's relative decrease is at most 64 ε (`ftol`),
//! or after `max_iter` iterations.

use ndarray::{Array1, ArrayView1};

use super::objective::LogLoss;
use super::Solution;
use crate::lbfgs::{minimise, Settings};

/// Minimises the L2 objective of `loss` from w = 0.
pub(crate) fn lbfgs_l2(loss: &LogLoss, tol: f64, max_iter: usize) -> Solution {
    let scale = 1.0 / (loss.c * loss.x.nrows() as f64);
    let objective = |w: &[f64], g: &mut [f64]| {
        let w = ArrayView1::from(w);
        let eval = loss.evaluate(&loss.scores(w));
        for ((g, &lg), &wj) in g.iter_mut().zip(&eval.gradient).zip(w) {
            *g = scale * (lg + wj);
        }
        scale * (0.5 * w.dot(&w) + eval.value)
    };
    let settings = Settings {
        gtol: tol,
        max_iter,
        memory: 10,
        ftol: Some(64.0 * f64::EPSILON),
    };
    let min = minimise(objective, vec![0.0; loss.x.ncols()], settings);
    Solution {
        w: Array1::from(min.x),
        iterations: min.iterations,
        converged: min.converged,
    }
}
