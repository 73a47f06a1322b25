//! The smooth part of the objective, C Σ log(1 + exp(−yᵢ wᵀxᵢ)), evaluated stably.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// Returns log(1 + exp(−m)) without overflow or loss of precision.
pub(crate) fn log_loss(margin: f64) -> f64 {
    if margin > 0.0 {
        (-margin).exp().ln_1p()
    } else {
        -margin + margin.exp().ln_1p()
    }
}

/// Returns 1 / (1 + exp(−t)) without overflow.
pub(crate) fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// The data term of the objective on a fixed training set.
pub(crate) struct LogLoss<'a> {
    /// Features, n × d.
    pub x: ArrayView2<'a, f64>,
    /// Labels as ±1.
    pub y: Array1<f64>,
    /// Weight of the summed loss.
    pub c: f64,
    /// X minus a per-column offset, stored by sparse rows, when that is mostly zeros.
    sparse: Option<ShiftedSparse>,
}

/// X = S + 1 mᵀ with S stored row by row (compressed sparse rows).
///
/// One-hot and count columns are dense once standardised but take one value on most rows;
/// shifting each column by its majority value (Boyer–Moore vote) makes S sparse, and
/// Xᵀ D X = Sᵀ D S + u mᵀ + m uᵀ + (Σ D) m mᵀ with u = Sᵀ D 1 costs O(Σ nnz(row)²).
struct ShiftedSparse {
    offsets: Vec<f64>,
    row_starts: Vec<usize>,
    /// Column of each stored value (`u32`: a third less memory than `usize` with its value).
    columns: Vec<u32>,
    values: Vec<f64>,
}

/// Rows of X weighted at a time by the dense Hessian (2 MB of f64 at 118 columns).
const HESSIAN_BLOCK_ROWS: usize = 2048;

/// Largest share of nonzeros of S for which the sparse Hessian beats the dense product.
const SPARSE_HESSIAN_MAX_DENSITY: f64 = 0.25;

/// The data term and its derivatives at one point.
pub(crate) struct Evaluation {
    /// C Σ log(1 + exp(−yᵢ zᵢ)).
    pub value: f64,
    /// Its gradient in w: C Xᵀ (y ∘ (σ(y z) − 1)).
    pub gradient: Array1<f64>,
    /// Curvature weights C σ(yᵢzᵢ)(1 − σ(yᵢzᵢ)) of the Hessian C Xᵀ D X.
    pub curvature: Array1<f64>,
}

impl<'a> LogLoss<'a> {
    /// Builds the term from boolean labels (true = +1).
    pub fn new(x: ArrayView2<'a, f64>, labels: &[bool], c: f64) -> Self {
        let y = labels.iter().map(|&l| if l { 1.0 } else { -1.0 }).collect();
        LogLoss {
            sparse: ShiftedSparse::build(x),
            x,
            y,
            c,
        }
    }

    /// Returns z = X w.
    pub fn scores(&self, w: ArrayView1<f64>) -> Array1<f64> {
        self.x.dot(&w)
    }

    /// Returns the value at the scores `z + step · dz`, without allocating.
    pub fn value_along(&self, z: &Array1<f64>, dz: &Array1<f64>, step: f64) -> f64 {
        let sum: f64 = z
            .iter()
            .zip(dz)
            .zip(&self.y)
            .map(|((&z, &dz), &y)| log_loss(y * (z + step * dz)))
            .sum();
        self.c * sum
    }

    /// Evaluates value, gradient and curvature weights at scores `z`.
    pub fn evaluate(&self, z: &Array1<f64>) -> Evaluation {
        let n = z.len();
        let mut residual = Array1::zeros(n);
        let mut curvature = Array1::zeros(n);
        let mut value = 0.0;
        for i in 0..n {
            let margin = self.y[i] * z[i];
            value += log_loss(margin);
            let p = sigmoid(margin);
            let q = sigmoid(-margin);
            residual[i] = self.c * self.y[i] * (p - 1.0);
            curvature[i] = self.c * p * q;
        }
        // Xᵀ r as a sum of contiguous rows (the transposed product would walk columns).
        let mut gradient = Array1::zeros(self.x.ncols());
        for (row, &r) in self.x.rows().into_iter().zip(&residual) {
            if r != 0.0 {
                gradient.scaled_add(r, &row);
            }
        }
        Evaluation {
            value: self.c * value,
            gradient,
            curvature,
        }
    }

