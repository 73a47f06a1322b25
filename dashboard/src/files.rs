//! The checks every file the dashboard opens goes through: a path stored in a record (never one
//! from the request), relative, made of plain names (no `..`), under the experiment's dataset folder
//! (`<project>/<dataset>/`) or the folder of a dataset of its project, with the expected extension,
//! and, once symbolic links are resolved, still inside the datasets folder.

use std::path::{Component, Path, PathBuf};

use secuml_proto::ExperimentRecord;
use secuml_runtime::data_root::{unique_suffix, Entry, DATASETS};
use secuml_runtime::DataRoot;

use crate::error::DashboardError;

/// Where the dashboard reads the files stored records name: the datasets folder, or, with an
/// object-store data root, a local mirror of the files it has read, laid out as that folder.
///
/// The mirror is filled on demand, file by file, under the same checks: a predictions or
/// assignments file (written once) when it is first read, a manifest (rewritten by a new
/// ingest) at every read, a shard through the data root's cache of shards keyed by checksum,
/// then linked into the mirror, so a re-ingested shard is never read stale.
#[derive(Clone)]
pub struct Files {
    dir: PathBuf,
    objects: Option<DataRoot>,
}

impl Files {
    /// The local datasets folder `dir` (`<data_dir>/datasets`).
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        Files {
            dir: dir.into(),
            objects: None,
        }
    }

    /// The datasets of the data root `root`: its own `datasets/` folder when it is local, else
    /// the object store, mirrored under `mirror` as the files are read.
    pub fn of_root(root: DataRoot, mirror: impl Into<PathBuf>) -> Self {
        match root.local_dir() {
            Some(dir) => Files::local(dir.join(DATASETS)),
            None => Files {
                dir: mirror.into(),
                objects: Some(root),
            },
        }
    }

    /// The folder the files are read in.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data root's error as the dashboard reports it: the stored path, not the server's.
    fn fetch_error(stored: &StoredPath<'_>, e: impl std::fmt::Display) -> DashboardError {
        DashboardError::BadFile {
            file: stored.relative.to_string(),
            reason: e.to_string(),
        }
    }

    /// Brings the file `path` (plain names, relative to the datasets folder) into the mirror:
    /// downloaded if it is not there yet, or always if `fresh`. Nothing to do in a local folder.
    /// Blocks (call it off the async threads).
    fn fetch(
        &self,
        path: &Path,
        fresh: bool,
        stored: &StoredPath<'_>,
    ) -> Result<(), DashboardError> {
        let Some(root) = &self.objects else {
            return Ok(());
        };
        let target = self.dir.join(path);
        if !fresh && target.is_file() {
            return Ok(());
        }
        let key = format!("{DATASETS}/{}", path.to_string_lossy());
        let bytes = root
            .get(&key)
            .map_err(|e| Self::fetch_error(stored, e))?
            .ok_or_else(|| {
                DashboardError::not_found(format!("{} {}", stored.what, stored.relative))
            })?;
        self.put(&target, stored, |temporary| {
            std::fs::write(temporary, &bytes)
        })
    }

    /// Brings shard `path` (of sha256 `sha256`) into the mirror: from the data root's cache of
    /// shards (downloaded and verified there first if it lacks it), hard-linked (or copied)
    /// into place unless the mirror's file is already that one.
    fn fetch_shard(
        &self,
        path: &Path,
        sha256: &str,
        stored: &StoredPath<'_>,
    ) -> Result<(), DashboardError> {
        let Some(root) = &self.objects else {
            return Ok(());
        };
        let key = format!("{DATASETS}/{}", path.to_string_lossy());
        let cached = root
            .file(Entry::Shard, &key, sha256)
            .map_err(|e| Self::fetch_error(stored, e))?;
        let target = self.dir.join(path);
        if same_file(cached.path(), &target) {
            return Ok(());
        }
        self.put(&target, stored, |temporary| {
            std::fs::hard_link(cached.path(), temporary)
                .or_else(|_| std::fs::copy(cached.path(), temporary).map(|_| ()))
        })
    }

    /// Writes `target` in the mirror with `write` (given a temporary path beside it, unique to
    /// the call, so concurrent requests for one file do not share it), then renames it into
    /// place: a reader never sees a file half written.
    fn put(
        &self,
        target: &Path,
        stored: &StoredPath<'_>,
        write: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> Result<(), DashboardError> {
        let parent = target.parent().unwrap_or(&self.dir);
        let temporary = parent.join(format!(
            ".{}.{}.tmp",
            target.file_name().unwrap_or_default().to_string_lossy(),
            unique_suffix()
        ));
        std::fs::create_dir_all(parent)
            .and_then(|()| write(&temporary))
            .and_then(|()| std::fs::rename(&temporary, target))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temporary);
                Self::fetch_error(stored, e)
            })
    }
}

impl From<PathBuf> for Files {
    fn from(dir: PathBuf) -> Self {
        Files::local(dir)
    }
}

/// Whether `a` and `b` are the same file (one inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// A file or folder named by a stored record, to be checked before it is opened.
pub(crate) struct StoredPath<'a> {
    /// The store key of the record that names it (named in errors).
    pub key: String,
    /// What it is, for messages ("assignments file", "predictions file").
    pub what: &'static str,
    /// The stored path, relative to the datasets folder.
    pub relative: &'a str,
}

