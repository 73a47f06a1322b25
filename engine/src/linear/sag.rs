//! scikit-learn's `sag` and `saga` solvers: the stochastic average gradient (SAG: Schmidt,
//! Le Roux and Bach 2017) and SAGA (Defazio, Bach and Lacoste-Julien 2014), on the objective
//! as scikit-learn scales it, (1/n) Σᵢ ℓᵢ(w) + α/2 ‖w‖² + β ‖w‖₁ with ℓᵢ the log-loss of row i,
//! α = 1/(Cn), β = 0 for L2 and α = 0, β = 1/(Cn) for L1 (liblinear's objectives divided by Cn).
//!
//! Each step draws a row i uniformly (with replacement, seeded), computes the loss derivative
//! gᵢ = ℓ′(wᵀxᵢ) at the current w, shrinks w by (1 − γα), replaces row i's stored derivative in
//! the running sum S = Σ_seen g_stored · x, and steps w ← w − γ S / m, m being the number of
//! distinct rows seen so far. SAGA adds the unbiased correction −γ (1 − 1/m) (gᵢ − g_storedᵢ) xᵢ
//! and then the proximal step of γβ‖·‖₁ (soft-thresholding). The step size is scikit-learn's:
//! with L = ¼ maxᵢ ‖xᵢ‖² + α, γ = 1/L for SAG and γ = 1/(2L + min(2nα, L)) for SAGA.
//! After each epoch of n steps the solver stops when maxⱼ |Δwⱼ| / maxⱼ |wⱼ| ≤ `tol` (over the
//! epoch), as scikit-learn does; at most `max_iter` epochs. Updates are dense: the standardised
//! features have no zeros to skip.

use ndarray::{Array1, ArrayView2, Zip};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::objective::sigmoid;
use super::{Penalty, Solution};

/// The variant of the stochastic average gradient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Variant {
    /// SAG: the biased average step, L2 only.
    Sag,
    /// SAGA: unbiased step and proximal L1 step.
    Saga,
}

/// Minimises the objective from w = 0; `y` holds ±1 labels.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stochastic_average_gradient(
    x: ArrayView2<f64>,
    y: &Array1<f64>,
    c: f64,
    penalty: Penalty,
    variant: Variant,
    tol: f64,
    max_iter: usize,
    seed: u64,
) -> Solution {
    let (n, d) = x.dim();
    let strength = 1.0 / (c * n as f64);
    let (alpha, beta) = match penalty {
        Penalty::L2 => (strength, 0.0),
        Penalty::L1 => (0.0, strength),
    };
    let max_squared = x.rows().into_iter().map(|r| r.dot(&r)).fold(0.0, f64::max);
    let lipschitz = 0.25 * max_squared + alpha;
    let step = match variant {
        Variant::Sag => 1.0 / lipschitz,
        Variant::Saga => 1.0 / (2.0 * lipschitz + (2.0 * n as f64 * alpha).min(lipschitz)),
    };
    let shrink = 1.0 - step * alpha;
    let threshold = step * beta;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = Array1::<f64>::zeros(d);
    let mut previous = w.clone();
    let mut sum = Array1::<f64>::zeros(d);
    let mut stored = vec![0.0f64; n];
    let mut seen = vec![false; n];
    let mut distinct = 0usize;
    for epoch in 0..max_iter {
        for _ in 0..n {
            let i = rng.gen_range(0..n);
            if !seen[i] {
                seen[i] = true;
                distinct += 1;
            }
            let row = x.row(i);
            // ℓ′ of log(1 + exp(−y z)) in z: −y σ(−y z).
            let g = -y[i] * sigmoid(-y[i] * row.dot(&w));
            let correction = g - stored[i];
            stored[i] = g;
            let average = step / distinct as f64;
            if correction != 0.0 {
                sum.scaled_add(correction, &row);
            }
            let unbiased = match variant {
                Variant::Saga => step * (1.0 - 1.0 / distinct as f64) * correction,
                Variant::Sag => 0.0,
            };
            Zip::from(&mut w)
                .and(&sum)
                .and(row)
                .for_each(|w, &s, &xi| *w = shrink * *w - unbiased * xi - average * s);
            if threshold > 0.0 {
                w.mapv_inplace(|v| v.signum() * (v.abs() - threshold).max(0.0));
            }
        }
        let (mut change, mut largest) = (0.0f64, 0.0f64);
        for (&now, before) in w.iter().zip(previous.iter_mut()) {
            change = change.max((now - *before).abs());
            largest = largest.max(now.abs());
            *before = now;
        }
        if (largest != 0.0 && change / largest <= tol) || (largest == 0.0 && change == 0.0) {
            return Solution {
                w,
                iterations: epoch + 1,
                converged: true,
            };
        }
    }
    Solution {
        w,
        iterations: max_iter,
        converged: false,
    }
}
