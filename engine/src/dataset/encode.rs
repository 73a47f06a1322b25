//! One-hot encoding of a [`Frame`] into a dense row-major matrix, with a vocabulary fitted once.

use std::collections::HashMap;

use ndarray::{Array2, ArrayViewMut2};

use super::error::DatasetError;
use super::frame::{Frame, FrameColumn};
use super::manifest::{FeatureKind, Manifest};

/// The encoded columns: `(feature id, None)` for a numeric or binary feature, `(feature id,
/// Some(category))` for one category of a categorical feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoder {
    columns: Vec<(String, Option<String>)>,
}

/// How one output column is computed.
enum Source<'f> {
    Numeric(&'f [f64]),
    Categorical(&'f [String], HashMap<&'f str, usize>),
}

impl Encoder {
    /// Fits the vocabulary of a training manifest: non-categorical features in file order, then
    /// each categorical feature in file order with one column per category in byte order.
    pub fn fit(manifest: &Manifest) -> Encoder {
        let mut columns: Vec<(String, Option<String>)> = manifest
            .features
            .iter()
            .filter(|f| f.kind != FeatureKind::Categorical)
            .map(|f| (f.id.clone(), None))
            .collect();
        for feature in manifest
            .features
            .iter()
            .filter(|f| f.kind == FeatureKind::Categorical)
        {
            let mut categories = feature.categories.clone();
            categories.sort();
            categories.dedup();
            columns.extend(
                categories
                    .into_iter()
                    .map(|c| (feature.id.clone(), Some(c))),
            );
        }
        Encoder { columns }
    }

    /// Rebuilds an encoder from its [`Encoder::columns`], e.g. as saved with a model.
    pub fn from_columns(columns: Vec<(String, Option<String>)>) -> Encoder {
        Encoder { columns }
    }

    /// Returns the encoded columns, in output order.
    pub fn columns(&self) -> &[(String, Option<String>)] {
        &self.columns
    }

    /// Returns the output column names: `id`, or `id=category` for a one-hot column.
    pub fn names(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|(id, category)| match category {
                Some(category) => format!("{id}={category}"),
                None => id.clone(),
            })
            .collect()
    }

    /// Encodes the frame's rows (all of them, or `rows` in that order) into a row-major matrix.
    ///
    /// A category not seen at fit time encodes as all zeros; a feature of the encoder that the
    /// manifest or the frame lacks, or that has another kind there, is an error.
    pub fn transform(
        &self,
        manifest: &Manifest,
        frame: &Frame,
        rows: Option<&[usize]>,
    ) -> Result<Array2<f64>, DatasetError> {
        let sources = self.plan(manifest, frame)?;
        let all_rows: Vec<usize>;
        let rows = match rows {
            Some(rows) => rows,
            None => {
                all_rows = (0..frame.rows()).collect();
                &all_rows
            }
        };
        if let Some(&bad) = rows.iter().find(|&&r| r >= frame.rows()) {
            return Err(DatasetError::OutOfRange {
                what: "row",
                index: bad,
                len: frame.rows(),
            });
        }
        let mut matrix = Array2::<f64>::zeros((rows.len(), self.columns.len()));
        encode_rows(&sources, rows, matrix.view_mut());
        Ok(matrix)
    }

    /// Encodes every row of the frame into `out` (one row per frame row, the encoder's columns,
    /// all zeros on entry), as [`Encoder::transform`] does: how a dataset is encoded batch by
    /// batch into one matrix, without a frame of all its rows.
    pub(crate) fn transform_into(
        &self,
        manifest: &Manifest,
        frame: &Frame,
        out: ArrayViewMut2<f64>,
    ) -> Result<(), DatasetError> {
        assert_eq!(out.dim(), (frame.rows(), self.columns.len()));
        let sources = self.plan(manifest, frame)?;
        let rows: Vec<usize> = (0..frame.rows()).collect();
        encode_rows(&sources, &rows, out);
        Ok(())
    }

    /// Matches the encoder's columns to the frame's: (output column, source) pairs, where a
    /// categorical source maps each known category to its output column.
    fn plan<'f>(
        &'f self,
        manifest: &Manifest,
        frame: &'f Frame,
    ) -> Result<Vec<(usize, Source<'f>)>, DatasetError> {
        let mut sources: Vec<(usize, Source<'f>)> = Vec::new();
        let mut categorical: HashMap<&str, usize> = HashMap::new();
        for (output, (id, category)) in self.columns.iter().enumerate() {
            let position = manifest.features.iter().position(|f| &f.id == id);
            let column = position.and_then(|p| frame.columns.get(p)).ok_or_else(|| {
                DatasetError::Feature {
                    column: id.clone(),
                    expected: "a feature of the dataset".into(),
                }
            })?;
            match (category, column) {
                (None, FrameColumn::Numeric(values)) => {
                    sources.push((output, Source::Numeric(values)))
                }
                (Some(category), FrameColumn::Categorical(values)) => {
                    let index = *categorical.entry(id.as_str()).or_insert_with(|| {
                        sources.push((output, Source::Categorical(values, HashMap::new())));
                        sources.len() - 1
                    });
                    if let Source::Categorical(_, positions) = &mut sources[index].1 {
                        positions.insert(category.as_str(), output);
                    }
                }
                (None, FrameColumn::Categorical(_)) => {
                    return Err(DatasetError::Feature {
                        column: id.clone(),
                        expected: "a numeric or binary feature, found a categorical one".into(),
                    })
                }
                (Some(_), FrameColumn::Numeric(_)) => {
                    return Err(DatasetError::Feature {
                        column: id.clone(),
                        expected: "a categorical feature, found a numeric one".into(),
                    })
                }
            }
        }
        Ok(sources)
    }
}

/// Writes the encoded `rows` of the sources into the rows of `out` (zeros on entry), in order.
fn encode_rows(sources: &[(usize, Source<'_>)], rows: &[usize], mut out: ArrayViewMut2<f64>) {
    for (mut out, &source_row) in out.rows_mut().into_iter().zip(rows) {
        for (column, source) in sources {
            match source {
                Source::Numeric(values) => out[*column] = values[source_row],
                Source::Categorical(values, positions) => {
                    if let Some(&position) = positions.get(values[source_row].as_str()) {
                        out[position] = 1.0;
                    }
                }
            }
        }
    }
}
