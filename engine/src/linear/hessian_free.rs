//! Solvers for wide data, which never form the d × d Hessian: a line-search Newton method
//! with truncated conjugate gradient (L2), and a proximal Newton method whose quadratic model
//! is minimised by coordinate descent on Hessian columns computed from X (L1, newGLMNET-style).

use ndarray::{Array1, Zip};
use tracing::debug;

use super::newton::{negligible, norm, ARMIJO, MAX_HALVINGS};
use super::objective::LogLoss;
use super::{l1_optimality, Solution};

/// Minimises ½‖w‖² + loss: the Newton system (I + H) p = −g is solved by conjugate gradient
/// with Hessian-vector products, to a relative residual of min(0.1, √‖g‖/‖g₀‖).
pub(crate) fn newton_cg_l2(loss: &LogLoss, tol: f64, max_iter: usize) -> Solution {
    let d = loss.x.ncols();
    let mut w = Array1::<f64>::zeros(d);
    let mut z = Array1::zeros(loss.x.nrows());
    let mut eval = loss.evaluate(&z);
    let mut objective = eval.value;
    let initial_norm = norm(&eval.gradient);
    for iteration in 0..max_iter {
        let gradient = &eval.gradient + &w;
        let gnorm = norm(&gradient);
        debug!(iteration, objective, gnorm, "newton-cg l2");
        if gnorm <= tol * initial_norm {
            return Solution {
                w,
                iterations: iteration,
                converged: true,
            };
        }
        let forcing = 0.1f64.min((gnorm / initial_norm).sqrt());
        let step = conjugate_gradient(
            |v| loss.hessian_times(&eval.curvature, v.view()) + v,
            &gradient,
            forcing,
        );
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
    let mut w = Array1::<f64>::zeros(d);
    let mut z = Array1::zeros(n);
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
    let mut inner_sweeps = 1;
    for iteration in 0..max_iter {
        let optimality = l1_optimality(&w, &eval.gradient);
        debug!(iteration, objective, optimality, "proximal newton-cd l1");
        if optimality <= tol * initial {
            return Solution {
                w,
                iterations: iteration,
                converged: true,
            };
        }
        let diagonal = loss.hessian_diagonal(&eval.curvature) + 1e-12;
        let mut step = Array1::<f64>::zeros(d);
        let mut dz = Array1::<f64>::zeros(n);
        for _ in 0..inner_sweeps {
            for j in 0..d {
                let column = loss.x.column(j);
                let h_step = Zip::from(&column)
                    .and(&eval.curvature)
                    .and(&dz)
                    .fold(0.0, |a, &x, &c, &q| a + x * c * q);
                let slope = eval.gradient[j] + h_step + 1e-12 * step[j];
                let current = w[j] + step[j];
                let hjj = diagonal[j];
                let target = super::newton::soft_threshold(current - slope / hjj, 1.0 / hjj);
                let change = target - current;
                if change != 0.0 {
                    step[j] += change;
                    dz.scaled_add(change, &column);
                }
            }
        }
        let l1 = w.iter().map(|v| v.abs()).sum::<f64>();
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
            if norm1 + loss.value_along(&z, &dz, t) <= objective + ARMIJO * t * delta {
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
        inner_sweeps = (inner_sweeps + 1).min(20);
    }
    let converged = l1_optimality(&w, &eval.gradient) <= tol * initial;
    Solution {
        w,
        iterations: max_iter,
        converged,
    }
}
