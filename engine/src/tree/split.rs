//! The split search of one node: features drawn without replacement as scikit-learn's
//! splitters draw them, each evaluated on the node's rank codes (a count for two-valued
//! columns, a histogram of ranks for few-valued ones, a sort otherwise).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::{Criterion, Splitter};

use super::data::{TrainingSet, FEATURE_THRESHOLD};

/// Class counts of a set of rows: `n` rows (bootstrap draws), `pos` of them malicious.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Counts {
    pub n: u32,
    pub pos: u32,
}

/// The split of a node: rows whose feature is at most `threshold` go left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Split {
    pub feature: usize,
    pub threshold: f64,
    /// Highest rank of the feature going left.
    pub left_rank: u32,
    pub left: Counts,
    /// The criterion's proxy: higher is better, comparable within a node only.
    proxy: f64,
}

/// The node being split: its rows `samples[start..end]` and their class counts.
pub(crate) struct Node {
    pub start: usize,
    pub end: usize,
    pub counts: Counts,
}

/// What the split search needs besides the node, reused from node to node.
pub(crate) struct Searcher {
    pub criterion: Criterion,
    pub splitter: Splitter,
    pub min_samples_leaf: u32,
    pub max_features: usize,
    /// A permutation of the columns: `features[..n_known]` are the node's known constants.
    pub features: Vec<usize>,
    /// The known constant columns of the node being split and of its ancestors.
    pub constant_features: Vec<usize>,
    /// `c * log2(c)` for every count `c` up to the number of rows (entropy).
    xlogx: Vec<f64>,
    /// Keys of one column over the node, to sort.
    keys: Vec<u32>,
    /// Rows and malicious rows per rank.
    hist_n: Vec<u32>,
    hist_pos: Vec<u32>,
}

impl Searcher {
    pub fn new(
        data: &TrainingSet,
        criterion: Criterion,
        splitter: Splitter,
        min_samples_leaf: u32,
        max_features: usize,
        max_rows: usize,
    ) -> Self {
        let max_rank = data.values.iter().map(Vec::len).max().unwrap_or(1);
        let xlogx = match criterion {
            Criterion::Entropy => (0..=max_rows)
                .map(|c| {
                    if c == 0 {
                        0.0
                    } else {
                        c as f64 * (c as f64).log2()
                    }
                })
                .collect(),
            Criterion::Gini => Vec::new(),
        };
        Searcher {
            criterion,
            splitter,
            min_samples_leaf,
            max_features,
            features: (0..data.d).collect(),
            constant_features: vec![0; data.d],
            xlogx,
            keys: Vec::with_capacity(max_rows),
            hist_n: vec![0; max_rank],
            hist_pos: vec![0; max_rank],
        }
    }

    /// The impurity of rows with these counts (Gini, or entropy in bits).
    pub fn impurity(&self, c: Counts) -> f64 {
        impurity(self.criterion, c)
    }

    /// The best split of `node` among the features drawn, `None` when no drawn feature has a
    /// split leaving `min_samples_leaf` rows on each side; and the node's number of constant
    /// features, its first `n_known` (known from its ancestors) included.
    ///
    /// As scikit-learn's `node_split`: features are drawn uniformly without replacement; a
    /// constant one counts as drawn; drawing goes on past `max_features` while every drawn
    /// feature was constant.
    pub fn split(
        &mut self,
        data: &TrainingSet,
        samples: &[u32],
        node: &Node,
        n_known: usize,
        rng: &mut ChaCha8Rng,
    ) -> (Option<Split>, usize) {
        let d = data.d;
        let mut best: Option<Split> = None;
        let mut f_i = d;
        let mut n_drawn_constants = 0;
        let mut n_found_constants = 0;
        let mut n_total_constants = n_known;
        let mut n_visited = 0;
        let rows = &samples[node.start..node.end];
        while f_i > n_total_constants
            && (n_visited < self.max_features || n_visited <= n_found_constants + n_drawn_constants)
        {
            n_visited += 1;
            let mut f_j = rng.gen_range(n_drawn_constants..f_i - n_found_constants);
            if f_j < n_known {
                self.features.swap(n_drawn_constants, f_j);
                n_drawn_constants += 1;
                continue;
            }
            f_j += n_found_constants;
            let feature = self.features[f_j];
            let outcome = match self.splitter {
                Splitter::Best => self.best_of(data, feature, rows, node.counts),
                Splitter::Random => self.random_of(data, feature, rows, node.counts, rng),
            };
            let Some(candidate) = outcome else {
                self.features.swap(f_j, n_total_constants);
                n_found_constants += 1;
                n_total_constants += 1;
                continue;
            };
            f_i -= 1;
            self.features.swap(f_i, f_j);
            if let Some(c) = candidate {
                if best.is_none_or(|b| c.proxy > b.proxy) {
                    best = Some(c);
                }
            }
        }
        // The known constants stay first, in their order, for the siblings and the children;
        // the constants found here follow them.
        self.features[..n_known].copy_from_slice(&self.constant_features[..n_known]);
        self.constant_features[n_known..n_total_constants]
            .copy_from_slice(&self.features[n_known..n_total_constants]);
        (best, n_total_constants)
    }

