//! The synchronous ML core of secuml. No network IO, no async.
//!
//! - [`bayes`] holds Gaussian naive Bayes.
//! - [`cluster`] holds k-means (greedy k-means++, Lloyd partial steps and their reduction).
//! - [`dataset`] holds the SecuML-layout CSV ingest, the manifest, Parquet shards, one-hot encoding.
//! - [`boosting`] holds gradient boosting of regression trees on the log loss.
//! - [`preprocess`] holds standardisation.
//! - [`tree`] holds CART classification trees (scikit-learn's semantics).
//! - [`forest`] holds random forests of those trees.

//! - [`iforest`] holds isolation forests (unsupervised, and weighted by labelled feedback).
//! - [`linear`] holds logistic regression solvers (L1 and L2, no intercept).
//! - [`split`] holds stratified folds and splits, seeded.
//! - [`metrics`] holds ROC AUC, threshold indicators, curves, histograms.
//! - [`predictions`] writes a detection's predictions as Parquet ([`parquet_file`]: atomic writes).
//! - [`model`] holds what every model class shares: the [`model::Detector`] trait, errors.
//! - [`svm`] holds the linear SVC with Platt probabilities and the RBF one-class SVM.
#![warn(missing_docs)]

pub mod boosting;

pub mod bayes;
pub mod cluster;
pub mod dataset;
pub mod forest;

pub mod iforest;
pub mod linear;
pub mod metrics;
pub mod model;
pub mod parquet_file;
pub mod predictions;
pub mod preprocess;
pub mod split;
pub mod svm;
#[cfg(test)]
pub(crate) mod test_data;
pub mod tree;
