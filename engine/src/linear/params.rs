//! Hyperparameters of the logistic regression, their validation, and the module's errors.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The regularisation term of the objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    /// ‖w‖₁: sparse coefficients.
    L1,
    /// ½‖w‖²: ridge.
    L2,
}

/// The optimisation algorithm (scikit-learn's `solver`, SecuML's `--optim-algo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimAlgo {
    /// liblinear's objectives solved to the optimum by (proximal) Newton methods, to `tol`.
    #[default]
    Liblinear,
    /// L-BFGS on the L2 objective, with scikit-learn's stopping rule (L2 only).
    Lbfgs,
    /// Stochastic average gradient (L2 only).
    Sag,
    /// SAGA, the stochastic average gradient with an unbiased step and a proximal step (L1 or L2).
    Saga,
}

impl OptimAlgo {
    /// scikit-learn's name of the solver.
    pub fn name(self) -> &'static str {
        match self {
            OptimAlgo::Liblinear => "liblinear",
            OptimAlgo::Lbfgs => "lbfgs",
            OptimAlgo::Sag => "sag",
            OptimAlgo::Saga => "saga",
        }
    }

    /// Tells whether the solver minimises the objective with this penalty (scikit-learn's
    /// rule: `lbfgs` and `sag` are for L2 only).
    pub fn supports(self, penalty: Penalty) -> bool {
        penalty == Penalty::L2 || matches!(self, OptimAlgo::Liblinear | OptimAlgo::Saga)
    }
}

/// scikit-learn's `tol` and `max_iter` defaults for its `lbfgs`, `sag` and `saga` solvers.
pub const SKLEARN_TOL: f64 = 1e-4;

/// Unchecked hyperparameters; [`LogisticRegressionParams::check`] turns them into
/// [`ValidLogisticRegressionParams`], the only type that fits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionParams {
    /// Inverse regularisation strength (weight of the summed log-loss), > 0.
    pub c: f64,
    /// Regularisation term.
    pub penalty: Penalty,
    /// Relative tolerance on the optimality conditions: the solver stops when the norm of the
    /// (minimum-norm sub)gradient falls below `tol` times its norm at w = 0. In (0, 1).
    pub tol: f64,
    /// Maximum number of outer (Newton) iterations, L-BFGS iterations or SAG/SAGA epochs, ≥ 1.
    pub max_iter: usize,
    /// The optimisation algorithm; `tol` means its own stopping rule (see each solver).
    #[serde(default)]
    pub solver: OptimAlgo,
    /// Seed of the SAG/SAGA sampling of rows.
    #[serde(default)]
    pub seed: u64,
}

/// Checked hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValidLogisticRegressionParams(pub(crate) LogisticRegressionParams);

/// A hyperparameter out of its domain.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParamsError {
    /// `c` is not a finite positive number.
    #[error("c must be finite and > 0, got {0}")]
    C(f64),
    /// `tol` is not in (0, 1).
    #[error("tol must be in (0, 1), got {0}")]
    Tol(f64),
    /// `max_iter` is 0.
    #[error("max_iter must be at least 1")]
    MaxIter,
    /// The solver does not handle the penalty.
    #[error("solver {} supports only the l2 penalty, not l1", solver.name())]
    Unsupported {
        /// The solver.
        solver: OptimAlgo,
        /// The penalty it does not handle.
        penalty: Penalty,
    },
}

/// Errors of fitting a logistic regression.
#[derive(Debug, Error)]
pub enum LinearError {
    /// Bad hyperparameters.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The training set has no rows.
    #[error("training set has no rows")]
    NoRows,
    /// The training labels hold a single class.
    #[error("training labels hold only the {0} class; both classes are needed")]
    SingleClass(&'static str),
    /// The numbers of rows of the features and labels differ.
    #[error("{rows} feature rows but {labels} labels")]
    LengthMismatch {
        /// Rows of the feature matrix.
        rows: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A feature value is NaN or infinite.
    #[error("feature matrix holds a non-finite value")]
    NonFinite,
    /// The solver met a numerical failure.
    #[error("solver failed: {0}")]
    Numerical(&'static str),
    /// An error of the linfa framework.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}

impl Default for LogisticRegressionParams {
    fn default() -> Self {
        LogisticRegressionParams {
            c: 1.0,
            penalty: Penalty::L2,
            tol: 1e-8,
            max_iter: 100,
            solver: OptimAlgo::Liblinear,
            seed: 0,
        }
    }
}

impl LogisticRegressionParams {
    /// Default parameters (tol 1e-8, 100 iterations) with the given `c` and `penalty`.
    pub fn new(c: f64, penalty: Penalty) -> Self {
        LogisticRegressionParams {
            c,
            penalty,
            ..Default::default()
        }
    }

    /// The given solver with `c` and `penalty`: tol 1e-8 for `liblinear` (solved to the
    /// optimum), scikit-learn's tol 1e-4 for the others; 100 iterations.
    pub fn with_solver(c: f64, penalty: Penalty, solver: OptimAlgo) -> Self {
        let tol = if solver == OptimAlgo::Liblinear {
            1e-8
        } else {
            SKLEARN_TOL
        };
        LogisticRegressionParams {
            c,
            penalty,
            tol,
            solver,
            ..Default::default()
        }
    }

    /// Validates the hyperparameters.
    pub fn check(&self) -> Result<ValidLogisticRegressionParams, ParamsError> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(ParamsError::C(self.c));
        }
        if !(self.tol > 0.0 && self.tol < 1.0) {
            return Err(ParamsError::Tol(self.tol));
        }
        if self.max_iter == 0 {
            return Err(ParamsError::MaxIter);
        }
        if !self.solver.supports(self.penalty) {
            return Err(ParamsError::Unsupported {
                solver: self.solver,
                penalty: self.penalty,
            });
        }
        Ok(ValidLogisticRegressionParams(*self))
    }
}

impl ValidLogisticRegressionParams {
    /// Inverse regularisation strength.
    pub fn c(&self) -> f64 {
        self.0.c
    }
    /// Regularisation term.
    pub fn penalty(&self) -> Penalty {
        self.0.penalty
    }
    /// Relative tolerance on the optimality conditions.
    pub fn tol(&self) -> f64 {
        self.0.tol
    }
    /// Maximum number of outer iterations.
    pub fn max_iter(&self) -> usize {
        self.0.max_iter
    }
    /// The optimisation algorithm.
    pub fn solver(&self) -> OptimAlgo {
        self.0.solver
    }
    /// Seed of the SAG/SAGA row sampling.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }
}
