//! The assignments of a clustering as Parquet: one row per instance with its cluster.
//!
//! Columns: `instance_id` (int64), `ident` (utf8), `cluster` (uint32), `distance` (float64,
//! Euclidean, standardised space), `label` (int8, 1 malicious, 0 benign, null unknown),
//! `family` (utf8, nullable). Files are written to a temporary name then renamed.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, Float64Array, Int64Array, Int8Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::parquet_file::FileError;

/// The assignments of some rows, column by column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assignments {
    /// Instance ids.
    pub instance_ids: Vec<i64>,
    /// Readable names.
    pub idents: Vec<String>,
    /// Cluster of each row.
    pub clusters: Vec<u32>,
    /// Euclidean distance of each row to its cluster's centre.
    pub distances: Vec<f64>,
    /// Label of each row, when known.
    pub labels: Vec<Option<bool>>,
    /// Family of each row, when known.
    pub families: Vec<Option<String>>,
}

impl Assignments {
    /// Appends the rows of `other` (the next block's, say) after these.
    pub fn append(&mut self, other: Assignments) {
        self.instance_ids.extend(other.instance_ids);
        self.idents.extend(other.idents);
        self.clusters.extend(other.clusters);
        self.distances.extend(other.distances);
        self.labels.extend(other.labels);
        self.families.extend(other.families);
    }
}

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("instance_id", DataType::Int64, false),
        Field::new("ident", DataType::Utf8, false),
        Field::new("cluster", DataType::UInt32, false),
        Field::new("distance", DataType::Float64, false),
        Field::new("label", DataType::Int8, true),
        Field::new("family", DataType::Utf8, true),
    ])
}

/// Writes `rows` to `path` atomically (a temporary file beside it, then a rename), creating
/// the parent folder.
pub fn write_assignments(path: &Path, rows: &Assignments) -> Result<(), FileError> {
    let pq = |e: &dyn std::fmt::Display| FileError::Parquet {
        file: path.to_path_buf(),
        message: e.to_string(),
    };
    let columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(Int64Array::from(rows.instance_ids.clone())),
        Arc::new(StringArray::from_iter_values(rows.idents.iter())),
        Arc::new(UInt32Array::from(rows.clusters.clone())),
        Arc::new(Float64Array::from(rows.distances.clone())),
        Arc::new(Int8Array::from_iter(
            rows.labels.iter().map(|l| l.map(i8::from)),
        )),
        Arc::new(StringArray::from_iter(
            rows.families.iter().map(|f| f.as_deref()),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema()), columns).map_err(|e| pq(&e))?;
    crate::parquet_file::write_atomically(path, &batch)
}

/// Reads an assignments file back.
pub fn read_assignments(path: &Path) -> Result<Assignments, FileError> {
    let pq = |e: &dyn std::fmt::Display| FileError::Parquet {
        file: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(|source| FileError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| pq(&e))?
        .build()
        .map_err(|e| pq(&e))?;
    let mut out = Assignments::default();
    for batch in reader {
        let batch = batch.map_err(|e| pq(&e))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| pq(&format!("no column `{name}`")))
        };
        let bad = |name: &str| pq(&format!("column `{name}` has an unexpected type"));
        let ids = column("instance_id")?;
        let ids = ids
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| bad("instance_id"))?;
        let idents = column("ident")?;
        let idents = idents
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| bad("ident"))?;
        let clusters = column("cluster")?;
        let clusters = clusters
            .as_any()
            .downcast_ref::<UInt32Array>()
            .ok_or_else(|| bad("cluster"))?;
        let distances = column("distance")?;
        let distances = distances
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| bad("distance"))?;
        let labels = column("label")?;
        let labels = labels
            .as_any()
            .downcast_ref::<Int8Array>()
            .ok_or_else(|| bad("label"))?;
        let families = column("family")?;
        let families = families
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| bad("family"))?;
        for i in 0..batch.num_rows() {
            out.instance_ids.push(ids.value(i));
            out.idents.push(idents.value(i).to_string());
            out.clusters.push(clusters.value(i));
            out.distances.push(distances.value(i));
            out.labels
                .push((!labels.is_null(i)).then(|| labels.value(i) != 0));
            out.families
                .push((!families.is_null(i)).then(|| families.value(i).to_string()));
        }
    }
    Ok(out)
}
