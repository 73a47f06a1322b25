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

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::parquet_file::{typed_column, write_atomically, FileError};

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
pub fn write_predictions(path: &Path, rows: &Predictions) -> Result<(), FileError> {
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
        RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| FileError::Parquet {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
    write_atomically(path, &batch)
}

/// A predictions file read back: its rows and the `alert` flag of each.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadPredictions {
    /// The rows (`threshold` unknown: NaN).
    pub rows: Predictions,
    /// Whether each row is an alert.
    pub alerts: Vec<bool>,
}

impl ReadPredictions {
    /// Returns the number of rows.
    pub fn len(&self) -> usize {
        self.rows.instance_ids.len()
    }

    /// Whether the file has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a predictions file cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("predictions file {file}: {message}")]
pub struct ReadError {
    /// The file, as the caller names it.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// Reads a predictions file from its bytes; `file` names it in errors.
pub fn read_predictions(bytes: Vec<u8>, file: &str) -> Result<ReadPredictions, ReadError> {
    let err = |message: String| ReadError {
        file: file.to_string(),
        message,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .and_then(|b| b.build())
        .map_err(|e| err(e.to_string()))?;
    let mut out = ReadPredictions {
        rows: Predictions {
            threshold: f64::NAN,
            ..Predictions::default()
        },
        alerts: Vec::new(),
    };
    for batch in reader {
        let batch = batch.map_err(|e| err(e.to_string()))?;
        let ids = typed_column::<Int64Array>(&batch, "instance_id").map_err(err)?;
        let idents = typed_column::<StringArray>(&batch, "ident").map_err(err)?;
        let scores = typed_column::<Float64Array>(&batch, "score").map_err(err)?;
        let values = typed_column::<Float64Array>(&batch, "value").map_err(err)?;
        let alerts = typed_column::<BooleanArray>(&batch, "alert").map_err(err)?;
        let labels = typed_column::<Int8Array>(&batch, "label").map_err(err)?;
        let families = typed_column::<StringArray>(&batch, "family").map_err(err)?;
        let rows = &mut out.rows;
        rows.instance_ids.extend(ids.values().iter().copied());
        rows.idents
            .extend((0..idents.len()).map(|i| idents.value(i).to_string()));
        rows.scores.extend(scores.values().iter().copied());
        rows.values.extend(values.values().iter().copied());
        out.alerts
            .extend((0..alerts.len()).map(|i| alerts.value(i)));
        rows.labels
            .extend((0..labels.len()).map(|i| labels.is_valid(i).then(|| labels.value(i) != 0)));
        rows.families.extend(
            (0..families.len())
                .map(|i| families.is_valid(i).then(|| families.value(i).to_string())),
        );
        // A multiclass model's files also name the predicted family.
        if batch.column_by_name("predicted_family").is_some() {
            let predicted = typed_column::<StringArray>(&batch, "predicted_family").map_err(err)?;
            rows.predicted_families
                .get_or_insert_with(Vec::new)
                .extend((0..predicted.len()).map(|i| predicted.value(i).to_string()));
        }
    }
    Ok(out)
}

/// Reads a predictions file on disk ([`read_predictions`] of its bytes).
pub fn read_predictions_file(path: &Path) -> Result<ReadPredictions, FileError> {
    let bytes = std::fs::read(path).map_err(|source| FileError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    read_predictions(bytes, &path.display().to_string()).map_err(|e| FileError::Parquet {
        file: path.to_path_buf(),
        message: e.message,
    })
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
        let back = read_predictions_file(&path).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back.alerts, vec![false, true, false]);
        assert_eq!(back.rows.predicted_families, rows.predicted_families);
        assert!(std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .all(|e| !e.unwrap().file_name().to_string_lossy().contains(".tmp")));
        let back = read_predictions(std::fs::read(&path).unwrap(), "test.parquet").unwrap();
        assert_eq!(back.alerts, vec![false, true, false]);
        assert_eq!(
            Predictions {
                threshold: rows.threshold,
                ..back.rows.clone()
            },
            rows
        );
        assert!(back.rows.threshold.is_nan());
        let bad = read_predictions(b"not parquet".to_vec(), "x.parquet").unwrap_err();
        assert!(
            bad.to_string().starts_with("predictions file x.parquet: "),
            "{bad}"
        );
    }

    #[test]
    fn reading_a_file_of_another_schema_names_the_column() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = read_predictions_file(&tmp.path().join("none.parquet")).unwrap_err();
        assert!(matches!(missing, FileError::Io { .. }), "{missing}");
        let path = tmp.path().join("other.parquet");
        let schema = Schema::new(vec![Field::new("instance_id", DataType::Utf8, false)]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(StringArray::from(vec!["a"]))],
        )
        .unwrap();
        write_atomically(&path, &batch).unwrap();
        let err = read_predictions_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("column `instance_id` has the type Utf8"),
            "{err}"
        );
    }
}
