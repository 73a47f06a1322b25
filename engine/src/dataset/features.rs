//! Feature CSVs and their description files: parsing values by kind, or inferring the kind.

use std::collections::{BTreeSet, HashMap};

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, StringArray};

use super::csv_input::{parse_f64, parse_i64, CsvSource};
use super::error::IngestError;
use super::idents::Idents;
use super::manifest::{FeatureKind, FeatureMeta};

/// The values of one feature, as they go into the shards.
pub(crate) enum ColumnValues {
    /// Numeric and binary features.
    Float(Vec<f64>),
    /// Categorical features.
    Text(StringArray),
}

/// One parsed feature column with its manifest entry.
pub(crate) struct FeatureColumn {
    pub meta: FeatureMeta,
    pub values: ColumnValues,
}

/// One row of a description file.
pub(crate) struct Description {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: Option<FeatureKind>,
    pub line: u64,
}

/// A parsed features CSV: its instance ids (with their lines) and its columns.
pub(crate) struct ParsedFeatures {
    pub instance_ids: Vec<i64>,
    pub lines: Vec<u64>,
    pub columns: Vec<FeatureColumn>,
}

/// A parsed description file: its source (for errors), its id column name and its rows.
pub(crate) struct DescriptionFile {
    pub source: CsvSource,
    pub id_column: String,
    pub rows: Vec<Description>,
}

const NOT_A_NUMBER: &str = "a number";
// NaN and infinities are refused: standardisation and the linear solvers would spread a
// single one into every coefficient and score without any error, and SecuML's own
// scikit-learn pipeline refuses them at training time anyway, far from where they came from.
const NOT_FINITE: &str = "a finite number (NaN and infinities are refused)";
const NOT_BINARY: &str = "0 or 1 (binary feature)";
const NOT_TEXT: &str = "UTF-8 text";

/// Accumulates the values of one column while the file is read.
enum Builder {
    Numeric(Vec<f64>),
    Binary(Vec<f64>),
    Categorical(StringBuilder),
    /// No declared kind: keeps the text, and the numbers while every value is one.
    Inferred {
        text: StringBuilder,
        numbers: Option<Vec<f64>>,
        first_non_finite: Option<(u64, String)>,
    },
}

impl Builder {
    fn new(kind: Option<FeatureKind>, rows: usize) -> Builder {
        match kind {
            Some(FeatureKind::Numeric) => Builder::Numeric(Vec::with_capacity(rows)),
            Some(FeatureKind::Binary) => Builder::Binary(Vec::with_capacity(rows)),
            Some(FeatureKind::Categorical) => {
                Builder::Categorical(StringBuilder::with_capacity(rows, rows * 8))
            }
            None => Builder::Inferred {
                text: StringBuilder::with_capacity(rows, rows * 8),
                numbers: Some(Vec::with_capacity(rows)),
                first_non_finite: None,
            },
        }
    }

