//! Logistic regression without intercept, L1 or L2 penalised, as SecuML configures it
//! (scikit-learn's `LogisticRegression` with `fit_intercept=False`), with its solvers
//! `liblinear` (the objectives solved to the optimum), `lbfgs`, `sag` and `saga`.
//!
#![doc = include_str!("README.md")]

mod descent;
mod hessian_free;
mod lbfgs;
mod newton;
mod objective;
mod params;
mod sag;
#[cfg(test)]
mod tests;

pub use params::{
    LinearError, LogisticRegressionParams, OptimAlgo, ParamsError, Penalty,
    ValidLogisticRegressionParams, SKLEARN_TOL,
};

use linfa::dataset::DatasetBase;
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, Array2, ArrayBase, ArrayView2, Data, Ix2};
use serde::{Deserialize, Serialize};
use tracing::debug;

use objective::{sigmoid, LogLoss};

/// Above this many features the solvers stop forming the d × d Hessian.
pub const DENSE_HESSIAN_MAX_FEATURES: usize = 2000;

/// A fitted logistic regression (no intercept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// One weight per feature; positive weights push towards the malicious class.
    pub coefficients: Array1<f64>,
    /// Outer (Newton) iterations, L-BFGS iterations or SAG/SAGA epochs the solver ran.
    pub iterations: usize,
    /// Whether the optimality tolerance was reached.
    pub converged: bool,
}

/// The solvers' result.
pub(crate) struct Solution {
    pub w: Array1<f64>,
    pub iterations: usize,
    pub converged: bool,
}

/// Which solver family to use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Solver {
    DenseHessian,
    HessianFree,
}

impl ValidLogisticRegressionParams {
    /// Fits the model on features `x` (n × d, typically standardised) and labels `y`
    /// (true = malicious = +1) with the chosen solver; `liblinear` picks its Newton solver
    /// family by the number of features.
    pub fn fit(&self, x: ArrayView2<f64>, y: &[bool]) -> Result<LogisticRegression, LinearError> {
        let solver = if x.ncols() <= DENSE_HESSIAN_MAX_FEATURES {
            Solver::DenseHessian
        } else {
            Solver::HessianFree
        };
        self.fit_with(x, y, solver)
    }

    pub(crate) fn fit_with(
        &self,
        x: ArrayView2<f64>,
        y: &[bool],
        solver: Solver,
    ) -> Result<LogisticRegression, LinearError> {
        check_training_set(x, y)?;
        let loss = LogLoss::new(x, y, self.c());
        let (tol, max_iter) = (self.tol(), self.max_iter());
        let stochastic = |variant| {
            sag::stochastic_average_gradient(
                x,
                &loss.y,
                self.c(),
                self.penalty(),
                variant,
                tol,
                max_iter,
                self.seed(),
            )
        };
        let solution = match (self.penalty(), self.solver(), solver) {
            (_, OptimAlgo::Lbfgs, _) => lbfgs::lbfgs_l2(&loss, tol, max_iter),
            (_, OptimAlgo::Sag, _) => stochastic(sag::Variant::Sag),
            (_, OptimAlgo::Saga, _) => stochastic(sag::Variant::Saga),
            (Penalty::L2, _, Solver::DenseHessian) => newton::newton_l2(&loss, tol, max_iter),
            (Penalty::L1, _, Solver::DenseHessian) => {
                newton::proximal_newton_l1(&loss, tol, max_iter)
            }
            (Penalty::L2, _, Solver::HessianFree) => {
                hessian_free::newton_cg_l2(&loss, tol, max_iter)
            }
            (Penalty::L1, _, Solver::HessianFree) => {
                hessian_free::proximal_newton_cd_l1(&loss, tol, max_iter)
            }
        };
        if solution.w.iter().any(|v| !v.is_finite()) {
            return Err(LinearError::Numerical("non-finite coefficients"));
        }
        debug!(
            iterations = solution.iterations,
            converged = solution.converged,
            c = self.c(),
            solver = self.solver().name(),
            "logistic regression fitted"
        );
        Ok(LogisticRegression {
            coefficients: solution.w,
            iterations: solution.iterations,
            converged: solution.converged,
        })
    }
}

impl LogisticRegressionParams {
    /// Checks the parameters, then fits (see [`ValidLogisticRegressionParams::fit`]).
    pub fn fit(&self, x: ArrayView2<f64>, y: &[bool]) -> Result<LogisticRegression, LinearError> {
        self.check()?.fit(x, y)
    }
}

impl LogisticRegression {
    /// Returns the scores wᵀxᵢ (positive = malicious side).
    pub fn decision_function(&self, x: ArrayView2<f64>) -> Array1<f64> {
        x.dot(&self.coefficients)
    }

    /// Returns the probability of the **positive** (malicious, `true`) class for each row.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Array1<f64> {
        self.decision_function(x).mapv(sigmoid)
    }
}

impl Fit<Array2<f64>, Array1<bool>, LinearError> for ValidLogisticRegressionParams {
    type Object = LogisticRegression;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<bool>>,
    ) -> Result<LogisticRegression, LinearError> {
        let labels = dataset.targets.to_vec();
        ValidLogisticRegressionParams::fit(self, dataset.records.view(), &labels)
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<bool>> for LogisticRegression {
    /// Predicts malicious where the probability is strictly greater than 0.5.
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<bool>) {
        let scores = self.decision_function(x.view());
        y.zip_mut_with(&scores, |label, &s| *label = s > 0.0);
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<bool> {
        Array1::from_elem(x.nrows(), false)
    }
}

/// Rejects training sets the solvers cannot use.
fn check_training_set(x: ArrayView2<f64>, y: &[bool]) -> Result<(), LinearError> {
    if x.nrows() != y.len() {
        return Err(LinearError::LengthMismatch {
            rows: x.nrows(),
            labels: y.len(),
        });
    }
    if y.is_empty() {
        return Err(LinearError::NoRows);
    }
    if y.iter().all(|&l| l) {
        return Err(LinearError::SingleClass("malicious"));
    }
    if y.iter().all(|&l| !l) {
        return Err(LinearError::SingleClass("benign"));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(LinearError::NonFinite);
    }
    Ok(())
}

/// Returns ‖v‖₁ of the minimum-norm subgradient of ‖w‖₁ + loss, where `g` is the loss gradient.
pub(crate) fn l1_optimality(w: &Array1<f64>, g: &Array1<f64>) -> f64 {
    w.iter()
        .zip(g)
        .map(|(&w, &g)| {
            if w > 0.0 {
                (g + 1.0).abs()
            } else if w < 0.0 {
                (g - 1.0).abs()
            } else {
                (g.abs() - 1.0).max(0.0)
            }
        })
        .sum()
}

/// Returns the Euclidean norm.
pub(crate) fn norm(v: &Array1<f64>) -> f64 {
    v.dot(v).sqrt()
}
