//! The classes as the split search counts them: two ([`Binary`], a count of rows and of
//! malicious rows) or K ([`Classes`], a count per class). The rank codes of
//! [`super::TrainingSet`] carry the class in their low [`Labels::shift`] bits; the growth and
//! the search are generic over this trait, each monomorphised, so the two-class code keeps its
//! two counters.

use std::fmt::Debug;

use secuml_proto::hyper::Criterion;

use super::data::TrainingSet;

/// Class counts and the impurities of a classification problem.
pub(crate) trait Labels: Clone {
    /// Class counts of a set of rows.
    type Counts: Clone + Default + Debug + PartialEq;

    /// Bits of the class in a key: `key = (rank << shift) | class`.
    fn shift(&self) -> u32;

    /// Length of the per-rank class histogram of columns of up to `max_rank` values.
    fn hist_len(&self, max_rank: usize) -> usize;

    /// Rows counted.
    fn rows(c: &Self::Counts) -> u32;

    /// Counts of nothing (reusing `c`'s storage).
    fn clear(&self, c: &mut Self::Counts);

    /// Adds one row of key `key`.
    fn add(&self, c: &mut Self::Counts, key: u32);

    /// The counts of the rows `samples` (indices into `data`, repeated for a bootstrap).
    fn count(&self, data: &TrainingSet, samples: &[u32]) -> Self::Counts;

    /// `node` less `part`.
    fn rest(&self, node: &Self::Counts, part: &Self::Counts) -> Self::Counts;

    /// The impurity of rows with these counts (Gini, or entropy in bits).
    fn impurity(&self, criterion: Criterion, c: &Self::Counts) -> f64;

    /// The criterion's proxy of splitting `node` into `left` and the rest: the negated sum of
    /// the children's impurities weighted by their rows, up to a constant of the node; an
    /// exact function of the counts (equal counts, equal proxies). `xlogx[c]` is `c log2 c`.
    fn proxy(
        &self,
        criterion: Criterion,
        xlogx: &[f64],
        node: &Self::Counts,
        left: &Self::Counts,
    ) -> f64;

    /// Counts a row of key `key` in the class histogram (`hist_len` long, zero between uses);
    /// the rows per rank are counted apart.
    fn tally(&self, hist: &mut [u32], key: u32);

    /// Adds the `n` rows of rank `rank` of the class histogram to `left`, zeroing them there.
    fn absorb(&self, hist: &mut [u32], rank: u32, n: u32, left: &mut Self::Counts);

    /// Sets `left` to the counts of the rows whose key in `column` is below `limit`.
    fn count_below(&self, column: &[u32], rows: &[u32], limit: u32, left: &mut Self::Counts);

    /// For a two-valued column: sets `left` to the counts of the rows of rank 0 and returns
    /// true, when the labels know a way faster than the histogram (`hist`, the class
    /// histogram, zero, is scratch and left zero).
    fn lower_of_two(
        &self,
        column: &[u32],
        rows: &[u32],
        node: &Self::Counts,
        left: &mut Self::Counts,
        hist: &mut [u32],
    ) -> bool;

    /// The value a leaf of these counts stores in [`super::FlatTree::value`]; the class
    /// fractions it appends to `proba`, if any.
    fn leaf(&self, c: &Self::Counts, proba: &mut Vec<f64>) -> f64;
}

/// Two classes, the malicious one coded 1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binary;

/// Class counts of a set of rows: `n` rows (bootstrap draws), `pos` of them malicious.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Counts {
    pub n: u32,
    pub pos: u32,
}

impl Labels for Binary {
    type Counts = Counts;

    #[inline]
    fn shift(&self) -> u32 {
        1
    }

    fn hist_len(&self, max_rank: usize) -> usize {
        max_rank
    }

    #[inline]
    fn rows(c: &Counts) -> u32 {
        c.n
    }

    #[inline]
    fn clear(&self, c: &mut Counts) {
        *c = Counts::default();
    }

    #[inline]
    fn add(&self, c: &mut Counts, key: u32) {
        c.n += 1;
        c.pos += key & 1;
    }

    fn count(&self, data: &TrainingSet, samples: &[u32]) -> Counts {
        Counts {
            n: samples.len() as u32,
            pos: samples.iter().map(|&r| data.y[r as usize]).sum(),
        }
    }

    #[inline]
    fn rest(&self, node: &Counts, part: &Counts) -> Counts {
        Counts {
            n: node.n - part.n,
            pos: node.pos - part.pos,
        }
    }