    /// Adds one value; on bad input returns what was expected.
    #[inline]
    fn push(&mut self, field: &[u8], line: u64) -> Result<(), &'static str> {
        match self {
            Builder::Numeric(values) => {
                let value = parse_f64(field).ok_or(NOT_A_NUMBER)?;
                if !value.is_finite() {
                    return Err(NOT_FINITE);
                }
                values.push(value);
            }
            Builder::Binary(values) => match field.trim_ascii() {
                [b'0'] => values.push(0.0),
                [b'1'] => values.push(1.0),
                _ => return Err(NOT_BINARY),
            },
            Builder::Categorical(text) => {
                text.append_value(std::str::from_utf8(field).map_err(|_| NOT_TEXT)?);
            }
            Builder::Inferred {
                text,
                numbers,
                first_non_finite,
            } => {
                text.append_value(std::str::from_utf8(field).map_err(|_| NOT_TEXT)?);
                if let Some(values) = numbers {
                    match parse_f64(field) {
                        Some(value) => {
                            if !value.is_finite() && first_non_finite.is_none() {
                                *first_non_finite =
                                    Some((line, String::from_utf8_lossy(field).into_owned()));
                            }
                            values.push(value);
                        }
                        None => *numbers = None,
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends the column: its kind and values, or the position of a non-finite inferred number.
    fn finish(self) -> Result<(FeatureKind, ColumnValues), (u64, String)> {
        Ok(match self {
            Builder::Numeric(values) => (FeatureKind::Numeric, ColumnValues::Float(values)),
            Builder::Binary(values) => (FeatureKind::Binary, ColumnValues::Float(values)),
            Builder::Categorical(mut text) => {
                (FeatureKind::Categorical, ColumnValues::Text(text.finish()))
            }
            Builder::Inferred {
                mut text,
                numbers,
                first_non_finite,
            } => match numbers {
                Some(values) => {
                    if let Some(position) = first_non_finite {
                        return Err(position);
                    }
                    let binary = values.iter().all(|&v| v == 0.0 || v == 1.0);
                    let kind = if binary {
                        FeatureKind::Binary
                    } else {
                        FeatureKind::Numeric
                    };
                    (kind, ColumnValues::Float(values))
                }
                None => (FeatureKind::Categorical, ColumnValues::Text(text.finish())),
            },
        })
    }
}

/// Reads a description file: first column the feature id, then `name`, `description`, `type`.
pub(crate) fn read_description(source: CsvSource) -> Result<DescriptionFile, IngestError> {
    let mut table = source.table()?;
    let id_column = table.header[0].clone();
    let name_index = table.column("name");
    let description_index = table.column("description");
    let type_index = table.column("type");
    let mut rows: Vec<Description> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    while let Some(line) = table.next_record()? {
        let text = |index: usize| -> Result<String, IngestError> {
            std::str::from_utf8(&table.record[index])
                .map(str::to_string)
                .map_err(|_| table.bad_field(line, index, NOT_TEXT))
        };
        let id = text(0)?;
        if let Some(first) = seen.insert(id.clone(), line) {
            let expected = format!("a feature described once (already on line {first})");
            return Err(table.bad_field(line, 0, &expected));
        }
        let name = match name_index {
            Some(index) => text(index)?,
            None => id.clone(),
        };
        let description = match description_index {
            Some(index) => Some(text(index)?).filter(|d| !d.is_empty()),
            None => None,
        };
        let kind = match type_index {
            Some(index) => match text(index)?.trim() {
                "" => None,
                kind => Some(FeatureKind::parse(kind).ok_or_else(|| {
                    table.bad_field(line, index, "a type among numeric, binary, categorical")
                })?),
            },
            None => None,
        };
        rows.push(Description {
            id,
            name,
            description,
            kind,
            line,
        });
    }
    drop(table);
    Ok(DescriptionFile {
        source,
        id_column,
        rows,
    })
}

/// Reads one features CSV; `rows` is the expected row count, a capacity hint.
pub(crate) fn read_features(
    source: &CsvSource,
    description: Option<&DescriptionFile>,
    rows: usize,
) -> Result<ParsedFeatures, IngestError> {
    let mut table = source.table()?;
    if table.header[0] != "instance_id" {
        let column = table.header[0].clone();
        return Err(source.invalid(
            Some(1),
            Some(&column),
            "`instance_id` as the first column",
            None,
        ));
    }
    let described: HashMap<&str, &Description> = description
        .map(|d| d.rows.iter().map(|row| (row.id.as_str(), row)).collect())
        .unwrap_or_default();
    if let Some(description) = description {
        for row in &description.rows {
            if row.id == "instance_id" || table.column(&row.id).is_none() {
                let expected = format!("a feature of {}", source.meta.path);
                return Err(description.source.invalid(
                    Some(row.line),
                    Some(&description.id_column),
                    &expected,
                    Some(&row.id),
                ));
            }
        }
    }
    let mut instance_ids = Vec::with_capacity(rows);
    let mut lines = Vec::with_capacity(rows);
    let mut builders: Vec<Builder> = table.header[1..]
        .iter()
        .map(|id| Builder::new(described.get(id.as_str()).and_then(|d| d.kind), rows))
        .collect();
    while let Some(line) = table.next_record()? {
        let id = parse_i64(&table.record[0])
            .ok_or_else(|| table.bad_field(line, 0, "an integer instance id"))?;
        instance_ids.push(id);
        lines.push(line);
        let mut failed = None;
        for (index, (builder, field)) in builders
            .iter_mut()
            .zip(table.record.iter().skip(1))
            .enumerate()
        {
            if let Err(expected) = builder.push(field, line) {
                failed = Some((index + 1, expected));
                break;
            }
        }
        if let Some((index, expected)) = failed {
            return Err(table.bad_field(line, index, expected));
        }
    }
    if instance_ids.is_empty() {
        return Err(table.no_rows());
    }
    let header = std::mem::take(&mut table.header);
    let mut columns = Vec::with_capacity(builders.len());
    for (id, builder) in header.into_iter().skip(1).zip(builders) {
        let (kind, values) = builder.finish().map_err(|(line, found)| {
            source.invalid(Some(line), Some(&id), NOT_FINITE, Some(&found))
        })?;
        let categories = match &values {
            ColumnValues::Text(array) => sorted_categories(array),
            ColumnValues::Float(_) => Vec::new(),
        };
        let (name, description) = match described.get(id.as_str()) {
            Some(d) => (d.name.clone(), d.description.clone()),
            None => (id.clone(), None),
        };
        let meta = FeatureMeta {
            id,
            name,
            description,
            kind,
            categories,
        };
        columns.push(FeatureColumn { meta, values });
    }
    Ok(ParsedFeatures {
        instance_ids,
        lines,
        columns,
    })
}

/// Checks that a features CSV has the instance ids of `idents.csv`, in the same order.
pub(crate) fn check_instance_ids(
    source: &CsvSource,
    parsed: &ParsedFeatures,
    idents: &Idents,
) -> Result<(), IngestError> {
    let rows = idents.instance_ids.len();
    let pairs = parsed
        .instance_ids
        .iter()
        .zip(&idents.instance_ids)
        .enumerate();
    if let Some((row, (&found, &expected))) = pairs.into_iter().find(|(_, (a, b))| a != b) {
        let expected = format!(
            "instance id {expected} as on line {} of idents.csv",
            idents.lines[row]
        );
        let found = found.to_string();
        return Err(source.invalid(
            Some(parsed.lines[row]),
            Some("instance_id"),
            &expected,
            Some(&found),
        ));
    }
    let found = parsed.instance_ids.len();
    if found > rows {
        let expected = format!("no more rows than idents.csv ({rows})");
        return Err(source.invalid(Some(parsed.lines[rows]), None, &expected, None));
    }
    if found < rows {
        let expected = format!("{rows} rows as in idents.csv, found {found}");
        return Err(source.invalid(Some(parsed.lines[found - 1] + 1), None, &expected, None));
    }
    Ok(())
}

/// Returns the distinct values of a string column, sorted by byte order.
fn sorted_categories(array: &StringArray) -> Vec<String> {
    let mut distinct: BTreeSet<&str> = BTreeSet::new();
    let mut last: Option<&str> = None;
    for index in 0..array.len() {
        let value = array.value(index);
        // Runs of the same value are common; skip the set lookup for them.
        if last != Some(value) {
            distinct.insert(value);
            last = Some(value);
        }
    }
    distinct.into_iter().map(str::to_string).collect()
}
