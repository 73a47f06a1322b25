//! The data root: where ingested datasets (and the files workers write beside them) live.
//!
//! A data root is laid out as the data folder is: `datasets/<project>/<dataset>/manifest.json`,
//! its `shards/` and `annotations/`, and `datasets/<project>/<dataset>/clusterings/`. It is
//! either a local folder (the data folder itself by default, or a filesystem every machine
//! mounts at the same path), or an object store named by a URL (`s3://bucket/prefix`, `gs://`,
//! `az://`, `http(s)://`, `file:///path`), so that machines share no disk:
//! - a reader fetches a manifest, then each file it needs into a local [`ShardCache`], keyed by
//!   the sha256 the manifest records and verified against it;
//! - a writer writes a file locally, then uploads it to the same relative key;
//! - a dataset is published shards first and manifest last, so a reader never sees a manifest
//!   that names files not there yet.
//!
//! Every method blocks: call them from a blocking thread (`tokio::task::spawn_blocking`), never
//! from an async task. An object-store root runs its requests on the tokio runtime it was
//! opened on.

mod cache;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;
use tokio::runtime::Handle;
use tracing::{debug, info};

pub use cache::{
    sha256_file, unique_suffix, CachedFile, Entry, ShardCache, DEFAULT_CACHE_MAX_BYTES,
};

/// The folder of the data root holding the datasets.
pub const DATASETS: &str = "datasets";

/// Prefixes of the environment variables passed to an object store as its options
/// (`AWS_ACCESS_KEY_ID` becomes the option `aws_access_key_id`, and so on).
pub const OPTION_PREFIXES: [&str; 3] = ["AWS_", "GOOGLE_", "AZURE_"];

/// What can go wrong with a data root.
#[derive(Debug, thiserror::Error)]
pub enum DataRootError {
    /// The data root URL cannot be used.
    #[error("data root `{location}`: {message}")]
    Open {
        /// The URL as given (without credentials).
        location: String,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// A local file or folder could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The object store has no such object.
    #[error("{object} does not exist")]
    NotFound {
        /// The object's URL.
        object: String,
    },
    /// A request to the object store failed.
    #[error("{object}: {message}")]
    Store {
        /// The object's URL.
        object: String,
        /// The store's error.
        message: String,
    },
    /// A download does not have the sha256 the manifest records for it.
    #[error("checksum mismatch for {object}: the manifest records sha256 {expected}, the download has {found}; it is not cached")]
    Checksum {
        /// The object's URL.
        object: String,
        /// The sha256 the manifest records.
        expected: String,
        /// The sha256 of what was downloaded.
        found: String,
    },
    /// A manifest records a checksum that is not a sha256.
    #[error(
        "{object}: the manifest records `{checksum}`, expected a sha256 (64 lowercase hex digits)"
    )]
    BadChecksum {
        /// The object's URL.
        object: String,
        /// What the manifest records.
        checksum: String,
    },
    /// A file to upload could not be written locally first.
    #[error("writing {target}: {message}")]
    Write {
        /// Where the file goes.
        target: String,
        /// What failed.
        message: String,
    },
}

impl DataRootError {
    /// Whether trying again may succeed (a request or a download that failed on the way).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            DataRootError::Store { .. } | DataRootError::Checksum { .. } | DataRootError::Io { .. }
        )
    }
}

/// Where datasets live: a local folder or an object store.
#[derive(Clone)]
pub enum DataRoot {
    /// A folder laid out as the data folder (`<folder>/datasets/...`).
    Local(PathBuf),
    /// An object store with a local cache.
    Objects(Arc<ObjectRoot>),
}

impl fmt::Debug for DataRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataRoot::Local(dir) => f.debug_tuple("Local").field(dir).finish(),
            DataRoot::Objects(root) => f.debug_tuple("Objects").field(&root.url).finish(),
        }
    }
}

/// A file of the data root on local disk, for as long as the value lives.
#[derive(Debug)]
pub struct DataFile {
    path: PathBuf,
    _cached: Option<CachedFile>,
}

impl DataFile {
    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `key` (`datasets/p/d/manifest.json`) split into its segments, each checked.
fn segments(key: &str) -> Result<Vec<&str>, DataRootError> {
    let parts: Vec<&str> = key.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\\'))
    {
        return Err(DataRootError::Open {
            location: key.to_string(),
            message: "expected a relative key of `/`-separated names, without `.` or `..`".into(),
        });
    }
    Ok(parts)
}

impl DataRoot {
    /// The local folder `dir`, laid out as the data folder.
    pub fn local(dir: impl Into<PathBuf>) -> DataRoot {
        DataRoot::Local(dir.into())
    }

