//! The outer loop the four solvers share: from w = 0, take the solver's Newton direction,
//! backtrack along it on the true objective (Armijo), update w and the scores z = X w, and stop
//! on the relative optimality rule.

use ndarray::{Array1, Zip};
use tracing::debug;

use super::objective::LogLoss;
use super::{l1_optimality, norm, Penalty, Solution};

/// Armijo constant of the line searches.
const ARMIJO: f64 = 0.01;
/// Maximum number of step halvings per line search.
const MAX_HALVINGS: usize = 50;

/// The state a solver computes its direction from.
pub(crate) struct Iterate<'a> {
    /// The current coefficients.
    pub w: &'a Array1<f64>,
    /// Gradient of the smooth part of the objective: ½‖w‖² + loss for L2, the loss for L1.
    pub gradient: &'a Array1<f64>,
    /// Curvature weights of the loss Hessian at w (see `Evaluation::curvature`).
    pub curvature: &'a Array1<f64>,
    /// The optimality measure at w: ‖gradient‖ (L2) or the minimum-norm subgradient (L1).
    pub optimality: f64,
    /// The optimality measure at w = 0.
    pub initial: f64,
}

/// A search direction and its image under X.
pub(crate) struct Direction {
    /// The step Δ in w.
    pub step: Array1<f64>,
    /// X Δ, the step in the scores.
    pub dz: Array1<f64>,
}

/// Minimises penalty(w) + loss(w) from w = 0.
///
/// Each iteration stops with success when the optimality measure is at most `tol` times its
/// value at w = 0, else asks `direction` for a step (`None`: give up, not converged), then
/// backtracks from t = 1. When no step length decreases the objective (or, for L1, the step
/// predicts no decrease), the iterate is optimal to rounding: the loop stops, converged if the
/// measure is within 1000 × `tol` of the target. `name` labels the debug logs.
pub(crate) fn minimise(
    loss: &LogLoss,
    penalty: Penalty,
    tol: f64,
    max_iter: usize,
    name: &str,
    mut direction: impl FnMut(&Iterate) -> Option<Direction>,
) -> Solution {
    let mut w = Array1::<f64>::zeros(loss.x.ncols());
    let mut z = Array1::zeros(loss.x.nrows());
    let mut eval = loss.evaluate(&z);
    let mut objective = eval.value;
    let initial = optimality(penalty, &w, &smooth_gradient(penalty, &w, &eval.gradient));
    for iteration in 0..max_iter {
        let gradient = smooth_gradient(penalty, &w, &eval.gradient);
        let optimality = optimality(penalty, &w, &gradient);
        debug!(iteration, objective, optimality, "{name}");
        if optimality <= tol * initial {
            return Solution {
                w,
                iterations: iteration,
                converged: true,
            };
        }
        let iterate = Iterate {
            w: &w,
            gradient: &gradient,
            curvature: &eval.curvature,
            optimality,
            initial,
        };
        let Some(Direction { step, dz }) = direction(&iterate) else {
            return Solution {
                w,
                iterations: iteration,
                converged: false,
            };
        };
        let along = |t| loss.value_along(&z, &dz, t);
        let (predicted, accepted) = match penalty {
            Penalty::L2 => {
                let slope = gradient.dot(&step);
                let (ww, wp, pp) = (w.dot(&w), w.dot(&step), step.dot(&step));
                let trial = |t: f64| 0.5 * (ww + 2.0 * t * wp + t * t * pp) + along(t);
                (slope, backtrack(objective, slope, trial))
            }
            Penalty::L1 => {
                let l1 = w.iter().map(|v| v.abs()).sum::<f64>();
                let full = Zip::from(&w)
                    .and(&step)
                    .fold(0.0, |acc, &a, &b| acc + (a + b).abs());
                // Predicted decrease of the model's linear part, which drives the Armijo test.
                let delta = gradient.dot(&step) + full - l1;
                let trial = |t: f64| {
                    let norm1 = Zip::from(&w)
                        .and(&step)
                        .fold(0.0, |acc, &a, &b| acc + (a + t * b).abs());
                    norm1 + along(t)
                };
                (delta, backtrack(objective, delta, trial))
            }
        };
        let ascent = penalty == Penalty::L1 && predicted > 0.0;
        let Some(t) = accepted.filter(|_| !ascent) else {
            // No decrease is measurable any more: the iterate is optimal to rounding.
            return Solution {
                w,
                iterations: iteration,
                converged: optimality <= 1e3 * tol * initial,
            };
        };
        w.scaled_add(t, &step);
        z.scaled_add(t, &dz);
        eval = loss.evaluate(&z);
        objective = penalty_value(penalty, &w) + eval.value;
    }
    let gradient = smooth_gradient(penalty, &w, &eval.gradient);
    let converged = optimality(penalty, &w, &gradient) <= tol * initial;
    Solution {
        w,
        iterations: max_iter,
        converged,
    }
}

/// Returns the step length t ∈ {1, ½, ¼, …} (at most [`MAX_HALVINGS`] halvings) at which
/// `trial(t) ≤ objective + ARMIJO · t · predicted`, or `None`. Near the optimum the predicted
/// decrease falls below rounding: the full step is taken without a test.
fn backtrack(objective: f64, predicted: f64, trial: impl Fn(f64) -> f64) -> Option<f64> {
    if negligible(predicted, objective) {
        return Some(1.0);
    }
    let mut t = 1.0;
    for _ in 0..MAX_HALVINGS {
        if trial(t) <= objective + ARMIJO * t * predicted {
            return Some(t);
        }
        t *= 0.5;
    }
    None
}

/// Tells whether a predicted decrease is below the rounding error of the objective.
fn negligible(predicted: f64, objective: f64) -> bool {
    predicted.abs() <= 1e-13 * objective.abs().max(1e-300)
}

/// Returns ½‖w‖² (L2) or ‖w‖₁ (L1).
fn penalty_value(penalty: Penalty, w: &Array1<f64>) -> f64 {
    match penalty {
        Penalty::L2 => 0.5 * w.dot(w),
        Penalty::L1 => w.iter().map(|v| v.abs()).sum::<f64>(),
    }
}

/// Returns the gradient of the smooth part of the objective from the loss gradient.
fn smooth_gradient(penalty: Penalty, w: &Array1<f64>, loss_gradient: &Array1<f64>) -> Array1<f64> {
    match penalty {
        Penalty::L2 => loss_gradient + w,
        Penalty::L1 => loss_gradient.clone(),
    }
}

/// Returns the optimality measure from the smooth part's gradient.
fn optimality(penalty: Penalty, w: &Array1<f64>, gradient: &Array1<f64>) -> f64 {
    match penalty {
        Penalty::L2 => norm(gradient),
        Penalty::L1 => l1_optimality(w, gradient),
    }
}
