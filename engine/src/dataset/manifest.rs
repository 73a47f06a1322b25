//! The manifest of an ingested dataset: what `manifest.json` holds, and how it is read.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::DatasetError;

/// The manifest format this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The file name of the manifest inside an ingested dataset folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Describes an ingested dataset: its rows, features, shards, annotations and sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_VERSION`] for what this crate writes.
    pub format_version: u32,
    /// The SecuML project name.
    pub project: String,
    /// The dataset name inside the project.
    pub dataset: String,
    /// The number of instances (rows).
    pub rows: usize,
    /// Whether the shards have a `timestamp` column.
    pub has_timestamp: bool,
    /// Whether the shards have a `label` column.
    pub has_label: bool,
    /// Whether the shards have a `family` column.
    pub has_family: bool,
    /// The features, in file order (files of a folder in name order, concatenated).
    pub features: Vec<FeatureMeta>,
    /// The Parquet shards, in row order.
    pub shards: Vec<ShardMeta>,
    /// The annotation files, by name order.
    pub annotations: Vec<AnnotationMeta>,
    /// The input files read, with their content hash.
    pub sources: Vec<SourceMeta>,
}

/// One feature: its id (the CSV column name), description and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMeta {
    /// The column name in the features CSV and in the shards.
    pub id: String,
    /// The readable name from the description file (the id when there is none).
    pub name: String,
    /// The description from the description file, if any.
    pub description: Option<String>,
    /// The kind, given by the description file or inferred from the values.
    pub kind: FeatureKind,
    /// The distinct values of a categorical feature, sorted by byte order; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

/// The kind of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    /// Any finite number, stored as Float64.
    Numeric,
    /// 0 or 1, stored as Float64.
    Binary,
    /// A string value, stored as Utf8 and one-hot encoded.
    Categorical,
}

impl FeatureKind {
    /// Parses the `type` of a description file (`numeric`, `binary` or `categorical`).
    pub fn parse(text: &str) -> Option<FeatureKind> {
        match text {
            "numeric" => Some(FeatureKind::Numeric),
            "binary" => Some(FeatureKind::Binary),
            "categorical" => Some(FeatureKind::Categorical),
            _ => None,
        }
    }
}

/// One Parquet shard: rows `row_start..row_end` of the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardMeta {
    /// The path relative to the dataset folder, e.g. `shards/part-00000.parquet`.
    pub file: String,
    /// The first row held (0-based, inclusive).
    pub row_start: usize,
    /// One past the last row held.
    pub row_end: usize,
    /// The number of rows held.
    pub rows: usize,
    /// The hex sha256 of the file.
    pub sha256: String,
    /// The file size in bytes.
    pub bytes: u64,
}

/// One annotation file, `annotations/<name>.parquet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationMeta {
    /// The name (the stem of the input CSV).
    pub name: String,
    /// The path relative to the dataset folder.
    pub file: String,
    /// The number of annotated instances.
    pub rows: usize,
    /// The hex sha256 of the file.
    pub sha256: String,
}

/// One input file the dataset was ingested from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceMeta {
    /// The path relative to the input dataset folder, with `/` separators.
    pub path: String,
    /// The file size in bytes.
    pub bytes: u64,
    /// The hex sha256 of the file as stored (compressed, for `.csv.gz`).
    pub sha256: String,
}

impl Manifest {
    /// Returns the feature with this id.
    pub fn feature(&self, id: &str) -> Option<&FeatureMeta> {
        self.features.iter().find(|f| f.id == id)
    }

    /// Returns the annotation file with this name.
    pub fn annotation(&self, name: &str) -> Option<&AnnotationMeta> {
        self.annotations.iter().find(|a| a.name == name)
    }
}

/// Reads `manifest.json` of an ingested dataset; returns it with the hex sha256 of its bytes.
pub fn read_manifest(dataset_dir: &Path) -> Result<(Manifest, String), DatasetError> {
    let file = dataset_dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&file).map_err(|source| DatasetError::Read {
        file: file.clone(),
        source,
    })?;
    parse_manifest(&bytes, &file)
}

/// Parses the bytes of a `manifest.json` read from `file` (a path or an object's URL, named in
/// errors); returns the manifest with the hex sha256 of the bytes.
pub fn parse_manifest(bytes: &[u8], file: &Path) -> Result<(Manifest, String), DatasetError> {
    let sha256 = sha256_hex(bytes);
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| DatasetError::Manifest {
        file: file.to_path_buf(),
        message: e.to_string(),
    })?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(DatasetError::Manifest {
            file: file.to_path_buf(),
            message: format!(
                "expected format_version {FORMAT_VERSION}, found {}",
                manifest.format_version
            ),
        });
    }
    Ok((manifest, sha256))
}

/// Returns the lowercase hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
