//! What every model class has in common: how a fitted model scores instances, what it says
//! about its features, and how fitting fails.
//!
//! Each class lives in its own module (`linear`, `tree`, `forest`, ...) with a `fit` function
//! taking its hyperparameters from [`secuml_proto::hyper`] and returning a fitted model that
//! implements [`Detector`] and serde's traits (the stored model format).
//! Signatures, by the supervision a class needs:
//! - supervised: `fit(hyper, x, y: &[bool], seed) -> Result<Model, ModelError>`, `y[i]` true
//!   for a malicious row;
//! - semi-supervised: `fit(hyper, x, y: &[Option<bool>], seed)`, `None` for an unlabelled row;
//! - unsupervised: `fit(hyper, x, seed)`.
//!
//! `x` is n rows × d columns, already standardised when the class standardises (every class
//! but the isolation forests, as SecuML's pipelines do).

use ndarray::ArrayView2;

/// What [`Detector::scores`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// The probability that the row is malicious, in [0, 1].
    Probability,
    /// An anomaly score, unbounded: the higher, the more likely malicious.
    Score,
}

/// A fitted model.
pub trait Detector {
    /// One value per row of `x` (same columns as at fit time): see [`Detector::output`].
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64>;

    /// Whether [`Detector::scores`] are probabilities or scores.
    fn output(&self) -> Output;

    /// One non-negative importance per column, summing to 1 (trees, forests, boosting: the
    /// mean decrease in impurity, as scikit-learn's `feature_importances_`); `None` when the
    /// class has none.
    fn importances(&self) -> Option<Vec<f64>> {
        None
    }
}

/// Why a fit failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A hyperparameter is out of its domain.
    #[error("invalid hyperparameter `{param}`: {message}")]
    Param {
        /// The hyperparameter's name, as the CLI spells it.
        param: &'static str,
        /// What was expected.
        message: String,
    },
    /// The training data cannot be fitted (no row, one class only, non-finite values...).
    #[error("{0}")]
    Data(String),
}

impl ModelError {
    /// A [`ModelError::Param`].
    pub fn param(param: &'static str, message: impl Into<String>) -> Self {
        ModelError::Param {
            param,
            message: message.into(),
        }
    }
}
