//! Rows of a matrix, standardised on the fly: what a fit learns from without a copy.
//!
//! A search fold trains on most rows of the dataset and a refit on all of them; copying those
//! rows (and standardising the copy) doubles the features a worker holds. The classes that
//! read their training set once into their own layout (the trees and forests rank-code every
//! column) read a [`Rows`] instead: the selected rows of the dataset's matrix, each value
//! standardised as it is read, exactly as [`StandardScaler::transform_inplace`] would have
//! standardised the copy. The other classes fit on [`Rows::to_matrix`].

use ndarray::{Array2, ArrayView2};

use crate::preprocess::StandardScaler;

/// Rows scored at a time by [`crate::model::FittedModel::scores_rows`], and by a detection: a
/// block is the only copy of the rows scored (1,024 rows of 118 columns: 0.9 MiB).
pub const BLOCK_ROWS: usize = 1024;

/// The rows `rows` of `x` (all of them when `None`), in that order, standardised with
/// `scaler` when there is one.
#[derive(Debug, Clone)]
pub struct Rows<'a> {
    x: ArrayView2<'a, f64>,
    rows: Option<&'a [usize]>,
    scaling: Option<(&'a StandardScaler, Vec<f64>)>,
}

impl<'a> Rows<'a> {
    /// Every row of `x`, as it is.
    pub fn all(x: ArrayView2<'a, f64>) -> Self {
        Rows {
            x,
            rows: None,
            scaling: None,
        }
    }

    /// The rows `rows` of `x` (each below `x.nrows()`), standardised with `scaler` if given.
    pub fn new(
        x: ArrayView2<'a, f64>,
        rows: Option<&'a [usize]>,
        scaler: Option<&'a StandardScaler>,
    ) -> Self {
        Rows {
            x,
            rows,
            scaling: scaler.map(|s| (s, s.inverse())),
        }
    }

    /// Rows selected.
    pub fn len(&self) -> usize {
        self.rows.map_or(self.x.nrows(), <[usize]>::len)
    }

    /// Whether no row is selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Columns.
    pub fn ncols(&self) -> usize {
        self.x.ncols()
    }

    /// Selected row `i`'s value in column `j`, standardised.
    #[inline]
    pub fn value(&self, i: usize, j: usize) -> f64 {
        let v = self.x[[self.rows.map_or(i, |r| r[i]), j]];
        match &self.scaling {
            None => v,
            Some((scaler, inverse)) => StandardScaler::standardise(v, scaler.mean[j], inverse[j]),
        }
    }

    /// Writes selected row `i` (standardised) into `out` (`ncols` values).
    #[inline]
    pub fn row_into(&self, i: usize, out: &mut [f64]) {
        let row = self.x.row(self.rows.map_or(i, |r| r[i]));
        match &self.scaling {
            None => out.iter_mut().zip(row).for_each(|(o, &v)| *o = v),
            Some((scaler, inverse)) => {
                for (j, (o, &v)) in out.iter_mut().zip(row).enumerate() {
                    *o = StandardScaler::standardise(v, scaler.mean[j], inverse[j]);
                }
            }
        }
    }

    /// Selected rows `start..end` as a matrix of their own.
    pub fn block(&self, start: usize, end: usize) -> Array2<f64> {
        let d = self.ncols();
        let mut out = Array2::zeros((end - start, d));
        for (i, mut row) in (start..end).zip(out.rows_mut()) {
            self.row_into(i, row.as_slice_mut().expect("a fresh matrix is contiguous"));
        }
        out
    }

    /// Every selected row as a matrix of its own: the copy the classes without a [`Rows`] fit
    /// train on.
    pub fn to_matrix(&self) -> Array2<f64> {
        self.block(0, self.len())
    }

    /// The matrix itself, when every row of it is selected, as it is: no copy needed.
    pub fn as_matrix(&self) -> Option<ArrayView2<'a, f64>> {
        (self.rows.is_none() && self.scaling.is_none()).then_some(self.x)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{array, Axis};

    use super::*;

    #[test]
    fn selected_and_standardised_rows_equal_the_standardised_copy() {
        let x = array![[1.0, 10.0], [2.0, 30.0], [4.0, 20.0], [8.0, 50.0]];
        let rows = [3, 0, 2];
        let scaler = StandardScaler::fit_rows(x.view(), &rows);
        let mut copy = x.select(Axis(0), &rows);
        scaler.transform_inplace(&mut copy);
        let selected = Rows::new(x.view(), Some(&rows), Some(&scaler));
        assert_eq!(selected.len(), 3);
        assert_eq!(selected.to_matrix(), copy);
        assert_eq!(
            selected.block(1, 3),
            copy.slice_axis(Axis(0), (1..3).into())
        );
        assert_eq!(selected.value(2, 1), copy[[2, 1]]);
        assert_eq!(Rows::all(x.view()).to_matrix(), x);
        assert_eq!(Rows::all(x.view()).as_matrix(), Some(x.view()));
        assert_eq!(selected.as_matrix(), None);
        assert!(Rows::new(x.view(), Some(&[]), None).is_empty());
    }
}
