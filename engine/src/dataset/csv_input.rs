//! Reading SecuML CSV inputs: whole-file load (plain or `.csv.gz`), header, records, field parsers.

use std::io::Read;
use std::path::{Path, PathBuf};

use csv::ByteRecord;

use super::error::IngestError;
use super::manifest::{sha256_hex, SourceMeta};

/// One input CSV, loaded in memory once: hashed as stored, then decompressed if `.gz`.
pub(crate) struct CsvSource {
    /// The path, used in error messages.
    pub path: PathBuf,
    /// The stored file, for the manifest.
    pub meta: SourceMeta,
    /// The CSV text (decompressed), BOM included if there was one.
    data: Vec<u8>,
}

/// A CSV being read record by record, with its header.
pub(crate) struct Table<'a> {
    /// The source being read.
    pub source: &'a CsvSource,
    /// The header fields.
    pub header: Vec<String>,
    /// The record last read by [`Table::next_record`].
    pub record: ByteRecord,
    reader: csv::Reader<&'a [u8]>,
}

impl CsvSource {
    /// Loads `path`; `rel` is its path relative to the input dataset folder.
    pub fn load(path: &Path, rel: String) -> Result<CsvSource, IngestError> {
        let read_error = |source| IngestError::Read {
            file: path.to_path_buf(),
            source,
        };
        let stored = std::fs::read(path).map_err(read_error)?;
        let meta = SourceMeta {
            path: rel,
            bytes: stored.len() as u64,
            sha256: sha256_hex(&stored),
        };
        let data = if is_gzip(path) {
            let mut text = Vec::with_capacity(stored.len() * 4);
            flate2::read::MultiGzDecoder::new(&stored[..])
                .read_to_end(&mut text)
                .map_err(read_error)?;
            text
        } else {
            stored
        };
        Ok(CsvSource {
            path: path.to_path_buf(),
            meta,
            data,
        })
    }

    /// Returns the CSV text without a leading UTF-8 byte order mark.
    fn text(&self) -> &[u8] {
        self.data
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(&self.data)
    }

    /// Opens the CSV and reads its header; an empty file is an error.
    pub fn table(&self) -> Result<Table<'_>, IngestError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(self.text());
        let mut record = ByteRecord::new();
        let has_header = reader
            .read_byte_record(&mut record)
            .map_err(|e| self.invalid(Some(1), None, "readable CSV", Some(&e.to_string())))?;
        if !has_header {
            return Err(self.invalid(Some(1), None, "a header line", Some("an empty file")));
        }
        let line = record.position().map_or(1, |p| p.line());
        let mut header = Vec::with_capacity(record.len());
        for field in record.iter() {
            let name = std::str::from_utf8(field)
                .map_err(|_| self.invalid(Some(line), None, "a UTF-8 header", None))?;
            if header.iter().any(|h: &String| h == name) {
                return Err(self.invalid(
                    Some(line),
                    Some(name),
                    "distinct column names",
                    Some("a duplicated column"),
                ));
            }
            header.push(name.to_string());
        }
        Ok(Table {
            source: self,
            header,
            record,
            reader,
        })
    }

    /// Builds an [`IngestError::InvalidInput`] about this file.
    pub fn invalid(
        &self,
        line: Option<u64>,
        column: Option<&str>,
        expected: &str,
        found: Option<&str>,
    ) -> IngestError {
        IngestError::InvalidInput {
            file: self.path.clone(),
            line,
            column: column.map(str::to_string),
            expected: expected.to_string(),
            found: found.map(str::to_string),
        }
    }
}

impl Table<'_> {
    /// Returns the index of a header column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Reads the next record into `self.record`, checks its field count, returns its line.
    pub fn next_record(&mut self) -> Result<Option<u64>, IngestError> {
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|e| {
                let line = e.position().map(|p| p.line());
                self.source
                    .invalid(line, None, "readable CSV", Some(&e.to_string()))
            })?;
        if !more {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        let (fields, columns) = (self.record.len(), self.header.len());
        if fields < columns {
            let expected = format!("{columns} fields as in the header, found {fields}");
            return Err(self.source.invalid(
                Some(line),
                Some(&self.header[fields]),
                &expected,
                None,
            ));
        }
        if fields > columns {
            let expected = format!(
                "{columns} fields as in the header, found {fields} (extra fields after column `{}`)",
                self.header[columns - 1]
            );
            return Err(self.source.invalid(Some(line), None, &expected, None));
        }
        Ok(Some(line))
    }

    /// Builds an error about field `index` of the current record.
    pub fn bad_field(&self, line: u64, index: usize, expected: &str) -> IngestError {
        let found = shown(&self.record[index]);
        self.source.invalid(
            Some(line),
            Some(&self.header[index]),
            expected,
            Some(&found),
        )
    }

    /// Builds the error for a file with a header and no data rows.
    pub fn no_rows(&self) -> IngestError {
        self.source.invalid(
            Some(2),
            None,
            "at least one data row after the header",
            Some("none"),
        )
    }
}

