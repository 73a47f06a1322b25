//! The synchronous ML core of secuml. No network IO, no async.
//!
//! - [`cluster`] holds k-means (greedy k-means++, Lloyd partial steps and their reduction).
//! - [`dataset`] holds the SecuML-layout CSV ingest, the manifest, Parquet shards, one-hot encoding.
//! - [`preprocess`] holds standardisation.
//! - [`linear`] holds logistic regression solvers (L1 and L2, no intercept).
//! - [`split`] holds stratified folds and splits, seeded.
//! - [`metrics`] holds ROC AUC, threshold indicators, curves, histograms.
//! - [`neighbours`] holds exact k-nearest-neighbour search by blocked matrix products.
//! - [`lof`] holds the local outlier factor (novelty detection).
//! - [`envelope`] holds the elliptic envelope (FastMCD robust covariance).
//! - [`propagation`] holds label propagation (semi-supervised).
//! - [`svdd`] holds the semi-supervised support vector data description.
//! - [`model`] holds what every model class shares: the [`model::Detector`] trait, errors.
#![warn(missing_docs)]

pub mod cluster;
pub mod dataset;
pub mod envelope;
pub mod linear;
pub mod lof;
pub mod metrics;
pub mod model;
pub mod neighbours;
pub mod preprocess;
pub mod propagation;
pub mod split;
pub mod svdd;
#[cfg(test)]
pub(crate) mod test_data;
