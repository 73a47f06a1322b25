//! The synchronous ML core of secuml. No network IO, no async.
//!
//! - [`dataset`] holds the SecuML-layout CSV ingest, the manifest, Parquet shards, one-hot encoding.
//! - [`preprocess`] holds standardisation.
//! - [`split`] holds stratified folds and splits, seeded.
//! - [`metrics`] holds ROC AUC, threshold indicators, curves, histograms.
//! - [`model`] holds what every model class shares: the [`model::Detector`] trait, errors, the
//!   [`model::FittedModel`] of any class and [`model::fit`].
//! - Model classes: [`linear`] (logistic regression, L1 and L2, no intercept), [`svm`] (linear
//!   SVC with Platt probabilities, RBF one-class SVM), [`bayes`] (Gaussian naive Bayes),
//!   [`tree`] (CART classification trees, scikit-learn's semantics), [`forest`] (random forests
//!   of those trees), [`boosting`] (gradient boosting of regression trees on the log loss),
//!   [`iforest`] (isolation forests, and weighted by labelled feedback), [`lof`] (local outlier
//!   factor, novelty detection), [`envelope`] (elliptic envelope, FastMCD), [`propagation`]
//!   (label propagation), [`svdd`] (semi-supervised support vector data description);
//!   [`neighbours`] holds their exact k-nearest-neighbour search by blocked matrix products.
//! - [`cluster`] holds k-means (greedy k-means++, Lloyd partial steps and their reduction).
//! - [`sample`] reads the NSL-KDD sample the repository ships, as the tests and timing examples
//!   use it.
//! - [`predictions`] writes a detection's predictions as Parquet ([`parquet_file`]: atomic writes).
#![warn(missing_docs)]

pub mod bayes;
pub mod boosting;
pub mod cluster;
pub mod dataset;
pub mod envelope;
pub mod forest;
pub mod iforest;
pub(crate) mod lbfgs;
pub mod linear;
pub mod lof;
pub mod metrics;
pub mod model;
pub mod neighbours;
pub mod parquet_file;
pub mod predictions;
pub mod preprocess;
pub mod propagation;
pub mod rows;
pub mod sample;
pub mod split;
pub mod svdd;
pub mod svm;
#[cfg(test)]
pub(crate) mod test_data;
pub mod tree;