/// Tells whether a path names a gzip file (`*.gz`).
pub(crate) fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// Returns the name without `.csv` or `.csv.gz`, if it has one of them.
pub(crate) fn csv_stem(file_name: &str) -> Option<&str> {
    file_name
        .strip_suffix(".csv.gz")
        .or_else(|| file_name.strip_suffix(".csv"))
}

/// Shows a field in an error: lossy UTF-8, at most 40 characters.
pub(crate) fn shown(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(40).collect();
        format!("{cut}...")
    } else {
        text.into_owned()
    }
}

/// Parses a decimal integer, allowing surrounding ASCII spaces.
pub(crate) fn parse_i64(field: &[u8]) -> Option<i64> {
    std::str::from_utf8(field.trim_ascii()).ok()?.parse().ok()
}

/// Parses a number; the fast path is exact for plain decimals of at most 15 digits.
pub(crate) fn parse_f64(field: &[u8]) -> Option<f64> {
    // Single digits are the most common values of security features (counts, flags).
    if let [digit @ b'0'..=b'9'] = field {
        return Some(f64::from(digit - b'0'));
    }
    let field = field.trim_ascii();
    fast_decimal(field).or_else(|| std::str::from_utf8(field).ok()?.parse().ok())
}

/// Parses `[-+]digits[.digits]` with at most 15 significant digits, else returns `None`.
///
/// The mantissa and the power of ten are both exact doubles, so one IEEE division gives
/// the correctly rounded value, identical to the full parser's.
fn fast_decimal(field: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match field.first()? {
        b'-' => (true, &field[1..]),
        b'+' => (false, &field[1..]),
        _ => (false, field),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut fraction: Option<usize> = None;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                count += 1;
            }
            b'.' if fraction.is_none() => fraction = Some(count),
            _ => return None,
        }
    }
    if count == 0 || count > 15 {
        return None;
    }
    let scale = count - fraction.unwrap_or(count);
    let value = mantissa as f64 / POW10[scale];
    Some(if negative { -value } else { value })
}

/// Parses `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS` into seconds since the Unix epoch (UTC).
pub fn parse_timestamp(field: &[u8]) -> Option<i64> {
    let f = field.trim_ascii();
    if f.len() != 19 || f[4] != b'-' || f[7] != b'-' || f[13] != b':' || f[16] != b':' {
        return None;
    }
    if f[10] != b' ' && f[10] != b'T' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        f[range].iter().try_fold(0i64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
        })
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Counts the days from 1970-01-01 to a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_decimal_matches_the_standard_parser() {
        for text in [
            "0",
            "0.00",
            "1.00",
            "0.31",
            "-2.5",
            "255",
            "123456789012345",
            "9.431303287553279",
            "1e5",
            ".5",
            "5.",
        ] {
            let expected: f64 = text.parse().unwrap();
            assert_eq!(parse_f64(text.as_bytes()), Some(expected), "{text}");
        }
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(parse_f64(b"-"), None);
        assert_eq!(parse_f64(b"1.2.3"), None);
    }

    #[test]
    fn timestamps_are_seconds_since_the_epoch() {
        assert_eq!(parse_timestamp(b"1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_timestamp(b"2009-09-22T01:41:11"), Some(1_253_583_671));
        assert_eq!(parse_timestamp(b"2000-02-29 12:00:00"), Some(951_825_600));
        assert_eq!(parse_timestamp(b"1969-12-31 23:59:59"), Some(-1));
        assert_eq!(parse_timestamp(b"2001-02-29 00:00:00"), None);
        assert_eq!(parse_timestamp(b"2001-13-01 00:00:00"), None);
        assert_eq!(parse_timestamp(b"2001-01-01"), None);
    }
}