impl StoredPath<'_> {
    fn refused(&self, why: &str) -> DashboardError {
        DashboardError::BadRecord {
            key: self.key.clone(),
            reason: format!("{} `{}` {why}", self.what, self.relative),
        }
    }

    /// Checks a stored `.parquet` file of the experiment's dataset folder and resolves it inside
    /// `datasets_dir`; the error names the stored path, never the server's folders.
    pub fn parquet_file(
        &self,
        files: &Files,
        record: &ExperimentRecord,
    ) -> Result<PathBuf, DashboardError> {
        let dataset_dir = Path::new(&record.project).join(&record.dataset);
        self.parquet_file_under(files, &dataset_dir, record.id)
    }

    /// As [`StoredPath::parquet_file`], in any dataset folder of the experiment's project (the
    /// predictions of a validation dataset are beside that dataset).
    pub fn parquet_file_in_project(
        &self,
        files: &Files,
        record: &ExperimentRecord,
    ) -> Result<PathBuf, DashboardError> {
        let project_dir = Path::new(&record.project);
        let path = self.parquet_under(project_dir)?;
        if path.components().count() < 3 {
            return Err(self.refused(&format!(
                "is not a file of a dataset folder under {}/",
                project_dir.display()
            )));
        }
        self.fetch_and_resolve(files, path, record.id)
    }

    fn parquet_file_under(
        &self,
        files: &Files,
        base: &Path,
        id: u64,
    ) -> Result<PathBuf, DashboardError> {
        let path = self.parquet_under(base)?;
        self.fetch_and_resolve(files, path, id)
    }

    /// The stored path, checked: plain names under `base`, a `.parquet` file.
    fn parquet_under(&self, base: &Path) -> Result<&Path, DashboardError> {
        let path = Path::new(self.relative);
        if !is_plain(path) || !path.starts_with(base) || path == base {
            return Err(self.refused(&format!(
                "is not a relative path of plain names under {}/",
                base.display()
            )));
        }
        if path.extension().is_none_or(|e| e != "parquet") {
            return Err(self.refused("is not a .parquet file"));
        }
        Ok(path)
    }

    /// A checked file written once: brought into the mirror if missing, then resolved.
    fn fetch_and_resolve(
        &self,
        files: &Files,
        path: &Path,
        id: u64,
    ) -> Result<PathBuf, DashboardError> {
        files.fetch(path, false, self)?;
        self.resolve(files.dir(), path, id)
    }

    /// Checks a stored dataset name of the experiment's project and resolves its folder inside
    /// the datasets folder, with its manifest read afresh into the mirror (an object store's).
    pub fn dataset_dir(
        &self,
        files: &Files,
        record: &ExperimentRecord,
    ) -> Result<PathBuf, DashboardError> {
        let path = Path::new(&record.project).join(self.relative);
        if !is_plain(&path) || path.components().count() != 2 {
            return Err(self.refused("is not a plain dataset name"));
        }
        files.fetch(
            &path.join(secuml_engine::dataset::MANIFEST_FILE),
            true,
            self,
        )?;
        self.resolve(files.dir(), &path, record.id)
    }

    /// Checks a path stored in a dataset's manifest (`shards/part-00000.parquet`, of sha256
    /// `sha256`), relative to the dataset folder `dataset_dir` (already checked, and relative
    /// to the datasets folder: `<project>/<dataset>`), and brings it into the mirror.
    pub fn in_dataset(
        &self,
        files: &Files,
        dataset_dir: &Path,
        sha256: &str,
    ) -> Result<(), DashboardError> {
        let path = Path::new(self.relative);
        if !is_plain(path) {
            return Err(self.refused("is not a relative path of plain names"));
        }
        files.fetch_shard(&dataset_dir.join(path), sha256, self)?;
        let (datasets_dir, dataset_dir) = (files.dir(), files.dir().join(dataset_dir));
        let root = canonical(datasets_dir, self)?;
        let file = canonical(&dataset_dir.join(path), self)?;
        if !file.starts_with(root) {
            return Err(self.refused("leads outside the datasets folder"));
        }
        Ok(())
    }

    fn resolve(
        &self,
        datasets_dir: &Path,
        path: &Path,
        experiment: u64,
    ) -> Result<PathBuf, DashboardError> {
        let full = datasets_dir.join(path);
        if !full.exists() {
            tracing::warn!(
                file = %full.display(),
                experiment,
                "a stored file is missing: is the dashboard given the datasets folder of `secuml`?"
            );
        }
        let root = canonical(datasets_dir, self)?;
        let file = canonical(&full, self)?;
        if !file.starts_with(&root) {
            return Err(self.refused("leads outside the datasets folder"));
        }
        Ok(file)
    }
}

/// Whether a path is relative and made of plain names only.
fn is_plain(path: &Path) -> bool {
    path.components().next().is_some()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

fn canonical(path: &Path, stored: &StoredPath<'_>) -> Result<PathBuf, DashboardError> {
    std::fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            DashboardError::not_found(format!("{} {}", stored.what, stored.relative))
        }
        _ => DashboardError::BadFile {
            file: stored.relative.to_string(),
            reason: e.to_string(),
        },
    })
}
