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
//!
//! Each class checks its hyperparameters' domains in one function of its module, which its
//! `fit` calls first; [`check_hyper`] dispatches to them, so a request is refused before any
//! data is read, with the same error the fit would give.
//!
//! [`multiclass`] trains a class on families instead of binary labels ([`FittedModel::Multiclass`]).

pub mod multiclass;

#[cfg(test)]
mod check_tests;

use ndarray::ArrayView2;
use secuml_proto::{hyper, Hyper, Penalty};
use serde::{Deserialize, Serialize};

use crate::linear::{
    LogisticRegression, LogisticRegressionParams, OptimAlgo, ParamsError, Penalty as LinearPenalty,
    ValidLogisticRegressionParams,
};
use crate::rows::Rows;

/// What [`Detector::scores`] returns: [`Output::Probability`] (of the malicious class, in
/// [0, 1]) or [`Output::Score`] (an anomaly score, unbounded: the higher, the more likely
/// malicious).
pub use secuml_proto::result::ModelOutput as Output;

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

/// A fitted model of any class: what a refit stores (its serde form, tagged by `class`, is the
/// `model` field of the stored model format) and a detection applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class")]
pub enum FittedModel {
    /// Logistic regression.
    LogisticRegression(LogisticRegression),
    /// DecisionTree.
    DecisionTree(crate::tree::DecisionTree),
    /// RandomForest.
    RandomForest(crate::forest::RandomForest),
    /// GradientBoosting.
    GradientBoosting(crate::boosting::GradientBoosting),
    /// Svc.
    Svc(crate::svm::Svc),
    /// GaussianNaiveBayes.
    GaussianNaiveBayes(crate::bayes::GaussianNb),
    /// LabelPropagation.
    LabelPropagation(crate::propagation::LabelPropagation),
    /// Sssvdd.
    Sssvdd(crate::svdd::Sssvdd),
    /// WeightedIsolationForest.
    WeightedIsolationForest(crate::iforest::WeightedIsolationForest),
    /// IsolationForest.
    IsolationForest(crate::iforest::IsolationForest),
    /// Lof.
    Lof(crate::lof::Lof),
    /// OneClassSvm.
    OneClassSvm(crate::svm::OneClassSvm),
    /// EllipticEnvelope.
    EllipticEnvelope(crate::envelope::EllipticEnvelope),
    /// A class trained on families (its scores: the probability of the predicted family).
    Multiclass(multiclass::MulticlassModel),
}

impl FittedModel {
    fn detector(&self) -> &dyn Detector {
        match self {
            FittedModel::LogisticRegression(m) => m,
            FittedModel::DecisionTree(m) => m,
            FittedModel::RandomForest(m) => m,
            FittedModel::GradientBoosting(m) => m,
            FittedModel::Svc(m) => m,
            FittedModel::GaussianNaiveBayes(m) => m,
            FittedModel::LabelPropagation(m) => m,
            FittedModel::Sssvdd(m) => m,
            FittedModel::WeightedIsolationForest(m) => m,
            FittedModel::IsolationForest(m) => m,
            FittedModel::Lof(m) => m,
            FittedModel::OneClassSvm(m) => m,
            FittedModel::EllipticEnvelope(m) => m,
            FittedModel::Multiclass(m) => m,
        }
    }

