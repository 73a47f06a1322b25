//! The on-disk layout of a [`FileStore`](super::FileStore): file names, value headers,
//! atomic writes and the striped cross-process locks.
//!
//! ```text
//! <root>/FORMAT              "secuml-file-store 1"
//! <root>/keys/=<key>         a plain value ("SMLVAL1\0", expiry, bytes) or a stream ("SMLSTR1\0", records)
//! <root>/keys/=<key>/=<field> a hash: one directory, one raw file per field
//! <root>/locks/<00..ff>      flock stripes, chosen by a hash of the key
//! <root>/tmp/                temporary files, renamed into place or swept at open
//! ```
//! Names are `=` followed by the key with every byte outside `[A-Za-z0-9._:-]` written `%XX`,
//! so that `""`, `"."` and `".."` are ordinary names and foreign files (not starting with `=`) are ignored.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::store::StoreError;

/// Magic of a plain value file, followed by the expiry (u64 LE, ms since the epoch, 0 = none).
pub(super) const VALUE_MAGIC: &[u8; 8] = b"SMLVAL1\0";
/// Length of a plain value's header.
pub(super) const VALUE_HEADER: usize = 16;
/// Magic of a stream file, followed by its records.
pub(super) const STREAM_MAGIC: &[u8; 8] = b"SMLSTR1\0";
/// Content of the `FORMAT` file.
pub(super) const FORMAT: &str = "secuml-file-store 1\n";
/// Number of lock stripes.
pub(super) const STRIPES: u64 = 256;
/// Longest file name most file systems accept.
const MAX_NAME: usize = 255;

/// What a key holds on disk.
pub(super) enum Kind {
    /// Nothing (or an unreadable leftover name).
    Missing,
    /// A plain value that expires at the given time (ms since the epoch), 0 for never.
    Value { expires_at: u64 },
    /// A stream log.
    Stream,
    /// A hash directory.
    Hash,
}

/// Maps an IO error to a [`StoreError`] naming the path.
pub(super) fn io_err(path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Encodes a key or field into a file name.
pub(super) fn encode(name: &str) -> Result<String, StoreError> {
    let mut out = String::with_capacity(name.len() + 1);
    out.push('=');
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b':' | b'-') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.len() > MAX_NAME {
        return Err(StoreError::InvalidKey {
            key: name.to_string(),
            reason: format!(
                "encodes to {} bytes, above the {MAX_NAME} a file name may hold",
                out.len()
            ),
        });
    }
    Ok(out)
}

/// Decodes a file name written by [`encode`]; `None` for any other name.
pub(super) fn decode(file_name: &str) -> Option<String> {
    let rest = file_name.strip_prefix('=')?.as_bytes();
    let mut bytes = Vec::with_capacity(rest.len());
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'%' {
            let hex = std::str::from_utf8(rest.get(i + 1..i + 3)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            bytes.push(rest[i]);
            i += 1;
        }
    }
    String::from_utf8(bytes).ok()
}

/// FNV-1a, 64 bits: a hash that is the same in every process and every build.
pub(super) fn fnv1a(chunks: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for chunk in chunks {
        for byte in *chunk {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// Milliseconds since the epoch, the clock of expiries (shared by the processes of one machine).
pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Whether a value with this expiry is gone.
pub(super) fn expired(expires_at: u64) -> bool {
    expires_at != 0 && expires_at <= now_ms()
}

/// Finds out what `path` holds, from its metadata and its first bytes.
pub(super) fn inspect(path: &Path) -> Result<Kind, StoreError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Kind::Missing),
        Err(e) => return Err(io_err(path, e)),
    };
    if file.metadata().map_err(|e| io_err(path, e))?.is_dir() {
        return Ok(Kind::Hash);
    }
    let mut header = [0u8; VALUE_HEADER];
    let read = read_up_to(&mut file, &mut header).map_err(|e| io_err(path, e))?;
    parse_header(path, &header[..read])
}

