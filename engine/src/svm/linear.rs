//! The dual of the linear C-SVC with an unregularised intercept, solved by dual coordinate
//! descent with the weight vector kept explicitly (Hsieh et al. 2008, liblinear's
//! `solve_l2r_l1l2_svc` with its shrinking), the equality constraint yᵀα = 0 that the intercept
//! brings handled by the method of multipliers.
//!
//! Each inner solve minimises over the box 0 ≤ α ≤ C the augmented Lagrangian
//! ½ αᵀQα − Σα + λ yᵀα + (ρ/2)(yᵀα)², whose coordinate steps cost O(d) like liblinear's (the
//! coupling term only needs the running sum s = yᵀα); then λ ← λ + ρ s. The multiplier λ is the
//! intercept: at the optimum, yᵢ(w · xᵢ + λ) = 1 on every free support vector.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::kernel::{dot, Rows};
use super::smo::{self, DenseQ};

/// The multipliers' penalty ρ (the scale of a bias feature of 1, as liblinear's `-B 1`).
const PENALTY: f64 = 1.0;

/// Most multiplier updates.
const MAX_OUTER: usize = 20;

/// Most coordinate descent epochs of one inner solve.
const MAX_EPOCHS: usize = 200;

/// The coordinate descent's tolerance on its projected gradients (liblinear's default), from
/// where SMO takes over.
const COARSE: f64 = 0.1;

/// Most SMO rounds of the polish.
const MAX_POLISH: usize = 50;

/// Most variables of one SMO round (its Q is held whole: 8 bytes × the square).
const MAX_POLISH_SET: usize = 6000;

/// The solution of one linear C-SVC.
#[derive(Debug, Clone)]
pub(crate) struct LinearSolution {
    /// Σ αᵢ yᵢ xᵢ.
    pub w: Vec<f64>,
    /// libsvm's ρ: the decision function is w · x − ρ.
    pub rho: f64,
    /// The dual variables, in [0, C].
    pub alpha: Vec<f64>,
    /// Multiplier updates.
    pub outer_iterations: usize,
    /// Coordinate descent epochs over all inner solves.
    pub epochs: usize,
    /// Whether both the optimality and the feasibility tolerances were reached.
    pub converged: bool,
}

/// Solves min_α ½ αᵀQα − Σα, yᵀα = 0, 0 ≤ α ≤ C, Qᵢⱼ = yᵢyⱼ xᵢ·xⱼ (libsvm's C-SVC dual) until
/// an inner solve ends with its projected gradients within `eps` of each other (liblinear's and
/// libsvm's measure) and moves the intercept by less than `eps`.
pub(crate) fn solve_linear(
    x: &Rows,
    y: &[f64],
    c: f64,
    eps: f64,
    rng: &mut ChaCha8Rng,
) -> LinearSolution {
    let (n, d) = (x.n, x.d);
    let mut alpha = vec![0.0; n];
    let mut w = vec![0.0; d];
    let qd: Vec<f64> = (0..n).map(|i| dot(x.row(i), x.row(i)) + PENALTY).collect();
    let mut index: Vec<usize> = (0..n).collect();
    let (mut lambda, mut sum) = (0.0, 0.0);
    let (mut outer, mut epochs) = (0, 0);
    let penalty = PENALTY;
    while outer < MAX_OUTER {
        outer += 1;
        let inner = InnerSolve {
            x,
            y,
            c,
            qd: &qd,
            lambda,
            penalty,
        };
        let (ran, inner_converged) =
            inner.run(&mut alpha, &mut w, &mut sum, &mut index, COARSE, rng);
        epochs += ran;
        let step = penalty * sum;
        lambda += step;
        if inner_converged && step.abs() < eps {
            break;
        }
    }
    let mut grad = vec![0.0; n];
    let polish_rounds = polish(x, y, c, eps, lambda, &mut alpha, &mut w, &mut grad);
    let converged = polish_rounds.is_some();
    tracing::trace!(outer, epochs, polish_rounds, "linear svc dual solved");
    LinearSolution {
        rho: smo::rho(y, &alpha, &grad, c),
        w,
        alpha,
        outer_iterations: outer,
        epochs,
        converged,
    }
}

/// Polishes the coordinate descent's α to libsvm's tolerance: rounds of [`smo::solve`] on the
/// variables near the margin (every free one, and the bound ones whose margin yᵢ(w · xᵢ + b)
/// lies within a band around 1), the others fixed, until the maximal violation over every
/// variable is below `eps`. Returns the rounds run, `None` if the tolerance was not reached.
#[allow(clippy::too_many_arguments)]
fn polish(
    x: &Rows,
    y: &[f64],
    c: f64,
    eps: f64,
    bias: f64,
    alpha: &mut [f64],
    w: &mut [f64],
    grad: &mut [f64],
) -> Option<usize> {
    let n = alpha.len();
    restore_feasibility(y, alpha, c);
    let mut band = 0.1;
    let mut margins = vec![0.0; n];
    for round in 0..MAX_POLISH {
        exact_gradient(x, y, alpha, w, grad, &mut margins);
        if smo::max_violation(y, alpha, grad, c) < eps {
            return Some(round);
        }
        // The margin of row t is yₜ(w · xₜ + b) = ∇ₜ + 1 + yₜ b.
        let mut set: Vec<(f64, usize)> = (0..n)
            .filter_map(|t| {
                let distance = (grad[t] + y[t] * bias).abs();
                let free = alpha[t] > 0.0 && alpha[t] < c;
                let violates = (alpha[t] == 0.0 && grad[t] + y[t] * bias < 0.0)
                    || (alpha[t] == c && grad[t] + y[t] * bias > 0.0);
                (free || violates || distance < band)
                    .then_some((if free { 0.0 } else { distance }, t))
            })
            .collect();
        if set.len() > MAX_POLISH_SET {
            set.select_nth_unstable_by(MAX_POLISH_SET, |a, b| {
                a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
            });
            set.truncate(MAX_POLISH_SET);
        }
        let mut work: Vec<usize> = set.into_iter().map(|(_, t)| t).collect();
        work.sort_unstable();
        let m = work.len();
        let mut q = DenseQ {
            n: m,
            values: vec![0.0; m * m],
        };
        let mut qd = vec![0.0; m];
        for a in 0..m {
            let xa = x.row(work[a]);
            for b in 0..=a {
                let v = y[work[a]] * y[work[b]] * dot(xa, x.row(work[b]));
                q.values[a * m + b] = v;
                q.values[b * m + a] = v;
            }
            qd[a] = q.values[a * m + a];
        }
        let y_w: Vec<f64> = work.iter().map(|&t| y[t]).collect();
        let mut alpha_w: Vec<f64> = work.iter().map(|&t| alpha[t]).collect();
        let mut grad_w: Vec<f64> = work.iter().map(|&t| grad[t]).collect();
        smo::solve(
            &mut q,
            &qd,
            &y_w,
            &mut alpha_w,
            &mut grad_w,
            c,
            eps,
            10_000_000,
        );
        for (a, &t) in work.iter().enumerate() {
            alpha[t] = alpha_w[a];
        }
        band *= 2.0;
    }
    exact_gradient(x, y, alpha, w, grad, &mut margins);
    None
}

