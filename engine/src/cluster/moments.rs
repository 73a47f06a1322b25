//! Column moments of blocks of rows, mergeable in block order.

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::preprocess::StandardScaler;

/// Count, mean and sum of squared deviations from the mean of every column of some rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMoments {
    /// Rows seen.
    pub count: u64,
    /// Mean of each column.
    pub mean: Vec<f64>,
    /// Sum of squared deviations from `mean` of each column.
    pub m2: Vec<f64>,
}

impl ColumnMoments {
    /// No rows of `d` columns.
    pub fn empty(d: usize) -> ColumnMoments {
        ColumnMoments {
            count: 0,
            mean: vec![0.0; d],
            m2: vec![0.0; d],
        }
    }

    /// The moments of the rows of `x` (two passes: mean, then compensated squared deviations).
    pub fn of_block(x: ArrayView2<f64>) -> ColumnMoments {
        let (n, d) = x.dim();
        if n == 0 {
            return ColumnMoments::empty(d);
        }
        let nf = n as f64;
        let mut mean = vec![0.0; d];
        for row in x.rows() {
            for (m, v) in mean.iter_mut().zip(row.iter()) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= nf);
        let mut sq = vec![0.0; d];
        let mut dev = vec![0.0; d];
        for row in x.rows() {
            for j in 0..d {
                let delta = row[j] - mean[j];
                sq[j] += delta * delta;
                dev[j] += delta;
            }
        }
        let m2 = sq
            .iter()
            .zip(&dev)
            .map(|(s, e)| (s - e * e / nf).max(0.0))
            .collect();
        ColumnMoments {
            count: n as u64,
            mean,
            m2,
        }
    }

    /// Adds the rows of `other` (Chan et al.'s pairwise update).
    pub fn merge(&mut self, other: &ColumnMoments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        for j in 0..self.mean.len() {
            let delta = other.mean[j] - self.mean[j];
            self.mean[j] += delta * nb / n;
            self.m2[j] += other.m2[j] + delta * delta * na * nb / n;
        }
        self.count += other.count;
    }

    /// Population variance of each column.
    pub fn variance(&self) -> Vec<f64> {
        let n = self.count.max(1) as f64;
        self.m2.iter().map(|m| m / n).collect()
    }

    /// The standardisation of these rows: mean and population standard deviation, scale 1 for
    /// a column constant up to the rounding error of its mean (as [`StandardScaler::fit`]).
    pub fn scaler(&self) -> StandardScaler {
        let nf = self.count.max(1) as f64;
        let scale = self
            .variance()
            .iter()
            .zip(&self.mean)
            .map(|(&variance, &m)| {
                let noise = nf * f64::EPSILON * variance + (nf * m * f64::EPSILON).powi(2);
                if variance <= noise || !variance.is_finite() {
                    1.0
                } else {
                    variance.sqrt()
                }
            })
            .collect::<Vec<_>>();
        StandardScaler::from_parts(Array1::from(self.mean.clone()), Array1::from(scale))
    }

    /// Mean over the columns of the variance the rows have once standardised by `scaler`.
    pub fn mean_standardised_variance(&self, scaler: &StandardScaler) -> f64 {
        let v = self.variance();
        if v.is_empty() {
            return 0.0;
        }
        v.iter()
            .zip(scaler.scale.iter())
            .map(|(v, s)| v / (s * s))
            .sum::<f64>()
            / v.len() as f64
    }
}
