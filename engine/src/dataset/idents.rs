//! `idents.csv` (the instances and their ground truth) and `annotations/*.csv`.

use std::collections::HashMap;

use arrow_array::builder::StringBuilder;
use arrow_array::StringArray;

use super::csv_input::{parse_i64, parse_timestamp, CsvSource};
use super::error::IngestError;

/// The parsed `idents.csv`.
pub(crate) struct Idents {
    pub instance_ids: Vec<i64>,
    /// The line of each row, for errors in other files that point back here.
    pub lines: Vec<u64>,
    pub idents: StringArray,
    pub timestamps: Option<Vec<Option<i64>>>,
    pub labels: Option<Vec<Option<i8>>>,
    pub families: Option<StringArray>,
    /// Maps an instance id to its row.
    pub rows: HashMap<i64, usize>,
}

/// One parsed annotation file.
pub(crate) struct AnnotationSet {
    pub name: String,
    pub instance_ids: Vec<i64>,
    pub labels: Vec<i8>,
    pub families: StringArray,
}

const LABEL: &str = "0 (benign), 1 (malicious) or empty (unlabelled)";

/// Reads `idents.csv`: `instance_id`, `ident`, then optional `timestamp`, `label`, `family`.
pub(crate) fn read_idents(source: &CsvSource) -> Result<Idents, IngestError> {
    let mut table = source.table()?;
    let required = |name: &str| {
        table.column(name).ok_or_else(|| {
            source.invalid(
                Some(1),
                Some(name),
                &format!("a column `{name}` in the header"),
                None,
            )
        })
    };
    let id_index = required("instance_id")?;
    let ident_index = required("ident")?;
    let timestamp_index = table.column("timestamp");
    let label_index = table.column("label");
    let family_index = table.column("family");
    for name in &table.header {
        if !["instance_id", "ident", "timestamp", "label", "family"].contains(&name.as_str()) {
            tracing::warn!(file = %source.path.display(), column = %name, "ignoring unknown idents column");
        }
    }
    let mut instance_ids = Vec::new();
    let mut lines = Vec::new();
    let mut idents = StringBuilder::new();
    let mut timestamps = timestamp_index.map(|_| Vec::new());
    let mut labels = label_index.map(|_| Vec::new());
    let mut families = family_index.map(|_| StringBuilder::new());
    let mut rows: HashMap<i64, usize> = HashMap::new();
    while let Some(line) = table.next_record()? {
        let record = &table.record;
        let id = parse_i64(&record[id_index])
            .ok_or_else(|| table.bad_field(line, id_index, "an integer instance id"))?;
        if let Some(first) = rows.insert(id, instance_ids.len()) {
            let expected = format!("a unique instance id (already on line {})", lines[first]);
            return Err(table.bad_field(line, id_index, &expected));
        }
        instance_ids.push(id);
        lines.push(line);
        idents.append_value(text(&table, line, ident_index)?);
        if let (Some(index), Some(values)) = (timestamp_index, timestamps.as_mut()) {
            let field = record[index].trim_ascii();
            values.push(if field.is_empty() {
                None
            } else {
                Some(parse_timestamp(field).ok_or_else(|| {
                    table.bad_field(line, index, "a timestamp YYYY-MM-DD HH:MM:SS or empty")
                })?)
            });
        }
        if let (Some(index), Some(values)) = (label_index, labels.as_mut()) {
            values.push(match record[index].trim_ascii() {
                [] => None,
                [b'0'] => Some(0),
                [b'1'] => Some(1),
                _ => return Err(table.bad_field(line, index, LABEL)),
            });
        }
        if let (Some(index), Some(values)) = (family_index, families.as_mut()) {
            match text(&table, line, index)? {
                "" => values.append_null(),
                family => values.append_value(family),
            }
        }
    }
    if instance_ids.is_empty() {
        return Err(table.no_rows());
    }
    Ok(Idents {
        instance_ids,
        lines,
        idents: idents.finish(),
        timestamps,
        labels,
        families: families.map(|mut f| f.finish()),
        rows,
    })
}

/// Reads one annotation file: `instance_id`, `label` (0 or 1), optional `family`.
pub(crate) fn read_annotations(
    source: &CsvSource,
    name: &str,
    idents: &Idents,
) -> Result<AnnotationSet, IngestError> {
    let mut table = source.table()?;
    let required = |column: &str| {
        table.column(column).ok_or_else(|| {
            let expected = format!("a column `{column}` in the header");
            source.invalid(Some(1), Some(column), &expected, None)
        })
    };
    let id_index = required("instance_id")?;
    let label_index = required("label")?;
    let family_index = table.column("family");
    let mut instance_ids = Vec::new();
    let mut labels = Vec::new();
    let mut families = StringBuilder::new();
    let mut seen: HashMap<i64, u64> = HashMap::new();
    while let Some(line) = table.next_record()? {
        let id = parse_i64(&table.record[id_index])
            .ok_or_else(|| table.bad_field(line, id_index, "an integer instance id"))?;
        if !idents.rows.contains_key(&id) {
            return Err(table.bad_field(line, id_index, "an instance id of idents.csv"));
        }
        if let Some(first) = seen.insert(id, line) {
            let expected = format!("one annotation per instance (already on line {first})");
            return Err(table.bad_field(line, id_index, &expected));
        }
        let label = match table.record[label_index].trim_ascii() {
            [b'0'] => 0,
            [b'1'] => 1,
            _ => return Err(table.bad_field(line, label_index, "0 (benign) or 1 (malicious)")),
        };
        instance_ids.push(id);
        labels.push(label);
        match family_index {
            Some(index) => match text(&table, line, index)? {
                "" => families.append_null(),
                family => families.append_value(family),
            },
            None => families.append_null(),
        }
    }
    Ok(AnnotationSet {
        name: name.to_string(),
        instance_ids,
        labels,
        families: families.finish(),
    })
}

/// Returns field `index` of the current record as UTF-8 text.
fn text<'t>(
    table: &'t super::csv_input::Table<'_>,
    line: u64,
    index: usize,
) -> Result<&'t str, IngestError> {
    std::str::from_utf8(&table.record[index])
        .map_err(|_| table.bad_field(line, index, "UTF-8 text"))
}
