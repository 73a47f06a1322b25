//! The local cache of an object-store data root: immutable dataset files, content-addressed.
//!
//! A file the manifest names with sha256 `S` is kept as `<cache>/shards/S.parquet` (shards) or
//! `<cache>/annotations/S.parquet` (annotation files). A download goes to a temporary file under
//! `<cache>/tmp/`, its sha256 is checked against the manifest's, and only then is it renamed into
//! place: a reader never sees a partial or wrong file, and processes sharing one cache folder at
//! worst download a file twice and rename the same bytes over each other. A cached file is never
//! downloaded again. The cache is bounded: once a download takes it over its bound, the files used
//! least recently (their modification time is set on every use) are removed, except those in use
//! by this process.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tracing::{debug, warn};

use super::DataRootError;

/// Default bound of a cache: 10 GiB.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 10 << 30;

/// Temporary files older than this are left by a process that died mid-download: removed.
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// The kind of a cached file, which names its folder in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A Parquet shard of a dataset.
    Shard,
    /// An annotation file of a dataset.
    Annotations,
}

impl Entry {
    const ALL: [Entry; 2] = [Entry::Shard, Entry::Annotations];

    fn folder(self) -> &'static str {
        match self {
            Entry::Shard => "shards",
            Entry::Annotations => "annotations",
        }
    }
}

type Pins = Arc<Mutex<HashMap<PathBuf, usize>>>;

/// A content-addressed, bounded cache folder of dataset files.
pub struct ShardCache {
    dir: PathBuf,
    max_bytes: u64,
    pins: Pins,
    fills: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
}

/// `<pid>.<n>`, unique to this call among every process sharing a cache folder.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A file of the cache, kept from eviction by this process while the value lives.
#[derive(Debug)]
pub struct CachedFile {
    path: PathBuf,
    pins: Pins,
}

