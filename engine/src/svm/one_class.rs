//! Schölkopf's ν one-class SVM with an RBF kernel, solved as libsvm's `solve_one_class`:
//! min_α ½ αᵀKα subject to Σα = νn and 0 ≤ αᵢ ≤ 1, from α = (1, …, 1, νn − ⌊νn⌋, 0, …, 0).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis};
use secuml_proto::hyper::{Gamma, OneClassSvmHyper};
use serde::{Deserialize, Serialize};
use tracing::debug;

use super::kernel::{RbfColumns, Rows};
use super::smo::{self, QMatrix};
use super::{check_rows, EPS, KERNEL_CACHE_BYTES};
use crate::model::{Detector, ModelError, Output};

/// Test rows scored per kernel block (a block of rows × support vectors at a time).
const SCORE_BLOCK: usize = 512;

/// A fitted one-class SVM: decision f(x) = Σᵢ αᵢ exp(−γ‖svᵢ − x‖²) − ρ, negative outside the
/// learnt support; [`Detector::scores`] is −f (higher = more anomalous).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneClassSvm {
    /// Features per row.
    pub features: usize,
    /// The support vectors, row-major (`alpha.len()` rows of `features`).
    pub support_vectors: Vec<f64>,
    /// Their dual coefficients, in (0, 1].
    pub alpha: Vec<f64>,
    /// The RBF width γ.
    pub gamma: f64,
    /// The offset ρ.
    pub rho: f64,
    /// Whether the solver reached the tolerance.
    pub converged: bool,
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &OneClassSvmHyper) -> Result<(), ModelError> {
    if !(hyper.nu > 0.0 && hyper.nu <= 1.0) {
        return Err(ModelError::param("nu", "a number in (0, 1]"));
    }
    if let Gamma::Value(g) = hyper.gamma {
        if !(g.is_finite() && g > 0.0) {
            return Err(ModelError::param(
                "gamma",
                "scale or a finite number above 0",
            ));
        }
    }
    Ok(())
}

/// Fits the one-class SVM on `x` (n × d, standardised) with libsvm's tolerance (10⁻³).
/// Deterministic: `seed` is unused (libsvm draws nothing either).
pub fn fit(
    hyper: &OneClassSvmHyper,
    x: ArrayView2<f64>,
    _seed: u64,
) -> Result<OneClassSvm, ModelError> {
    check_hyper(hyper)?;
    check_rows(x)?;
    let rows = Rows::new(x);
    let gamma = match hyper.gamma {
        Gamma::Value(g) => g,
        Gamma::Scale => scale_gamma(&rows),
    };
    let n = rows.n;
    let mut alpha = initial_alpha(n, hyper.nu);
    let y = vec![1.0; n];
    let qd = vec![1.0; n];
    let mut q = RbfColumns::new(&rows, gamma, KERNEL_CACHE_BYTES);
    let mut grad = vec![0.0; n];
    for (i, &a) in alpha.iter().enumerate() {
        if a > 0.0 {
            for (g, &k) in grad.iter_mut().zip(q.column(i)) {
                *g += a * k;
            }
        }
    }
    let max_iter = (100 * n).max(10_000_000);
    let info = smo::solve(&mut q, &qd, &y, &mut alpha, &mut grad, 1.0, EPS, max_iter);
    let rho = smo::rho(&y, &alpha, &grad, 1.0);
    debug!(
        iterations = info.iterations,
        columns = q.computed,
        gamma,
        rho,
        "one-class svm fitted"
    );
    let mut support_vectors = Vec::new();
    let mut coefficients = Vec::new();
    for (i, &a) in alpha.iter().enumerate() {
        if a > 0.0 {
            support_vectors.extend_from_slice(rows.row(i));
            coefficients.push(a);
        }
    }
    Ok(OneClassSvm {
        features: rows.d,
        support_vectors,
        alpha: coefficients,
        gamma,
        rho,
        converged: info.converged,
    })
}

impl OneClassSvm {
    /// The decision function of every row (negative: outside the support, anomalous).
    pub fn decision_function(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let m = self.alpha.len();
        let d = self.features;
        let sv = ArrayView2::from_shape((m, d), &self.support_vectors).expect("shape");
        let sv_norms: Vec<f64> = sv.rows().into_iter().map(|r| r.dot(&r)).collect();
        let mut out = Vec::with_capacity(x.nrows());
        let mut products = Array2::<f64>::zeros((SCORE_BLOCK.min(x.nrows()), m));
        for block in x.axis_chunks_iter(Axis(0), SCORE_BLOCK) {
            let b = block.nrows();
            let mut prod = products.slice_axis_mut(Axis(0), (0..b).into());
            general_mat_mul(1.0, &block, &sv.t(), 0.0, &mut prod);
            for (row, p) in block.rows().into_iter().zip(prod.rows()) {
                let norm = row.dot(&row);
                let mut f = 0.0;
                for ((&pj, &nj), &aj) in p.iter().zip(&sv_norms).zip(&self.alpha) {
                    let d2 = (norm + nj - 2.0 * pj).max(0.0);
                    f += aj * (-self.gamma * d2).exp();
                }
                out.push(f - self.rho);
            }
        }
        out
    }
}

impl Detector for OneClassSvm {
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.decision_function(x).into_iter().map(|f| -f).collect()
    }

    fn output(&self) -> Output {
        Output::Score
    }
}

/// scikit-learn's `gamma='scale'`: 1 / (d · var(x)) over every entry of x (1 when x is
/// constant).
pub(crate) fn scale_gamma(rows: &Rows) -> f64 {
    let count = rows.values.len() as f64;
    let mean = rows.values.iter().sum::<f64>() / count;
    let var = rows
        .values
        .iter()
        .map(|v| (v - mean) * (v - mean))
        .sum::<f64>()
        / count;
    if var > 0.0 {
        1.0 / (rows.d as f64 * var)
    } else {
        1.0
    }
}

/// libsvm's starting point: the first ⌊νn⌋ variables at 1, the next at the remainder.
fn initial_alpha(n: usize, nu: f64) -> Vec<f64> {
    let total = nu * n as f64;
    let full = (total as usize).min(n);
    let mut alpha = vec![0.0; n];
    alpha[..full].iter_mut().for_each(|a| *a = 1.0);
    if full < n {
        alpha[full] = total - full as f64;
    }
    alpha
}