    fn impurity(&self, criterion: Criterion, c: &Counts) -> f64 {
        let n = c.n as f64;
        let p = c.pos as f64 / n;
        let q = 1.0 - p;
        match criterion {
            Criterion::Gini => 1.0 - p * p - q * q,
            Criterion::Entropy => {
                let term = |f: f64| if f > 0.0 { -f * f.log2() } else { 0.0 };
                term(p) + term(1.0 - p)
            }
        }
    }

    #[inline]
    fn proxy(&self, criterion: Criterion, xlogx: &[f64], node: &Counts, left: &Counts) -> f64 {
        let (nl, pl) = (left.n, left.pos);
        let (nr, pr) = (node.n - nl, node.pos - pl);
        match criterion {
            Criterion::Gini => {
                let sq = |p: u32, n: u32| {
                    let (p, q) = (p as f64, (n - p) as f64);
                    (p * p + q * q) / n as f64
                };
                sq(pl, nl) + sq(pr, nr)
            }
            Criterion::Entropy => {
                let t = xlogx;
                t[pl as usize] + t[(nl - pl) as usize] - t[nl as usize]
                    + t[pr as usize]
                    + t[(nr - pr) as usize]
                    - t[nr as usize]
            }
        }
    }

    #[inline]
    fn tally(&self, hist: &mut [u32], key: u32) {
        hist[(key >> 1) as usize] += key & 1;
    }

    #[inline]
    fn absorb(&self, hist: &mut [u32], rank: u32, n: u32, left: &mut Counts) {
        left.n += n;
        left.pos += std::mem::take(&mut hist[rank as usize]);
    }

    #[inline]
    fn count_below(&self, column: &[u32], rows: &[u32], limit: u32, left: &mut Counts) {
        *left = Counts::default();
        for &r in rows {
            let k = column[r as usize];
            let goes_left = (k < limit) as u32;
            left.n += goes_left;
            left.pos += goes_left & k;
        }
    }

    #[inline]
    fn lower_of_two(
        &self,
        column: &[u32],
        rows: &[u32],
        node: &Counts,
        left: &mut Counts,
        _hist: &mut [u32],
    ) -> bool {
        // Keys are 0, 1 (rank 0) and 2, 3 (rank 1).
        let (mut sum, mut threes) = (0u32, 0u32);
        for &r in rows {
            let k = column[r as usize];
            sum += k;
            threes += (k == 3) as u32;
        }
        let high = (sum - node.pos) / 2;
        *left = Counts {
            n: node.n - high,
            pos: node.pos - threes,
        };
        true
    }

    fn leaf(&self, c: &Counts, _proba: &mut Vec<f64>) -> f64 {
        c.pos as f64 / c.n as f64
    }
}

/// Histograms [`Classes::lower_of_two`] counts in at once.
const LANES: usize = 4;

/// K classes, coded 0..K.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Classes {
    /// K, at least 2.
    pub k: usize,
    /// Bits of a class index below K.
    pub shift: u32,
}

impl Classes {
    /// `k` classes (at least 2).
    pub fn new(k: usize) -> Self {
        debug_assert!(k >= 2);
        Classes {
            k,
            shift: usize::BITS - (k - 1).leading_zeros(),
        }
    }
}

/// Class counts of a set of rows: `n` rows (bootstrap draws), `per_class[c]` of class `c`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ClassCounts {
    pub n: u32,
    pub per_class: Vec<u32>,
}

impl Labels for Classes {
    type Counts = ClassCounts;

    #[inline]
    fn shift(&self) -> u32 {
        self.shift
    }

    fn hist_len(&self, max_rank: usize) -> usize {
        // [`Labels::lower_of_two`]'s lanes need `LANES × 2` ranks.
        max_rank.max(2 * LANES) << self.shift
    }

    #[inline]
    fn rows(c: &ClassCounts) -> u32 {
        c.n
    }

    #[inline]
    fn clear(&self, c: &mut ClassCounts) {
        c.n = 0;
        c.per_class.clear();
        c.per_class.resize(self.k, 0);
    }

    #[inline]
    fn add(&self, c: &mut ClassCounts, key: u32) {
        c.n += 1;
        c.per_class[(key & ((1 << self.shift) - 1)) as usize] += 1;
    }

    fn count(&self, data: &TrainingSet, samples: &[u32]) -> ClassCounts {
        let mut c = ClassCounts::default();
        self.clear(&mut c);
        for &r in samples {
            c.per_class[data.y[r as usize] as usize] += 1;
        }
        c.n = samples.len() as u32;
        c
    }