    /// The criterion's proxy of a split into `left` and the rest of `node`: the negated sum
    /// of the children's impurities weighted by their rows, up to a constant of the node.
    #[inline]
    fn proxy(&self, node: Counts, left: Counts) -> f64 {
        let (nl, pl) = (left.n, left.pos);
        let (nr, pr) = (node.n - nl, node.pos - pl);
        match self.criterion {
            Criterion::Gini => {
                let sq = |p: u32, n: u32| {
                    let (p, q) = (p as f64, (n - p) as f64);
                    (p * p + q * q) / n as f64
                };
                sq(pl, nl) + sq(pr, nr)
            }
            Criterion::Entropy => {
                let t = &self.xlogx;
                t[pl as usize] + t[(nl - pl) as usize] - t[nl as usize]
                    + t[pr as usize]
                    + t[(nr - pr) as usize]
                    - t[nr as usize]
            }
        }
    }

    /// The best threshold of `feature` over `rows`: `None` when the feature is constant
    /// there, `Some(None)` when no threshold leaves `min_samples_leaf` rows on each side.
    fn best_of(
        &mut self,
        data: &TrainingSet,
        feature: usize,
        rows: &[u32],
        node: Counts,
    ) -> Option<Option<Split>> {
        let values = &data.values[feature];
        let column = data.column(feature);
        let n_ranks = values.len();
        if n_ranks == 1 {
            return None;
        }
        let mut scan = Scan::new(feature, node, self.min_samples_leaf);
        if n_ranks == 2 {
            // Keys are 0, 1 (rank 0) and 2, 3 (rank 1).
            let (mut sum, mut threes) = (0u32, 0u32);
            for &r in rows {
                let k = column[r as usize];
                sum += k;
                threes += (k == 3) as u32;
            }
            let high = (sum - node.pos) / 2;
            if high == 0 || high == node.n || values[1] <= values[0] + FEATURE_THRESHOLD {
                return None;
            }
            let left = Counts {
                n: node.n - high,
                pos: node.pos - threes,
            };
            scan.candidate(self, values, 0, 1, left);
            return Some(scan.best);
        }
        if n_ranks <= 4 * rows.len() {
            let (mut lo, mut hi) = (u32::MAX, 0u32);
            for &r in rows {
                let k = column[r as usize];
                let rank = k >> 1;
                self.hist_n[rank as usize] += 1;
                self.hist_pos[rank as usize] += k & 1;
                lo = lo.min(rank);
                hi = hi.max(rank);
            }
            let constant = values[hi as usize] <= values[lo as usize] + FEATURE_THRESHOLD;
            let mut left = Counts { n: 0, pos: 0 };
            let mut previous = lo;
            for rank in lo..=hi {
                let n = std::mem::take(&mut self.hist_n[rank as usize]);
                let pos = std::mem::take(&mut self.hist_pos[rank as usize]);
                if n == 0 {
                    continue;
                }
                if rank > lo && !constant {
                    scan.candidate(self, values, previous, rank, left);
                }
                left.n += n;
                left.pos += pos;
                previous = rank;
            }
            return (!constant).then_some(scan.best);
        }
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        keys.extend(rows.iter().map(|&r| column[r as usize]));
        keys.sort_unstable();
        let (lo, hi) = (keys[0] >> 1, keys[keys.len() - 1] >> 1);
        if values[hi as usize] <= values[lo as usize] + FEATURE_THRESHOLD {
            self.keys = keys;
            return None;
        }
        let mut left = Counts { n: 0, pos: 0 };
        let mut previous = lo;
        for &k in &keys {
            let rank = k >> 1;
            if rank != previous {
                scan.candidate(self, values, previous, rank, left);
                previous = rank;
            }
            left.n += 1;
            left.pos += k & 1;
        }
        self.keys = keys;
        Some(scan.best)
    }

