//! The synchronous ML core of secuml. No network IO, no async.
//!
//! - [`dataset`]: SecuML-layout CSV ingest, the manifest, Parquet shards, one-hot encoding.
//! - [`preprocess`]: standardisation.
//! - [`linear`]: logistic regression solvers (L1 and L2, no intercept).
//! - [`split`]: stratified folds and splits, seeded.
//! - [`metrics`]: ROC AUC, threshold indicators, curves, histograms.
#![warn(missing_docs)]

pub mod dataset;
pub mod linear;
pub mod metrics;
pub mod preprocess;
pub mod split;