    /// One value per row: see [`Detector::scores`].
    pub fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.detector().scores(x)
    }

    /// [`FittedModel::scores`] of the rows `x`, copied [`crate::rows::BLOCK_ROWS`] at a time
    /// (a row's score depends on that row alone).
    pub fn scores_rows(&self, x: &Rows) -> Vec<f64> {
        let mut scores = Vec::with_capacity(x.len());
        for start in (0..x.len()).step_by(crate::rows::BLOCK_ROWS) {
            let end = x.len().min(start + crate::rows::BLOCK_ROWS);
            scores.extend(self.scores(x.block(start, end).view()));
        }
        scores
    }

    /// What [`FittedModel::scores`] are.
    pub fn output(&self) -> Output {
        self.detector().output()
    }

    /// The multiclass model, when this is one.
    pub fn multiclass(&self) -> Option<&multiclass::MulticlassModel> {
        match self {
            FittedModel::Multiclass(m) => Some(m),
            _ => None,
        }
    }

    /// Per-column importances (tree classes).
    pub fn importances(&self) -> Option<Vec<f64>> {
        self.detector().importances()
    }

    /// Per-column coefficients on the standardised columns (linear classes).
    pub fn coefficients(&self) -> Option<Vec<f64>> {
        if let FittedModel::LogisticRegression(m) = self {
            Some(m.coefficients.to_vec())
        } else {
            None
        }
    }

    /// A multiclass linear model's coefficients per family, on the standardised columns:
    /// see [`multiclass::MulticlassModel::family_coefficients`].
    pub fn family_coefficients(&self) -> Option<Vec<(String, Vec<f64>)>> {
        self.multiclass()?.family_coefficients()
    }

    /// Solver iterations, 0 where the class has none.
    pub fn iterations(&self) -> usize {
        if let FittedModel::LogisticRegression(m) = self {
            m.iterations
        } else {
            0
        }
    }
}

impl Detector for LogisticRegression {
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.predict_proba(x).to_vec()
    }

    fn output(&self) -> Output {
        Output::Probability
    }
}

/// The labels of the `n` rows `y` labels; an error names the first unlabelled row.
fn labelled_rows(n: usize, y: &[Option<bool>]) -> Result<Vec<bool>, ModelError> {
    y.iter()
        .enumerate()
        .map(|(i, l)| {
            l.ok_or_else(|| {
                ModelError::Data(format!(
                    "row {i} has no label: a supervised class trains on labelled rows only"
                ))
            })
        })
        .collect::<Result<Vec<bool>, _>>()
        .and_then(|labels| {
            if labels.len() == n {
                Ok(labels)
            } else {
                Err(ModelError::Data(format!(
                    "{} labels for {n} rows",
                    labels.len()
                )))
            }
        })
}

/// The labels of the rows of `x`; an error names the first unlabelled row.
fn labelled(x: ArrayView2<f64>, y: &[Option<bool>]) -> Result<Vec<bool>, ModelError> {
    labelled_rows(x.nrows(), y)
}

/// Whether [`fit_rows`] fits the class of `hyper` on the rows it is given without copying
/// them (the trees, forests and gradient boosting, which rank-code them); the other classes
/// fit on a copy.
pub fn fits_rows(hyper: &Hyper) -> bool {
    matches!(
        hyper,
        Hyper::DecisionTree(_) | Hyper::RandomForest(_) | Hyper::GradientBoosting(_)
    )
}

pub use crate::tree::Coded;

/// Whether the class of `hyper` fits on rank-coded rows ([`fit_coded`]): the trees and
/// forests, whose candidates of a search fold can share one [`Coded`].
pub fn fits_coded(hyper: &Hyper) -> bool {
    matches!(hyper, Hyper::DecisionTree(_) | Hyper::RandomForest(_))
}

/// The labelled rows `x` rank-coded for [`fit_coded`]; an error names the first unlabelled
/// row, or what the trees cannot learn from (a single class, a value not finite).
pub fn code(x: &Rows, y: &[Option<bool>]) -> Result<Coded, ModelError> {
    Coded::new(x, &labelled_rows(x.len(), y)?)
}

/// [`fit`] on rows [`code`] coded, for the classes of [`fits_coded`].
pub fn fit_coded(hyper: &Hyper, data: &Coded, seed: u64) -> Result<FittedModel, ModelError> {
    match hyper {
        Hyper::DecisionTree(h) => Ok(FittedModel::DecisionTree(crate::tree::fit_coded(
            h, data, seed,
        )?)),
        Hyper::RandomForest(h) => Ok(FittedModel::RandomForest(crate::forest::fit_coded(
            h, data, seed,
        )?)),
        other => Err(ModelError::Data(format!(
            "{} does not fit on rank-coded rows",
            other.class_name()
        ))),
    }
}

