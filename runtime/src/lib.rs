//! The queue and the store of secuml, as traits, with their implementations.
//!
//! - [`Store`]: the durable state (experiments, task states, results, event streams).
//!   [`FileStore`] keeps it on local disk and may be shared by several processes.
//! - [`TaskQueue`]: at-least-once delivery with manual acknowledgement.
//!   [`MemoryQueue`] is the in-process queue of the embedded mode.
//!
//! Each trait has one conformance suite ([`store_conformance`], [`queue_conformance`])
//! that every implementation runs unchanged.
#![warn(missing_docs)]

pub mod file_store;
pub mod memory_queue;
pub mod queue;
pub mod store;

pub use file_store::FileStore;
pub use memory_queue::MemoryQueue;
pub use queue::{Consumer, Delivery, QueueError, TaskQueue};
pub use store::{Store, StoreError, StreamEntry};