/// Moves free variables (then any) so that yᵀα = 0 exactly, as the multipliers leave it only
/// approximately.
fn restore_feasibility(y: &[f64], alpha: &mut [f64], c: f64) {
    let mut excess: f64 = alpha.iter().zip(y).map(|(a, yy)| a * yy).sum();
    for pass in 0..2 {
        for t in 0..alpha.len() {
            if excess == 0.0 {
                return;
            }
            if pass == 0 && !(alpha[t] > 0.0 && alpha[t] < c) {
                continue;
            }
            // Changing αₜ by δ changes yᵀα by yₜ δ.
            let new = (alpha[t] - y[t] * excess).clamp(0.0, c);
            excess += y[t] * (new - alpha[t]);
            alpha[t] = new;
        }
    }
}

/// w = Σ αᵢ yᵢ xᵢ and ∇ᵢ = yᵢ w · xᵢ − 1, from α.
fn exact_gradient(
    x: &Rows,
    y: &[f64],
    alpha: &[f64],
    w: &mut [f64],
    grad: &mut [f64],
    margins: &mut [f64],
) {
    w.iter_mut().for_each(|v| *v = 0.0);
    for (t, &a) in alpha.iter().enumerate() {
        if a != 0.0 {
            let s = a * y[t];
            for (wv, &xv) in w.iter_mut().zip(x.row(t)) {
                *wv += s * xv;
            }
        }
    }
    x.times(w, margins);
    for t in 0..grad.len() {
        grad[t] = y[t] * margins[t] - 1.0;
    }
}

/// One minimisation of the augmented Lagrangian at a fixed multiplier.
struct InnerSolve<'a> {
    x: &'a Rows,
    y: &'a [f64],
    c: f64,
    /// Qᵢᵢ + ρ.
    qd: &'a [f64],
    lambda: f64,
    penalty: f64,
}

impl InnerSolve<'_> {
    /// liblinear's coordinate descent with shrinking, from (α, w, s); returns the epochs run
    /// and whether the projected gradients ended within `eps` of each other on every variable.
    fn run(
        &self,
        alpha: &mut [f64],
        w: &mut [f64],
        sum: &mut f64,
        index: &mut [usize],
        eps: f64,
        rng: &mut ChaCha8Rng,
    ) -> (usize, bool) {
        let n = alpha.len();
        let c = self.c;
        let mut active = n;
        let (mut pg_max_old, mut pg_min_old) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut epoch = 0;
        while epoch < MAX_EPOCHS {
            epoch += 1;
            let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
            index[..active].shuffle(rng);
            let mut s = 0;
            while s < active {
                let i = index[s];
                let yi = self.y[i];
                let xi = self.x.row(i);
                let g = yi * (dot(w, xi) + self.lambda + self.penalty * *sum) - 1.0;
                let a = alpha[i];
                let mut pg = 0.0;
                if a == 0.0 {
                    if g > pg_max_old {
                        active -= 1;
                        index.swap(s, active);
                        continue;
                    } else if g < 0.0 {
                        pg = g;
                    }
                } else if a == c {
                    if g < pg_min_old {
                        active -= 1;
                        index.swap(s, active);
                        continue;
                    } else if g > 0.0 {
                        pg = g;
                    }
                } else {
                    pg = g;
                }
                pg_max = pg_max.max(pg);
                pg_min = pg_min.min(pg);
                if pg.abs() > 1e-12 {
                    let new = (a - g / self.qd[i]).clamp(0.0, c);
                    let step = (new - a) * yi;
                    alpha[i] = new;
                    *sum += step;
                    for (wv, &xv) in w.iter_mut().zip(xi) {
                        *wv += step * xv;
                    }
                }
                s += 1;
            }
            if pg_max - pg_min <= eps {
                if active == n {
                    return (epoch, true);
                }
                // Converged on the active set: check every variable again.
                active = n;
                pg_max_old = f64::INFINITY;
                pg_min_old = f64::NEG_INFINITY;
                continue;
            }
            pg_max_old = if pg_max <= 0.0 { f64::INFINITY } else { pg_max };
            pg_min_old = if pg_min >= 0.0 {
                f64::NEG_INFINITY
            } else {
                pg_min
            };
        }
        (epoch, false)
    }
}
