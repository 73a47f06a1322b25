//! Exact nearest neighbours and squared Euclidean distances by blocked matrix products, shared by
//! the neighbour-based models (`lof`, `propagation`).
//!
//! The squared distances of a block of queries against a block of reference rows come from one
//! matrix product, ‖q‖² − 2 q·t + ‖t‖² (clipped at 0), as scikit-learn's brute-force search
//! computes them; each query keeps its k best candidates in a small sorted buffer (ties go to
//! the lower reference index). Each block row is turned into distances and tested against the
//! buffers' worst entries eight columns at a time, and only the chunks holding a candidate are
//! offered one by one, so the scan of the block runs without branches. The search of a set
//! against itself computes only the upper triangle of blocks and offers each entry to both
//! rows' buffers. The k distances kept are then recomputed directly from the row differences,
//! so that duplicate rows are at distance exactly 0 rather than at rounding noise.

use ndarray::{linalg::general_mat_mul, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};

/// Queries per block.
const QUERY_BLOCK: usize = 512;
/// Reference rows per block (a block of products is 2 MiB, about what the caches hold while
/// the block is scanned right after the product).
const REFERENCE_BLOCK: usize = 512;

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
    mut visit: impl FnMut(usize, usize, ArrayView2<f64>),
) {
    for_each_product_block(queries, reference, false, |q0, t0, q_norms, mut block| {
        let t_norms = &reference_norms[t0..t0 + block.ncols()];
        for (mut row, qn) in block.axis_iter_mut(Axis(0)).zip(q_norms) {
            for (d, tn) in row.iter_mut().zip(t_norms) {
                *d = squared_distance(*d, *qn, *tn);
            }
        }
        visit(q0, t0, block.view());
    })
}

/// The squared distance from the block entry −2 q·t and the two squared norms, clipped at 0.
#[inline(always)]
fn squared_distance(product: f64, q_norm: f64, t_norm: f64) -> f64 {
    (product + q_norm + t_norm).max(0.0)
}

/// Calls `visit(query_offset, reference_offset, query_norms, block)` for each block of
/// products −2 q·t between `queries` and `reference` (rows of the block: queries; columns:
/// reference rows); with `upper` only the reference rows from each query block's first row on.
fn for_each_product_block(
    queries: ArrayView2<f64>,
    reference: ArrayView2<f64>,
    upper: bool,
    mut visit: impl FnMut(usize, usize, &[f64], ArrayViewMut2<f64>),
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
            visit(q0, t0, &q_norms, out);
        }
    }
}

