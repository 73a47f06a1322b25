//! Reading an ingested dataset back: shards (checked against the manifest) into a [`Frame`].

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow_array::{Array, Float64Array, Int64Array, Int8Array, RecordBatch, StringArray};
use ndarray::Array2;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use sha2::{Digest, Sha256};

use super::encode::Encoder;
use super::error::DatasetError;
use super::manifest::{FeatureKind, Manifest};

/// The rows of a dataset (or of one shard) in memory, features in manifest order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    /// The instance ids.
    pub instance_ids: Vec<i64>,
    /// The readable instance names.
    pub idents: Vec<String>,
    /// Seconds since the epoch, if the dataset has timestamps.
    pub timestamps: Option<Vec<Option<i64>>>,
    /// Ground truth (`true` = malicious), if the dataset has labels.
    pub labels: Option<Vec<Option<bool>>>,
    /// Ground-truth families, if the dataset has them.
    pub families: Option<Vec<Option<String>>>,
    /// One column per manifest feature, in manifest order.
    pub columns: Vec<FrameColumn>,
}

/// The values of one feature.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameColumn {
    /// A numeric or binary feature.
    Numeric(Vec<f64>),
    /// A categorical feature.
    Categorical(Vec<String>),
}

/// One annotated instance of an annotation file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// The row of the instance in the dataset.
    pub row: usize,
    /// The instance id.
    pub instance_id: i64,
    /// `true` for malicious.
    pub label: bool,
    /// The family, if annotated.
    pub family: Option<String>,
}

impl Frame {
    /// Returns the number of rows.
    pub fn rows(&self) -> usize {
        self.instance_ids.len()
    }

    /// Appends the rows of `other`, which must come from the same manifest.
    fn append(&mut self, other: Frame) {
        self.instance_ids.extend(other.instance_ids);
        self.idents.extend(other.idents);
        extend_optional(&mut self.timestamps, other.timestamps);
        extend_optional(&mut self.labels, other.labels);
        extend_optional(&mut self.families, other.families);
        if self.columns.is_empty() {
            self.columns = other.columns;
            return;
        }
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            match (mine, theirs) {
                (FrameColumn::Numeric(a), FrameColumn::Numeric(b)) => a.extend(b),
                (FrameColumn::Categorical(a), FrameColumn::Categorical(b)) => a.extend(b),
                _ => unreachable!("shards of one manifest share their column kinds"),
            }
        }
    }
}

/// Reads every shard of the dataset, checking each one's sha256, into one frame.
pub fn read_frame(dataset_dir: &Path, manifest: &Manifest) -> Result<Frame, DatasetError> {
    read_frame_at(manifest, &|file| dataset_dir.join(file))
}

/// Reads every shard of the dataset into one frame, as [`read_frame`] does, with each file the
/// manifest names (`shards/part-00000.parquet`) at the path `locate` gives for it.
pub fn read_frame_at(
    manifest: &Manifest,
    locate: &dyn Fn(&str) -> PathBuf,
) -> Result<Frame, DatasetError> {
    let mut frame = Frame::default();
    for index in 0..manifest.shards.len() {
        frame.append(read_shard_at(manifest, index, locate)?);
    }
    Ok(frame)
}

/// Rows of a shard decoded at a time by [`read_encoded_at`]: each batch's Arrow arrays and
/// frame are a few MB, whatever the size of the shard.
const ENCODE_BATCH_ROWS: usize = 4096;