impl CachedFile {
    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CachedFile {
    fn drop(&mut self) {
        let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = pins.get_mut(&self.path) {
            *count -= 1;
            if *count == 0 {
                pins.remove(&self.path);
            }
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DataRootError {
    let path = path.to_path_buf();
    move |source| DataRootError::Io { path, source }
}

/// Whether `sha256` is 64 lowercase hex digits (so it is also a safe file name).
fn is_sha256(sha256: &str) -> bool {
    sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The lowercase hex sha256 of a file's content.
pub fn sha256_file(path: &Path) -> Result<String, DataRootError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io_error(path))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Marks a cached file as used now; `false` if it is not in the cache.
fn touch(path: &Path) -> Result<bool, DataRootError> {
    match File::options().write(true).open(path) {
        Ok(file) => {
            file.set_modified(SystemTime::now())
                .map_err(io_error(path))?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(path)(e)),
    }
}

impl ShardCache {
    /// Opens (creating it if needed) the cache folder `dir`, bounded to `max_bytes`.
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> Result<ShardCache, DataRootError> {
        let dir = dir.into();
        for folder in Entry::ALL
            .iter()
            .map(|e| e.folder())
            .chain(std::iter::once("tmp"))
        {
            let path = dir.join(folder);
            fs::create_dir_all(&path).map_err(io_error(&path))?;
        }
        Ok(ShardCache {
            dir,
            max_bytes,
            pins: Arc::default(),
            fills: Mutex::default(),
        })
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bound of the cache, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Where the file of sha256 `sha256` is (or would be) kept.
    pub fn path_of(&self, entry: Entry, sha256: &str) -> PathBuf {
        self.dir
            .join(entry.folder())
            .join(format!("{sha256}.parquet"))
    }

    fn pin(&self, path: &Path) -> CachedFile {
        *self
            .pins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(path.to_path_buf())
            .or_default() += 1;
        CachedFile {
            path: path.to_path_buf(),
            pins: self.pins.clone(),
        }
    }

    /// The cached file of sha256 `sha256`, downloaded first if the cache does not hold it.
    ///
    /// `download` writes the whole of `object` (named in errors) into the temporary file it is
    /// given. The download is kept only if its sha256 is `sha256`; otherwise it is removed and the
    /// error names the object and both checksums.
    pub fn fetch(
        &self,
        entry: Entry,
        sha256: &str,
        object: &str,
        download: impl FnOnce(&Path) -> Result<(), DataRootError>,
    ) -> Result<CachedFile, DataRootError> {
        if !is_sha256(sha256) {
            return Err(DataRootError::BadChecksum {
                object: object.to_string(),
                checksum: sha256.to_string(),
            });
        }
        let path = self.path_of(entry, sha256);
        let pinned = self.pin(&path);
        if touch(&path)? {
            debug!(object, cached = %path.display(), "cache hit");
            return Ok(pinned);
        }
        // One download per file in this process; another process may download it too.
        let fill = self
            .fills
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(path.clone())
            .or_default()
            .clone();
        let filled = {
            let _filling = fill.lock().unwrap_or_else(|e| e.into_inner());
            if touch(&path)? {
                Ok(())
            } else {
                self.fill(&path, sha256, object, download)
            }
        };
        {
            let mut fills = self.fills.lock().unwrap_or_else(|e| e.into_inner());
            if Arc::strong_count(&fill) == 2 {
                fills.remove(&path);
            }
        }
        filled?;
        if let Err(e) = self.evict() {
            warn!(cache = %self.dir.display(), error = %e, "cache eviction failed");
        }
        Ok(pinned)
    }

    fn fill(
        &self,
        path: &Path,
        sha256: &str,
        object: &str,
        download: impl FnOnce(&Path) -> Result<(), DataRootError>,
    ) -> Result<(), DataRootError> {
        let temporary = self
            .dir
            .join("tmp")
            .join(format!("{sha256}.{}.part", unique_suffix()));
        let checked = download(&temporary).and_then(|()| {
            let found = sha256_file(&temporary)?;
            if found == sha256 {
                Ok(())
            } else {
                Err(DataRootError::Checksum {
                    object: object.to_string(),
                    expected: sha256.to_string(),
                    found,
                })
            }
        });
        let placed = checked.and_then(|()| fs::rename(&temporary, path).map_err(io_error(path)));
        if placed.is_err() {
            let _ = fs::remove_file(&temporary);
        } else {
            debug!(object, cached = %path.display(), "downloaded into the cache");
        }
        placed
    }

    /// Every cached file with its size and last use.
    fn entries(&self) -> Result<Vec<(SystemTime, u64, PathBuf)>, DataRootError> {
        let mut entries = Vec::new();
        for entry in Entry::ALL {
            let folder = self.dir.join(entry.folder());
            for item in fs::read_dir(&folder).map_err(io_error(&folder))? {
                let item = item.map_err(io_error(&folder))?;
                let path = item.path();
                if path.extension().is_none_or(|e| e != "parquet") {
                    continue;
                }
                // A file another process evicted meanwhile is simply not counted.
                if let Ok(meta) = item.metadata() {
                    let used = meta.modified().map_err(io_error(&path))?;
                    entries.push((used, meta.len(), path));
                }
            }
        }
        Ok(entries)
    }

    /// Total size of the cached files.
    pub fn size(&self) -> Result<u64, DataRootError> {
        Ok(self.entries()?.iter().map(|(_, bytes, _)| bytes).sum())
    }

    /// Removes the least recently used files until the cache is within its bound (files in use
    /// by this process stay), and temporary files left by dead downloads.
    pub fn evict(&self) -> Result<(), DataRootError> {
        let tmp = self.dir.join("tmp");
        for item in fs::read_dir(&tmp).map_err(io_error(&tmp))?.flatten() {
            let stale = item
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMPORARY);
            if stale {
                let _ = fs::remove_file(item.path());
            }
        }
        let mut entries = self.entries()?;
        let mut total: u64 = entries.iter().map(|(_, bytes, _)| bytes).sum();
        if total <= self.max_bytes {
            return Ok(());
        }
        entries.sort();
        let pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        for (_, bytes, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if pins.contains_key(&path) {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => {
                    debug!(evicted = %path.display(), bytes, "cache eviction");
                    total -= bytes;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => total -= bytes,
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
        Ok(())
    }

    /// Removes a cached file found corrupt on disk, so that its next use downloads it again.
    pub fn discard(&self, path: &Path) {
        if path.starts_with(&self.dir) {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    fn writing(bytes: &'static [u8]) -> impl FnOnce(&Path) -> Result<(), DataRootError> {
        move |path| fs::write(path, bytes).map_err(io_error(path))
    }

    fn not_downloaded(_: &Path) -> Result<(), DataRootError> {
        panic!("a cached file is never downloaded again")
    }

    fn temporaries(cache: &ShardCache) -> usize {
        fs::read_dir(cache.dir().join("tmp")).unwrap().count()
    }

    #[test]
    fn a_miss_downloads_and_a_hit_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ShardCache::open(dir.path(), 1 << 20).unwrap();
        let s = sha(b"shard one");
        let file = cache
            .fetch(Entry::Shard, &s, "s3://b/one", writing(b"shard one"))
            .unwrap();
        assert_eq!(file.path(), dir.path().join(format!("shards/{s}.parquet")));
        assert_eq!(fs::read(file.path()).unwrap(), b"shard one");
        drop(file);
        let again = cache
            .fetch(Entry::Shard, &s, "s3://b/one", not_downloaded)
            .unwrap();
        assert_eq!(fs::read(again.path()).unwrap(), b"shard one");
        // Another process opening the same folder finds it too.
        let other = ShardCache::open(dir.path(), 1 << 20).unwrap();
        other
            .fetch(Entry::Shard, &s, "s3://b/one", not_downloaded)
            .unwrap();
        assert_eq!(temporaries(&cache), 0);
    }

    #[test]
    fn a_mismatching_download_is_refused_with_both_checksums_and_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ShardCache::open(dir.path(), 1 << 20).unwrap();
        let expected = sha(b"what the manifest says");
        let err = cache
            .fetch(
                Entry::Shard,
                &expected,
                "s3://b/datasets/p/d/shards/part-00000.parquet",
                writing(b"something else"),
            )
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("s3://b/datasets/p/d/shards/part-00000.parquet")
                && message.contains(&expected)
                && message.contains(&sha(b"something else")),
            "{message}"
        );
        assert!(!cache.path_of(Entry::Shard, &expected).exists());
        assert_eq!(temporaries(&cache), 0);
        // A failed download leaves nothing either, and the next fetch downloads again.
        let failed = cache.fetch(Entry::Shard, &expected, "s3://b/x", |_| {
            Err(DataRootError::NotFound {
                object: "s3://b/x".into(),
            })
        });
        assert!(matches!(failed, Err(DataRootError::NotFound { .. })));
        assert_eq!(temporaries(&cache), 0);
        cache
            .fetch(
                Entry::Shard,
                &expected,
                "s3://b/x",
                writing(b"what the manifest says"),
            )
            .unwrap();
        // A checksum that is not one is refused before any file name is built from it.
        assert!(matches!(
            cache.fetch(Entry::Shard, "../../etc/passwd", "s3://b/y", not_downloaded),
            Err(DataRootError::BadChecksum { .. })
        ));
    }

    #[test]
    fn the_least_recently_used_files_are_evicted_past_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        // Room for two files of 10 bytes.
        let cache = ShardCache::open(dir.path(), 25).unwrap();
        let contents: [&'static [u8]; 4] =
            [b"aaaaaaaaaa", b"bbbbbbbbbb", b"cccccccccc", b"dddddddddd"];
        let shas: Vec<String> = contents.iter().map(|c| sha(c)).collect();
        let at = |i: usize| cache.path_of(Entry::Shard, &shas[i]);
        cache
            .fetch(Entry::Shard, &shas[0], "a", writing(contents[0]))
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        cache
            .fetch(Entry::Shard, &shas[1], "b", writing(contents[1]))
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        // Using a refreshes it: b is now the least recently used.
        cache
            .fetch(Entry::Shard, &shas[0], "a", not_downloaded)
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        cache
            .fetch(Entry::Shard, &shas[2], "c", writing(contents[2]))
            .unwrap();
        assert!(at(0).exists() && !at(1).exists() && at(2).exists());
        assert_eq!(cache.size().unwrap(), 20);
        // A file in use is never evicted: with a and c held, d leaves the cache over its bound.
        let held_a = cache
            .fetch(Entry::Shard, &shas[0], "a", not_downloaded)
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let held_c = cache
            .fetch(Entry::Shard, &shas[2], "c", not_downloaded)
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let d = cache
            .fetch(Entry::Shard, &shas[3], "d", writing(contents[3]))
            .unwrap();
        assert!(at(0).exists() && at(2).exists() && at(3).exists());
        drop((held_a, held_c, d));
        cache.evict().unwrap();
        assert!(!at(0).exists() && at(2).exists() && at(3).exists());
    }

    #[test]
    fn concurrent_fills_of_one_file_give_one_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        let s = sha(&content);
        let downloads = AtomicU64::new(0);
        // Two caches on one folder behave as two processes; two threads on each share one cache.
        let caches = [
            ShardCache::open(dir.path(), 1 << 30).unwrap(),
            ShardCache::open(dir.path(), 1 << 30).unwrap(),
        ];
        std::thread::scope(|scope| {
            for cache in &caches {
                for _ in 0..2 {
                    scope.spawn(|| {
                        let file = cache
                            .fetch(Entry::Shard, &s, "s3://b/big", |path| {
                                downloads.fetch_add(1, Ordering::Relaxed);
                                // Written in pieces, so that the fills overlap.
                                let mut out = File::create(path).map_err(io_error(path))?;
                                for piece in content.chunks(1 << 16) {
                                    std::io::Write::write_all(&mut out, piece)
                                        .map_err(io_error(path))?;
                                }
                                Ok(())
                            })
                            .unwrap();
                        assert_eq!(sha256_file(file.path()).unwrap(), s);
                    });
                }
            }
        });
        let n = downloads.load(Ordering::Relaxed);
        assert!(
            (1..=2).contains(&n),
            "one download per cache at most, got {n}"
        );
        let shards: Vec<_> = fs::read_dir(dir.path().join("shards")).unwrap().collect();
        assert_eq!(shards.len(), 1);
        assert_eq!(temporaries(&caches[0]), 0);
    }
}
