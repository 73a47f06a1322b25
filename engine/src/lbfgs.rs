//! Limited-memory BFGS (Nocedal, 1980; Liu and Nocedal, 1989) with a line search for the
//! strong Wolfe conditions (Nocedal and Wright, algorithms 3.5 and 3.6, bisection in the zoom
//! phase), for smooth unconstrained minimisation: the semi-supervised SVDD's primal and the
//! logistic regression's `lbfgs` solver.

use std::collections::VecDeque;

/// When to stop.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Stop when ‖∇f‖∞ falls below this (scipy's `fmin_bfgs` default: 1e-5).
    pub gtol: f64,
    /// Iterations at most.
    pub max_iter: usize,
    /// Correction pairs kept.
    pub memory: usize,
    /// Also stop when an iteration's relative decrease (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1)
    /// is at most this (scipy's L-BFGS-B `ftol` rule); `None`: no such rule.
    pub ftol: Option<f64>,
}

/// Where the solver stopped.
#[derive(Debug, Clone)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
    /// Whether ‖∇f‖∞ < gtol, or the `ftol` rule stopped the solver.
    pub converged: bool,
}

/// Minimises `f` (returning the value and writing the gradient into its second argument) from
/// `x0`.
pub fn minimise(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: Vec<f64>,
    settings: Settings,
) -> Minimum {
    let n = x0.len();
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut value = f(&x, &mut g);
    let mut pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(settings.memory);
    let mut direction = vec![0.0; n];
    let (mut x_new, mut g_new) = (vec![0.0; n], vec![0.0; n]);
    let mut iterations = 0;
    let mut stalled = false;
    while iterations < settings.max_iter {
        if inf_norm(&g) < settings.gtol {
            return Minimum {
                x,
                value,
                iterations,
                converged: true,
            };
        }
        two_loop(&g, &pairs, &mut direction);
        let mut slope = dot(&g, &direction);
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction (curvature information gone bad): restart from −∇f.
            pairs.clear();
            direction.iter_mut().zip(&g).for_each(|(d, gi)| *d = -gi);
            slope = dot(&g, &direction);
        }
        // The first step is scaled so that it moves by at most 1 in the largest coordinate.
        let first = if pairs.is_empty() {
            (1.0 / inf_norm(&direction)).min(1.0)
        } else {
            1.0
        };
        let Some((step, new_value)) = line_search(
            &mut f, &x, value, slope, &direction, first, &mut x_new, &mut g_new,
        ) else {
            break;
        };
        let s: Vec<f64> = direction.iter().map(|d| step * d).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            if pairs.len() == settings.memory {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / sy));
        }
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        let previous = std::mem::replace(&mut value, new_value);
        iterations += 1;
        if let Some(ftol) = settings.ftol {
            if previous - value <= ftol * previous.abs().max(value.abs()).max(1.0) {
                stalled = true;
                break;
            }
        }
    }
    let converged = stalled || inf_norm(&g) < settings.gtol;
    Minimum {
        x,
        value,
        iterations,
        converged,
    }
}

/// The two-loop recursion: `out` = −H ∇f with H the L-BFGS inverse Hessian estimate.
fn two_loop(g: &[f64], pairs: &VecDeque<(Vec<f64>, Vec<f64>, f64)>, out: &mut [f64]) {
    out.iter_mut().zip(g).for_each(|(o, gi)| *o = -gi);
    let mut alphas = Vec::with_capacity(pairs.len());
    for (s, y, rho) in pairs.iter().rev() {
        let a = rho * dot(s, out);
        out.iter_mut().zip(y).for_each(|(o, yi)| *o -= a * yi);
        alphas.push(a);
    }
    if let Some((s, y, _)) = pairs.back() {
        let gamma = dot(s, y) / dot(y, y);
        out.iter_mut().for_each(|o| *o *= gamma);
    }
    for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, out);
        out.iter_mut().zip(s).for_each(|(o, si)| *o += (a - b) * si);
    }
}

/// A step length satisfying the strong Wolfe conditions (c₁ = 10⁻⁴, c₂ = 0.9), with the point
/// and gradient left in `x_new`, `g_new`; `None` when none is found.
#[allow(clippy::too_many_arguments)]
fn line_search(
    f: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    x: &[f64],
    value: f64,
    slope: f64,
    direction: &[f64],
    first: f64,
    x_new: &mut [f64],
    g_new: &mut [f64],
) -> Option<(f64, f64)> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let mut eval = |step: f64, x_new: &mut [f64], g_new: &mut [f64]| {
        for ((xn, xi), d) in x_new.iter_mut().zip(x).zip(direction) {
            *xn = xi + step * d;
        }
        let v = f(x_new, g_new);
        (v, dot(g_new, direction))
    };
    let (mut lo, mut lo_value, mut hi) = (0.0, value, f64::INFINITY);
    let mut step = first;
    for _ in 0..60 {
        let (v, d) = eval(step, x_new, g_new);
        if !v.is_finite() || v > value + C1 * step * slope || v >= lo_value && lo > 0.0 {
            hi = step;
        } else if d.abs() <= -C2 * slope {
            return Some((step, v));
        } else {
            // Bracketing (hi infinite): an uphill slope brackets between the last two points;
            // zooming: keep the end where the slope points back into the interval.
            if (hi.is_infinite() && d >= 0.0) || (hi.is_finite() && d * (hi - lo) >= 0.0) {
                hi = lo;
            }
            lo = step;
            lo_value = v;
        }
        step = if hi.is_finite() {
            0.5 * (lo + hi)
        } else {
            2.0 * step
        };
        if hi.is_finite() && (hi - lo).abs() <= 1e-16 * hi.abs().max(lo.abs()) {
            break;
        }
    }
    // No Wolfe point: accept the best sufficient decrease found, if any.
    if lo > 0.0 {
        let (v, _) = eval(lo, x_new, g_new);
        return Some((lo, v));
    }
    None
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_the_rosenbrock_function() {
        let rosenbrock = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let settings = Settings {
            gtol: 1e-8,
            max_iter: 1000,
            memory: 10,
            ftol: None,
        };
        let m = minimise(rosenbrock, vec![-1.2, 1.0], settings);
        assert!(m.converged, "{m:?}");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{m:?}"
        );
    }
}
