//! Exact nearest neighbours and squared Euclidean distances by blocked matrix products, shared by
//! the neighbour-based models (`lof`, `propagation`).
//!
//! The squared distances of a block of queries against a block of reference rows come from one
//! matrix product, ‖q‖² − 2 q·t + ‖t‖² (clipped at 0), as scikit-learn's brute-force search
//! computes them; each query keeps its k best candidates in a small sorted buffer (ties go to
//! the lower reference index). The k distances kept are then recomputed directly from the row
//! differences, so that duplicate rows are at distance exactly 0 rather than at rounding noise.

use ndarray::{linalg::general_mat_mul, Array2, ArrayView2, Axis};

/// Queries per block.
const QUERY_BLOCK: usize = 256;
/// Reference rows per block.
const REFERENCE_BLOCK: usize = 2048;

/// The k nearest reference rows of each query, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// Neighbours per query.
    pub k: usize,
    /// Row-major queries × k reference indices.
    pub indices: Vec<usize>,
    /// Row-major queries × k Euclidean distances (not squared), ascending per query.
    pub distances: Vec<f64>,
}

impl Neighbours {
    /// The neighbours of query `i`.
    pub fn of(&self, i: usize) -> (&[usize], &[f64]) {
        let range = i * self.k..(i + 1) * self.k;
        (&self.indices[range.clone()], &self.distances[range])
    }
}

/// Squared Euclidean norm of each row.
pub fn squared_norms(x: ArrayView2<f64>) -> Vec<f64> {
    x.outer_iter().map(|r| r.dot(&r)).collect()
}

/// Calls `visit(query_offset, reference_offset, block)` for each block of squared distances
/// between `queries` and `reference` (rows of the block: queries; columns: reference rows),
/// clipped at 0. `reference_norms` are [`squared_norms`] of `reference`.
pub fn for_each_distance_block(
    queries: ArrayView2<f64>,
    reference: ArrayView2<f64>,
    reference_norms: &[f64],
    visit: impl FnMut(usize, usize, ArrayView2<f64>),
) {
    for_each_block(queries, reference, reference_norms, false, visit)
}

/// [`for_each_distance_block`], or with `upper` only the reference rows from each query
/// block's first row on.
fn for_each_block(
    queries: ArrayView2<f64>,
    reference: ArrayView2<f64>,
    reference_norms: &[f64],
    upper: bool,
    mut visit: impl FnMut(usize, usize, ArrayView2<f64>),
) {
    let mut buffer = Array2::<f64>::zeros((QUERY_BLOCK, REFERENCE_BLOCK));
    for q0 in (0..queries.nrows()).step_by(QUERY_BLOCK) {
        let q = rows(queries, q0, (q0 + QUERY_BLOCK).min(queries.nrows()));
        let q_norms = squared_norms(q);
        let first = if upper { q0 } else { 0 };
        for t0 in (first..reference.nrows()).step_by(REFERENCE_BLOCK) {
            let t1 = (t0 + REFERENCE_BLOCK).min(reference.nrows());
            let t = rows(reference, t0, t1);
            let mut out = buffer
                .slice_axis_mut(Axis(0), (0..q.nrows()).into())
                .slice_axis_move(Axis(1), (0..t.nrows()).into());
            general_mat_mul(-2.0, &q, &t.t(), 0.0, &mut out);
            for (mut row, qn) in out.axis_iter_mut(Axis(0)).zip(&q_norms) {
                for (d, tn) in row.iter_mut().zip(&reference_norms[t0..t1]) {
                    *d = (*d + qn + tn).max(0.0);
                }
            }
            visit(q0, t0, out.view());
        }
    }
}

