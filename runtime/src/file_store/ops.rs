//! The blocking operations of a [`FileStore`](super::FileStore), one method per [`Store`](crate::Store) call.
//!
//! Writers hold the key's stripe lock (exclusive) for the whole read-modify-write; `hgetall`
//! holds it shared so that it never sees a hash half-deleted; `get`, `hget`, `read_stream` and
//! `keys` take no lock, because every file they read is either replaced whole by a rename or,
//! for streams, only ever grows by checked records.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::layout::{
    decode, encode, expired, inspect, io_err, now_ms, parse_header, read_up_to, value_file, Kind,
    StripeLock, STREAM_MAGIC, VALUE_HEADER,
};
use super::{stream, Inner};
use crate::store::{StoreError, StreamEntry};

fn wrong_type(key: &str, reason: &str) -> StoreError {
    StoreError::WrongType {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

/// The expiry instant of a value written now with `ttl`, rounded up to whole milliseconds, at least one.
fn expiry(ttl: Duration) -> u64 {
    let ms = u64::try_from(ttl.as_nanos().div_ceil(1_000_000))
        .unwrap_or(u64::MAX)
        .max(1);
    now_ms().saturating_add(ms)
}

fn not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// A path through a file, i.e. a hash operation on a plain value or a stream.
fn not_a_directory(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotADirectory
}

impl Inner {
    fn key_path(&self, key: &str) -> Result<PathBuf, StoreError> {
        Ok(self.keys.join(encode(key)?))
    }

    fn lock(&self, key: &str) -> Result<StripeLock, StoreError> {
        StripeLock::acquire(&self.locks, key, true)
    }

    /// Removes whatever `path` holds; a hash is first renamed away, so it vanishes at once.
    fn remove(&self, path: &Path, kind: &Kind) -> Result<(), StoreError> {
        match kind {
            Kind::Missing => return Ok(()),
            Kind::Hash => {
                let trash = self.writer.temp_path("trash");
                fs::rename(path, &trash).map_err(|e| io_err(path, e))?;
                self.writer.sync_parent(path)?;
                fs::remove_dir_all(&trash).map_err(|e| io_err(&trash, e))?;
            }
            Kind::Value { .. } | Kind::Stream => {
                fs::remove_file(path).map_err(|e| io_err(path, e))?
            }
        }
        self.writer.sync_parent(path)
    }

    /// The kind at `path`, with an expired value (removed on the way) reported as missing.
    /// The caller holds the key's lock.
    fn live_kind(&self, path: &Path) -> Result<Kind, StoreError> {
        let kind = inspect(path)?;
        if let Kind::Value { expires_at } = kind {
            if expired(expires_at) {
                self.remove(path, &kind)?;
                return Ok(Kind::Missing);
            }
        }
        Ok(kind)
    }

    pub(super) fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.key_path(key)?;
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        if file.metadata().map_err(|e| io_err(&path, e))?.is_dir() {
            return Err(wrong_type(key, "holds a hash, not a plain value"));
        }
        let mut header = [0u8; VALUE_HEADER];
        let read = read_up_to(&mut file, &mut header).map_err(|e| io_err(&path, e))?;
        match parse_header(&path, &header[..read])? {
            Kind::Value { expires_at } if expired(expires_at) => Ok(None),
            Kind::Value { .. } => {
                let mut value = Vec::new();
                file.read_to_end(&mut value).map_err(|e| io_err(&path, e))?;
                Ok(Some(value))
            }
            _ => Err(wrong_type(key, "holds a stream, not a plain value")),
        }
    }

    pub(super) fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let path = self.key_path(key)?;
        let _lock = self.lock(key)?;
        if let Kind::Hash = inspect(&path)? {
            self.remove(&path, &Kind::Hash)?;
        }
        self.writer.write_atomic(&path, &value_file(value, 0))
    }

    pub(super) fn set_nx(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let path = self.key_path(key)?;
        let _lock = self.lock(key)?;
        if !matches!(self.live_kind(&path)?, Kind::Missing) {
            return Ok(false);
        }
        self.writer
            .write_atomic(&path, &value_file(value, ttl.map_or(0, expiry)))?;
        Ok(true)
    }

    pub(super) fn set_expiring(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let path = self.key_path(key)?;
        let _lock = self.lock(key)?;
        if let Kind::Hash = inspect(&path)? {
            self.remove(&path, &Kind::Hash)?;
        }
        self.writer
            .write_atomic(&path, &value_file(value, expiry(ttl)))
    }

    /// The live plain value at `key`, if it equals `expected`; with the key's lock held by the caller.
    fn holds(&self, key: &str, path: &Path, expected: &[u8]) -> Result<bool, StoreError> {
        match self.live_kind(path)? {
            Kind::Value { .. } => Ok(self.get(key)?.as_deref() == Some(expected)),
            _ => Ok(false),
        }
    }

    pub(super) fn renew(
        &self,
        key: &str,
        expected: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let path = self.key_path(key)?;
        let _lock = self.lock(key)?;
        if !self.holds(key, &path, expected)? {
            return Ok(false);
        }
        self.writer
            .write_atomic(&path, &value_file(expected, expiry(ttl)))?;
        Ok(true)
    }

    pub(super) fn delete_if(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        let path = self.key_path(key)?;
        let _lock = self.lock(key)?;
        if !self.holds(key, &path, expected)? {
            return Ok(false);
        }
        self.remove(&path, &Kind::Value { expires_at: 0 })?;
        Ok(true)
    }

    pub(super) fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let path = self.key_path(key)?;
        let _lock = self.lock(key)?;
        let kind = self.live_kind(&path)?;
        let existed = match &kind {
            Kind::Missing => false,
            Kind::Hash => fs::read_dir(&path)
                .map_err(|e| io_err(&path, e))?
                .next()
                .is_some(),
            Kind::Value { .. } | Kind::Stream => true,
        };
        self.remove(&path, &kind)?;
        Ok(existed)
    }

    pub(super) fn incr(&self, key: &str) -> Result<i64, StoreError> {
        let path = self.key_path(key)?;
        let _lock = self.lock(key)?;
        let (current, expires_at) = match self.live_kind(&path)? {
            Kind::Missing => (0, 0),
            Kind::Value { expires_at } => {
                let bytes = fs::read(&path).map_err(|e| io_err(&path, e))?;
                let text = std::str::from_utf8(&bytes[VALUE_HEADER..]).ok();
                let number = text.and_then(|t| t.parse::<i64>().ok());
                (
                    number
                        .ok_or_else(|| wrong_type(key, "holds a value that is not an integer"))?,
                    expires_at,
                )
            }
            Kind::Hash | Kind::Stream => {
                return Err(wrong_type(key, "holds a hash or a stream, not a counter"))
            }
        };
        let next = current
            .checked_add(1)
            .ok_or_else(|| wrong_type(key, "increment would overflow"))?;
        self.writer
            .write_atomic(&path, &value_file(next.to_string().as_bytes(), expires_at))?;
        Ok(next)
    }

    pub(super) fn hset(&self, key: &str, field: &str, value: &[u8]) -> Result<(), StoreError> {
        let path = self.key_path(key)?;
        let field_path = path.join(encode(field)?);
        let _lock = self.lock(key)?;
        match self.live_kind(&path)? {
            Kind::Hash => {}
            Kind::Missing => {
                fs::create_dir(&path).map_err(|e| io_err(&path, e))?;
                self.writer.sync_parent(&path)?;
            }
            Kind::Value { .. } | Kind::Stream => {
                return Err(wrong_type(
                    key,
                    "holds a plain value or a stream, not a hash",
                ))
            }
        }
        self.writer.write_atomic(&field_path, value)
    }

    /// What a read of the wrong kind returns: nothing when the key is in fact gone (missing or
    /// expired), else [`StoreError::WrongType`] with `reason`.
    fn absent_or_wrong_type<T: Default>(
        &self,
        key: &str,
        path: &Path,
        reason: &str,
    ) -> Result<T, StoreError> {
        match inspect(path)? {
            Kind::Missing => Ok(T::default()),
            Kind::Value { expires_at } if expired(expires_at) => Ok(T::default()),
            _ => Err(wrong_type(key, reason)),
        }
    }

    fn hash_on_file<T: Default>(&self, key: &str, path: &Path) -> Result<T, StoreError> {
        self.absent_or_wrong_type(key, path, "holds a plain value or a stream, not a hash")
    }

    pub(super) fn hget(&self, key: &str, field: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.key_path(key)?;
        let field_path = path.join(encode(field)?);
        match fs::read(&field_path) {
            Ok(value) => Ok(Some(value)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) if not_a_directory(&e) => self.hash_on_file(key, &path),
            Err(e) => Err(io_err(&field_path, e)),
        }
    }

    pub(super) fn hgetall(&self, key: &str) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
        let path = self.key_path(key)?;
        let _lock = StripeLock::acquire(&self.locks, key, false)?;
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if not_found(&e) => return Ok(BTreeMap::new()),
            Err(e) if not_a_directory(&e) => return self.hash_on_file(key, &path),
            Err(e) => return Err(io_err(&path, e)),
        };
        let mut fields = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_err(&path, e))?;
            let Some(field) = entry.file_name().to_str().and_then(decode) else {
                continue;
            };
            let value = fs::read(entry.path()).map_err(|e| io_err(&entry.path(), e))?;
            fields.insert(field, value);
        }
        Ok(fields)
    }

    pub(super) fn hdel(&self, key: &str, field: &str) -> Result<bool, StoreError> {
        let path = self.key_path(key)?;
        let field_path = path.join(encode(field)?);
        let _lock = self.lock(key)?;
        match fs::remove_file(&field_path) {
            Ok(()) => {}
            Err(e) if not_found(&e) => return Ok(false),
            Err(e) if not_a_directory(&e) => return self.hash_on_file(key, &path).map(|()| false),
            Err(e) => return Err(io_err(&field_path, e)),
        }
        self.writer.sync_parent(&field_path)?;
        if fs::read_dir(&path)
            .map_err(|e| io_err(&path, e))?
            .next()
            .is_none()
        {
            fs::remove_dir(&path).map_err(|e| io_err(&path, e))?;
            self.writer.sync_parent(&path)?;
        }
        Ok(true)
    }

    pub(super) fn append(&self, key: &str, value: &[u8]) -> Result<u64, StoreError> {
        let path = self.key_path(key)?;
        let _lock = self.lock(key)?;
        match self.live_kind(&path)? {
            Kind::Stream => {}
            Kind::Missing => self.writer.write_atomic(&path, STREAM_MAGIC)?,
            Kind::Value { .. } | Kind::Hash => {
                return Err(wrong_type(
                    key,
                    "holds a plain value or a hash, not a stream",
                ))
            }
        }
        stream::append(&path, value, self.writer.sync)
    }

    pub(super) fn read_stream(
        &self,
        key: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StreamEntry>, StoreError> {
        let path = self.key_path(key)?;
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&path, e)),
        };
        let metadata = file.metadata().map_err(|e| io_err(&path, e))?;
        if metadata.is_dir() {
            return Err(wrong_type(key, "holds a hash, not a stream"));
        }
        let mut magic = [0u8; 8];
        let read = read_up_to(&mut file, &mut magic).map_err(|e| io_err(&path, e))?;
        if &magic[..read] != STREAM_MAGIC {
            return self.absent_or_wrong_type(key, &path, "holds a plain value, not a stream");
        }
        stream::read(file, metadata.len(), after, limit).map_err(|e| io_err(&path, e))
    }

    pub(super) fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        for entry in fs::read_dir(&self.keys).map_err(|e| io_err(&self.keys, e))? {
            let entry = entry.map_err(|e| io_err(&self.keys, e))?;
            let Some(key) = entry.file_name().to_str().and_then(decode) else {
                continue;
            };
            if !key.starts_with(prefix) {
                continue;
            }
            let live = match inspect(&entry.path()) {
                Ok(Kind::Missing) => false,
                Ok(Kind::Value { expires_at }) => !expired(expires_at),
                Ok(Kind::Stream) => true,
                Ok(Kind::Hash) => fs::read_dir(entry.path())
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(false),
                // A key deleted while listing: it is simply not there any more.
                Err(StoreError::Io { source, .. }) if not_found(&source) => false,
                Err(e) => return Err(e),
            };
            if live {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }
}
