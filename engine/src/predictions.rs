//! The predictions of a detection as Parquet, beside the dataset: one row per predicted
//! instance, in dataset order.
//!
//! Columns: `instance_id` (int64), `ident` (utf8), `score` (float64: the model's probability, or
//! its anomaly score), `value` (float64: the probability, or for an anomaly score the share of
//! training rows scoring lower; what the detection threshold applies to), `alert` (bool:
//! `value` above the threshold), `label` (int8: 1 malicious, 0 benign, null unknown),
//! `family` (utf8, nullable); for a multiclass model, `predicted_family` (utf8: the most
//! probable family; `score` and `value` are then its probability).

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, BooleanArray, Float64Array, Int64Array, Int8Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};

use crate::parquet_file::{write_atomically, WriteError};

/// The predictions of some rows, column by column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Predictions {
    /// Instance ids.
    pub instance_ids: Vec<i64>,
    /// Readable names.
    pub idents: Vec<String>,
    /// The model's outputs.
    pub scores: Vec<f64>,
    /// What the threshold applies to.
    pub values: Vec<f64>,
    /// The detection threshold.
    pub threshold: f64,
    /// Label of each row, when known.
    pub labels: Vec<Option<bool>>,
    /// Family of each row, when known.
    pub families: Vec<Option<String>>,
    /// A multiclass model's predicted family of each row.
    pub predicted_families: Option<Vec<String>>,
}

fn schema(multiclass: bool) -> Schema {
    let mut fields = vec![
        Field::new("instance_id", DataType::Int64, false),
        Field::new("ident", DataType::Utf8, false),
        Field::new("score", DataType::Float64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("alert", DataType::Boolean, false),
        Field::new("label", DataType::Int8, true),
        Field::new("family", DataType::Utf8, true),
    ];
    if multiclass {
        fields.push(Field::new("predicted_family", DataType::Utf8, false));
    }
    Schema::new(fields)
}

/// Writes `rows` to `path` atomically.
pub fn write_predictions(path: &Path, rows: &Predictions) -> Result<(), WriteError> {
    let mut columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(Int64Array::from(rows.instance_ids.clone())),
        Arc::new(StringArray::from_iter_values(rows.idents.iter())),
        Arc::new(Float64Array::from(rows.scores.clone())),
        Arc::new(Float64Array::from(rows.values.clone())),
        Arc::new(BooleanArray::from_iter(
            rows.values.iter().map(|v| Some(*v > rows.threshold)),
        )),
        Arc::new(Int8Array::from_iter(
            rows.labels.iter().map(|l| l.map(i8::from)),
        )),
        Arc::new(StringArray::from_iter(
            rows.families.iter().map(|f| f.as_deref()),
        )),
    ];
    if let Some(predicted) = &rows.predicted_families {
        columns.push(Arc::new(StringArray::from_iter_values(predicted.iter())));
    }
    let schema = schema(rows.predicted_families.is_some());
    let batch =
        RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| WriteError::Parquet {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
    write_atomically(path, &batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn predictions_round_trip_with_alerts_above_the_threshold() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p/test.parquet");
        let rows = Predictions {
            instance_ids: vec![1, 2, 3],
            idents: vec!["a".into(), "b".into(), "c".into()],
            scores: vec![0.2, 0.7, 0.5],
            values: vec![0.2, 0.7, 0.5],
            threshold: 0.5,
            labels: vec![Some(false), Some(true), None],
            families: vec![None, Some("dos".into()), None],
            predicted_families: Some(vec!["normal".into(), "dos".into(), "dos".into()]),
        };
        write_predictions(&path, &rows).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let batch = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let alert = batch
            .column_by_name("alert")
            .unwrap()
            .as_any()
            .downcast_ref::<BooleanArray>()
            .unwrap();
        assert_eq!(
            alert.iter().collect::<Vec<_>>(),
            vec![Some(false), Some(true), Some(false)],
            "0.5 is not above a threshold of 0.5"
        );
        assert_eq!(batch.column_by_name("label").unwrap().null_count(), 1);
        let predicted = batch
            .column_by_name("predicted_family")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(predicted.value(0), "normal");
        assert!(std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .all(|e| !e.unwrap().file_name().to_string_lossy().contains(".tmp")));
    }
}
