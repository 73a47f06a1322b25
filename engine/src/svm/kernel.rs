//! Dense rows, dot products and the RBF kernel's columns (computed on demand, kept in a cache
//! of bounded size), shared by the two SVMs.

use std::collections::VecDeque;

use ndarray::{ArrayView2, Axis};

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

impl<'a> RbfColumns<'a> {
    /// A cache of at most `cache_bytes` of columns (at least two columns).
    pub fn new(rows: &'a Rows, gamma: f64, cache_bytes: usize) -> Self {
        let sq_norms = (0..rows.n).map(|i| dot(rows.row(i), rows.row(i))).collect();
        let per_column = rows.n.max(1) * std::mem::size_of::<f64>();
        RbfColumns {
            rows,
            gamma,
            sq_norms,
            cache: vec![None; rows.n],
            order: VecDeque::new(),
            max_columns: (cache_bytes / per_column).max(2),
            computed: 0,
        }
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
