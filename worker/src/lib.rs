//! The stateless worker of secuml: a thin async shell around the engine.
//!
//! A worker consumes [`secuml_proto::TaskMessage`]s, runs each on a blocking
//! thread ([`execute`]), stores its result in the [`secuml_runtime::Store`],
//! reports a [`secuml_proto::TaskOutcome`], and only then acknowledges the
//! delivery. It keeps nothing between tasks but a cache of loaded datasets and of
//! the folds of a search ([`folds`]), which is an optimisation: any worker can run any task.

pub mod alerts;
pub mod cluster;
pub mod data;
pub mod detect;
pub mod execute;
pub mod folds;
pub mod multiclass;
pub mod outer;
pub mod run;

pub use data::DataCache;
pub use execute::{execute, TaskContext};
pub use run::{run_worker, WorkerConfig};
