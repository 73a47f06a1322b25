//! [`FileStore`]: a [`Store`] in a local folder that several processes may share at once.
//!
//! Invariants (the layout is in `layout.rs`):
//! - a plain value and a hash field are each one file, written to `tmp/` and renamed into
//!   place, so a reader sees the old bytes or the new ones, never a part;
//! - every read-modify-write (`set`, `set_nx`, `incr`, `hset`, `hdel`, `append`, `delete`) holds
//!   an exclusive `flock` on the key's lock stripe, which the kernel releases if its process dies;
//! - a stream is an append-only log of checked records numbered under that lock, and readers
//!   ignore a torn trailing record (see `stream.rs`);
//! - a process that dies mid-write leaves at most a file in `tmp/`, which nothing reads and
//!   [`FileStore::open`] sweeps once it is an hour old.
//!
//! Durability ([`Durability`]): with [`Durability::Sync`], the default, each write is flushed
//! (`fdatasync` of the file before its rename, `fsync` of its directory after), so a write that
//! returned survives a power cut. [`Durability::Process`] skips the flushes: writes survive the
//! death of any process but not of the machine.
//! Creating and renaming files dominates the cost: on a virtual disk where an `fsync` takes
//! a few milliseconds, `Sync` gives about 80 plain writes per second and `Process` about 600
//! (`set`, `incr`), 2,000 (`hset` of a new field) and 8,000 (`append`); reads take no lock.
//!
//! Every call runs its file IO on tokio's blocking pool, so it never stalls the async runtime.

mod layout;
mod ops;
mod stream;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::store::{Store, StoreError, StreamEntry};
use layout::{io_err, Writer, FORMAT};

/// How far a returned write is guaranteed to survive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Flushed to the device: survives a crash of the machine.
    #[default]
    Sync,
    /// Left to the kernel's page cache: survives the death of any process, not of the machine.
    Process,
}

/// A store in a local folder; clones share the same folder handle.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    keys: PathBuf,
    locks: PathBuf,
    writer: Writer,
    /// Whether the folder is removed when the last clone is dropped.
    temporary: bool,
}

/// Age after which a file left in `tmp/` belongs to a writer that died.
const STALE_TEMP: Duration = Duration::from_secs(3600);

impl FileStore {
    /// Opens (creating it if needed) the store in `dir`, with [`Durability::Sync`].
    pub fn open(dir: impl AsRef<Path>) -> Result<FileStore, StoreError> {
        Self::open_with(dir, Durability::default())
    }

    /// Opens (creating it if needed) the store in `dir` with the given durability.
    /// Processes sharing a folder may use different durabilities.
    pub fn open_with(
        dir: impl AsRef<Path>,
        durability: Durability,
    ) -> Result<FileStore, StoreError> {
        Self::open_inner(dir.as_ref().to_path_buf(), durability, false)
    }

    /// Opens a store in a fresh folder under the system's temporary directory, removed when the
    /// last clone is dropped; for tests.
    pub fn open_temporary(durability: Durability) -> Result<FileStore, StoreError> {
        let dir = std::env::temp_dir().join(format!("secuml-store-{:016x}", rand::random::<u64>()));
        Self::open_inner(dir, durability, true)
    }

    /// The folder of the store.
    pub fn path(&self) -> &Path {
        &self.inner.root
    }