    /// Opens the data root `location`: a URL with a scheme (`s3://bucket/prefix`, `gs://`,
    /// `az://`, `http(s)://`, `file:///path`) is an object store, anything else a local folder.
    ///
    /// An object store takes its options (credentials, region, endpoint…) from `env`, the
    /// variables starting with one of [`OPTION_PREFIXES`], and caches what it reads in
    /// `cache_dir`, bounded to `cache_max_bytes`. Call it inside a tokio runtime.
    pub fn open(
        location: &str,
        env: &HashMap<String, String>,
        cache_dir: &Path,
        cache_max_bytes: u64,
    ) -> Result<DataRoot, DataRootError> {
        if !location.contains("://") {
            return Ok(DataRoot::local(location));
        }
        let open_error = |message: String| DataRootError::Open {
            location: redacted(location),
            message,
        };
        let url = url::Url::parse(location).map_err(|e| open_error(format!("not a URL: {e}")))?;
        let options = env
            .iter()
            .filter(|(k, _)| OPTION_PREFIXES.iter().any(|p| k.starts_with(p)))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()));
        if url.scheme() != "file" {
            // TLS over ring, as the AMQP client: the process-wide provider of every HTTP client.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let (store, prefix) = object_store::parse_url_opts(&url, options).map_err(|e| {
            open_error(format!(
                "{e} (expected s3://, gs://, az://, http(s):// or file:// URLs)"
            ))
        })?;
        let handle = Handle::try_current()
            .map_err(|e| open_error(format!("an object store needs a tokio runtime: {e}")))?;
        let cache = ShardCache::open(cache_dir, cache_max_bytes)?;
        info!(data_root = %redacted(location), cache = %cache_dir.display(), cache_max_bytes, "object-store data root");
        Ok(DataRoot::Objects(Arc::new(ObjectRoot {
            url: redacted(location).trim_end_matches('/').to_string(),
            store: Arc::from(store),
            prefix,
            cache,
            handle,
        })))
    }

    /// The object store, if the root is one.
    pub fn objects(&self) -> Option<&ObjectRoot> {
        match self {
            DataRoot::Local(_) => None,
            DataRoot::Objects(root) => Some(root),
        }
    }

    /// The local folder, if the root is one.
    pub fn local_dir(&self) -> Option<&Path> {
        match self {
            DataRoot::Local(dir) => Some(dir),
            DataRoot::Objects(_) => None,
        }
    }

    /// Where `key` is, for messages: a path or a URL.
    pub fn describe(&self, key: &str) -> String {
        match self {
            DataRoot::Local(dir) => dir.join(key).display().to_string(),
            DataRoot::Objects(root) => root.url_of(key),
        }
    }

    /// The content of `key`, or `None` if there is no such file or object.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, DataRootError> {
        segments(key)?;
        match self {
            DataRoot::Local(dir) => {
                let path = dir.join(key);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(DataRootError::Io { path, source }),
                }
            }
            DataRoot::Objects(root) => root.get(key),
        }
    }

    /// The immutable file `key` of sha256 `sha256` on local disk: the file itself in a local
    /// root, else its copy in the cache (downloaded and verified first if the cache lacks it).
    /// A local file is verified by whoever reads it.
    pub fn file(&self, entry: Entry, key: &str, sha256: &str) -> Result<DataFile, DataRootError> {
        segments(key)?;
        match self {
            DataRoot::Local(dir) => Ok(DataFile {
                path: dir.join(key),
                _cached: None,
            }),
            DataRoot::Objects(root) => {
                let cached = root
                    .cache
                    .fetch(entry, sha256, &root.url_of(key), |temporary| {
                        root.download(key, temporary)
                    })?;
                Ok(DataFile {
                    path: cached.path().to_path_buf(),
                    _cached: Some(cached),
                })
            }
        }
    }

    /// Writes `key` with `write`, which is given the local path to write (it must write it
    /// whole or not at all, e.g. to a temporary file renamed into place). In an object store,
    /// that path is a temporary one, uploaded to `key` once written, then removed.
    pub fn write_file<E: fmt::Display>(
        &self,
        key: &str,
        write: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<(), DataRootError> {
        let parts = segments(key)?;
        let write_error = |e: E| DataRootError::Write {
            target: self.describe(key),
            message: e.to_string(),
        };
        match self {
            DataRoot::Local(dir) => write(&dir.join(key)).map_err(write_error),
            DataRoot::Objects(root) => {
                let staging = root
                    .cache
                    .dir()
                    .join("tmp")
                    .join(format!("out-{}", cache::unique_suffix()));
                let local = staging.join(parts[parts.len() - 1]);
                let result = std::fs::create_dir_all(&staging)
                    .map_err(|source| DataRootError::Io {
                        path: staging.clone(),
                        source,
                    })
                    .and_then(|()| write(&local).map_err(write_error))
                    .and_then(|()| root.upload(key, &local));
                let _ = std::fs::remove_dir_all(&staging);
                result
            }
        }
    }

    /// The local cache, if the root is an object store.
    pub fn cache(&self) -> Option<&ShardCache> {
        self.objects().map(|root| &root.cache)
    }
}

