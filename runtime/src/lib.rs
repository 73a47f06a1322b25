//! The queue and the store of secuml, as traits, with their embedded implementations.
//!
//! - [`Store`]: the durable state (experiments, task states, results, event streams).
//!   [`FileStore`] keeps it on local disk and may be shared by several processes;
//!   [`RedisStore`] keeps it on a Redis server, for the distributed mode.
//! - [`TaskQueue`]: at-least-once delivery with manual acknowledgement.
//!   [`MemoryQueue`] is the in-process queue of the embedded mode, [`AmqpQueue`] the RabbitMQ
//!   one of the distributed mode.
//!
//! - [`DataRoot`]: where ingested datasets live, a local folder or an object store read through
//!   a local cache of files keyed by checksum.
//!
//! Each trait has one conformance suite (`store_conformance!`, `queue_conformance!`, in the
//! `conformance` module under the `conformance` feature) that every implementation runs unchanged.
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod amqp_queue;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod data_root;
pub mod file_store;
pub mod memory_queue;
pub mod queue;
pub mod redis_store;
pub mod store;

pub use amqp_queue::{AmqpOptions, AmqpQueue};
pub use data_root::{DataRoot, DataRootError};
pub use file_store::{Durability, FileStore};
pub use memory_queue::{DeadLetter, MemoryQueue};
pub use queue::{dead_letter_queue, Acker, Consumer, Delivery, QueueError, TaskQueue};
pub use redis_store::RedisStore;
pub use store::{Store, StoreError, StreamEntry};
