//! Parquet encoding of the dataset batch into shards and of the annotation files.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, Int8Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::error::IngestError;
use super::features::{ColumnValues, FeatureColumn};
use super::idents::{AnnotationSet, Idents};
use super::manifest::{sha256_hex, AnnotationMeta, ShardMeta};

/// The uncompressed size a shard aims at when no row count is given.
pub const TARGET_SHARD_BYTES: usize = 64 << 20;

/// Builds the one batch holding every row: instance columns, then one column per feature.
pub(crate) fn dataset_batch(
    idents: &Idents,
    features: Vec<ColumnValues>,
    feature_ids: &[String],
) -> Result<RecordBatch, IngestError> {
    let mut fields = vec![
        Field::new("instance_id", DataType::Int64, false),
        Field::new("ident", DataType::Utf8, false),
    ];
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(idents.instance_ids.clone())),
        Arc::new(idents.idents.clone()),
    ];
    if let Some(timestamps) = &idents.timestamps {
        fields.push(Field::new("timestamp", DataType::Int64, true));
        arrays.push(Arc::new(Int64Array::from(timestamps.clone())));
    }
    if let Some(labels) = &idents.labels {
        fields.push(Field::new("label", DataType::Int8, true));
        arrays.push(Arc::new(Int8Array::from(labels.clone())));
    }
    if let Some(families) = &idents.families {
        fields.push(Field::new("family", DataType::Utf8, true));
        arrays.push(Arc::new(families.clone()));
    }
    for (id, values) in feature_ids.iter().zip(features) {
        match values {
            ColumnValues::Float(values) => {
                fields.push(Field::new(id, DataType::Float64, false));
                arrays.push(Arc::new(Float64Array::from(values)));
            }
            ColumnValues::Text(values) => {
                fields.push(Field::new(id, DataType::Utf8, false));
                arrays.push(Arc::new(values));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| IngestError::Encode {
        file: "shards".into(),
        message: e.to_string(),
    })
}

/// Chooses the rows per shard so that a shard holds about [`TARGET_SHARD_BYTES`] in memory.
pub(crate) fn default_shard_rows(batch: &RecordBatch) -> usize {
    let rows = batch.num_rows().max(1);
    let bytes_per_row = (batch.get_array_memory_size() / rows).max(1);
    (TARGET_SHARD_BYTES / bytes_per_row).max(1)
}

/// Splits a feature list into ids and values, keeping the manifest entries.
pub(crate) fn split_features(
    columns: Vec<FeatureColumn>,
) -> (Vec<super::manifest::FeatureMeta>, Vec<ColumnValues>) {
    columns.into_iter().map(|c| (c.meta, c.values)).unzip()
}

/// Writes `batch` as shards of at most `shard_rows` rows under `dir/shards/`.
pub(crate) fn write_shards(
    dir: &Path,
    batch: &RecordBatch,
    shard_rows: usize,
) -> Result<Vec<ShardMeta>, IngestError> {
    let shards_dir = dir.join("shards");
    std::fs::create_dir_all(&shards_dir).map_err(|source| IngestError::Write {
        file: shards_dir.clone(),
        source,
    })?;
    let rows = batch.num_rows();
    let starts: Vec<usize> = (0..rows).step_by(shard_rows).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(starts.len());
    // One shard: its columns are encoded in parallel; several: the shards are.
    let column_threads = if starts.len() == 1 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        1
    };
    let write_one = |index: usize| -> Result<ShardMeta, IngestError> {
        let row_start = starts[index];
        let row_end = (row_start + shard_rows).min(rows);
        let file = format!("shards/part-{index:05}.parquet");
        let slice = batch.slice(row_start, row_end - row_start);
        let bytes = encode_parquet(&slice, &dir.join(&file), column_threads)?;
        write_file(&dir.join(&file), &bytes)?;
        Ok(ShardMeta {
            file,
            row_start,
            row_end,
            rows: row_end - row_start,
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
        })
    };
    if threads <= 1 {
        return (0..starts.len()).map(write_one).collect();
    }
    // Shards are independent, so each thread encodes every `threads`-th one.
    let mut results: Vec<Option<Result<ShardMeta, IngestError>>> =
        (0..starts.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|first| {
                let write_one = &write_one;
                let count = starts.len();
                scope.spawn(move || {
                    (first..count)
                        .step_by(threads)
                        .map(|index| (index, write_one(index)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            for (index, result) in handle.join().expect("shard writer thread panicked") {
                results[index] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every shard was written"))
        .collect()
}

/// Writes one annotation set to `dir/annotations/<name>.parquet`.
pub(crate) fn write_annotations(
    dir: &Path,
    set: &AnnotationSet,
) -> Result<AnnotationMeta, IngestError> {
    let file = format!("annotations/{}.parquet", set.name);
    let path = dir.join(&file);
    let schema = Schema::new(vec![
        Field::new("instance_id", DataType::Int64, false),
        Field::new("label", DataType::Int8, false),
        Field::new("family", DataType::Utf8, true),
    ]);
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(set.instance_ids.clone())),
        Arc::new(Int8Array::from(set.labels.clone())),
        Arc::new(set.families.clone()),
    ];
    let batch =
        RecordBatch::try_new(Arc::new(schema), arrays).map_err(|e| IngestError::Encode {
            file: path.clone(),
            message: e.to_string(),
        })?;
    let bytes = encode_parquet(&batch, &path, 1)?;
    let parent = dir.join("annotations");
    std::fs::create_dir_all(&parent).map_err(|source| IngestError::Write {
        file: parent,
        source,
    })?;
    write_file(&path, &bytes)?;
    Ok(AnnotationMeta {
        name: set.name.clone(),
        file,
        rows: set.instance_ids.len(),
        sha256: sha256_hex(&bytes),
    })
}

/// Encodes a batch as one zstd-compressed Parquet file (one row group) in memory, encoding its
/// columns on up to `threads` threads.
fn encode_parquet(
    batch: &RecordBatch,
    file: &Path,
    threads: usize,
) -> Result<Vec<u8>, IngestError> {
    let encode_error = |e: parquet::errors::ParquetError| IngestError::Encode {
        file: file.to_path_buf(),
        message: e.to_string(),
    };
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut buffer = Vec::with_capacity(batch.get_array_memory_size() / 4);
    // The high-level writer records the Arrow schema in the file metadata; its low-level parts
    // then let the columns be encoded in parallel.
    let writer = ArrowWriter::try_new(&mut buffer, batch.schema(), Some(properties))
        .map_err(encode_error)?;
    let (mut file_writer, factory) = writer.into_serialized_writer().map_err(encode_error)?;
    let mut jobs: Vec<(usize, ArrowColumnWriter, ArrowLeafColumn)> = Vec::new();
    let mut writers = factory
        .create_column_writers(0)
        .map_err(encode_error)?
        .into_iter();
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        for leaf in compute_leaves(field, array).map_err(encode_error)? {
            let writer = writers.next().expect("one column writer per leaf column");
            jobs.push((jobs.len(), writer, leaf));
        }
    }
    let threads = threads.clamp(1, jobs.len().max(1));
    let mut groups: Vec<Vec<(usize, ArrowColumnWriter, ArrowLeafColumn)>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (position, job) in jobs.into_iter().enumerate() {
        groups[position % threads].push(job);
    }
    let encode_group = |group: Vec<(usize, ArrowColumnWriter, ArrowLeafColumn)>| {
        group
            .into_iter()
            .map(|(index, mut writer, leaf)| {
                writer.write(&leaf)?;
                Ok((index, writer.close()?))
            })
            .collect::<Result<Vec<(usize, ArrowColumnChunk)>, parquet::errors::ParquetError>>()
    };
    let mut chunks: Vec<(usize, ArrowColumnChunk)> = if threads == 1 {
        groups
            .into_iter()
            .map(encode_group)
            .next()
            .unwrap_or(Ok(Vec::new()))
            .map_err(encode_error)?
    } else {
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = groups
                .into_iter()
                .map(|group| scope.spawn(|| encode_group(group)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("column encoder thread panicked"))
                .collect::<Vec<_>>()
        });
        let mut chunks = Vec::new();
        for result in results {
            chunks.extend(result.map_err(encode_error)?);
        }
        chunks
    };
    chunks.sort_by_key(|(index, _)| *index);
    let mut row_group = file_writer.next_row_group().map_err(encode_error)?;
    for (_, chunk) in chunks {
        chunk
            .append_to_row_group(&mut row_group)
            .map_err(encode_error)?;
    }
    row_group.close().map_err(encode_error)?;
    file_writer.close().map_err(encode_error)?;
    Ok(buffer)
}

/// Writes a whole file.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IngestError> {
    std::fs::write(path, bytes).map_err(|source| IngestError::Write {
        file: path.to_path_buf(),
        source,
    })
}