/// An object store used as a data root, with its local cache.
pub struct ObjectRoot {
    url: String,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    cache: ShardCache,
    handle: Handle,
}

/// `location` without the password and the query of a URL (which may hold credentials).
fn redacted(location: &str) -> String {
    match url::Url::parse(location) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.set_query(None);
            url.to_string()
        }
        Err(_) => location.to_string(),
    }
}

impl ObjectRoot {
    /// The data root's URL (without credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL of `key`, for messages.
    pub fn url_of(&self, key: &str) -> String {
        format!("{}/{key}", self.url)
    }

    fn location(&self, key: &str) -> Result<ObjectPath, DataRootError> {
        Ok(segments(key)?
            .into_iter()
            .fold(self.prefix.clone(), |path, part| path.join(part)))
    }

    fn store_error(&self, key: &str, e: object_store::Error) -> DataRootError {
        match e {
            object_store::Error::NotFound { .. } => DataRootError::NotFound {
                object: self.url_of(key),
            },
            e => DataRootError::Store {
                object: self.url_of(key),
                message: e.to_string(),
            },
        }
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, DataRootError> {
        let location = self.location(key)?;
        self.handle.block_on(async {
            match self.store.get(&location).await {
                Ok(result) => Ok(Some(
                    result
                        .bytes()
                        .await
                        .map_err(|e| self.store_error(key, e))?
                        .to_vec(),
                )),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.store_error(key, e)),
            }
        })
    }

