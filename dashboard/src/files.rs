//! The checks every file the dashboard opens goes through: a path stored in a record (never one
//! from the request), relative, made of plain names (no `..`), under the experiment's dataset folder
//! (`<project>/<dataset>/`) or the folder of a dataset of its project, with the expected extension,
//! and, once symbolic links are resolved, still inside the datasets folder.

use std::path::{Component, Path, PathBuf};

use secuml_proto::ExperimentRecord;

use crate::error::DashboardError;

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
        datasets_dir: &Path,
        record: &ExperimentRecord,
    ) -> Result<PathBuf, DashboardError> {
        let dataset_dir = Path::new(&record.project).join(&record.dataset);
        self.parquet_file_under(datasets_dir, &dataset_dir, record.id)
    }

    /// As [`StoredPath::parquet_file`], in any dataset folder of the experiment's project (the
    /// predictions of a validation dataset are beside that dataset).
    pub fn parquet_file_in_project(
        &self,
        datasets_dir: &Path,
        record: &ExperimentRecord,
    ) -> Result<PathBuf, DashboardError> {
        let project_dir = Path::new(&record.project);
        let resolved = self.parquet_file_under(datasets_dir, project_dir, record.id)?;
        if Path::new(self.relative).components().count() < 3 {
            return Err(self.refused(&format!(
                "is not a file of a dataset folder under {}/",
                project_dir.display()
            )));
        }
        Ok(resolved)
    }

    fn parquet_file_under(
        &self,
        datasets_dir: &Path,
        base: &Path,
        id: u64,
    ) -> Result<PathBuf, DashboardError> {
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
        self.resolve(datasets_dir, path, id)
    }

    /// Checks a stored dataset name of the experiment's project and resolves its folder inside
    /// `datasets_dir`.
    pub fn dataset_dir(
        &self,
        datasets_dir: &Path,
        record: &ExperimentRecord,
    ) -> Result<PathBuf, DashboardError> {
        let path = Path::new(&record.project).join(self.relative);
        if !is_plain(&path) || path.components().count() != 2 {
            return Err(self.refused("is not a plain dataset name"));
        }
        self.resolve(datasets_dir, &path, record.id)
    }

    /// Checks a path stored in a dataset's manifest (`shards/part-00000.parquet`), relative to
    /// the dataset folder `dataset_dir` (already checked).
    pub fn in_dataset(
        &self,
        datasets_dir: &Path,
        dataset_dir: &Path,
    ) -> Result<(), DashboardError> {
        let path = Path::new(self.relative);
        if !is_plain(path) {
            return Err(self.refused("is not a relative path of plain names"));
        }
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
