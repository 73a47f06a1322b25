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

//! - [`neighbours`] holds exact k-nearest-neighbour search by blocked matrix products.
//! - [`lof`] holds the local outlier factor (novelty detection).
//! - [`envelope`] holds the elliptic envelope (FastMCD robust covariance).
//! - [`propagation`] holds label propagation (semi-supervised).
//! - [`svdd`] holds the semi-supervised support vector data description.
//! - [`model`] holds what every model class shares: the [`model::Detector`] trait, errors.
//! - [`svm`] holds the linear SVC with Platt probabilities and the RBF one-class SVM.
#![warn(missing_docs)]

pub mod boosting;

pub mod bayes;
pub mod cluster;
pub mod dataset;
pub mod forest;

pub mod iforest;

pub mod envelope;
pub mod linear;
pub mod lof;
pub mod metrics;
pub mod model;
pub mod parquet_file;
pub mod predictions;

pub mod neighbours;
pub mod preprocess;
pub mod propagation;
pub mod split;
pub mod svm;

pub mod svdd;
#[cfg(test)]
pub(crate) mod test_data;
pub mod tree;