/// Reads every shard of the dataset, as [`read_frame_at`] does, and encodes its features with
/// `encoder` ([`Encoder::transform`]) batch by batch as they are read: the frame returned has
/// every column but the features (`columns` is empty), the matrix one row per instance. The
/// features are never held twice: only the matrix, and one batch of its rows in Arrow and in a
/// frame.
pub fn read_encoded_at(
    manifest: &Manifest,
    encoder: &Encoder,
    locate: &dyn Fn(&str) -> PathBuf,
) -> Result<(Frame, Array2<f64>), DatasetError> {
    let mut x = Array2::<f64>::zeros((manifest.rows, encoder.columns().len()));
    let mut frame = Frame::default();
    for shard in &manifest.shards {
        let file = locate(&shard.file);
        for batch in verified_reader(&file, &shard.sha256, ENCODE_BATCH_ROWS)? {
            let batch = batch.map_err(|e| DatasetError::Parquet {
                file: file.clone(),
                message: e.to_string(),
            })?;
            let mut rows = batch_to_frame(&file, &batch, manifest)?;
            drop(batch);
            let start = frame.rows();
            let end = start + rows.rows();
            if end > manifest.rows {
                return Err(DatasetError::OutOfRange {
                    what: "row",
                    index: end - 1,
                    len: manifest.rows,
                });
            }
            encoder.transform_into(
                manifest,
                &rows,
                x.slice_axis_mut(ndarray::Axis(0), (start..end).into()),
            )?;
            rows.columns.clear();
            frame.append(rows);
        }
    }
    if frame.rows() != manifest.rows {
        return Err(DatasetError::Manifest {
            file: PathBuf::from(super::MANIFEST_FILE),
            message: format!(
                "{} rows announced, {} found in the shards",
                manifest.rows,
                frame.rows()
            ),
        });
    }
    Ok((frame, x))
}

/// Reads shard `index` of the dataset, checking its sha256, into a frame of its rows.
pub fn read_shard(
    dataset_dir: &Path,
    manifest: &Manifest,
    index: usize,
) -> Result<Frame, DatasetError> {
    read_shard_at(manifest, index, &|file| dataset_dir.join(file))
}

/// Reads shard `index` of the dataset, as [`read_shard`] does, with each file the manifest names at
/// the path `locate` gives for it.
pub fn read_shard_at(
    manifest: &Manifest,
    index: usize,
    locate: &dyn Fn(&str) -> PathBuf,
) -> Result<Frame, DatasetError> {
    let shard = manifest.shards.get(index).ok_or(DatasetError::OutOfRange {
        what: "shard",
        index,
        len: manifest.shards.len(),
    })?;
    let file = locate(&shard.file);
    let batches = read_verified(&file, &shard.sha256)?;
    let mut frame = Frame::default();
    for batch in &batches {
        frame.append(batch_to_frame(&file, batch, manifest)?);
    }
    Ok(frame)
}

/// Reads annotation file `name`, giving each annotated instance its row in the dataset.
pub fn read_annotations(
    dataset_dir: &Path,
    manifest: &Manifest,
    name: &str,
) -> Result<Vec<Annotation>, DatasetError> {
    read_annotations_at(manifest, name, &|file| dataset_dir.join(file))
}

/// Reads annotation file `name`, as [`read_annotations`] does, with each file the manifest
/// names (the shards and the annotation file) at the path `locate` gives for it.
pub fn read_annotations_at(
    manifest: &Manifest,
    name: &str,
    locate: &dyn Fn(&str) -> PathBuf,
) -> Result<Vec<Annotation>, DatasetError> {
    let meta = manifest
        .annotation(name)
        .ok_or_else(|| DatasetError::UnknownAnnotations {
            name: name.to_string(),
        })?;
    let mut rows: HashMap<i64, usize> = HashMap::with_capacity(manifest.rows);
    for shard in &manifest.shards {
        let file = locate(&shard.file);
        let mut row = shard.row_start;
        for batch in read_verified(&file, &shard.sha256)? {
            let ids = column::<Int64Array>(&file, &batch, "instance_id", "Int64")?;
            for id in ids.values().iter() {
                rows.insert(*id, row);
                row += 1;
            }
        }
    }
    let file = locate(&meta.file);
    let mut annotations = Vec::with_capacity(meta.rows);
    for batch in read_verified(&file, &meta.sha256)? {
        let ids = column::<Int64Array>(&file, &batch, "instance_id", "Int64")?;
        let labels = column::<Int8Array>(&file, &batch, "label", "Int8")?;
        let families = column::<StringArray>(&file, &batch, "family", "Utf8")?;
        for i in 0..batch.num_rows() {
            let instance_id = ids.value(i);
            let row = *rows.get(&instance_id).ok_or_else(|| DatasetError::Schema {
                file: file.clone(),
                column: "instance_id".into(),
                expected: format!("instance ids of the dataset, found {instance_id}"),
            })?;
            annotations.push(Annotation {
                row,
                instance_id,
                label: labels.value(i) == 1,
                family: families.is_valid(i).then(|| families.value(i).to_string()),
            });
        }
    }
    Ok(annotations)
}

