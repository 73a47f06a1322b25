//! Solvers for wide data, which never form the d × d Hessian: a line-search Newton method
//! with truncated conjugate gradient (L2), and a proximal Newton method whose quadratic model
//! is minimised by coordinate descent on Hessian columns computed from X (L1, newGLMNET-style).

use ndarray::{Array1, Zip};

use super::descent::{minimise, Direction};
use super::newton::soft_threshold;
use super::objective::LogLoss;
use super::{Penalty, Solution};

/// Minimises ½‖w‖² + loss: the Newton system (I + H) p = −g is solved by conjugate gradient
/// with Hessian-vector products, to a relative residual of min(0.1, √‖g‖/‖g₀‖).
pub(crate) fn newton_cg_l2(loss: &LogLoss, tol: f64, max_iter: usize) -> Solution {
    minimise(loss, Penalty::L2, tol, max_iter, "newton-cg l2", |at| {
        let forcing = 0.1f64.min((at.optimality / at.initial).sqrt());
        let step = conjugate_gradient(
            |v| loss.hessian_times(at.curvature, v.view()) + v,
            at.gradient,
            forcing,
        );
        let dz = loss.scores(step.view());
        Some(Direction { step, dz })
    })
}

/// Solves A p = −g for a symmetric positive definite operator A by conjugate gradient,
/// until ‖A p + g‖ ≤ forcing · ‖g‖ (at most 250 iterations).
fn conjugate_gradient(
    apply: impl Fn(&Array1<f64>) -> Array1<f64>,
    g: &Array1<f64>,
    forcing: f64,
) -> Array1<f64> {
    let mut p = Array1::zeros(g.len());
    let mut residual = g.mapv(|v| -v);
    let mut direction = residual.clone();
    let mut rr = residual.dot(&residual);
    let target = forcing * forcing * rr;
    for _ in 0..250 {
        if rr <= target {
            break;
        }
        let ad = apply(&direction);
        let alpha = rr / direction.dot(&ad);
        p.scaled_add(alpha, &direction);
        residual.scaled_add(-alpha, &ad);
        let rr_next = residual.dot(&residual);
        direction = &residual + &(direction * (rr_next / rr));
        rr = rr_next;
    }
    p
}

/// Minimises ‖w‖₁ + loss by a proximal Newton method without the explicit Hessian: the
/// coordinate descent on the quadratic model keeps X Δ, so each coordinate costs O(n).
pub(crate) fn proximal_newton_cd_l1(loss: &LogLoss, tol: f64, max_iter: usize) -> Solution {
    let (n, d) = loss.x.dim();
    // Coordinate descent sweeps on the model, one more after each accepted step.
    let mut inner_sweeps = 1;
    minimise(
        loss,
        Penalty::L1,
        tol,
        max_iter,
        "proximal newton-cd l1",
        |at| {
            let diagonal = loss.hessian_diagonal(at.curvature) + 1e-12;
            let mut step = Array1::<f64>::zeros(d);
            let mut dz = Array1::<f64>::zeros(n);
            for _ in 0..inner_sweeps {
                for j in 0..d {
                    let column = loss.x.column(j);
                    let h_step = Zip::from(&column)
                        .and(at.curvature)
                        .and(&dz)
                        .fold(0.0, |a, &x, &c, &q| a + x * c * q);
                    let slope = at.gradient[j] + h_step + 1e-12 * step[j];
                    let current = at.w[j] + step[j];
                    let hjj = diagonal[j];
                    let target = soft_threshold(current - slope / hjj, 1.0 / hjj);
                    let change = target - current;
                    if change != 0.0 {
                        step[j] += change;
                        dz.scaled_add(change, &column);
                    }
                }
            }
            // Only used again if this step is accepted.
            inner_sweeps = (inner_sweeps + 1).min(20);
            Some(Direction { step, dz })
        },
    )
}
