//! Platt's sigmoid P(y = 1 | f) = 1 / (1 + exp(A f + B)), fitted as libsvm's `sigmoid_train`
//! does: regularised targets, Newton's method with a backtracking line search (Lin, Lin and
//! Weng 2007, "A note on Platt's probabilistic outputs for support vector machines").

/// The fitted (A, B).
pub(crate) fn fit_sigmoid(decision: &[f64], labels: &[bool]) -> (f64, f64) {
    let prior1 = labels.iter().filter(|&&l| l).count() as f64;
    let prior0 = labels.len() as f64 - prior1;
    let (max_iter, min_step, sigma, eps) = (100, 1e-10, 1e-12, 1e-5);
    let hi_target = (prior1 + 1.0) / (prior1 + 2.0);
    let lo_target = 1.0 / (prior0 + 2.0);
    let t: Vec<f64> = labels
        .iter()
        .map(|&l| if l { hi_target } else { lo_target })
        .collect();
    let objective = |a: f64, b: f64| -> f64 {
        decision
            .iter()
            .zip(&t)
            .map(|(&f, &ti)| {
                let fab = f * a + b;
                if fab >= 0.0 {
                    ti * fab + (-fab).exp().ln_1p()
                } else {
                    (ti - 1.0) * fab + fab.exp().ln_1p()
                }
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
    let mut fval = objective(a, b);
    for _ in 0..max_iter {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
        for (&f, &ti) in decision.iter().zip(&t) {
            let fab = f * a + b;
            let (p, q) = if fab >= 0.0 {
                let e = (-fab).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = fab.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += f * f * d2;
            h22 += d2;
            h21 += f * d2;
            let d1 = ti - p;
            g1 += f * d1;
            g2 += d1;
        }
        if g1.abs() < eps && g2.abs() < eps {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= min_step {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf < fval + 1e-4 * step * gd {
                (a, b, fval) = (na, nb, nf);
                break;
            }
            step /= 2.0;
        }
        if step < min_step {
            tracing::debug!("line search fails in the sigmoid fit");
            break;
        }
    }
    (a, b)
}

/// The sigmoid's probability at decision value `f`, clipped to [1e-7, 1 − 1e-7] as libsvm's
/// `svm_predict_probability` does.
#[inline]
pub(crate) fn probability(f: f64, a: f64, b: f64) -> f64 {
    let fab = f * a + b;
    let p = if fab >= 0.0 {
        let e = (-fab).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + fab.exp())
    };
    p.clamp(1e-7, 1.0 - 1e-7)
}
