//! Exact nearest neighbours and squared Euclidean distances by blocked matrix products, shared by
//! the neighbour-based models (`lof`, `propagation`).
//!
//! The squared distances of a block of queries against a block of reference rows come from one
//! matrix product, ‖q‖² − 2 q·t + ‖t‖² (clipped at 0), as scikit-learn's brute-force search
//! computes them ([`for_each_distance_block`]).
//!
//! [`kneighbors`] screens then verifies. The screen runs the product in single precision (in
//! double precision when a value is too large for single precision's range) and gives each
//! pair a lower bound of its squared distance: the computed ‖q‖² − 2 q·t + ‖t‖² minus a
//! rounding-error bound c (‖q‖ + ‖t‖)², where c covers the rounding of the rows to single
//! precision, the product of n terms (γₙ = nu / (1 − nu), u the unit roundoff) and the sums
//! in double precision. Each query keeps the `k + 16` pairs of smallest bound, in a small
//! sorted buffer; each block row is turned into bounds and tested against the buffers' worst
//! entries eight columns at a time, and only the chunks holding a candidate are offered one by
//! one, so the scan of a block runs without branches. The search of a set against itself
//! computes only the upper triangle of blocks and offers each entry to both rows' buffers.
//!
//! The verification computes the squared distances of the candidates directly from the row
//! differences, in double precision, in increasing order of their bound, until the k-th
//! smallest distance found is below the next bound (with the relative error of the direct
//! sum): no row left can then come closer. The queries whose buffer runs out first (many rows
//! at nearly their k-th distance) are screened again with the product in double precision,
//! whose bounds are far tighter, and those still undecided (more than k + 16 rows at their
//! k-th distance, duplicates) are searched directly against every reference row. The
//! neighbours are thus the k smallest direct distances, ties going to the lower reference
//! index, and duplicate rows are at distance exactly 0.

use ndarray::{
    linalg::general_mat_mul, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, LinalgScalar,
};

/// Queries per block.
const QUERY_BLOCK: usize = 512;
/// Reference rows per block (a block of products is at most 2 MiB, about what the caches hold
/// while the block is scanned right after the product).
const REFERENCE_BLOCK: usize = 512;
/// Candidates the screen keeps per query beyond the k asked for.
const SCREEN_SLACK: usize = 16;

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
    let mut q_norms = Vec::new();
    for_each_product_block(queries, reference, false, |q0, t0, mut block| {
        if t0 == 0 {
            q_norms = squared_norms(rows(queries, q0, q0 + block.nrows()));
        }
        let t_norms = &reference_norms[t0..t0 + block.ncols()];
        for (mut row, qn) in block.axis_iter_mut(Axis(0)).zip(&q_norms) {
            for (d, tn) in row.iter_mut().zip(t_norms) {
                *d = (*d + qn + tn).max(0.0);
            }
        }
        visit(q0, t0, block.view());
    })
}

/// Calls `visit(query_offset, reference_offset, block)` for each block of products −2 q·t
/// between `queries` and `reference` (rows of the block: queries; columns: reference rows), in
/// order of query block then reference block; with `upper` only the reference rows from each
/// query block's first row on.
fn for_each_product_block<F: LinalgScalar>(
    queries: ArrayView2<F>,
    reference: ArrayView2<F>,
    upper: bool,
    mut visit: impl FnMut(usize, usize, ArrayViewMut2<F>),
) {
    let minus_two = F::zero() - F::one() - F::one();
    let mut buffer = Array2::<F>::zeros((QUERY_BLOCK, REFERENCE_BLOCK));
    for q0 in (0..queries.nrows()).step_by(QUERY_BLOCK) {
        let q = rows(queries, q0, (q0 + QUERY_BLOCK).min(queries.nrows()));
        let first = if upper { q0 } else { 0 };
        for t0 in (first..reference.nrows()).step_by(REFERENCE_BLOCK) {
            let t1 = (t0 + REFERENCE_BLOCK).min(reference.nrows());
            let t = rows(reference, t0, t1);
            let mut out = buffer
                .slice_axis_mut(Axis(0), (0..q.nrows()).into())
                .slice_axis_move(Axis(1), (0..t.nrows()).into());
            general_mat_mul(minus_two, &q, &t.t(), F::zero(), &mut out);
            visit(q0, t0, out);
        }
    }
}

