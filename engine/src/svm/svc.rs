//! The linear C-SVC with probabilities: the dual solved by [`super::linear`], Platt's sigmoid
//! fitted on 5-fold cross-validation decision values as libsvm's `svm_binary_svc_probability`.

use ndarray::ArrayView2;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::SvcHyper;
use serde::{Deserialize, Serialize};
use tracing::debug;

use super::kernel::{dot, Rows};
use super::linear::{solve_linear, LinearSolution};
use super::{check_rows, platt, EPS};
use crate::model::{Detector, ModelError, Output};

/// Folds of the cross-validation that gives Platt's sigmoid its decision values (libsvm's 5).
const PLATT_FOLDS: usize = 5;

/// A fitted linear SVC: f(x) = w · x + b, positive towards the malicious class, and Platt's
/// P(malicious | f) = 1 / (1 + exp(A f + B)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Svc {
    /// w, one weight per feature.
    pub weights: Vec<f64>,
    /// b, the unregularised intercept.
    pub intercept: f64,
    /// Platt's A (negative when the decision function ranks malicious rows higher).
    pub prob_a: f64,
    /// Platt's B.
    pub prob_b: f64,
    /// Rows with a nonzero dual variable in the final fit.
    pub support_vectors: usize,
    /// Whether the final fit reached the tolerance.
    pub converged: bool,
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &SvcHyper) -> Result<(), ModelError> {
    if !(hyper.c.is_finite() && hyper.c > 0.0) {
        return Err(ModelError::param("c", "a finite number above 0"));
    }
    Ok(())
}

/// Fits the SVC on `x` (n × d, standardised) and labels `y` (true = malicious), with libsvm's
/// tolerance (10⁻³ on the maximal violation); the folds of Platt's cross-validation are
/// drawn from `seed`.
pub fn fit(hyper: &SvcHyper, x: ArrayView2<f64>, y: &[bool], seed: u64) -> Result<Svc, ModelError> {
    check_hyper(hyper)?;
    check_rows(x)?;
    if y.len() != x.nrows() {
        return Err(ModelError::Data(format!(
            "{} labels for {} rows",
            y.len(),
            x.nrows()
        )));
    }
    if y.iter().all(|&l| l) || y.iter().all(|&l| !l) {
        return Err(ModelError::Data(
            "the training set has a single class".into(),
        ));
    }
    let rows = Rows::new(x);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let decision = cross_validated_decisions(&rows, y, hyper.c, &mut rng);
    let (prob_a, prob_b) = platt::fit_sigmoid(&decision, y);
    let final_fit = fit_dual(&rows, y, hyper.c, &mut rng);
    debug!(
        c = hyper.c,
        outer = final_fit.outer_iterations,
        epochs = final_fit.epochs,
        prob_a,
        prob_b,
        "linear svc fitted"
    );
    Ok(Svc {
        support_vectors: final_fit.alpha.iter().filter(|&&a| a > 0.0).count(),
        converged: final_fit.converged,
        weights: final_fit.w,
        intercept: -final_fit.rho,
        prob_a,
        prob_b,
    })
}

impl Svc {
    /// The decision function w · x + b of every row (positive: malicious side).
    pub fn decision_function(&self, x: ArrayView2<f64>) -> Vec<f64> {
        x.rows()
            .into_iter()
            .map(|row| match row.as_slice() {
                Some(r) => dot(r, &self.weights) + self.intercept,
                None => {
                    row.iter()
                        .zip(&self.weights)
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                        + self.intercept
                }
            })
            .collect()
    }
}

impl Detector for Svc {
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.decision_function(x)
            .into_iter()
            .map(|f| platt::probability(f, self.prob_a, self.prob_b))
            .collect()
    }

    fn output(&self) -> Output {
        Output::Probability
    }
}

/// One C-SVC dual, malicious rows as +1.
fn fit_dual(rows: &Rows, y: &[bool], c: f64, rng: &mut ChaCha8Rng) -> LinearSolution {
    let signs: Vec<f64> = y.iter().map(|&l| if l { 1.0 } else { -1.0 }).collect();
    solve_linear(rows, &signs, c, EPS, rng)
}

/// libsvm's cross-validation for Platt scaling: a random permutation, 5 consecutive folds of
/// it, each fold's decision values from a model fitted on the other four (±1 when those hold a
/// single class).
fn cross_validated_decisions(rows: &Rows, y: &[bool], c: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let n = rows.n;
    let mut perm: Vec<usize> = (0..n).collect();
    for i in 0..n {
        let j = rng.gen_range(i..n);
        perm.swap(i, j);
    }
    let mut decision = vec![0.0; n];
    for fold in 0..PLATT_FOLDS {
        let (begin, end) = (fold * n / PLATT_FOLDS, (fold + 1) * n / PLATT_FOLDS);
        let held_out = &perm[begin..end];
        let mut train: Vec<usize> = perm[..begin].iter().chain(&perm[end..]).copied().collect();
        // Row order changes nothing but rounding; ascending order reads memory in sequence.
        train.sort_unstable();
        let labels: Vec<bool> = train.iter().map(|&i| y[i]).collect();
        let positives = labels.iter().filter(|&&l| l).count();
        let constant = if train.is_empty() {
            Some(0.0)
        } else if positives == labels.len() {
            Some(1.0)
        } else if positives == 0 {
            Some(-1.0)
        } else {
            None
        };
        if let Some(v) = constant {
            held_out.iter().for_each(|&i| decision[i] = v);
            continue;
        }
        let sub = fit_dual(&Rows::select(rows, &train), &labels, c, rng);
        for &i in held_out {
            decision[i] = dot(rows.row(i), &sub.w) - sub.rho;
        }
    }
    decision
}
