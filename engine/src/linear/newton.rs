//! Solvers for narrow data, with the explicit d × d Hessian: Newton's method with a Cholesky
//! solve and a backtracking line search (L2), and a proximal Newton method (L1).

use ndarray::{Array1, Array2};

use super::descent::{minimise, Direction};
use super::objective::LogLoss;
use super::{Penalty, Solution};

/// Minimises ½‖w‖² + loss by Newton's method: solve (I + H) p = −g by Cholesky, then
/// backtrack on the true objective until the Armijo condition holds.
pub(crate) fn newton_l2(loss: &LogLoss, tol: f64, max_iter: usize) -> Solution {
    minimise(loss, Penalty::L2, tol, max_iter, "newton l2", |at| {
        let hessian = loss.hessian(at.curvature, 1.0);
        let step = cholesky_solve(hessian, &at.gradient.mapv(|g| -g))?;
        let dz = loss.scores(step.view());
        Some(Direction { step, dz })
    })
}

/// Minimises ‖w‖₁ + loss by a proximal Newton method: at each iterate, minimise the quadratic
/// model gᵀΔ + ½Δᵀ(H + νI)Δ + ‖w + Δ‖₁ by cyclic coordinate descent on the explicit Hessian,
/// then backtrack on the true objective along Δ.
pub(crate) fn proximal_newton_l1(loss: &LogLoss, tol: f64, max_iter: usize) -> Solution {
    // Relative tolerance of the coordinate descent, tightened after each accepted step.
    let mut inner_tol = 1e-2;
    minimise(
        loss,
        Penalty::L1,
        tol,
        max_iter,
        "proximal newton l1",
        |at| {
            let hessian = loss.hessian(at.curvature, 1e-12);
            let step = quadratic_model_cd(&hessian, at.gradient, at.w, inner_tol * at.optimality);
            // Only used again if this step is accepted.
            inner_tol = (inner_tol * 0.1).max(1e-3 * tol);
            let dz = loss.scores(step.view());
            Some(Direction { step, dz })
        },
    )
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
