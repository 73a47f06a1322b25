//! The [`Store`] trait: a small key-value model that Redis and a folder on disk both implement.

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
    /// Writes a plain value only if the key holds none (or it has expired);
    /// returns whether it was written. With a `ttl`, the value expires after it.
    async fn set_nx(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<bool, StoreError>;
    /// Deletes a plain value, a hash or a stream; returns whether something was deleted.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Adds one to a counter (missing counts as 0) and returns the new value.
    async fn incr(&self, key: &str) -> Result<i64, StoreError>;
    /// Writes one field of a hash.
    async fn hset(&self, key: &str, field: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Reads one field of a hash.
    async fn hget(&self, key: &str, field: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Reads every field of a hash (empty when the hash does not exist).
    async fn hgetall(&self, key: &str) -> Result<BTreeMap<String, Vec<u8>>, StoreError>;
    /// Deletes one field of a hash; returns whether it existed.
    async fn hdel(&self, key: &str, field: &str) -> Result<bool, StoreError>;
    /// Appends to a stream and returns the new entry's sequence number.
    async fn append(&self, stream: &str, value: &[u8]) -> Result<u64, StoreError>;
    /// Reads up to `limit` entries of a stream whose sequence number is above `after`.
    async fn read_stream(&self, stream: &str, after: u64, limit: usize) -> Result<Vec<StreamEntry>, StoreError>;
    /// Lists the keys (plain values, hashes and streams) that start with `prefix`, sorted.
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
}
