//! The dense linear algebra of the minimum covariance determinant: moments of a subset of rows,
//! log-determinants, the symmetric eigendecomposition and the pseudo-inverse built on it
//! (scipy's `pinvh`), and Mahalanobis distances through that pseudo-inverse.

use ndarray::{linalg::general_mat_mul, Array1, Array2, ArrayView2, Axis};

/// Mean and empirical covariance (divided by the number of rows, as scikit-learn's
/// `empirical_covariance`) of the rows `rows` of `x`.
pub fn moments(x: ArrayView2<f64>, rows: &[usize]) -> (Array1<f64>, Array2<f64>) {
    let mut centred = x.select(Axis(0), rows);
    let mean = centred.mean_axis(Axis(0)).expect("at least one row");
    centred -= &mean;
    let mut cov = Array2::zeros((x.ncols(), x.ncols()));
    general_mat_mul(
        1.0 / rows.len() as f64,
        &centred.t(),
        &centred,
        0.0,
        &mut cov,
    );
    (mean, cov)
}

/// log det(a) of a square matrix, −∞ unless the determinant is positive (numpy's
/// `fast_logdet`: the sign and log-magnitude of an LU factorisation with partial pivoting).
pub fn log_det(a: &Array2<f64>) -> f64 {
    let n = a.nrows();
    let mut m: Vec<f64> = a.iter().copied().collect();
    let (mut sign, mut log) = (1.0f64, 0.0);
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| m[i * n + col].abs().total_cmp(&m[j * n + col].abs()))
            .expect("rows left");
        let p = m[pivot * n + col];
        if p == 0.0 || !p.is_finite() {
            return f64::NEG_INFINITY;
        }
        if pivot != col {
            for j in 0..n {
                m.swap(pivot * n + j, col * n + j);
            }
            sign = -sign;
        }
        sign *= p.signum();
        log += p.abs().ln();
        for i in col + 1..n {
            let factor = m[i * n + col] / p;
            if factor != 0.0 {
                for j in col + 1..n {
                    m[i * n + j] -= factor * m[col * n + j];
                }
            }
        }
    }
    if sign > 0.0 {
        log
    } else {
        f64::NEG_INFINITY
    }
}

/// Rows per block of [`PseudoInverse::mahalanobis`].
const MAHALANOBIS_BLOCK: usize = 1024;

/// The pseudo-inverse of a symmetric matrix as its retained eigenpairs: precision =
/// Σₖ vₖ vₖᵀ / λₖ over the eigenvalues with |λₖ| above `d × ε × max|λ|` (scipy's `pinvh`).
#[derive(Debug, Clone, PartialEq)]
pub struct PseudoInverse {
    /// Retained eigenvectors, one per row (k × d).
    pub components: Array2<f64>,
    /// 1 / λₖ for each retained eigenvalue.
    pub inverse_eigenvalues: Vec<f64>,
}

impl PseudoInverse {
    /// The pseudo-inverse of the symmetric `a`.
    pub fn of(a: &Array2<f64>) -> PseudoInverse {
        let n = a.nrows();
        let (values, vectors) = symmetric_eigen(a);
        let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let cutoff = n as f64 * f64::EPSILON * largest;
        let kept: Vec<usize> = (0..n).filter(|&k| values[k].abs() > cutoff).collect();
        let components = Array2::from_shape_fn((kept.len(), n), |(r, j)| vectors[j * n + kept[r]]);
        PseudoInverse {
            components,
            inverse_eigenvalues: kept.iter().map(|&k| 1.0 / values[k]).collect(),
        }
    }

    /// (x − location)ᵀ precision (x − location) of each row of `x`, by blocks of
    /// [`MAHALANOBIS_BLOCK`] rows (centred, then projected by one matrix product each).
    pub fn mahalanobis(&self, x: ArrayView2<f64>, location: &Array1<f64>) -> Vec<f64> {
        let mut out = Vec::with_capacity(x.nrows());
        let rows = MAHALANOBIS_BLOCK.min(x.nrows());
        let mut centred = Array2::<f64>::zeros((rows, x.ncols()));
        let mut projected = Array2::<f64>::zeros((rows, self.components.nrows()));
        for block in x.axis_chunks_iter(Axis(0), MAHALANOBIS_BLOCK) {
            let b = block.nrows();
            let mut c = centred.slice_axis_mut(Axis(0), (0..b).into());
            c.zip_mut_with(&block, |c, &v| *c = v);
            c -= location;
            let mut p = projected.slice_axis_mut(Axis(0), (0..b).into());
            general_mat_mul(1.0, &c, &self.components.t(), 0.0, &mut p);
            out.extend(p.outer_iter().map(|z| {
                z.iter()
                    .zip(&self.inverse_eigenvalues)
                    .map(|(v, w)| v * v * w)
                    .sum::<f64>()
            }));
        }
        out
    }
}