    fn rest(&self, node: &ClassCounts, part: &ClassCounts) -> ClassCounts {
        ClassCounts {
            n: node.n - part.n,
            per_class: node
                .per_class
                .iter()
                .zip(&part.per_class)
                .map(|(a, b)| a - b)
                .collect(),
        }
    }

    /// scikit-learn's formulas: Gini `1 − Σ c² / n²` (the sum of squares exact in integers),
    /// entropy `−Σ p log2 p` over the classes present.
    fn impurity(&self, criterion: Criterion, c: &ClassCounts) -> f64 {
        let n = c.n as f64;
        match criterion {
            Criterion::Gini => {
                let sq: u64 = c.per_class.iter().map(|&v| v as u64 * v as u64).sum();
                1.0 - sq as f64 / (n * n)
            }
            Criterion::Entropy => c
                .per_class
                .iter()
                .filter(|&&v| v > 0)
                .map(|&v| {
                    let p = v as f64 / n;
                    -p * p.log2()
                })
                .sum(),
        }
    }

    #[inline]
    fn proxy(
        &self,
        criterion: Criterion,
        xlogx: &[f64],
        node: &ClassCounts,
        left: &ClassCounts,
    ) -> f64 {
        let (nl, nr) = (left.n, node.n - left.n);
        let pairs = left.per_class.iter().zip(&node.per_class);
        match criterion {
            Criterion::Gini => {
                // Σ c² of each child, exact in integers.
                let (mut sl, mut sr) = (0u64, 0u64);
                for (&l, &t) in pairs {
                    let r = t - l;
                    sl += l as u64 * l as u64;
                    sr += r as u64 * r as u64;
                }
                sl as f64 / nl as f64 + sr as f64 / nr as f64
            }
            Criterion::Entropy => {
                // Summed in the order of [`Binary`]'s (the last class first), so that two
                // classes give its proxy to the bit, and break ties as it does.
                let mut s = 0.0;
                for &l in left.per_class.iter().rev() {
                    s += xlogx[l as usize];
                }
                s -= xlogx[nl as usize];
                for (&l, &t) in pairs.rev() {
                    s += xlogx[(t - l) as usize];
                }
                s - xlogx[nr as usize]
            }
        }
    }

    #[inline]
    fn tally(&self, hist: &mut [u32], key: u32) {
        hist[key as usize] += 1;
    }

    #[inline]
    fn absorb(&self, hist: &mut [u32], rank: u32, n: u32, left: &mut ClassCounts) {
        left.n += n;
        let base = (rank as usize) << self.shift;
        for (l, h) in left
            .per_class
            .iter_mut()
            .zip(&mut hist[base..base + self.k])
        {
            *l += std::mem::take(h);
        }
    }

    #[inline]
    fn count_below(&self, column: &[u32], rows: &[u32], limit: u32, left: &mut ClassCounts) {
        self.clear(left);
        for &r in rows {
            let k = column[r as usize];
            if k < limit {
                self.add(left, k);
            }
        }
    }

    /// The classes of the rows counted in [`LANES`] histograms of the two ranks, row `i` in
    /// lane `i % LANES`, so that runs of rows of one class do not wait on one counter; one
    /// lane for small nodes, where emptying the others would cost more.
    #[inline]
    fn lower_of_two(
        &self,
        column: &[u32],
        rows: &[u32],
        _node: &ClassCounts,
        left: &mut ClassCounts,
        hist: &mut [u32],
    ) -> bool {
        let width = 2usize << self.shift;
        let lanes = if rows.len() >= 16 * LANES { LANES } else { 1 };
        let (used, _) = hist.split_at_mut(lanes * width);
        let mut chunks = rows.chunks_exact(lanes);
        for chunk in &mut chunks {
            for (lane, &r) in chunk.iter().enumerate() {
                used[lane * width + column[r as usize] as usize] += 1;
            }
        }
        for &r in chunks.remainder() {
            used[column[r as usize] as usize] += 1;
        }
        self.clear(left);
        for lane in used.chunks_exact_mut(width) {
            for (l, h) in left.per_class.iter_mut().zip(&mut lane[..self.k]) {
                *l += std::mem::take(h);
            }
            let upper = width / 2;
            lane[upper..upper + self.k].iter_mut().for_each(|h| *h = 0);
        }
        left.n = left.per_class.iter().sum();
        true
    }

    fn leaf(&self, c: &ClassCounts, proba: &mut Vec<f64>) -> f64 {
        let index = proba.len() / self.k;
        let n = c.n as f64;
        proba.extend(c.per_class.iter().map(|&v| v as f64 / n));
        index as f64
    }
}
