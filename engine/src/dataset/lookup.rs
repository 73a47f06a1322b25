//! Finding one instance of an ingested dataset without reading it whole.
//!
//! Each shard's Parquet footer holds, per row group, the minimum and maximum of its
//! `instance_id` column: a row group whose range excludes the id is skipped, and only the
//! `instance_id` column of the others is read. The caller then reads the one shard that holds
//! the instance ([`super::read_shard`], checked against the manifest).

use std::path::Path;

use arrow_array::{Array, Int64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;

use super::error::DatasetError;
use super::manifest::Manifest;

/// Where an instance is: its shard (index in the manifest) and its row in that shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceLocation {
    /// Index of the shard in [`Manifest::shards`].
    pub shard: usize,
    /// Row of the instance inside the shard, from 0.
    pub row_in_shard: usize,
    /// Row of the instance in the dataset, from 0.
    pub row: usize,
}

/// Finds the instance `instance_id` in the shards of the dataset at `dataset_dir`, reading only
/// the footers and the `instance_id` column of the row groups whose range holds the id;
/// `None` when no shard holds it.
pub fn locate_instance(
    dataset_dir: &Path,
    manifest: &Manifest,
    instance_id: i64,
) -> Result<Option<InstanceLocation>, DatasetError> {
    for (index, shard) in manifest.shards.iter().enumerate() {
        let file = dataset_dir.join(&shard.file);
        let parquet_error = |e: &dyn std::fmt::Display| DatasetError::Parquet {
            file: file.clone(),
            message: e.to_string(),
        };
        let handle = std::fs::File::open(&file).map_err(|source| DatasetError::Read {
            file: file.clone(),
            source,
        })?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|e| parquet_error(&e))?;
        let metadata = builder.metadata().clone();
        let schema = metadata.file_metadata().schema_descr();
        let column = (0..schema.num_columns())
            .find(|&c| schema.column(c).name() == "instance_id")
            .ok_or_else(|| DatasetError::Schema {
                file: file.clone(),
                column: "instance_id".into(),
                expected: "an Int64 column".into(),
            })?;
        // Rows before each row group, and the row groups that may hold the id.
        let mut first_rows = Vec::with_capacity(metadata.num_row_groups());
        let mut candidates = Vec::new();
        let mut rows = 0usize;
        for (g, group) in metadata.row_groups().iter().enumerate() {
            first_rows.push(rows);
            rows += group.num_rows() as usize;
            let excluded = match group.column(column).statistics() {
                Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                    (Some(min), Some(max)) => instance_id < *min || instance_id > *max,
                    _ => false,
                },
                _ => false,
            };
            if !excluded {
                candidates.push(g);
            }
        }
        if candidates.is_empty() {
            continue;
        }
        let mask = ProjectionMask::leaves(schema, [column]);
        let reader = builder
            .with_projection(mask)
            .with_row_groups(candidates.clone())
            .build()
            .map_err(|e| parquet_error(&e))?;
        // The rows read are those of the candidate groups, in order.
        let mut read = 0usize;
        for batch in reader {
            let batch = batch.map_err(|e| parquet_error(&e))?;
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| DatasetError::Schema {
                    file: file.clone(),
                    column: "instance_id".into(),
                    expected: "an Int64 column".into(),
                })?;
            if let Some(i) = ids.values().iter().position(|id| *id == instance_id) {
                let mut position = read + i;
                for &g in &candidates {
                    let group_rows = metadata.row_group(g).num_rows() as usize;
                    if position < group_rows {
                        let row_in_shard = first_rows[g] + position;
                        return Ok(Some(InstanceLocation {
                            shard: index,
                            row_in_shard,
                            row: shard.row_start + row_in_shard,
                        }));
                    }
                    position -= group_rows;
                }
            }
            read += ids.len();
        }
    }
    Ok(None)
}