/// [`fit`] on the rows `x` (rows of a larger matrix, standardised on the fly when the class
/// standardises): read where they are by the classes of [`fits_rows`], copied for the others.
pub fn fit_rows(
    hyper: &Hyper,
    x: &Rows,
    y: &[Option<bool>],
    seed: u64,
) -> Result<FittedModel, ModelError> {
    match hyper {
        Hyper::DecisionTree(h) => Ok(FittedModel::DecisionTree(crate::tree::fit_rows(
            h,
            x,
            &labelled_rows(x.len(), y)?,
            seed,
        )?)),
        Hyper::RandomForest(h) => Ok(FittedModel::RandomForest(crate::forest::fit_rows(
            h,
            x,
            &labelled_rows(x.len(), y)?,
            seed,
        )?)),
        Hyper::GradientBoosting(h) => Ok(FittedModel::GradientBoosting(crate::boosting::fit_rows(
            h,
            x,
            &labelled_rows(x.len(), y)?,
            seed,
        )?)),
        _ => match x.as_matrix() {
            Some(x) => fit(hyper, x, y, seed),
            None => fit(hyper, x.to_matrix().view(), y, seed),
        },
    }
}

/// The checked parameters of a logistic regression.
fn logistic_params(
    c: f64,
    penalty: Penalty,
    optim_algo: hyper::OptimAlgo,
    seed: u64,
) -> Result<ValidLogisticRegressionParams, ModelError> {
    let penalty = match penalty {
        Penalty::L1 => LinearPenalty::L1,
        Penalty::L2 => LinearPenalty::L2,
    };
    let solver = match optim_algo {
        hyper::OptimAlgo::Liblinear => OptimAlgo::Liblinear,
        hyper::OptimAlgo::Lbfgs => OptimAlgo::Lbfgs,
        hyper::OptimAlgo::Sag => OptimAlgo::Sag,
        hyper::OptimAlgo::Saga => OptimAlgo::Saga,
    };
    LogisticRegressionParams {
        seed,
        ..LogisticRegressionParams::with_solver(c, penalty, solver)
    }
    .check()
    .map_err(|e| match e {
        ParamsError::Unsupported { .. } => ModelError::param("optim-algo", e.to_string()),
        _ => ModelError::param("regularization", e.to_string()),
    })
}

/// Checks the hyperparameters of `hyper` against their domains, as [`fit`] does before it
/// fits (each class's own check, the one its fit calls), without any data: a bad value is
/// refused with the parameter's name, as the command line spells it.
///
/// With `num_features` (the number of encoded columns the class would be fitted on), the
/// classes whose hyperparameters resolve against the columns (the tree classes'
/// `max-features`) are resolved as their fit resolves them; without it, only what needs no
/// data is checked.
pub fn check_hyper(hyper: &Hyper, num_features: Option<usize>) -> Result<(), ModelError> {
    match hyper {
        Hyper::LogisticRegression {
            c,
            penalty,
            optim_algo,
        } => logistic_params(*c, *penalty, *optim_algo, 0).map(drop),
        Hyper::DecisionTree(h) => match num_features {
            Some(d) => crate::tree::grow_params(h.criterion, h.splitter, &h.limits, d).map(drop),
            None => crate::tree::check_limits(&h.limits),
        },
        Hyper::RandomForest(h) => match num_features {
            Some(d) => crate::forest::resolve(h, d).map(drop),
            None => crate::forest::check_hyper(h),
        },
        Hyper::GradientBoosting(h) => match num_features {
            Some(d) => crate::boosting::resolve(h, d).map(drop),
            None => crate::boosting::check_hyper(h),
        },
        Hyper::Svc(h) => crate::svm::svc::check_hyper(h),
        Hyper::GaussianNaiveBayes(h) => crate::bayes::check_hyper(h),
        Hyper::LabelPropagation(h) => crate::propagation::check_hyper(h),
        Hyper::Sssvdd(h) => crate::svdd::check_hyper(h),
        Hyper::WeightedIsolationForest(h) => crate::iforest::weighted::check_hyper(h),
        Hyper::IsolationForest(h) => crate::iforest::check_hyper(h),
        Hyper::Lof(h) => crate::lof::check_hyper(h),
        Hyper::OneClassSvm(h) => crate::svm::one_class::check_hyper(h),
        Hyper::EllipticEnvelope(h) => crate::envelope::check_hyper(h),
    }
}