    fn open_inner(
        root: PathBuf,
        durability: Durability,
        temporary: bool,
    ) -> Result<FileStore, StoreError> {
        let (keys, locks, tmp_dir) = (root.join("keys"), root.join("locks"), root.join("tmp"));
        for dir in [&keys, &locks, &tmp_dir] {
            fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        let writer = Writer {
            tmp_dir,
            sync: durability == Durability::Sync,
        };
        let format_path = root.join("FORMAT");
        match fs::read_to_string(&format_path) {
            Ok(found) if found == FORMAT => {}
            Ok(found) => {
                return Err(StoreError::Corrupt {
                    path: format_path.display().to_string(),
                    reason: format!(
                        "unknown store format {:?}, expected {:?}",
                        found.trim(),
                        FORMAT.trim()
                    ),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                writer.write_atomic(&format_path, FORMAT.as_bytes())?
            }
            Err(e) => return Err(io_err(&format_path, e)),
        }
        sweep_stale_temps(&writer.tmp_dir);
        Ok(FileStore {
            inner: Arc::new(Inner {
                root,
                keys,
                locks,
                writer,
                temporary,
            }),
        })
    }

    /// Runs `op` on the blocking pool. A panic in it is resumed here.
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        match tokio::task::spawn_blocking(move || op(&inner)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(StoreError::Unavailable(format!(
                "file store call cancelled: {e}"
            ))),
        }
    }
}

/// Removes what writers that died left in `tmp/`; best effort.
fn sweep_stale_temps(tmp_dir: &Path) {
    let Ok(entries) = fs::read_dir(tmp_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if age.is_some_and(|age| age > STALE_TEMP) {
            let path = entry.path();
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            if let Err(error) = removed {
                tracing::debug!(path = %path.display(), %error, "could not sweep a stale temporary file");
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.temporary {
            if let Err(error) = fs::remove_dir_all(&self.root) {
                tracing::warn!(path = %self.root.display(), %error, "could not remove a temporary store");
            }
        }
    }
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("root", &self.inner.root)
            .field("sync", &self.inner.writer.sync)
            .finish()
    }
}

#[async_trait]
impl Store for FileStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_string();
        self.run(move |s| s.get(&key)).await
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_vec());
        self.run(move |s| s.set(&key, &value)).await
    }

    async fn set_nx(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let (key, value) = (key.to_string(), value.to_vec());
        self.run(move |s| s.set_nx(&key, &value, ttl)).await
    }

    async fn set_expiring(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_vec());
        self.run(move |s| s.set_expiring(&key, &value, ttl)).await
    }

    async fn renew(&self, key: &str, expected: &[u8], ttl: Duration) -> Result<bool, StoreError> {
        let (key, expected) = (key.to_string(), expected.to_vec());
        self.run(move |s| s.renew(&key, &expected, ttl)).await
    }

    async fn delete_if(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        let (key, expected) = (key.to_string(), expected.to_vec());
        self.run(move |s| s.delete_if(&key, &expected)).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_string();
        self.run(move |s| s.delete(&key)).await
    }

    async fn incr(&self, key: &str) -> Result<i64, StoreError> {
        let key = key.to_string();
        self.run(move |s| s.incr(&key)).await
    }

    async fn hset(&self, key: &str, field: &str, value: &[u8]) -> Result<(), StoreError> {
        let (key, field, value) = (key.to_string(), field.to_string(), value.to_vec());
        self.run(move |s| s.hset(&key, &field, &value)).await
    }

    async fn hget(&self, key: &str, field: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (key, field) = (key.to_string(), field.to_string());
        self.run(move |s| s.hget(&key, &field)).await
    }

    async fn hgetall(&self, key: &str) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
        let key = key.to_string();
        self.run(move |s| s.hgetall(&key)).await
    }

    async fn hdel(&self, key: &str, field: &str) -> Result<bool, StoreError> {
        let (key, field) = (key.to_string(), field.to_string());
        self.run(move |s| s.hdel(&key, &field)).await
    }

    async fn append(&self, stream: &str, value: &[u8]) -> Result<u64, StoreError> {
        let (key, value) = (stream.to_string(), value.to_vec());
        self.run(move |s| s.append(&key, &value)).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StreamEntry>, StoreError> {
        let key = stream.to_string();
        self.run(move |s| s.read_stream(&key, after, limit)).await
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.to_string();
        self.run(move |s| s.keys(&prefix)).await
    }
}

#[cfg(test)]
mod multiprocess;
#[cfg(test)]
mod tests;