    /// Returns the d × d Hessian Xᵀ diag(curvature) X plus `ridge` on the diagonal.
    ///
    /// Rows whose weight is below `1e-10 ×` the largest are left out: they change the Hessian
    /// by less than that relative amount, and the Hessian only shapes the step (the gradient,
    /// which decides optimality, stays exact).
    pub fn hessian(&self, curvature: &Array1<f64>, ridge: f64) -> Array2<f64> {
        let max = curvature.iter().cloned().fold(0.0, f64::max);
        if let Some(sparse) = &self.sparse {
            return sparse.hessian(curvature, 1e-10 * max, ridge);
        }
        let keep: Vec<usize> = (0..curvature.len())
            .filter(|&i| curvature[i] > 1e-10 * max)
            .collect();
        // Σ over blocks of rows of Bᵀ B, B the block's rows scaled by √curvature: one block
        // at a time, never a weighted copy of the whole of X.
        let d = self.x.ncols();
        let mut h = Array2::zeros((d, d));
        let mut scaled = Array2::zeros((HESSIAN_BLOCK_ROWS.min(keep.len()), d));
        for block in keep.chunks(HESSIAN_BLOCK_ROWS) {
            let mut b =
                scaled.slice_axis_mut(ndarray::Axis(0), ndarray::Slice::from(..block.len()));
            for (k, &i) in block.iter().enumerate() {
                let s = curvature[i].sqrt();
                b.row_mut(k)
                    .zip_mut_with(&self.x.row(i), |a, &v| *a = s * v);
            }
            ndarray::linalg::general_mat_mul(1.0, &b.t(), &b, 1.0, &mut h);
        }
        h.diag_mut().mapv_inplace(|v| v + ridge);
        h
    }

    /// Returns the Hessian-vector product Xᵀ diag(curvature) X v (no ridge).
    pub fn hessian_times(&self, curvature: &Array1<f64>, v: ArrayView1<f64>) -> Array1<f64> {
        let xv = self.x.dot(&v) * curvature;
        self.x.t().dot(&xv)
    }

    /// Returns the diagonal of Xᵀ diag(curvature) X.
    pub fn hessian_diagonal(&self, curvature: &Array1<f64>) -> Array1<f64> {
        let mut diagonal = Array1::zeros(self.x.ncols());
        for (row, &c) in self.x.rows().into_iter().zip(curvature) {
            diagonal.zip_mut_with(&row, |a, &v| *a += c * v * v);
        }
        diagonal
    }
}

impl ShiftedSparse {
    /// Shifts each column by its majority value; `None` when S would not be sparse enough.
    fn build(x: ArrayView2<f64>) -> Option<ShiftedSparse> {
        let (n, d) = x.dim();
        if n == 0 || d == 0 || u32::try_from(d).is_err() {
            return None;
        }
        let offsets: Vec<f64> = x
            .columns()
            .into_iter()
            .map(|col| majority_vote(col.iter().copied()))
            .collect();
        let nonzeros = x
            .rows()
            .into_iter()
            .map(|row| row.iter().zip(&offsets).filter(|(&v, &m)| v != m).count())
            .sum::<usize>();
        if nonzeros as f64 > SPARSE_HESSIAN_MAX_DENSITY * (n * d) as f64 {
            return None;
        }
        let mut sparse = ShiftedSparse {
            offsets,
            row_starts: Vec::with_capacity(n + 1),
            columns: Vec::with_capacity(nonzeros),
            values: Vec::with_capacity(nonzeros),
        };
        sparse.row_starts.push(0);
        for row in x.rows() {
            for (j, (&v, &m)) in row.iter().zip(&sparse.offsets).enumerate() {
                if v != m {
                    sparse.columns.push(j as u32);
                    sparse.values.push(v - m);
                }
            }
            sparse.row_starts.push(sparse.columns.len());
        }
        Some(sparse)
    }

    /// Returns Xᵀ diag(curvature) X + ridge I, skipping rows whose weight is below `floor`.
    fn hessian(&self, curvature: &Array1<f64>, floor: f64, ridge: f64) -> Array2<f64> {
        let d = self.offsets.len();
        let mut upper = vec![0.0f64; d * d];
        let mut u = vec![0.0f64; d];
        let mut total = 0.0;
        for (i, &weight) in curvature.iter().enumerate() {
            if weight <= floor {
                continue;
            }
            total += weight;
            let (start, end) = (self.row_starts[i], self.row_starts[i + 1]);
            let (columns, values) = (&self.columns[start..end], &self.values[start..end]);
            for (p, (&a, &va)) in columns.iter().zip(values).enumerate() {
                let a = a as usize;
                let wa = weight * va;
                u[a] += wa;
                let line = &mut upper[a * d..(a + 1) * d];
                for (&b, &vb) in columns[p..].iter().zip(&values[p..]) {
                    line[b as usize] += wa * vb;
                }
            }
        }
        let m = &self.offsets;
        Array2::from_shape_fn((d, d), |(a, b)| {
            let s = if a <= b {
                upper[a * d + b]
            } else {
                upper[b * d + a]
            };
            let diagonal = if a == b { ridge } else { 0.0 };
            s + u[a] * m[b] + m[a] * u[b] + total * m[a] * m[b] + diagonal
        })
    }
}

/// Returns the majority value of `values` if one exists (more than half), else some value.
fn majority_vote(values: impl Iterator<Item = f64>) -> f64 {
    let (mut candidate, mut count) = (0.0, 0usize);
    for v in values {
        if count == 0 {
            candidate = v;
            count = 1;
        } else if v == candidate {
            count += 1;
        } else {
            count -= 1;
        }
    }
    candidate
}