/// Rows `a..b` of `x`.
pub fn rows(x: ArrayView2<'_, f64>, a: usize, b: usize) -> ArrayView2<'_, f64> {
    x.slice_axis_move(Axis(0), (a..b).into())
}

/// Columns tested together before any candidate of them is inserted.
const CHUNK: usize = 8;

/// The kk best (squared distance, reference index) candidates of each list, sorted ascending,
/// with each list's worst kept apart (contiguous, so that a block row can be tested against
/// the lists of its columns at once).
struct Candidates {
    kk: usize,
    best: Vec<(f64, usize)>,
    worst: Vec<f64>,
    /// Column ranges of the chunks of the row being offered that hold a candidate.
    hits: Vec<(usize, usize)>,
}

impl Candidates {
    fn new(lists: usize, kk: usize) -> Candidates {
        Candidates {
            kk,
            best: vec![(f64::INFINITY, usize::MAX); lists * kk],
            worst: vec![f64::INFINITY; lists],
            hits: Vec::with_capacity(REFERENCE_BLOCK / CHUNK + 2),
        }
    }

    /// Offers `(d, j)` to list `i`.
    #[inline(always)]
    fn offer(&mut self, i: usize, d: f64, j: usize) {
        if d < self.worst[i] {
            let list = &mut self.best[i * self.kk..(i + 1) * self.kk];
            insert_sorted(list, (d, j));
            self.worst[i] = list[self.kk - 1].0;
        }
    }

    /// Offers each entry of a block row of products (−2 q·t, turned into squared distances in
    /// place) to the list of query `i`, and with `columns_from = Some(c)` the entries from
    /// column `c` on also to the lists of their reference rows (query `i` as the candidate).
    /// Offers go in column order, as a scan of the row would make them. The row is first
    /// tested by chunks against the lists' worst entries as they stand (they only decrease,
    /// so no candidate is missed); only the chunks holding a candidate are offered.
    fn offer_row(
        &mut self,
        i: usize,
        q_norm: f64,
        t0: usize,
        t_norms: &[f64],
        row: &mut [f64],
        columns_from: Option<usize>,
    ) {
        let mut hits = std::mem::take(&mut self.hits);
        let own_worst = self.worst[i];
        let n = row.len();
        let first = columns_from.unwrap_or(n);
        hits.clear();
        let (own, both) = row.split_at_mut(first);
        let (own_norms, both_norms) = t_norms.split_at(first);
        mark_chunks(own, q_norm, own_norms, None, own_worst, 0, &mut hits);
        let own_hits = hits.len();
        if first < n {
            let column_worst = &self.worst[t0 + first..t0 + n];
            mark_chunks(
                both,
                q_norm,
                both_norms,
                Some(column_worst),
                own_worst,
                first,
                &mut hits,
            );
        }
        for (h, &(c0, end)) in hits.iter().enumerate() {
            for (c, &d) in row[c0..end].iter().enumerate() {
                let j = t0 + c0 + c;
                self.offer(i, d, j);
                if h >= own_hits {
                    self.offer(j, d, i);
                }
            }
        }
        self.hits = hits;
    }

    /// The kk candidates of list `i`.
    fn of(&self, i: usize) -> &[(f64, usize)] {
        &self.best[i * self.kk..(i + 1) * self.kk]
    }
}

/// Turns `row` (products −2 q·t) into squared distances and pushes to `hits` the range
/// (`offset` + positions in `row`) of each chunk with an entry below `own_worst` or, with
/// `column_worst`, below its column's worst.
fn mark_chunks(
    row: &mut [f64],
    q_norm: f64,
    t_norms: &[f64],
    column_worst: Option<&[f64]>,
    own_worst: f64,
    offset: usize,
    hits: &mut Vec<(usize, usize)>,
) {
    let full = row.len() / CHUNK * CHUNK;
    let (head, tail) = row.split_at_mut(full);
    let (head_norms, tail_norms) = t_norms.split_at(full);
    match column_worst {
        None => {
            for (c, (chunk, norms)) in head
                .chunks_exact_mut(CHUNK)
                .zip(head_norms.chunks_exact(CHUNK))
                .enumerate()
            {
                let mut hit = false;
                for (d, &tn) in chunk.iter_mut().zip(norms) {
                    *d = squared_distance(*d, q_norm, tn);
                    hit |= *d < own_worst;
                }
                if hit {
                    hits.push((offset + c * CHUNK, offset + (c + 1) * CHUNK));
                }
            }
        }
        Some(worst) => {
            for (c, ((chunk, norms), w)) in head
                .chunks_exact_mut(CHUNK)
                .zip(head_norms.chunks_exact(CHUNK))
                .zip(worst.chunks_exact(CHUNK))
                .enumerate()
            {
                let mut hit = false;
                for ((d, &tn), &w) in chunk.iter_mut().zip(norms).zip(w) {
                    *d = squared_distance(*d, q_norm, tn);
                    hit |= (*d < own_worst) | (*d < w);
                }
                if hit {
                    hits.push((offset + c * CHUNK, offset + (c + 1) * CHUNK));
                }
            }
        }
    }
    if !tail.is_empty() {
        let tail_worst = column_worst.map(|w| &w[full..]);
        let mut hit = false;
        for (c, (d, &tn)) in tail.iter_mut().zip(tail_norms).enumerate() {
            *d = squared_distance(*d, q_norm, tn);
            hit |= *d < own_worst || tail_worst.is_some_and(|w| *d < w[c]);
        }
        if hit {
            hits.push((offset + full, offset + full + tail.len()));
        }
    }
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
    let mut candidates = Candidates::new(if exclude_self { reference.nrows() } else { nq }, kk);
    // With `exclude_self` the queries are the reference rows: each block of the upper triangle
    // (reference rows from the query block on) also updates the reference rows' lists by its
    // transpose, except where the reference row is in the query block itself (seen as a query).
    for_each_product_block(
        queries,
        reference,
        exclude_self,
        |q0, t0, q_norms, mut block| {
            let t_norms = &norms[t0..t0 + block.ncols()];
            let q_end = q0 + block.nrows();
            let columns_from = exclude_self.then(|| q_end.saturating_sub(t0).min(block.ncols()));
            for (r, mut row) in block.axis_iter_mut(Axis(0)).enumerate() {
                let row = row.as_slice_mut().expect("block rows are contiguous");
                candidates.offer_row(q0 + r, q_norms[r], t0, t_norms, row, columns_from);
            }
        },
    );
    let mut indices = Vec::with_capacity(nq * k);
    let mut distances = Vec::with_capacity(nq * k);
    let mut found = Vec::with_capacity(kk);
    for (i, q) in queries.outer_iter().enumerate() {
        found.clear();
        exact_distances(q, reference, candidates.of(i), &mut found);
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

/// Pushes to `found` the Euclidean distance from `q` to each candidate's reference row, summed
/// in column order; four rows at a time when the rows are contiguous (the same sums,
/// interleaved so that they do not wait on each other).
fn exact_distances(
    q: ArrayView1<f64>,
    reference: ArrayView2<f64>,
    candidates: &[(f64, usize)],
    found: &mut Vec<(f64, usize)>,
) {
    let sequential = |j: usize| {
        let d2: f64 = q
            .iter()
            .zip(reference.row(j))
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        (d2.sqrt(), j)
    };
    let (Some(qs), Some(all)) = (q.as_slice(), reference.as_slice()) else {
        found.extend(candidates.iter().map(|&(_, j)| sequential(j)));
        return;
    };
    let n = qs.len();
    let mut groups = candidates.chunks_exact(4);
    for group in &mut groups {
        let js = [group[0].1, group[1].1, group[2].1, group[3].1];
        let t = js.map(|j| &all[j * n..(j + 1) * n]);
        let mut sums = [-0.0f64; 4];
        for (c, &a) in qs.iter().enumerate() {
            for (s, t) in sums.iter_mut().zip(&t) {
                let d = a - t[c];
                *s += d * d;
            }
        }
        found.extend(sums.iter().zip(js).map(|(s, j)| (s.sqrt(), j)));
    }
    found.extend(groups.remainder().iter().map(|&(_, j)| sequential(j)));
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