    /// One threshold of `feature` drawn uniformly between its lowest and highest values over
    /// `rows` (scikit-learn's random splitter): `None` when the feature is constant there,
    /// `Some(None)` when the split leaves fewer than `min_samples_leaf` rows on a side.
    fn random_of(
        &mut self,
        data: &TrainingSet,
        feature: usize,
        rows: &[u32],
        node: Counts,
        rng: &mut ChaCha8Rng,
    ) -> Option<Option<Split>> {
        let values = &data.values[feature];
        let column = data.column(feature);
        if values.len() == 1 {
            return None;
        }
        let (mut lo, mut hi) = (u32::MAX, 0u32);
        for &r in rows {
            let k = column[r as usize];
            lo = lo.min(k);
            hi = hi.max(k);
        }
        let (min, max) = (values[(lo >> 1) as usize], values[(hi >> 1) as usize]);
        if max <= min + FEATURE_THRESHOLD {
            return None;
        }
        let mut threshold = min + (max - min) * rng.gen::<f64>();
        if threshold == max {
            threshold = min;
        }
        // The highest rank at most the threshold, and the keys going left: below `limit`.
        let left_rank = (values.partition_point(|&v| v <= threshold) - 1) as u32;
        let limit = (left_rank + 1) << 1;
        let mut left = Counts { n: 0, pos: 0 };
        for &r in rows {
            let k = column[r as usize];
            let goes_left = (k < limit) as u32;
            left.n += goes_left;
            left.pos += goes_left & k;
        }
        let leaf = self.min_samples_leaf;
        if left.n < leaf || node.n - left.n < leaf {
            return Some(None);
        }
        Some(Some(Split {
            feature,
            threshold,
            left_rank,
            left,
            proxy: self.proxy(node, left),
        }))
    }
}

/// The best candidate threshold of one feature so far.
struct Scan {
    feature: usize,
    node: Counts,
    min_leaf: u32,
    best: Option<Split>,
}

impl Scan {
    fn new(feature: usize, node: Counts, min_leaf: u32) -> Self {
        Scan {
            feature,
            node,
            min_leaf,
            best: None,
        }
    }

    /// The threshold between ranks `below` and `above` (consecutive among the node's rows),
    /// `left` the counts up to `below`.
    #[inline]
    fn candidate(
        &mut self,
        search: &Searcher,
        values: &[f64],
        below: u32,
        above: u32,
        left: Counts,
    ) {
        if left.n < self.min_leaf || self.node.n - left.n < self.min_leaf {
            return;
        }
        let (a, b) = (values[below as usize], values[above as usize]);
        if b <= a + FEATURE_THRESHOLD {
            return;
        }
        let proxy = search.proxy(self.node, left);
        if self.best.is_some_and(|s| proxy <= s.proxy) {
            return;
        }
        // scikit-learn's midpoint, kept strictly below the upper value.
        let mut threshold = a / 2.0 + b / 2.0;
        if threshold == b || !threshold.is_finite() {
            threshold = a;
        }
        self.best = Some(Split {
            feature: self.feature,
            threshold,
            left_rank: below,
            left,
            proxy,
        });
    }
}

/// The impurity of rows with counts `c` under `criterion`.
pub(crate) fn impurity(criterion: Criterion, c: Counts) -> f64 {
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
