//! Writing one Arrow record batch as a Parquet file, atomically: encoded in memory, written to
//! a temporary file beside the target, then renamed, so a reader sees the whole file or none.

use std::path::{Path, PathBuf};

use arrow_array::{Array, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// Why a Parquet file could not be written or read: the file system, or the encoding (the
/// files of predictions and of cluster assignments alike).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A file operation failed.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The Parquet encoding or decoding failed, or the file is not of the expected schema.
    #[error("{}: {message}", file.display())]
    Parquet {
        /// The file.
        file: PathBuf,
        /// The cause.
        message: String,
    },
}

/// Writes `batch` to `path` (zstd-compressed), creating the parent folder.
pub fn write_atomically(path: &Path, batch: &RecordBatch) -> Result<(), FileError> {
    let io = |file: &Path| {
        let file = file.to_path_buf();
        move |source| FileError::Io { file, source }
    };
    let pq = |e: &dyn std::fmt::Display| FileError::Parquet {
        file: path.to_path_buf(),
        message: e.to_string(),
    };
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut buffer = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut buffer, batch.schema(), Some(properties)).map_err(|e| pq(&e))?;
    writer.write(batch).map_err(|e| pq(&e))?;
    writer.close().map_err(|e| pq(&e))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, &buffer).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    Ok(())
}

/// The column `name` of `batch` as its Arrow type `T`, or what is wrong with it.
pub fn typed_column<'a, T: Array + 'static>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a T, String> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column `{name}`"))?;
    column
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| format!("column `{name}` has the type {}", column.data_type()))
}
