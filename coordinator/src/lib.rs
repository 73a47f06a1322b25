//! The coordinator of secuml and the `secuml` command line.
//!
//! - [`config`]: where inputs, ingested datasets and the store live (file, env, flags).
//! - [`driver`]: publishes a job's tasks, follows their outcomes, retries, records task state.
//! - [`clustering`]: plans a k-means job as tasks and reduces their partial sums.
//! - [`diadem`]: plans a DIADEM job as tasks and aggregates their results.
//! - [`datasets`]: ingests a dataset on first use and checks it is current.
//! - [`jobs`]: runs (or resumes) one job to its end and records it; shared by both modes.
//! - [`preflight`]: checks a job's data before any task exists.
//! - [`embedded`]: runs a job in one process, over the in-memory queue and the file store.
//! - [`service`]: the coordinator service: job submissions, leases, resumption.
//! - [`client`]: submit, wait with progress, gates, status, cancel (what CI calls).
//! - [`cli`]: the command line.

pub mod cli;
pub mod client;
pub mod clustering;
pub mod config;
pub mod connect;
pub mod datasets;
pub mod diadem;
pub mod driver;
pub mod embedded;
pub mod jobs;
pub mod preflight;
pub mod report;
pub mod service;