/// Rows `a..b` of `x`.
pub fn rows(x: ArrayView2<'_, f64>, a: usize, b: usize) -> ArrayView2<'_, f64> {
    x.slice_axis_move(Axis(0), (a..b).into())
}

/// The `k` nearest rows of `reference` for each row of `queries` (exact, brute force).
/// With `exclude_self`, `queries` are `reference` itself and each row's own index is left out
/// (when more than `k` duplicates tie at distance 0 and the row itself is not among the `k + 1`
/// found, the first one found is left out, as scikit-learn does).
/// `k` must be below the number of reference rows (`exclude_self`) or at most it.
pub fn kneighbors(
    reference: ArrayView2<f64>,
    queries: ArrayView2<f64>,
    k: usize,
    exclude_self: bool,
) -> Neighbours {
    let kk = if exclude_self { k + 1 } else { k };
    assert!(kk <= reference.nrows() && k > 0, "k out of range");
    let nq = queries.nrows();
    let norms = squared_norms(reference);
    // Per query: kk (squared distance, index) pairs, sorted ascending.
    let mut best = vec![(f64::INFINITY, usize::MAX); nq * kk];
    let visit = |best: &mut [(f64, usize)], q0: usize, t0: usize, block: ArrayView2<f64>| {
        for (r, row) in block.outer_iter().enumerate() {
            let heap = &mut best[(q0 + r) * kk..(q0 + r + 1) * kk];
            let mut worst = heap[kk - 1].0;
            for (j, &d) in row.iter().enumerate() {
                if d < worst {
                    insert_sorted(heap, (d, t0 + j));
                    worst = heap[kk - 1].0;
                }
            }
        }
    };
    if exclude_self {
        // The queries are the reference rows: each block of the upper triangle (reference rows
        // from the query block on) also updates the reference rows' lists by its transpose,
        // except where the reference row is in the query block itself (seen as a query).
        for_each_block(queries, reference, &norms, true, |q0, t0, block| {
            visit(&mut best, q0, t0, block);
            let q_end = q0 + block.nrows();
            for (c, column) in block.axis_iter(Axis(1)).enumerate() {
                let j = t0 + c;
                if j < q_end {
                    continue;
                }
                let heap = &mut best[j * kk..(j + 1) * kk];
                let mut worst = heap[kk - 1].0;
                for (r, &d) in column.iter().enumerate() {
                    if d < worst {
                        insert_sorted(heap, (d, q0 + r));
                        worst = heap[kk - 1].0;
                    }
                }
            }
        });
    } else {
        for_each_distance_block(queries, reference, &norms, |q0, t0, block| {
            visit(&mut best, q0, t0, block)
        });
    }
    let mut indices = Vec::with_capacity(nq * k);
    let mut distances = Vec::with_capacity(nq * k);
    let mut found = Vec::with_capacity(kk);
    for (i, q) in queries.outer_iter().enumerate() {
        found.clear();
        found.extend(best[i * kk..(i + 1) * kk].iter().map(|&(_, j)| {
            let t = reference.row(j);
            let d2: f64 = q.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum();
            (d2.sqrt(), j)
        }));
        if exclude_self {
            let at = found.iter().position(|&(_, j)| j == i).unwrap_or(0);
            found.remove(at);
        }
        found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(d, j) in &found {
            indices.push(j);
            distances.push(d);
        }
    }
    Neighbours {
        k,
        indices,
        distances,
    }
}

/// Inserts `item` into `heap` (sorted ascending, full), dropping its last element.
fn insert_sorted(heap: &mut [(f64, usize)], item: (f64, usize)) {
    let mut at = heap.len() - 1;
    while at > 0 && heap[at - 1].0 > item.0 {
        heap[at] = heap[at - 1];
        at -= 1;
    }
    heap[at] = item;
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn kneighbors_match_a_direct_search() {
        let x = array![[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [1.0, 0.0]];
        let nb = kneighbors(x.view(), x.view(), 2, true);
        // Row 0: rows 1 and 4 at distance 1 (ties to the lower index first).
        assert_eq!(nb.of(0), (&[1, 4][..], &[1.0, 1.0][..]));
        // Row 1 has a duplicate (row 4) at distance exactly 0.
        assert_eq!(nb.of(1).0, &[4, 0]);
        assert_eq!(nb.of(1).1, &[0.0, 1.0]);
        let q = array![[3.0, 2.0]];
        let nb = kneighbors(x.view(), q.view(), 1, false);
        assert_eq!(nb.of(0), (&[3][..], &[1.0][..]));
    }

    #[test]
    fn the_triangle_search_finds_what_the_full_one_does() {
        let n = 2600;
        let x = Array2::from_shape_fn((n, 4), |(i, j)| {
            ((i * 31 + j * 17 + i * j) % 97) as f64 * 0.1
        });
        let tri = kneighbors(x.view(), x.view(), 5, true);
        let full = kneighbors(x.view(), x.view(), 6, false);
        for i in 0..n {
            let (_, d) = full.of(i);
            // Without the row itself (at distance 0), the 5 next distances match.
            let mut expected: Vec<f64> = d.to_vec();
            let at = full.of(i).0.iter().position(|&j| j == i).unwrap_or(0);
            expected.remove(at);
            assert_eq!(tri.of(i).1, &expected[..5], "row {i}");
            assert!(!tri.of(i).0.contains(&i) || d[1] == 0.0);
        }
    }

    #[test]
    fn blocks_cover_every_pair() {
        let n = 3000;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * 7 + j * 13) % 17) as f64);
        let norms = squared_norms(x.view());
        let mut seen = 0usize;
        for_each_distance_block(rows(x.view(), 0, 300), x.view(), &norms, |q0, t0, b| {
            seen += b.len();
            let (i, j) = (q0 + b.nrows() - 1, t0 + b.ncols() - 1);
            let direct: f64 = (&x.row(i) - &x.row(j)).mapv(|v| v * v).sum();
            assert!((b[[b.nrows() - 1, b.ncols() - 1]] - direct).abs() < 1e-9);
        });
        assert_eq!(seen, 300 * n);
    }
}

/// Helpers of the parity tests of the neighbour-based and covariance models.
#[cfg(test)]
pub(crate) mod parity {
    pub use crate::sample::every;

    /// Every `step`-th label.
    pub fn every_label(y: &[bool], step: usize) -> Vec<bool> {
        y.iter().step_by(step).copied().collect()
    }

    /// A fixture of `tests/fixtures/`, parsed.
    pub fn fixture(name: &str) -> serde_json::Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures")
            .join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        serde_json::from_str(&text).expect("fixture JSON")
    }

    /// The f64 at a JSON pointer of a fixture.
    pub fn number(v: &serde_json::Value, pointer: &str) -> f64 {
        v.pointer(pointer)
            .and_then(|x| x.as_f64())
            .unwrap_or_else(|| panic!("fixture has no number at {pointer}"))
    }
}
