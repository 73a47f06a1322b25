//! Solvers for narrow data, with the explicit d × d Hessian: Newton's method with a Cholesky
//! solve and a backtracking line search (L2), and a proximal Newton method (L1).

use ndarray::{Array1, Array2, Zip};
use tracing::debug;

use super::objective::LogLoss;
use super::{l1_optimality, Solution};

/// Armijo constant of the line searches.
pub(crate) const ARMIJO: f64 = 0.01;
/// Maximum number of step halvings per line search.
pub(crate) const MAX_HALVINGS: usize = 50;

/// Minimises ½‖w‖² + loss by Newton's method: solve (I + H) p = −g by Cholesky, then
/// backtrack on the true objective until the Armijo condition holds.
pub(crate) fn newton_l2(loss: &LogLoss, tol: f64, max_iter: usize) -> Solution {
    let d = loss.x.ncols();
    let mut w = Array1::zeros(d);
    let mut z = Array1::zeros(loss.x.nrows());
    let mut eval = loss.evaluate(&z);
    let mut objective = eval.value;
    let initial_norm = norm(&eval.gradient);
    for iteration in 0..max_iter {
        let gradient = &eval.gradient + &w;
        let gnorm = norm(&gradient);
        debug!(iteration, objective, gnorm, "newton l2");
        if gnorm <= tol * initial_norm {
            return Solution {
                w,
                iterations: iteration,
                converged: true,
            };
        }
        let hessian = loss.hessian(&eval.curvature, 1.0);
        let Some(step) = cholesky_solve(hessian, &gradient.mapv(|g| -g)) else {
            return Solution {
                w,
                iterations: iteration,
                converged: false,
            };
        };
        let dz = loss.scores(step.view());
        let slope = gradient.dot(&step);
        let (ww, wp, pp) = (w.dot(&w), w.dot(&step), step.dot(&step));
        let mut t = 1.0;
        // Near the optimum the decrease falls below rounding: take the full Newton step.
        let mut accepted = negligible(slope, objective);
        for _ in 0..if accepted { 0 } else { MAX_HALVINGS } {
            let trial = 0.5 * (ww + 2.0 * t * wp + t * t * pp) + loss.value_along(&z, &dz, t);
            if trial <= objective + ARMIJO * t * slope {
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            // No decrease is measurable any more: the iterate is optimal to rounding.
            return Solution {
                w,
                iterations: iteration,
                converged: gnorm <= 1e3 * tol * initial_norm,
            };
        }
        w.scaled_add(t, &step);
        z.scaled_add(t, &dz);
        eval = loss.evaluate(&z);
        objective = 0.5 * w.dot(&w) + eval.value;
    }
    let converged = norm(&(&eval.gradient + &w)) <= tol * initial_norm;
    Solution {
        w,
        iterations: max_iter,
        converged,
    }
}

/// Minimises ‖w‖₁ + loss by a proximal Newton method: at each iterate, minimise the quadratic
/// model gᵀΔ + ½Δᵀ(H + νI)Δ + ‖w + Δ‖₁ by cyclic coordinate descent on the explicit Hessian,
/// then backtrack on the true objective along Δ.
pub(crate) fn proximal_newton_l1(loss: &LogLoss, tol: f64, max_iter: usize) -> Solution {
    let d = loss.x.ncols();
    let mut w = Array1::<f64>::zeros(d);
    let mut z = Array1::zeros(loss.x.nrows());
    let mut eval = loss.evaluate(&z);
    let mut objective = eval.value;
    let initial = l1_optimality(&w, &eval.gradient);
    if initial == 0.0 {
        return Solution {
            w,
            iterations: 0,
            converged: true,
        };
    }
    let mut inner_tol = 1e-2;
    for iteration in 0..max_iter {
        let optimality = l1_optimality(&w, &eval.gradient);
        debug!(iteration, objective, optimality, "proximal newton l1");
        if optimality <= tol * initial {
            return Solution {
                w,
                iterations: iteration,
                converged: true,
            };
        }
        let hessian = loss.hessian(&eval.curvature, 1e-12);
        let step = quadratic_model_cd(&hessian, &eval.gradient, &w, inner_tol * optimality);
        let dz = loss.scores(step.view());
        let l1 = w.iter().map(|v| v.abs()).sum::<f64>();
        // Predicted decrease of the model's linear part, which drives the Armijo test.
        let full = Zip::from(&w)
            .and(&step)
            .fold(0.0, |acc, &a, &b| acc + (a + b).abs());
        let delta = eval.gradient.dot(&step) + full - l1;
        let mut t = 1.0;
        let mut accepted = negligible(delta, objective);
        for _ in 0..if accepted { 0 } else { MAX_HALVINGS } {
            let norm1 = Zip::from(&w)
                .and(&step)
                .fold(0.0, |acc, &a, &b| acc + (a + t * b).abs());
            let trial = norm1 + loss.value_along(&z, &dz, t);
            if trial <= objective + ARMIJO * t * delta {
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted || delta > 0.0 {
            return Solution {
                w,
                iterations: iteration,
                converged: optimality <= 1e3 * tol * initial,
            };
        }
        w.scaled_add(t, &step);
        z.scaled_add(t, &dz);
        eval = loss.evaluate(&z);
        objective = w.iter().map(|v| v.abs()).sum::<f64>() + eval.value;
        inner_tol = (inner_tol * 0.1).max(1e-3 * tol);
    }
    let converged = l1_optimality(&w, &eval.gradient) <= tol * initial;
    Solution {
        w,
        iterations: max_iter,
        converged,
    }
}

/// Minimises gᵀΔ + ½ΔᵀHΔ + ‖w + Δ‖₁ over Δ by cyclic coordinate descent, until a sweep's
/// largest change, weighted by the diagonal, is below `tolerance` (at most 1,000 sweeps).
fn quadratic_model_cd(
    h: &Array2<f64>,
    g: &Array1<f64>,
    w: &Array1<f64>,
    tolerance: f64,
) -> Array1<f64> {
    let d = w.len();
    let mut step = Array1::<f64>::zeros(d);
    // H Δ, kept up to date.
    let mut h_step = Array1::<f64>::zeros(d);
    for _ in 0..1000 {
        let mut largest = 0.0f64;
        for j in 0..d {
            let hjj = h[[j, j]];
            if hjj <= 0.0 {
                continue;
            }
            let slope = g[j] + h_step[j];
            let current = w[j] + step[j];
            let target = soft_threshold(current - slope / hjj, 1.0 / hjj);
            let change = target - current;
            if change != 0.0 {
                step[j] += change;
                // H is symmetric: its contiguous row j is column j.
                h_step.scaled_add(change, &h.row(j));
                largest = largest.max(change.abs() * hjj);
            }
        }
        if largest <= tolerance {
            break;
        }
    }
    step
}

/// Returns sign(v) · max(|v| − threshold, 0).
pub(crate) fn soft_threshold(v: f64, threshold: f64) -> f64 {
    if v > threshold {
        v - threshold
    } else if v < -threshold {
        v + threshold
    } else {
        0.0
    }
}

/// Tells whether a predicted decrease is below the rounding error of the objective.
pub(crate) fn negligible(predicted: f64, objective: f64) -> bool {
    predicted.abs() <= 1e-13 * objective.abs().max(1e-300)
}

/// Returns the Euclidean norm.
pub(crate) fn norm(v: &Array1<f64>) -> f64 {
    v.dot(v).sqrt()
}

/// Solves A x = b for a symmetric positive definite A by Cholesky; `None` if A is not
/// numerically positive definite.
pub(crate) fn cholesky_solve(mut a: Array2<f64>, b: &Array1<f64>) -> Option<Array1<f64>> {
    let n = b.len();
    // In place: the lower triangle of `a` becomes L with A = L Lᵀ.
    for j in 0..n {
        let mut diag = a[[j, j]];
        for k in 0..j {
            diag -= a[[j, k]] * a[[j, k]];
        }
        if diag.is_nan() || diag <= 0.0 {
            return None;
        }
        let ljj = diag.sqrt();
        a[[j, j]] = ljj;
        for i in j + 1..n {
            let mut v = a[[i, j]];
            for k in 0..j {
                v -= a[[i, k]] * a[[j, k]];
            }
            a[[i, j]] = v / ljj;
        }
    }
    let mut x = b.clone();
    for i in 0..n {
        let mut v = x[i];
        for k in 0..i {
            v -= a[[i, k]] * x[k];
        }
        x[i] = v / a[[i, i]];
    }
    for i in (0..n).rev() {
        let mut v = x[i];
        for k in i + 1..n {
            v -= a[[k, i]] * x[k];
        }
        x[i] = v / a[[i, i]];
    }
    Some(x)
}