/// Rows `a..b` of `x`.
pub fn rows<A>(x: ArrayView2<'_, A>, a: usize, b: usize) -> ArrayView2<'_, A> {
    x.slice_axis_move(Axis(0), (a..b).into())
}

/// The scalars the screening product runs in.
trait Screen: LinalgScalar + Into<f64> {
    /// Unit roundoff.
    const UNIT: f64;
    /// Smallest positive normal value: bounds the absolute error of a result that underflows.
    const TINY: f64;
    /// Largest input magnitude for which the products and sums of a row stay finite.
    const LARGEST: f64;
    /// The nearest value to `v`.
    fn round(v: f64) -> Self;
}

impl Screen for f32 {
    const UNIT: f64 = f32::EPSILON as f64 / 2.0;
    const TINY: f64 = f32::MIN_POSITIVE as f64;
    const LARGEST: f64 = 1e15;
    fn round(v: f64) -> f32 {
        v as f32
    }
}

impl Screen for f64 {
    const UNIT: f64 = f64::EPSILON / 2.0;
    const TINY: f64 = f64::MIN_POSITIVE;
    const LARGEST: f64 = 1e150;
    fn round(v: f64) -> f64 {
        v
    }
}

/// γₙ = nu / (1 − nu): the relative error bound of a sum of n products rounded with unit
/// roundoff u (any order, fused or not).
fn gamma(n: usize, unit: f64) -> f64 {
    let nu = n as f64 * unit;
    nu / (1.0 - nu)
}

/// Columns tested together before any candidate of them is offered.
const CHUNK: usize = 8;

/// The `kk` best (key, reference index) candidates of each list, sorted ascending, with each
/// list's worst key kept apart (contiguous, so that a block row can be tested against the lists
/// of its columns at once).
struct Candidates {
    kk: usize,
    best: Vec<(f64, usize)>,
    worst: Vec<f64>,
    /// Keys of the block row being offered.
    keys: Vec<f64>,
    /// Column ranges of the chunks of that row that hold a candidate.
    hits: Vec<(usize, usize)>,
}

/// Per-row terms of the screening key: key = `row` + column term + `scale` × column root +
/// block entry (−2 q·t).
#[derive(Clone, Copy)]
struct RowTerms {
    row: f64,
    scale: f64,
}

impl Candidates {
    fn new(lists: usize, kk: usize) -> Candidates {
        Candidates {
            kk,
            best: vec![(f64::INFINITY, usize::MAX); lists * kk],
            worst: vec![f64::INFINITY; lists],
            keys: vec![0.0; REFERENCE_BLOCK],
            hits: Vec::with_capacity(REFERENCE_BLOCK / CHUNK + 2),
        }
    }

    /// Offers `(key, j)` to list `i`.
    #[inline(always)]
    fn offer(&mut self, i: usize, key: f64, j: usize) {
        if key < self.worst[i] {
            let list = &mut self.best[i * self.kk..(i + 1) * self.kk];
            insert_sorted(list, (key, j));
            self.worst[i] = list[self.kk - 1].0;
        }
    }

    /// Offers each entry of a block row of products (−2 q·t, turned into keys) to the list of
    /// query `i`, and with `columns_from = Some(c)` the entries from column `c` on also to the
    /// lists of their reference rows (query `i` as the candidate). Offers go in column order.
    /// The row is first tested by chunks against the lists' worst keys as they stand (they only
    /// decrease, so no candidate is missed); only the chunks holding a candidate are offered.
    fn offer_row<F: Screen>(
        &mut self,
        i: usize,
        terms: RowTerms,
        t0: usize,
        columns: (&[f64], &[f64]),
        row: &[F],
        columns_from: Option<usize>,
    ) {
        let (mut keys, mut hits) = (
            std::mem::take(&mut self.keys),
            std::mem::take(&mut self.hits),
        );
        let own_worst = self.worst[i];
        let n = row.len();
        let first = columns_from.unwrap_or(n);
        hits.clear();
        let (own, both) = keys[..n].split_at_mut(first);
        let at = |a: usize, b: usize| (&row[a..b], &columns.0[a..b], &columns.1[a..b]);
        mark_chunks(own, terms, at(0, first), None, own_worst, 0, &mut hits);
        let own_hits = hits.len();
        if first < n {
            let column_worst = &self.worst[t0 + first..t0 + n];
            let both_columns = at(first, n);
            mark_chunks(
                both,
                terms,
                both_columns,
                Some(column_worst),
                own_worst,
                first,
                &mut hits,
            );
        }
        for (h, &(c0, end)) in hits.iter().enumerate() {
            for (c, &key) in keys[c0..end].iter().enumerate() {
                let j = t0 + c0 + c;
                self.offer(i, key, j);
                if h >= own_hits {
                    self.offer(j, key, i);
                }
            }
        }
        (self.keys, self.hits) = (keys, hits);
    }

    /// The candidates of list `i`, by increasing key.
    fn of(&self, i: usize) -> &[(f64, usize)] {
        &self.best[i * self.kk..(i + 1) * self.kk]
    }
}

/// Writes to `keys` the key of each entry of `row` (products −2 q·t; `columns`: the row, the
/// column terms and the column roots) and pushes to `hits` the range (`offset` + positions) of
/// each chunk with a key below `own_worst` or, with `column_worst`, below its column's worst.
fn mark_chunks<F: Screen>(
    keys: &mut [f64],
    terms: RowTerms,
    (row, column_terms, roots): (&[F], &[f64], &[f64]),
    column_worst: Option<&[f64]>,
    own_worst: f64,
    offset: usize,
    hits: &mut Vec<(usize, usize)>,
) {
    let key = |p: F, term: f64, root: f64| terms.row + term + terms.scale * root + p.into();
    let full = keys.len() / CHUNK * CHUNK;
    let chunks = keys[..full]
        .chunks_exact_mut(CHUNK)
        .zip(row.chunks_exact(CHUNK))
        .zip(
            column_terms
                .chunks_exact(CHUNK)
                .zip(roots.chunks_exact(CHUNK)),
        );
    match column_worst {
        None => {
            for (c, ((out, p), (term, root))) in chunks.enumerate() {
                let mut hit = false;
                for (((k, &p), &term), &root) in out.iter_mut().zip(p).zip(term).zip(root) {
                    *k = key(p, term, root);
                    hit |= *k < own_worst;
                }
                if hit {
                    hits.push((offset + c * CHUNK, offset + (c + 1) * CHUNK));
                }
            }
        }
        Some(worst) => {
            for (c, (((out, p), (term, root)), w)) in
                chunks.zip(worst.chunks_exact(CHUNK)).enumerate()
            {
                let mut hit = false;
                for ((((k, &p), &term), &root), &w) in
                    out.iter_mut().zip(p).zip(term).zip(root).zip(w)
                {
                    *k = key(p, term, root);
                    hit |= (*k < own_worst) | (*k < w);
                }
                if hit {
                    hits.push((offset + c * CHUNK, offset + (c + 1) * CHUNK));
                }
            }
        }
    }
    if full < keys.len() {
        let mut hit = false;
        for c in full..keys.len() {
            keys[c] = key(row[c], column_terms[c], roots[c]);
            hit |= keys[c] < own_worst || column_worst.is_some_and(|w| keys[c] < w[c]);
        }
        if hit {
            hits.push((offset + full, offset + keys.len()));
        }
    }
}

/// The screen: for each query (each reference row with `upper`, the queries being the
/// reference), the `kk` reference rows of smallest lower bound of squared distance, with those
/// bounds.
fn screen<F: Screen>(
    queries: ArrayView2<F>,
    reference: ArrayView2<F>,
    upper: bool,
    kk: usize,
) -> Candidates {
    let n = reference.ncols();
    // Rounding-error bound relative to (‖q‖ + ‖t‖)²: the product (γₙ/2 after Cauchy–Schwarz),
    // the rounding of the rows (2u, with margin; rows holding subnormal values add up to
    // 2√n · TINY · u to each norm), the norms and sums in double precision.
    let c = gamma(n, F::UNIT) / 2.0
        + 3.0 * F::UNIT
        + 4.0 * ((n + 1) as f64).sqrt() * F::TINY * F::UNIT
        + 2.0 * gamma(n + 4, f64::EPSILON / 2.0);
    // Underflow: absolute error below TINY per product and sum.
    let floor = 8.0 * (n + 2) as f64 * F::TINY;
    let norms = |x: ArrayView2<F>| -> Vec<f64> {
        x.outer_iter()
            .map(|r| r.iter().map(|&v| v.into() * v.into()).sum())
            .collect()
    };
    let t_norms = norms(reference);
    let t_roots: Vec<f64> = t_norms.iter().map(|v| v.sqrt()).collect();
    let t_terms: Vec<f64> = t_norms.iter().map(|v| (1.0 - c) * v - floor).collect();
    let q_terms: Vec<RowTerms> = norms(queries)
        .iter()
        .map(|&v| RowTerms {
            row: (1.0 - c) * v,
            scale: -2.0 * c * v.sqrt(),
        })
        .collect();
    let mut candidates = Candidates::new(
        if upper {
            reference.nrows()
        } else {
            queries.nrows()
        },
        kk,
    );
    for_each_product_block(queries, reference, upper, |q0, t0, block| {
        let t1 = t0 + block.ncols();
        let columns = (&t_terms[t0..t1], &t_roots[t0..t1]);
        // With `upper`, the reference rows of the query block itself are seen as queries only.
        let columns_from =
            upper.then(|| (q0 + block.nrows()).saturating_sub(t0).min(block.ncols()));
        for (r, row) in block.outer_iter().enumerate() {
            let row = row.to_slice().expect("block rows are contiguous");
            candidates.offer_row(q0 + r, q_terms[q0 + r], t0, columns, row, columns_from);
        }
    });
    candidates
}

/// `x` rounded to `F`.
fn rounded<F: Screen>(x: ArrayView2<f64>) -> Array2<F> {
    x.mapv(F::round)
}

/// The `k` nearest rows of `reference` for each row of `queries` (exact, ties to the lower
/// reference index). With `exclude_self`, `queries` are `reference` itself and each row's own
/// index is left out (when more than `k` duplicates tie at distance 0 and the row itself is not
/// among the `k + 1` nearest, the first of them is left out, as scikit-learn does).
/// `k` must be below the number of reference rows (`exclude_self`) or at most it.
pub fn kneighbors(
    reference: ArrayView2<f64>,
    queries: ArrayView2<f64>,
    k: usize,
    exclude_self: bool,
) -> Neighbours {
    let kk = if exclude_self { k + 1 } else { k };
    assert!(kk <= reference.nrows() && k > 0, "k out of range");
    let kept = (kk + SCREEN_SLACK).min(reference.nrows());
    // The largest magnitude of the inputs, infinite if one is not finite.
    let largest = |x: ArrayView2<f64>| {
        x.iter().fold(0.0f64, |m, v| {
            if v.is_finite() {
                m.max(v.abs())
            } else {
                f64::INFINITY
            }
        })
    };
    let large = largest(reference).max(if exclude_self { 0.0 } else { largest(queries) });
    let nq = queries.nrows();
    let mut indices = vec![0; nq * k];
    let mut distances = vec![0.0; nq * k];
    let mut write = |i: usize, found: &mut Vec<(f64, usize)>| {
        found.sort_by(by_distance_then_index);
        found.truncate(kk);
        if exclude_self {
            let at = found.iter().position(|&(_, j)| j == i).unwrap_or(0);
            found.remove(at);
        }
        for d in found.iter_mut() {
            d.0 = d.0.sqrt();
        }
        found.sort_by(by_distance_then_index);
        for (c, &(d, j)) in found.iter().enumerate() {
            indices[i * k + c] = j;
            distances[i * k + c] = d;
        }
    };
    let check = Check {
        kk,
        complete: kept == reference.nrows(),
        direct_error: gamma(reference.ncols() + 2, f64::EPSILON / 2.0),
    };
    let mut found = Vec::with_capacity(kept);
    // Queries the screen left undecided.
    let mut pending: Vec<usize> = Vec::new();
    let mut settle = |queries: ArrayView2<f64>,
                      query_ids: &mut dyn Iterator<Item = usize>,
                      candidates: &Candidates,
                      pending: &mut Vec<usize>| {
        for (p, i) in query_ids.enumerate() {
            found.clear();
            if check.verify(queries.row(p), reference, candidates.of(p), &mut found) {
                write(i, &mut found);
            } else {
                pending.push(i);
            }
        }
    };
    if large <= f32::LARGEST {
        let r = rounded::<f32>(reference);
        let candidates = if exclude_self {
            screen(r.view(), r.view(), true, kept)
        } else {
            screen(rounded::<f32>(queries).view(), r.view(), false, kept)
        };
        settle(queries, &mut (0..nq), &candidates, &mut pending);
        drop(candidates);
        // Again in double precision, whose bounds are far tighter.
        if !pending.is_empty() {
            let undecided = std::mem::take(&mut pending);
            tracing::debug!(
                queries = nq,
                undecided = undecided.len(),
                "kneighbors: screening again in double precision"
            );
            let sub = queries.select(Axis(0), &undecided);
            let candidates = screen(sub.view(), reference, false, kept);
            settle(
                sub.view(),
                &mut undecided.into_iter(),
                &candidates,
                &mut pending,
            );
        }
    } else if large <= f64::LARGEST {
        let candidates = screen(queries, reference, exclude_self, kept);
        settle(queries, &mut (0..nq), &candidates, &mut pending);
    } else {
        // Too large for a product without overflow (or not finite): direct search only.
        pending.extend(0..nq);
    }
    if !pending.is_empty() {
        tracing::debug!(
            queries = nq,
            direct = pending.len(),
            "kneighbors: direct search"
        );
        let everyone: Vec<(f64, usize)> = (0..reference.nrows()).map(|j| (0.0, j)).collect();
        for &i in &pending {
            found.clear();
            squared_differences(queries.row(i), reference, &everyone, &mut found);
            found.select_nth_unstable_by(kk - 1, by_distance_then_index);
            found.truncate(kk);
            write(i, &mut found);
        }
    }
    Neighbours {
        k,
        indices,
        distances,
    }
}

/// The verification of a query's screened candidates.
#[derive(Clone, Copy)]
struct Check {
    /// Neighbours wanted.
    kk: usize,
    /// Whether the candidates are all the reference rows.
    complete: bool,
    /// Relative error bound of a direct squared distance.
    direct_error: f64,
}

impl Check {
    /// Pushes to `found` the direct squared distances of the candidates `listed` (by increasing
    /// bound) in that order until the `kk` nearest are known; false if the list runs out first.
    fn verify(
        self,
        q: ArrayView1<f64>,
        reference: ArrayView2<f64>,
        listed: &[(f64, usize)],
        found: &mut Vec<(f64, usize)>,
    ) -> bool {
        let (kk, kept) = (self.kk, listed.len());
        let mut done = 0;
        loop {
            let upto = if done == 0 {
                kk.next_multiple_of(4)
            } else {
                done + 4
            }
            .min(kept);
            squared_differences(q, reference, &listed[done..upto], found);
            done = upto;
            found.sort_by(by_distance_then_index);
            if self.complete && done == kept {
                return true;
            }
            // No row left, listed or not, has a bound below `next`.
            let next = listed[done.min(kept - 1)].0;
            if found[kk - 1].0 < next * (1.0 - 2.0 * self.direct_error) {
                return true;
            }
            if done == kept {
                return false;
            }
        }
    }
}

/// Ascending distance, then ascending index.
fn by_distance_then_index(a: &(f64, usize), b: &(f64, usize)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// Pushes to `found` the squared Euclidean distance from `q` to each candidate's reference row,
/// summed in column order; four rows at a time when the rows are contiguous (the same sums,
/// interleaved so that they do not wait on each other).
fn squared_differences(
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
        (d2, j)
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
        found.extend(sums.into_iter().zip(js));
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

    /// The k nearest by a direct scan of every pair, ties to the lower index, in order of
    /// distance (not squared) then index.
    fn direct(x: &Array2<f64>, q: &Array2<f64>, k: usize, exclude_self: bool) -> Vec<Vec<usize>> {
        q.outer_iter()
            .enumerate()
            .map(|(i, q)| {
                let mut d: Vec<(f64, usize)> = x
                    .outer_iter()
                    .enumerate()
                    .filter(|&(j, _)| !(exclude_self && j == i))
                    .map(|(j, t)| (q.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum(), j))
                    .collect();
                d.sort_by(by_distance_then_index);
                let mut nearest: Vec<(f64, usize)> =
                    d.iter().take(k).map(|&(e, j)| (e.sqrt(), j)).collect();
                nearest.sort_by(by_distance_then_index);
                nearest.iter().map(|p| p.1).collect()
            })
            .collect()
    }

    #[test]
    fn many_ties_fall_back_to_the_direct_search() {
        // 120 copies of one row (more than the screen keeps), 30 copies of another and a
        // spread of others: the bounds of the copies straddle their k-th distance (0).
        let x = Array2::from_shape_fn((700, 6), |(i, j)| match i % 7 {
            0 if i < 840 => 1.0 + j as f64,
            3 if i < 210 => -2.0,
            _ => ((i * 13 + j * 7) % 29) as f64 * 0.37,
        });
        for (k, exclude_self) in [(5, true), (40, true), (6, false)] {
            let nb = kneighbors(x.view(), x.view(), k, exclude_self);
            let expected = direct(&x, &x, k, exclude_self);
            for (i, want) in expected.iter().enumerate() {
                let got = nb.of(i).0;
                if exclude_self && nb.of(i).1[k - 1] == 0.0 {
                    // More than k copies: any k of them other than the row itself.
                    assert!(nb.of(i).1.iter().all(|&d| d == 0.0));
                    assert!(!got.contains(&i) || got.len() > k);
                } else {
                    assert_eq!(got, &want[..], "row {i}, k {k}");
                }
            }
        }
    }

    #[test]
    fn large_values_take_the_double_precision_and_direct_paths() {
        let x = Array2::from_shape_fn((600, 5), |(i, j)| {
            ((i * 31 + j * 17 + i * j) % 89) as f64 * 0.01
        });
        let q = Array2::from_shape_fn((50, 5), |(i, j)| ((i * 7 + j * 3) % 41) as f64 * 0.02);
        let base_self = kneighbors(x.view(), x.view(), 7, true);
        let base = kneighbors(x.view(), q.view(), 7, false);
        // Scaling by a power of two scales every distance exactly: beyond single precision's
        // range (double-precision screen), then beyond a product's (direct search).
        for scale in [2f64.powi(60), 2f64.powi(500)] {
            let (xs, qs) = (x.mapv(|v| v * scale), q.mapv(|v| v * scale));
            let nb = kneighbors(xs.view(), xs.view(), 7, true);
            assert_eq!(nb.indices, base_self.indices);
            let scaled: Vec<f64> = base_self.distances.iter().map(|d| d * scale).collect();
            assert_eq!(nb.distances, scaled);
            assert_eq!(
                kneighbors(xs.view(), qs.view(), 7, false).indices,
                base.indices
            );
        }
        assert_eq!(
            base.indices,
            direct(&x, &q, 7, false).concat(),
            "the screened search is the direct one"
        );
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
