//! DBSCAN (Ester et al., KDD 1996): density-based clusters of the rows, as scikit-learn's
//! `DBSCAN(eps, min_samples, metric="euclidean")`.
//!
//! The algorithm:
//! - the **neighbourhood** of a row is every row (itself included) at a Euclidean distance of
//!   at most `eps`; a row is **core** when its neighbourhood holds at least `min_samples` rows;
//! - clusters are numbered from 0 in the order of their first core row (rows in order): from
//!   that row, a depth-first expansion labels every unlabelled row of the neighbourhood of
//!   each core row reached, so a cluster is the core rows density-connected to it and their
//!   neighbours; a border row reachable from two clusters stays in the first;
//! - the other rows are **noise** (`None`).
//!
//! Distances are screened by `|a|^2 + |b|^2 - 2 a.b` over chunks of rows (one matrix product
//! each) and the pairs near `eps` checked exactly, so no neighbourhood is stored: the core test
//! is one pass over all pairs, and each core row's neighbourhood is recomputed when it is
//! expanded (each core row is expanded once), in O(n^2 d) time and O(n) memory.

use ndarray::{ArrayView1, ArrayView2, Axis};

/// Rows screened at once in the core pass.
const CHUNK_ROWS: usize = 256;

/// Parameters of DBSCAN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbscanParams {
    /// Neighbourhood radius.
    pub eps: f64,
    /// Rows in a neighbourhood (the row itself included) that make a row core.
    pub min_samples: usize,
}

impl Default for DbscanParams {
    /// scikit-learn's defaults: eps 0.5, min_samples 5.
    fn default() -> Self {
        DbscanParams {
            eps: 0.5,
            min_samples: 5,
        }
    }
}

fn sq_distance(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}

struct Screen<'a> {
    x: ArrayView2<'a, f64>,
    norms: Vec<f64>,
    eps2: f64,
}

impl Screen<'_> {
    /// Whether rows `i` and `j` are neighbours, from their dot product `dot`.
    fn near(&self, i: usize, j: usize, dot: f64) -> bool {
        let approx = self.norms[i] + self.norms[j] - 2.0 * dot;
        // The expansion loses at most a few ulps of the norms: check the close calls exactly.
        let slack = 1e-9 * (self.norms[i] + self.norms[j]) + 1e-12;
        if approx > self.eps2 + slack {
            false
        } else if approx < self.eps2 - slack {
            true
        } else {
            sq_distance(self.x.row(i), self.x.row(j)) <= self.eps2
        }
    }
}

/// The cluster of every row of `x` (`None` for noise), numbered from 0.
pub fn dbscan(x: ArrayView2<f64>, params: &DbscanParams) -> Vec<Option<u32>> {
    let n = x.nrows();
    let screen = Screen {
        x,
        norms: x.rows().into_iter().map(|r| r.dot(&r)).collect(),
        eps2: params.eps * params.eps,
    };
    let mut core = vec![false; n];
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK_ROWS).min(n);
        let dots = x.slice_axis(Axis(0), (start..end).into()).dot(&x.t());
        for (r, row) in dots.rows().into_iter().enumerate() {
            let i = start + r;
            let count = row
                .iter()
                .enumerate()
                .filter(|&(j, &dot)| screen.near(i, j, dot))
                .count();
            core[i] = count >= params.min_samples;
        }
        start = end;
    }
    let mut labels: Vec<Option<u32>> = vec![None; n];
    let mut next = 0u32;
    let mut stack = Vec::new();
    for first in 0..n {
        if labels[first].is_some() || !core[first] {
            continue;
        }
        labels[first] = Some(next);
        stack.push(first);
        while let Some(i) = stack.pop() {
            // Only core rows are pushed: expand the neighbourhood of each.
            let dots = x.dot(&x.row(i));
            for (j, &dot) in dots.iter().enumerate() {
                if labels[j].is_none() && screen.near(i, j, dot) {
                    labels[j] = Some(next);
                    if core[j] {
                        stack.push(j);
                    }
                }
            }
        }
        next += 1;
    }
    labels
}