/// Eigenvalues and eigenvectors (row-major n × n, eigenvector k in column k) of the symmetric
/// `a`: Householder tridiagonalisation then the implicit QL method (EISPACK's tred2 and tql2).
pub fn symmetric_eigen(a: &Array2<f64>) -> (Vec<f64>, Vec<f64>) {
    let n = a.nrows();
    let mut v: Vec<f64> = a.iter().copied().collect();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    if n == 0 {
        return (d, v);
    }
    tridiagonalise(n, &mut v, &mut d, &mut e);
    // The QL rotations combine two columns of the eigenvector matrix: on its transpose they
    // combine two contiguous rows (the same operations, in the same order).
    let mut vt = transpose(n, &v);
    diagonalise(n, &mut vt, &mut d, &mut e);
    (d, transpose(n, &vt))
}

/// The transpose of a row-major n × n matrix.
fn transpose(n: usize, m: &[f64]) -> Vec<f64> {
    let mut t = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            t[j * n + i] = m[i * n + j];
        }
    }
    t
}

fn tridiagonalise(n: usize, v: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    let at = |i: usize, j: usize| i * n + j;
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            for dk in &mut d[..i] {
                *dk /= scale;
                h += *dk * *dk;
            }
            let f = d[i - 1];
            let g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].fill(0.0);
            for j in 0..i {
                let f = d[j];
                v[at(j, i)] = f;
                let mut g = e[j] + v[at(j, j)] * f;
                for k in j + 1..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            let mut f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                let (f, g) = (d[j], e[j]);
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    for i in 0..n - 1 {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[at(k, i + 1)] * v[at(k, j)];
                }
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// tql2 on the tridiagonal (d, e), accumulating the rotations into `vt`, the transposed
/// eigenvector matrix (eigenvector k in row k).
fn diagonalise(n: usize, vt: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let (mut f, mut tst1) = (0.0f64, 0.0f64);
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        if m > l {
            // At most 30 QL sweeps per eigenvalue (EISPACK's limit); NaNs end it too.
            for _ in 0..30 {
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in &mut d[l + 2..n] {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    let (low, high) = vt.split_at_mut((i + 1) * n);
                    let (column_i, column_next) = (&mut low[i * n..], &mut high[..n]);
                    for (a, b) in column_i.iter_mut().zip(column_next.iter_mut()) {
                        let h = *b;
                        *b = s * *a + c * h;
                        *a = c * *a - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs().is_nan() || e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn eigendecomposition_reconstructs_the_matrix() {
        let a = array![
            [4.0, 1.0, 2.0, 0.5],
            [1.0, 3.0, 0.0, 1.0],
            [2.0, 0.0, 5.0, 1.5],
            [0.5, 1.0, 1.5, 2.0]
        ];
        let (values, vectors) = symmetric_eigen(&a);
        let n = 4;
        for i in 0..n {
            for j in 0..n {
                let r: f64 = (0..n)
                    .map(|k| vectors[i * n + k] * values[k] * vectors[j * n + k])
                    .sum();
                assert!((r - a[[i, j]]).abs() < 1e-12, "{i} {j}");
            }
        }
        let det: f64 = values.iter().product();
        assert!((log_det(&a) - det.ln()).abs() < 1e-12);
    }

    #[test]
    fn pseudo_inverse_drops_null_directions() {
        // Rank 1: [1, 1] direction with eigenvalue 2.
        let a = array![[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]];
        assert_eq!(log_det(&a), f64::NEG_INFINITY);
        let p = PseudoInverse::of(&a);
        assert_eq!(p.inverse_eigenvalues.len(), 1);
        assert!((p.inverse_eigenvalues[0] - 0.5).abs() < 1e-12);
        let d = p.mahalanobis(
            array![[1.0, 1.0, 7.0], [1.0, -1.0, 0.0]].view(),
            &Array1::zeros(3),
        );
        // pinv(a) = a / 4: [1, 1] gives 4 / 4 = 1; [1, -1] is in the null space.
        assert!((d[0] - 1.0).abs() < 1e-12 && d[1].abs() < 1e-12, "{d:?}");
    }
}
