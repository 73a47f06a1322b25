//! The coordinator of secuml and the `secuml` command line.
//!
//! - [`config`]: where inputs, ingested datasets and the store live (file, env, flags).
//! - [`driver`]: publishes a job's tasks, follows their outcomes, retries, records task state.
//! - [`clustering`]: plans a k-means job as tasks and reduces their partial sums.
//! - [`diadem`]: plans a DIADEM job as tasks and aggregates their results.
//! - [`datasets`]: ingests a dataset on first use and checks it is current.
//! - [`embedded`]: runs a job in one process, over the in-memory queue and the file store.
//! - [`cli`]: the command line.

pub mod cli;
pub mod clustering;
pub mod config;
pub mod datasets;
pub mod diadem;
pub mod driver;
pub mod embedded;
pub mod report;