/// Reads a Parquet file after checking its sha256.
fn read_verified(file: &Path, sha256: &str) -> Result<Vec<RecordBatch>, DatasetError> {
    verified_reader(file, sha256, 1 << 16)?
        .map(|batch| {
            batch.map_err(|e| DatasetError::Parquet {
                file: file.to_path_buf(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// A reader of a Parquet file's batches of `batch_rows` rows, after checking its sha256.
fn verified_reader(
    file: &Path,
    sha256: &str,
    batch_rows: usize,
) -> Result<ParquetRecordBatchReader, DatasetError> {
    let read_error = |source| DatasetError::Read {
        file: file.to_path_buf(),
        source,
    };
    let mut handle = std::fs::File::open(file).map_err(read_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = handle.read(&mut buffer).map_err(read_error)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    let found = hex::encode(hasher.finalize());
    if found != sha256 {
        return Err(DatasetError::Checksum {
            file: file.to_path_buf(),
            expected: sha256.to_string(),
            found,
        });
    }
    let parquet_error = |e: &dyn std::fmt::Display| DatasetError::Parquet {
        file: file.to_path_buf(),
        message: e.to_string(),
    };
    let handle = std::fs::File::open(file).map_err(read_error)?;
    ParquetRecordBatchReaderBuilder::try_new(handle)
        .map_err(|e| parquet_error(&e))?
        .with_batch_size(batch_rows)
        .build()
        .map_err(|e| parquet_error(&e))
}

/// Converts one batch of a shard into a frame.
fn batch_to_frame(
    file: &Path,
    batch: &RecordBatch,
    manifest: &Manifest,
) -> Result<Frame, DatasetError> {
    let ids = column::<Int64Array>(file, batch, "instance_id", "Int64")?;
    let idents = column::<StringArray>(file, batch, "ident", "Utf8")?;
    let mut frame = Frame {
        instance_ids: ids.values().to_vec(),
        idents: strings(idents)
            .into_iter()
            .map(|s| s.unwrap_or_default())
            .collect(),
        ..Frame::default()
    };
    if manifest.has_timestamp {
        let values = column::<Int64Array>(file, batch, "timestamp", "Int64")?;
        frame.timestamps = Some(values.iter().collect());
    }
    if manifest.has_label {
        let values = column::<Int8Array>(file, batch, "label", "Int8")?;
        frame.labels = Some(values.iter().map(|v| v.map(|l| l == 1)).collect());
    }
    if manifest.has_family {
        frame.families = Some(strings(column::<StringArray>(
            file, batch, "family", "Utf8",
        )?));
    }
    for feature in &manifest.features {
        frame.columns.push(match feature.kind {
            FeatureKind::Numeric | FeatureKind::Binary => {
                let values = column::<Float64Array>(file, batch, &feature.id, "Float64")?;
                FrameColumn::Numeric(values.values().to_vec())
            }
            FeatureKind::Categorical => {
                let values = column::<StringArray>(file, batch, &feature.id, "Utf8")?;
                FrameColumn::Categorical(
                    values.iter().map(|v| v.unwrap_or("").to_string()).collect(),
                )
            }
        });
    }
    Ok(frame)
}

/// Returns a column of a batch with its expected Arrow type.
fn column<'b, A: Array + 'static>(
    file: &Path,
    batch: &'b RecordBatch,
    name: &str,
    type_name: &str,
) -> Result<&'b A, DatasetError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<A>())
        .ok_or_else(|| DatasetError::Schema {
            file: file.to_path_buf(),
            column: name.to_string(),
            expected: format!("a {type_name} column"),
        })
}

/// Copies a string column, keeping nulls.
fn strings(array: &StringArray) -> Vec<Option<String>> {
    array.iter().map(|v| v.map(str::to_string)).collect()
}

/// Extends an optional column; both sides come from the same manifest.
fn extend_optional<T>(mine: &mut Option<Vec<T>>, theirs: Option<Vec<T>>) {
    match (mine.as_mut(), theirs) {
        (Some(a), Some(b)) => a.extend(b),
        (None, Some(b)) => *mine = Some(b),
        _ => {}
    }
}