/// Reads the kind from a file's first bytes (at most [`VALUE_HEADER`]).
pub(super) fn parse_header(path: &Path, header: &[u8]) -> Result<Kind, StoreError> {
    if header.len() >= 8 && &header[..8] == STREAM_MAGIC {
        return Ok(Kind::Stream);
    }
    if header.len() == VALUE_HEADER && &header[..8] == VALUE_MAGIC {
        let expires_at = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        return Ok(Kind::Value { expires_at });
    }
    Err(StoreError::Corrupt {
        path: path.display().to_string(),
        reason: "unknown file header".to_string(),
    })
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
pub(super) fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Builds the bytes of a plain value file.
pub(super) fn value_file(value: &[u8], expires_at: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(VALUE_HEADER + value.len());
    bytes.extend_from_slice(VALUE_MAGIC);
    bytes.extend_from_slice(&expires_at.to_le_bytes());
    bytes.extend_from_slice(value);
    bytes
}

/// Where temporary files go, and whether writes are flushed to the device.
pub(super) struct Writer {
    pub(super) tmp_dir: PathBuf,
    pub(super) sync: bool,
}

impl Writer {
    /// A fresh temporary path, unique across processes and threads.
    pub(super) fn temp_path(&self, suffix: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        self.tmp_dir.join(format!(
            "{}-{n}-{:08x}.{suffix}",
            std::process::id(),
            rand::random::<u32>()
        ))
    }

    /// Writes `bytes` to `path` atomically: a temporary file, flushed when syncing, then renamed
    /// over `path`. Readers see the old content or the new one, never a part.
    pub(super) fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let temp = self.temp_path("tmp");
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .map_err(|e| io_err(&temp, e))?;
            file.write_all(bytes).map_err(|e| io_err(&temp, e))?;
            if self.sync {
                file.sync_data().map_err(|e| io_err(&temp, e))?;
            }
            fs::rename(&temp, path).map_err(|e| io_err(path, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result?;
        self.sync_parent(path)
    }

    /// Flushes the directory holding `path`, so that a rename or removal in it survives a crash.
    pub(super) fn sync_parent(&self, path: &Path) -> Result<(), StoreError> {
        if !self.sync {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(dir, e))
    }
}

/// An exclusive or shared hold on one lock stripe, released on drop (or when the process dies).
pub(super) struct StripeLock {
    file: File,
}

impl StripeLock {
    /// Blocks until the stripe of `key` is held. Each hold opens its own file description, so
    /// threads of one process exclude each other just as processes do.
    pub(super) fn acquire(
        locks_dir: &Path,
        key: &str,
        exclusive: bool,
    ) -> Result<Self, StoreError> {
        let path = locks_dir.join(format!("{:02x}", fnv1a(&[key.as_bytes()]) % STRIPES));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        let locked = if exclusive {
            fs2::FileExt::lock_exclusive(&file)
        } else {
            fs2::FileExt::lock_shared(&file)
        };
        locked.map_err(|e| io_err(&path, e))?;
        Ok(Self { file })
    }
}

impl Drop for StripeLock {
    fn drop(&mut self) {
        let _ = fs2::FileExt::unlock(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_stay_safe() {
        for key in [
            "secuml:job:1:events",
            "",
            ".",
            "..",
            "a/b",
            "é%=x y",
            "tâche\n",
        ] {
            let name = encode(key).unwrap();
            assert!(name.starts_with('=') && !name.contains('/') && name != "." && name != "..");
            assert_eq!(decode(&name).as_deref(), Some(key));
        }
        assert_eq!(encode("secuml:exp:3:model").unwrap(), "=secuml:exp:3:model");
        assert_eq!(decode("FORMAT"), None);
        assert_eq!(decode("=%zz"), None);
        assert!(matches!(
            encode(&"/".repeat(100)),
            Err(StoreError::InvalidKey { .. })
        ));
    }

    #[test]
    fn fnv1a_is_stable() {
        assert_eq!(fnv1a(&[b""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"abc"]));
    }
}
