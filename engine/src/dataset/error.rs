//! Errors of ingest (bad input, failed writes) and of reading an ingested dataset.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why an ingest failed; nothing is left in the output folder when it does.
#[derive(Debug, Error)]
pub enum IngestError {
    /// An input file does not follow the SecuML layout, or a value is not what its column needs.
    #[error("{}", describe_position(.file, *.line, .column.as_deref(), .expected, .found.as_deref()))]
    InvalidInput {
        /// The input file, as found under the input folder.
        file: PathBuf,
        /// The 1-based line, as an editor shows it, when the problem sits on one line.
        line: Option<u64>,
        /// The column name from the file's header, when the problem sits in one column.
        column: Option<String>,
        /// What the file should have held there.
        expected: String,
        /// What it holds instead, shortened, when that helps.
        found: Option<String>,
    },
    /// The ingest options are not usable (empty names, zero shard rows, missing folders).
    #[error("bad ingest options: {0}")]
    Options(String),
    /// An input file could not be read.
    #[error("failed to read {}: {source}", .file.display())]
    Read {
        /// The file or folder being read.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An output file or folder could not be written.
    #[error("failed to write {}: {source}", .file.display())]
    Write {
        /// The file or folder being written.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Arrow or Parquet refused to encode a shard.
    #[error("failed to encode {}: {message}", .file.display())]
    Encode {
        /// The output file being encoded.
        file: PathBuf,
        /// The Arrow or Parquet error message.
        message: String,
    },
}

impl IngestError {
    /// Returns the input file an [`IngestError::InvalidInput`] points at.
    pub fn file(&self) -> Option<&Path> {
        match self {
            IngestError::InvalidInput { file, .. } => Some(file),
            _ => None,
        }
    }

    /// Returns the 1-based line an [`IngestError::InvalidInput`] points at.
    pub fn line(&self) -> Option<u64> {
        match self {
            IngestError::InvalidInput { line, .. } => *line,
            _ => None,
        }
    }

    /// Returns the column an [`IngestError::InvalidInput`] points at.
    pub fn column(&self) -> Option<&str> {
        match self {
            IngestError::InvalidInput { column, .. } => column.as_deref(),
            _ => None,
        }
    }

    /// Returns what an [`IngestError::InvalidInput`] expected.
    pub fn expected(&self) -> Option<&str> {
        match self {
            IngestError::InvalidInput { expected, .. } => Some(expected),
            _ => None,
        }
    }
}

/// Why an ingested dataset (manifest, shards, annotations) could not be read or encoded.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// A file of the dataset could not be read.
    #[error("failed to read {}: {source}", .file.display())]
    Read {
        /// The file being read.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `manifest.json` is not a valid manifest.
    #[error("invalid manifest {}: {message}", .file.display())]
    Manifest {
        /// The manifest file.
        file: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A file's sha256 differs from the one the manifest records.
    #[error("checksum mismatch for {}: expected sha256 {expected}, found {found}", .file.display())]
    Checksum {
        /// The file whose content changed.
        file: PathBuf,
        /// The sha256 in the manifest.
        expected: String,
        /// The sha256 of the file on disk.
        found: String,
    },
    /// Parquet could not decode a file.
    #[error("failed to decode {}: {message}", .file.display())]
    Parquet {
        /// The Parquet file.
        file: PathBuf,
        /// The Arrow or Parquet error message.
        message: String,
    },
    /// A Parquet file lacks a column, or holds it with another type.
    #[error("{}: column `{column}`: expected {expected}", .file.display())]
    Schema {
        /// The Parquet file.
        file: PathBuf,
        /// The column name.
        column: String,
        /// What the column should have been.
        expected: String,
    },
    /// A feature the encoder needs is missing from the manifest or the frame, or has another kind.
    #[error("feature `{column}`: expected {expected}")]
    Feature {
        /// The feature id.
        column: String,
        /// What the encoder needed.
        expected: String,
    },
    /// The manifest lists no annotation file with this name.
    #[error("unknown annotation file `{name}`")]
    UnknownAnnotations {
        /// The requested annotation name.
        name: String,
    },
    /// A shard index or a row index is out of range.
    #[error("{what} {index} out of range (there are {len})")]
    OutOfRange {
        /// What was indexed ("shard", "row").
        what: &'static str,
        /// The index asked for.
        index: usize,
        /// How many there are.
        len: usize,
    },
}

/// Formats "file, line N, column `c`: expected E, found `F`", leaving out what is unknown.
fn describe_position(
    file: &Path,
    line: Option<u64>,
    column: Option<&str>,
    expected: &str,
    found: Option<&str>,
) -> String {
    let mut text = file.display().to_string();
    if let Some(line) = line {
        text.push_str(&format!(", line {line}"));
    }
    if let Some(column) = column {
        text.push_str(&format!(", column `{column}`"));
    }
    text.push_str(&format!(": expected {expected}"));
    if let Some(found) = found {
        text.push_str(&format!(", found `{found}`"));
    }
    text
}
