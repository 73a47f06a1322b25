//! libsvm's SMO solver (Fan, Chen and Lin 2005, second-order working set selection) for
//! min_α ½ αᵀQα + pᵀα subject to yᵀα = Δ and 0 ≤ αᵢ ≤ C, over any [`QMatrix`].
//!
//! The caller gives a feasible α and the gradient Qα + p at it; the solver keeps the gradient
//! up to date from two columns of Q per iteration. No shrinking: the linear SVC calls it on
//! small working sets, and the one-class SVM on subsamples where every row stays cheap.

/// Lower bound of a pair's curvature, libsvm's `TAU`.
const TAU: f64 = 1e-12;

/// A symmetric positive semi-definite matrix Q with Qᵢⱼ = yᵢ yⱼ K(xᵢ, xⱼ), read by columns.
/// Its diagonal is given to [`solve`] beside it.
pub(crate) trait QMatrix {
    /// Column i of Q (its n entries).
    fn column(&mut self, i: usize) -> &[f64];
}

/// A Q held whole, row-major n × n.
pub(crate) struct DenseQ {
    pub n: usize,
    pub values: Vec<f64>,
}

impl QMatrix for DenseQ {
    fn column(&mut self, i: usize) -> &[f64] {
        &self.values[i * self.n..(i + 1) * self.n]
    }
}

/// What [`solve`] reached.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SolveInfo {
    /// Pair updates made.
    pub iterations: usize,
    /// Whether the largest violation fell below the tolerance (rather than the iteration cap).
    pub converged: bool,
}

/// The two sides of the optimality condition, from the signs and bounds of each variable.
#[inline]
pub(crate) fn can_go_up(y: f64, alpha: f64, c: f64) -> bool {
    if y > 0.0 {
        alpha < c
    } else {
        alpha > 0.0
    }
}

/// See [`can_go_up`].
#[inline]
pub(crate) fn can_go_down(y: f64, alpha: f64, c: f64) -> bool {
    if y > 0.0 {
        alpha > 0.0
    } else {
        alpha < c
    }
}

/// Runs SMO from (α, ∇) until the maximal violation m(α) − M(α) is below `eps` or after
/// `max_iter` updates; α and `grad` are updated in place. `qd` is Q's diagonal.
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve<Q: QMatrix>(
    q: &mut Q,
    qd: &[f64],
    y: &[f64],
    alpha: &mut [f64],
    grad: &mut [f64],
    c: f64,
    eps: f64,
    max_iter: usize,
) -> SolveInfo {
    let mut iterations = 0;
    while iterations < max_iter {
        let Some((i, j)) = select_working_set(q, qd, y, alpha, grad, c, eps) else {
            return SolveInfo {
                iterations,
                converged: true,
            };
        };
        iterations += 1;
        let (qd_i, qd_j) = (qd[i], qd[j]);
        let col_i = q.column(i);
        let q_ij = col_i[j];
        let (old_i, old_j) = (alpha[i], alpha[j]);
        let (new_i, new_j) = update_pair(
            y[i] != y[j],
            qd_i + qd_j + if y[i] != y[j] { 2.0 } else { -2.0 } * q_ij,
            (grad[i], grad[j]),
            (old_i, old_j),
            c,
        );
        alpha[i] = new_i;
        alpha[j] = new_j;
        let (delta_i, delta_j) = (new_i - old_i, new_j - old_j);
        if delta_i != 0.0 {
            for (g, &qv) in grad.iter_mut().zip(col_i) {
                *g += qv * delta_i;
            }
        }
        if delta_j != 0.0 {
            let col_j = q.column(j);
            for (g, &qv) in grad.iter_mut().zip(col_j) {
                *g += qv * delta_j;
            }
        }
    }
    SolveInfo {
        iterations,
        converged: false,
    }
}