/// Fits the class `hyper` names on `x` (standardised when [`Hyper::standardises`]).
///
/// `y` has one entry per row: supervised classes need every row labelled, semi-supervised
/// ones learn from the labelled rows among all, unsupervised ones ignore it.
pub fn fit(
    hyper: &Hyper,
    x: ArrayView2<f64>,
    y: &[Option<bool>],
    seed: u64,
) -> Result<FittedModel, ModelError> {
    match hyper {
        Hyper::LogisticRegression {
            c,
            penalty,
            optim_algo,
        } => {
            let labels = labelled(x, y)?;
            let params = logistic_params(*c, *penalty, *optim_algo, seed)?;
            let fitted = params
                .fit(x, &labels)
                .map_err(|e| ModelError::Data(e.to_string()))?;
            Ok(FittedModel::LogisticRegression(fitted))
        }
        Hyper::DecisionTree(h) => Ok(FittedModel::DecisionTree(crate::tree::fit(
            h,
            x,
            &labelled(x, y)?,
            seed,
        )?)),
        Hyper::RandomForest(h) => Ok(FittedModel::RandomForest(crate::forest::fit(
            h,
            x,
            &labelled(x, y)?,
            seed,
        )?)),
        Hyper::GradientBoosting(h) => Ok(FittedModel::GradientBoosting(crate::boosting::fit(
            h,
            x,
            &labelled(x, y)?,
            seed,
        )?)),
        Hyper::Svc(h) => Ok(FittedModel::Svc(crate::svm::svc::fit(
            h,
            x,
            &labelled(x, y)?,
            seed,
        )?)),
        Hyper::GaussianNaiveBayes(h) => Ok(FittedModel::GaussianNaiveBayes(crate::bayes::fit(
            h,
            x,
            &labelled(x, y)?,
            seed,
        )?)),
        Hyper::LabelPropagation(h) => Ok(FittedModel::LabelPropagation(crate::propagation::fit(
            h, x, y, seed,
        )?)),
        Hyper::Sssvdd(h) => Ok(FittedModel::Sssvdd(crate::svdd::fit(h, x, y, seed)?)),
        Hyper::WeightedIsolationForest(h) => Ok(FittedModel::WeightedIsolationForest(
            crate::iforest::weighted::fit(h, x, y, seed)?,
        )),
        Hyper::IsolationForest(h) => Ok(FittedModel::IsolationForest(crate::iforest::fit(
            h, x, seed,
        )?)),
        Hyper::Lof(h) => Ok(FittedModel::Lof(crate::lof::fit(h, x, seed)?)),
        Hyper::OneClassSvm(h) => Ok(FittedModel::OneClassSvm(crate::svm::one_class::fit(
            h, x, seed,
        )?)),
        Hyper::EllipticEnvelope(h) => Ok(FittedModel::EllipticEnvelope(crate::envelope::fit(
            h, x, seed,
        )?)),
    }
}

/// 101 quantiles (0 %, 1 %, ..., 100 %) of `scores`, for the stored model's
/// `score_quantiles`; empty without scores.
pub fn quantiles(scores: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = scores.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return Vec::new();
    }
    sorted.sort_by(f64::total_cmp);
    let last = (sorted.len() - 1) as f64;
    (0..=100)
        .map(|p| {
            let pos = last * p as f64 / 100.0;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        })
        .collect()
}
