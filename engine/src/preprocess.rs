//! Standardisation of features: `StandardScaler`, as scikit-learn's (population std).

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use serde::{Deserialize, Serialize};

/// Centres each column on its mean and divides it by its population standard deviation
/// (ddof 0); a column whose standard deviation is 0 keeps scale 1, as scikit-learn does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// Mean of each column.
    pub mean: Array1<f64>,
    /// Divisor of each column: its standard deviation, or 1 when that is 0.
    pub scale: Array1<f64>,
}

impl StandardScaler {
    /// Learns the column means and standard deviations of `x`.
    ///
    /// Uses the compensated two-pass algorithm (mean, then squared deviations corrected by
    /// the rounding error of the mean), so large offsets do not cancel the variance. With no
    /// rows, the means are 0 and the scales 1.
    pub fn fit(x: ArrayView2<f64>) -> StandardScaler {
        Self::fit_on(x.ncols(), x.nrows(), || x.rows().into_iter())
    }

    /// Learns the column means and standard deviations of the rows `rows` of `x`, in that
    /// order: the scaler [`StandardScaler::fit`] learns from their copy, bit for bit, without
    /// the copy.
    pub fn fit_rows(x: ArrayView2<f64>, rows: &[usize]) -> StandardScaler {
        Self::fit_on(x.ncols(), rows.len(), || {
            rows.iter().map(move |&r| x.index_axis_move(Axis(0), r))
        })
    }

    /// [`StandardScaler::fit`] over the `n` rows of `d` values that `rows` yields (twice).
    fn fit_on<'a, I>(d: usize, n: usize, rows: impl Fn() -> I) -> StandardScaler
    where
        I: Iterator<Item = ndarray::ArrayView1<'a, f64>>,
    {
        if n == 0 {
            return StandardScaler {
                mean: Array1::zeros(d),
                scale: Array1::ones(d),
            };
        }
        let nf = n as f64;
        // Row after row, as ndarray's `sum_axis(Axis(0))` of a row-major matrix adds them.
        let mut sum = Array1::<f64>::zeros(d);
        for row in rows() {
            sum = sum + row;
        }
        let mean = sum / nf;
        let mut sum_sq = Array1::<f64>::zeros(d);
        let mut sum_dev = Array1::<f64>::zeros(d);
        for row in rows() {
            Zip::from(&mut sum_sq)
                .and(&mut sum_dev)
                .and(&row)
                .and(&mean)
                .for_each(|sq, dev, &v, &m| {
                    let delta = v - m;
                    *sq += delta * delta;
                    *dev += delta;
                });
        }
        let scale = Zip::from(&sum_sq)
            .and(&sum_dev)
            .and(&mean)
            .map_collect(|&sq, &dev, &m| {
                let variance = ((sq - dev * dev / nf) / nf).max(0.0);
                // A column constant up to the rounding error of its mean counts as constant.
                let noise = nf * f64::EPSILON * variance + (nf * m * f64::EPSILON).powi(2);
                if variance <= noise || !variance.is_finite() {
                    1.0
                } else {
                    variance.sqrt()
                }
            });
        StandardScaler { mean, scale }
    }

    /// Builds a scaler from known means and scales (e.g. a deserialised model).
    pub fn from_parts(mean: Array1<f64>, scale: Array1<f64>) -> StandardScaler {
        StandardScaler { mean, scale }
    }

    /// Returns the standardised copy of `x`.
    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut out = x.to_owned();
        self.transform_inplace(&mut out);
        out
    }

    /// Standardises `x` in place.
    pub fn transform_inplace(&self, x: &mut Array2<f64>) {
        let inverse = self.inverse();
        for mut row in x.rows_mut() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = Self::standardise(*v, self.mean[j], inverse[j]);
            }
        }
    }

    /// The reciprocal of each column's scale, which [`StandardScaler::standardise`] multiplies by.
    pub fn inverse(&self) -> Vec<f64> {
        self.scale.iter().map(|s| 1.0 / s).collect()
    }

    /// One standardised value: `(v - mean) * inverse`, as every transform computes it.
    #[inline]
    pub fn standardise(v: f64, mean: f64, inverse: f64) -> f64 {
        (v - mean) * inverse
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn standardises_with_population_std_and_keeps_constant_columns() {
        // Column 0: mean 2, deviations -1, 0, 1, population variance 2/3.
        let x = array![[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]];
        let scaler = StandardScaler::fit(x.view());
        assert_abs_diff_eq!(scaler.mean, array![2.0, 5.0], epsilon = 1e-15);
        assert_abs_diff_eq!(
            scaler.scale,
            array![(2.0f64 / 3.0).sqrt(), 1.0],
            epsilon = 1e-15
        );
        let z = scaler.transform(x.view());
        let s = (1.5f64).sqrt();
        assert_abs_diff_eq!(z, array![[-s, 0.0], [0.0, 0.0], [s, 0.0]], epsilon = 1e-12);
    }

    #[test]
    fn large_offsets_do_not_cancel_the_variance() {
        let x = array![[1e9 + 1.0], [1e9 + 2.0], [1e9 + 3.0], [1e9 + 4.0]];
        let scaler = StandardScaler::fit(x.view());
        assert_abs_diff_eq!(scaler.scale[0], 1.25f64.sqrt(), epsilon = 1e-9);
    }

    #[test]
    fn inplace_equals_copy_and_parts_round_trip() {
        let x = array![
            [0.5, -2.0, 7.0],
            [1.5, 4.0, 7.0],
            [-3.0, 0.0, 7.0],
            [2.0, 1.0, 7.0]
        ];
        let scaler = StandardScaler::fit(x.view());
        let mut y = x.clone();
        scaler.transform_inplace(&mut y);
        assert_eq!(y, scaler.transform(x.view()));
        let again = StandardScaler::from_parts(scaler.mean.clone(), scaler.scale.clone());
        assert_eq!(again, scaler);
        assert_abs_diff_eq!(
            y.mean_axis(Axis(0)).unwrap(),
            Array1::zeros(3),
            epsilon = 1e-12
        );
    }

    #[test]
    fn fit_rows_equals_fit_of_the_copy_bit_for_bit() {
        let x = Array2::from_shape_fn((50, 4), |(i, j)| {
            ((i * 7 + j * 13) % 17) as f64 * 0.37 + 1e6 * f64::from(u8::from(j == 3))
        });
        let rows: Vec<usize> = (0..50).filter(|i| i % 3 != 1).rev().collect();
        let copy = x.select(Axis(0), &rows);
        assert_eq!(
            StandardScaler::fit_rows(x.view(), &rows),
            StandardScaler::fit(copy.view())
        );
    }

    #[test]
    fn rounding_noise_of_a_constant_column_is_ignored() {
        let x = Array2::from_elem((7, 1), 0.1);
        assert_eq!(StandardScaler::fit(x.view()).scale[0], 1.0);
    }

    #[test]
    fn no_rows_gives_identity() {
        let scaler = StandardScaler::fit(Array2::<f64>::zeros((0, 2)).view());
        assert_eq!(scaler.scale, array![1.0, 1.0]);
        assert_eq!(scaler.mean, array![0.0, 0.0]);
    }
}