/// libsvm's WSS 3: i the maximal violator on the "up" side, j the "down" variable with the
/// largest second-order decrease with i; `None` when the violation is below `eps`.
fn select_working_set<Q: QMatrix>(
    q: &mut Q,
    qd: &[f64],
    y: &[f64],
    alpha: &[f64],
    grad: &[f64],
    c: f64,
    eps: f64,
) -> Option<(usize, usize)> {
    let mut gmax = f64::NEG_INFINITY;
    let mut gmax_idx = usize::MAX;
    for t in 0..y.len() {
        if can_go_up(y[t], alpha[t], c) {
            let v = -y[t] * grad[t];
            if v >= gmax {
                gmax = v;
                gmax_idx = t;
            }
        }
    }
    if gmax_idx == usize::MAX {
        return None;
    }
    let i = gmax_idx;
    let qd_i = qd[i];
    let y_i = y[i];
    let mut gmax2 = f64::NEG_INFINITY;
    let mut gmin_idx = usize::MAX;
    let mut obj_diff_min = f64::INFINITY;
    let col_i = q.column(i);
    for t in 0..y.len() {
        if !can_go_down(y[t], alpha[t], c) {
            continue;
        }
        let v = -y[t] * grad[t];
        if -v >= gmax2 {
            gmax2 = -v;
        }
        let grad_diff = gmax - v;
        if grad_diff > 0.0 {
            let quad = qd_i + qd[t] - 2.0 * y_i * y[t] * col_i[t];
            let obj_diff = -(grad_diff * grad_diff) / if quad > 0.0 { quad } else { TAU };
            if obj_diff <= obj_diff_min {
                gmin_idx = t;
                obj_diff_min = obj_diff;
            }
        }
    }
    if gmax + gmax2 < eps || gmin_idx == usize::MAX {
        None
    } else {
        Some((i, gmin_idx))
    }
}

/// libsvm's analytic update of a pair (αᵢ, αⱼ) along yᵀα = const, clipped to the box.
fn update_pair(
    opposite_signs: bool,
    quad: f64,
    (g_i, g_j): (f64, f64),
    (a_i, a_j): (f64, f64),
    c: f64,
) -> (f64, f64) {
    let quad = if quad > 0.0 { quad } else { TAU };
    if opposite_signs {
        let delta = (-g_i - g_j) / quad;
        let diff = a_i - a_j;
        let (mut ai, mut aj) = (a_i + delta, a_j + delta);
        if diff > 0.0 {
            if aj < 0.0 {
                aj = 0.0;
                ai = diff;
            }
        } else if ai < 0.0 {
            ai = 0.0;
            aj = -diff;
        }
        if diff > 0.0 {
            if ai > c {
                ai = c;
                aj = c - diff;
            }
        } else if aj > c {
            aj = c;
            ai = c + diff;
        }
        (ai, aj)
    } else {
        let delta = (g_i - g_j) / quad;
        let sum = a_i + a_j;
        let (mut ai, mut aj) = (a_i - delta, a_j + delta);
        if sum > c {
            if ai > c {
                ai = c;
                aj = sum - c;
            }
        } else if aj < 0.0 {
            aj = 0.0;
            ai = sum;
        }
        if sum > c {
            if aj > c {
                aj = c;
                ai = sum - c;
            }
        } else if ai < 0.0 {
            ai = 0.0;
            aj = sum;
        }
        (ai, aj)
    }
}

/// libsvm's threshold ρ (the decision function is Σ αᵢ yᵢ K(xᵢ, x) − ρ): the mean of yᵢ∇ᵢ over
/// the free variables, or the middle of its feasible interval when none is free.
pub(crate) fn rho(y: &[f64], alpha: &[f64], grad: &[f64], c: f64) -> f64 {
    let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut free, mut sum_free) = (0usize, 0.0);
    for t in 0..y.len() {
        let yg = y[t] * grad[t];
        if alpha[t] >= c {
            if y[t] < 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else if alpha[t] <= 0.0 {
            if y[t] > 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else {
            free += 1;
            sum_free += yg;
        }
    }
    if free > 0 {
        sum_free / free as f64
    } else {
        (ub + lb) / 2.0
    }
}

/// The maximal violation m(α) − M(α) of the optimality conditions (0 or less at the optimum).
pub(crate) fn max_violation(y: &[f64], alpha: &[f64], grad: &[f64], c: f64) -> f64 {
    let (mut m_up, mut m_low) = (f64::NEG_INFINITY, f64::INFINITY);
    for t in 0..y.len() {
        let v = -y[t] * grad[t];
        if can_go_up(y[t], alpha[t], c) {
            m_up = m_up.max(v);
        }
        if can_go_down(y[t], alpha[t], c) {
            m_low = m_low.min(v);
        }
    }
    m_up - m_low
}