    /// Downloads `key` whole into the local file `path`.
    fn download(&self, key: &str, path: &Path) -> Result<(), DataRootError> {
        let location = self.location(key)?;
        let io_error = |source| DataRootError::Io {
            path: path.to_path_buf(),
            source,
        };
        self.handle.block_on(async {
            let result = self
                .store
                .get(&location)
                .await
                .map_err(|e| self.store_error(key, e))?;
            let mut file = std::fs::File::create(path).map_err(io_error)?;
            let mut stream = result.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.store_error(key, e))?;
                std::io::Write::write_all(&mut file, &chunk).map_err(io_error)?;
            }
            debug!(object = %self.url_of(key), "downloaded");
            Ok(())
        })
    }

    /// Uploads the local file `path` to `key` (in parts, for a large file).
    pub fn upload(&self, key: &str, path: &Path) -> Result<(), DataRootError> {
        let location = self.location(key)?;
        let io_error = |source| DataRootError::Io {
            path: path.to_path_buf(),
            source,
        };
        self.handle.block_on(async {
            let mut file = tokio::fs::File::open(path).await.map_err(io_error)?;
            let mut writer = object_store::buffered::BufWriter::new(self.store.clone(), location);
            let written = async {
                tokio::io::copy(&mut file, &mut writer).await?;
                writer.shutdown().await
            }
            .await;
            if let Err(e) = written {
                let _ = writer.abort().await;
                return Err(DataRootError::Store {
                    object: self.url_of(key),
                    message: format!("upload of {} failed: {e}", path.display()),
                });
            }
            debug!(object = %self.url_of(key), "uploaded");
            Ok(())
        })
    }

    /// Publishes the local folder `dir` at `key` (`datasets/<project>/<dataset>`): uploads
    /// `files` (paths relative to `dir`) in order, then `last`; then deletes the objects under
    /// `key/<folder>/` for each of `replaced` that are none of `files`.
    ///
    /// Uploading the manifest as `last` means a reader that sees it finds every file it names.
    pub fn publish(
        &self,
        key: &str,
        dir: &Path,
        files: &[String],
        last: &str,
        replaced: &[&str],
    ) -> Result<(), DataRootError> {
        for file in files
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(last))
        {
            self.upload(&format!("{key}/{file}"), &dir.join(file))?;
        }
        let keep: BTreeSet<String> = files.iter().map(|f| format!("{key}/{f}")).collect();
        for folder in replaced {
            let folder_key = format!("{key}/{folder}");
            let prefix = self.location(&folder_key)?;
            let stale: Vec<ObjectPath> = self.handle.block_on(async {
                self.store
                    .list(Some(&prefix))
                    .map_ok(|meta| meta.location)
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(|e| self.store_error(&folder_key, e))
            })?;
            for location in stale {
                let relative = location
                    .prefix_match(&self.prefix)
                    .map(|parts| {
                        parts
                            .map(|p| p.as_ref().to_string())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .unwrap_or_default();
                if keep.contains(&relative) {
                    continue;
                }
                self.handle
                    .block_on(self.store.delete(&location))
                    .map_err(|e| self.store_error(&relative, e))?;
                debug!(object = %self.url_of(&relative), "stale object deleted");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        HashMap::new()
    }

    #[test]
    fn paths_are_local_roots_and_urls_object_stores() {
        let tmp = tempfile::tempdir().unwrap();
        let root = DataRoot::open("/srv/secuml/data", &env(), tmp.path(), 1).unwrap();
        assert_eq!(root.local_dir(), Some(Path::new("/srv/secuml/data")));
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _entered = runtime.enter();
        let url = format!("file://{}/store", tmp.path().display());
        let root = DataRoot::open(&url, &env(), &tmp.path().join("cache"), 1).unwrap();
        assert!(root.objects().is_some());
        assert_eq!(
            root.describe("datasets/p/d/manifest.json"),
            format!("{url}/datasets/p/d/manifest.json")
        );
        let err = DataRoot::open("ftp://host/x", &env(), tmp.path(), 1).unwrap_err();
        assert!(err.to_string().contains("ftp://host/x"), "{err}");
        assert!(matches!(
            root.get("datasets/../etc"),
            Err(DataRootError::Open { .. })
        ));
    }

    #[test]
    fn credentials_never_show_in_messages() {
        assert_eq!(
            redacted("https://user:secret@host/data?sig=token"),
            "https://user:***@host/data"
        );
    }

    #[test]
    fn an_object_store_reads_writes_publishes_and_caches_by_checksum() {
        let tmp = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store_dir = tmp.path().join("store");
        let url = format!("file://{}", store_dir.display());
        let root = {
            let _entered = runtime.enter();
            DataRoot::open(&url, &env(), &tmp.path().join("cache"), 1 << 20).unwrap()
        };
        // Blocking calls, from a thread that is not one of the runtime's async workers.
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let dir = tmp.path().join("local");
                    std::fs::create_dir_all(dir.join("shards")).unwrap();
                    std::fs::write(dir.join("shards/part-00000.parquet"), b"rows").unwrap();
                    std::fs::write(dir.join("manifest.json"), b"{}").unwrap();
                    let objects = root.objects().unwrap();
                    objects
                        .upload(
                            "datasets/p/d/shards/part-00009.parquet",
                            &dir.join("manifest.json"),
                        )
                        .unwrap();
                    objects
                        .publish(
                            "datasets/p/d",
                            &dir,
                            &["shards/part-00000.parquet".to_string()],
                            "manifest.json",
                            &["shards", "annotations"],
                        )
                        .unwrap();
                    let modified = |file: &str| {
                        std::fs::metadata(store_dir.join(file))
                            .unwrap()
                            .modified()
                            .unwrap()
                    };
                    assert!(
                        modified("datasets/p/d/manifest.json")
                            >= modified("datasets/p/d/shards/part-00000.parquet"),
                        "the manifest is uploaded last"
                    );
                    assert!(
                        !store_dir
                            .join("datasets/p/d/shards/part-00009.parquet")
                            .exists(),
                        "stale shard deleted"
                    );
                    assert_eq!(
                        root.get("datasets/p/d/manifest.json").unwrap().unwrap(),
                        b"{}"
                    );
                    assert_eq!(root.get("datasets/p/none/manifest.json").unwrap(), None);

                    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"rows"));
                    let file = root
                        .file(Entry::Shard, "datasets/p/d/shards/part-00000.parquet", &sha)
                        .unwrap();
                    assert_eq!(
                        file.path(),
                        tmp.path().join(format!("cache/shards/{sha}.parquet"))
                    );
                    assert_eq!(std::fs::read(file.path()).unwrap(), b"rows");
                    let err = root
                        .file(
                            Entry::Shard,
                            "datasets/p/d/shards/missing.parquet",
                            &"0".repeat(64),
                        )
                        .unwrap_err();
                    assert!(matches!(err, DataRootError::NotFound { .. }), "{err}");
                    assert!(err
                        .to_string()
                        .contains(&format!("{url}/datasets/p/d/shards/missing.parquet")));

                    root.write_file("datasets/p/d/clusterings/1/part-00000.parquet", |path| {
                        std::fs::write(path, b"assigned")
                    })
                    .unwrap();
                    assert_eq!(
                        std::fs::read(
                            store_dir.join("datasets/p/d/clusterings/1/part-00000.parquet")
                        )
                        .unwrap(),
                        b"assigned"
                    );
                    assert_eq!(
                        std::fs::read_dir(tmp.path().join("cache/tmp"))
                            .unwrap()
                            .count(),
                        0
                    );
                })
                .join()
                .unwrap();
        });
    }
}
