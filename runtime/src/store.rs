//! The [`Store`] trait: a small key-value model that Redis and a folder on disk both implement.
//!
//! A key holds one kind of value at a time: a plain value (bytes, optionally expiring),
//! a hash (fields to bytes) or a stream (an append-only log of entries numbered 1, 2, 3, ...).
//! As in Redis:
//! - [`Store::set`] replaces whatever the key held, of any kind, and clears any expiry;
//! - every other operation on a key of another kind fails with [`StoreError::WrongType`];
//! - an expired value, a hash without fields and a deleted stream do not exist;
//! - a stream that is deleted and appended to again starts again from 1.
//!
//! Every method is atomic, also towards other processes sharing the store: a reader sees a
//! value, a hash or a stream entry either whole or not at all.
//! Dropping a returned future does not undo an operation that already started.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An IO failure of the backing storage.
    #[error("store io error at {path}: {source}")]
    Io {
        /// File or resource involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The backing storage holds something this implementation cannot read.
    #[error("store data corrupt at {path}: {reason}")]
    Corrupt {
        /// File or key involved.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A value of another type already lives at the key (e.g. a counter that is not a number).
    #[error("wrong type at key {key}: {reason}")]
    WrongType {
        /// The key.
        key: String,
        /// What was expected.
        reason: String,
    },
    /// The key or field cannot be stored by this backend (e.g. too long for a file name).
    #[error("invalid key {key}: {reason}")]
    InvalidKey {
        /// The key or field.
        key: String,
        /// Why it is refused.
        reason: String,
    },
    /// The backend is unreachable (network stores).
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// One entry of a stream, with its sequence number (1, 2, 3, ... per stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// Sequence number, strictly increasing within a stream, from 1.
    pub seq: u64,
    /// The payload.
    pub value: Vec<u8>,
}

/// Durable shared state. Every method is atomic with respect to other callers,
/// including callers in other processes.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads a plain value.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes a plain value, replacing any previous one.
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Writes a plain value only if the key does not exist (an expired value does not);
    /// returns whether it was written. With a `ttl` (rounded up to whole milliseconds,
    /// at least one), the value expires after it, as Redis `SET NX PX` does.
    async fn set_nx(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError>;
    /// Writes a plain value that expires after `ttl` (rounded up to whole milliseconds, at least
    /// one), replacing whatever the key held, as Redis `SET PX` does. Heartbeats use it.
    async fn set_expiring(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;
    /// If the key holds the plain value `expected`, restarts its expiry at `ttl` and returns
    /// true; otherwise changes nothing and returns false. A lease holder renews with it.
    async fn renew(&self, key: &str, expected: &[u8], ttl: Duration) -> Result<bool, StoreError>;
    /// Deletes the key only if it holds the plain value `expected`; returns whether it did.
    /// A lease holder releases with it, never deleting a lease another holder took since.
    async fn delete_if(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError>;
    /// Deletes a plain value, a hash or a stream; returns whether something was deleted.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Adds one to a counter (missing counts as 0) and returns the new value.
    /// The counter is a plain value holding decimal ASCII (`get` returns e.g. `b"3"`) and keeps
    /// its expiry if it has one; a value that is not an `i64` is [`StoreError::WrongType`].
    async fn incr(&self, key: &str) -> Result<i64, StoreError>;
    /// Writes one field of a hash, replacing its previous value: writing the same field twice
    /// (a redelivered task's result) leaves one field, never two.
    async fn hset(&self, key: &str, field: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Reads one field of a hash.
    async fn hget(&self, key: &str, field: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Reads every field of a hash (empty when the hash does not exist).
    async fn hgetall(&self, key: &str) -> Result<BTreeMap<String, Vec<u8>>, StoreError>;
    /// Deletes one field of a hash; returns whether it existed. A hash left without fields
    /// no longer exists.
    async fn hdel(&self, key: &str, field: &str) -> Result<bool, StoreError>;
    /// Appends to a stream and returns the new entry's sequence number.
    async fn append(&self, stream: &str, value: &[u8]) -> Result<u64, StoreError>;
    /// Reads up to `limit` entries of a stream whose sequence number is above `after`,
    /// in order (empty when the stream does not exist). `after = 0` reads from the start.
    async fn read_stream(
        &self,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StreamEntry>, StoreError>;
    /// Lists the keys (plain values, hashes and streams) that start with `prefix`, sorted.
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
}
