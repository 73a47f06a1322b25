//! Dense rows, dot products and the RBF kernel's columns (computed on demand, kept in a cache
//! of bounded size), shared by the two SVMs.

use std::collections::VecDeque;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis};

use super::smo::QMatrix;

/// A row-major copy of n rows of d features.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    pub n: usize,
    pub d: usize,
    pub values: Vec<f64>,
}

impl Rows {
    /// Copies `x`.
    pub fn new(x: ArrayView2<f64>) -> Rows {
        let (n, d) = x.dim();
        let mut values = Vec::with_capacity(n * d);
        for row in x.axis_iter(Axis(0)) {
            values.extend(row.iter());
        }
        Rows { n, d, values }
    }

    /// Copies the rows of `x` at `index`, in that order.
    pub fn select(x: &Rows, index: &[usize]) -> Rows {
        let mut values = Vec::with_capacity(index.len() * x.d);
        for &i in index {
            values.extend_from_slice(x.row(i));
        }
        Rows {
            n: index.len(),
            d: x.d,
            values,
        }
    }

    #[inline]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.d..(i + 1) * self.d]
    }

    /// `out[i] = xᵢ · v` for every row.
    pub fn times(&self, v: &[f64], out: &mut [f64]) {
        for (o, row) in out.iter_mut().zip(self.values.chunks_exact(self.d)) {
            *o = dot(row, v);
        }
    }
}

/// a · b, with four partial sums (vectorisable).
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// The RBF kernel K(a, b) = exp(−γ‖a − b‖²) of a set of rows, by columns, with a cache of
/// at most `max_columns` columns (the oldest computed is dropped first).
pub(crate) struct RbfColumns<'a> {
    rows: &'a Rows,
    gamma: f64,
    sq_norms: Vec<f64>,
    cache: Vec<Option<Box<[f64]>>>,
    order: VecDeque<usize>,
    max_columns: usize,
    /// Columns computed (misses), for the logs.
    pub computed: usize,
}

/// Columns computed together by one matrix product when the whole kernel fits the cache.
const PRECOMPUTE_BLOCK: usize = 256;

impl<'a> RbfColumns<'a> {
    /// A cache of at most `cache_bytes` of columns (at least two columns). When every column
    /// fits, they are all computed at once, by blocks of [`PRECOMPUTE_BLOCK`] columns, from one
    /// matrix product each (the SMO solver reads nearly every column anyway).
    pub fn new(rows: &'a Rows, gamma: f64, cache_bytes: usize) -> Self {
        let sq_norms = (0..rows.n).map(|i| dot(rows.row(i), rows.row(i))).collect();
        let per_column = rows.n.max(1) * std::mem::size_of::<f64>();
        let mut columns = RbfColumns {
            rows,
            gamma,
            sq_norms,
            cache: vec![None; rows.n],
            order: VecDeque::new(),
            max_columns: (cache_bytes / per_column).max(2),
            computed: 0,
        };
        if rows.n <= columns.max_columns {
            columns.precompute();
        }
        columns
    }

    /// Fills the cache with every column: K = exp(−γ (‖a‖² + ‖b‖² − 2 a·b)), the products by
    /// blocks of columns.
    fn precompute(&mut self) {
        let (n, d) = (self.rows.n, self.rows.d);
        let x = ArrayView2::from_shape((n, d), &self.rows.values).expect("row-major rows");
        let mut products = Array2::<f64>::zeros((PRECOMPUTE_BLOCK.min(n), n));
        for start in (0..n).step_by(PRECOMPUTE_BLOCK) {
            let end = (start + PRECOMPUTE_BLOCK).min(n);
            let block = x.slice_axis(Axis(0), (start..end).into());
            let mut out = products.slice_axis_mut(Axis(0), (0..end - start).into());
            general_mat_mul(1.0, &block, &x.t(), 0.0, &mut out);
            for (offset, row) in out.outer_iter().enumerate() {
                let i = start + offset;
                let ni = self.sq_norms[i];
                let col: Box<[f64]> = row
                    .iter()
                    .zip(&self.sq_norms)
                    .map(|(&p, &nt)| (-self.gamma * (ni + nt - 2.0 * p).max(0.0)).exp())
                    .collect();
                self.cache[i] = Some(col);
                self.order.push_back(i);
            }
        }
        self.computed = n;
    }
}

impl QMatrix for RbfColumns<'_> {
    fn column(&mut self, i: usize) -> &[f64] {
        if self.cache[i].is_none() {
            if self.order.len() >= self.max_columns {
                if let Some(old) = self.order.pop_front() {
                    self.cache[old] = None;
                }
            }
            let xi = self.rows.row(i);
            let ni = self.sq_norms[i];
            let col: Box<[f64]> = (0..self.rows.n)
                .map(|t| {
                    let d2 = (ni + self.sq_norms[t] - 2.0 * dot(xi, self.rows.row(t))).max(0.0);
                    (-self.gamma * d2).exp()
                })
                .collect();
            self.cache[i] = Some(col);
            self.order.push_back(i);
            self.computed += 1;
        }
        self.cache[i].as_deref().expect("column just cached")
    }
}
