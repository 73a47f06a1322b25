//! The split search of one node: features drawn without replacement as scikit-learn's
//! splitters draw them, each evaluated on the node's rank codes (a count for two-valued
//! columns, a histogram of ranks for few-valued ones, a sort otherwise), for two classes or K
//! ([`Labels`]).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::{Criterion, Splitter};

use super::data::{TrainingSet, FEATURE_THRESHOLD};
use super::labels::Labels;

/// The split of a node: rows whose feature is at most `threshold` go left (the left child's
/// counts: [`Searcher::best_left`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Split {
    pub feature: usize,
    pub threshold: f64,
    /// Highest rank of the feature going left.
    pub left_rank: u32,
    /// The criterion's proxy: higher is better, comparable within a node only.
    proxy: f64,
}

/// The node being split: its rows `samples[start..end]` and their class counts.
#[derive(Debug, Clone)]
pub(crate) struct Node<C> {
    pub start: usize,
    pub end: usize,
    pub counts: C,
}

/// What the split search needs besides the node, reused from node to node.
pub(crate) struct Searcher<L: Labels> {
    pub labels: L,
    pub criterion: Criterion,
    pub splitter: Splitter,
    pub min_samples_leaf: u32,
    pub max_features: usize,
    /// A permutation of the columns: `features[..n_known]` are the node's known constants.
    pub features: Vec<usize>,
    /// The known constant columns of the node being split and of its ancestors.
    pub constant_features: Vec<usize>,
    /// The counts of the left child of the split [`Searcher::split`] returned last.
    pub best_left: L::Counts,
    /// The best split of the node so far.
    best: Option<Split>,
    /// `c * log2(c)` for every count `c` up to the number of rows (entropy).
    xlogx: Vec<f64>,
    /// Keys of one column over the node, to sort.
    keys: Vec<u32>,
    /// Rows per rank.
    hist_n: Vec<u32>,
    /// Rows per rank and class ([`Labels::tally`]).
    hist_classes: Vec<u32>,
    /// Counts of the rows left of the threshold being scanned.
    left: L::Counts,
}

impl<L: Labels> Searcher<L> {
    pub fn new(
        data: &TrainingSet,
        labels: L,
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
        let mut left = L::Counts::default();
        labels.clear(&mut left);
        Searcher {
            hist_classes: vec![0; labels.hist_len(max_rank)],
            best_left: left.clone(),
            left,
            labels,
            criterion,
            splitter,
            min_samples_leaf,
            max_features,
            features: (0..data.d).collect(),
            constant_features: vec![0; data.d],
            best: None,
            xlogx,
            keys: Vec::with_capacity(max_rows),
            hist_n: vec![0; max_rank],
        }
    }

    /// The impurity of rows with these counts (Gini, or entropy in bits).
    pub fn impurity(&self, c: &L::Counts) -> f64 {
        self.labels.impurity(self.criterion, c)
    }

    /// The best split of `node` among the features drawn, `None` when no drawn feature has a
    /// split leaving `min_samples_leaf` rows on each side (its left child's counts then in
    /// [`Searcher::best_left`]); and the node's number of constant features, its first
    /// `n_known` (known from its ancestors) included.
    ///
    /// As scikit-learn's `node_split`: features are drawn uniformly without replacement; a
    /// constant one counts as drawn; drawing goes on past `max_features` while every drawn
    /// feature was constant. Among equally good splits, the first found wins.
    pub fn split(
        &mut self,
        data: &TrainingSet,
        samples: &[u32],
        node: &Node<L::Counts>,
        n_known: usize,
        rng: &mut ChaCha8Rng,
    ) -> (Option<Split>, usize) {
        let d = data.d;
        self.best = None;
        let mut f_i = d;
        let mut n_drawn_constants = 0;
        let mut n_found_constants = 0;
        let mut n_total_constants = n_known;
        let mut n_visited = 0;
        let rows = &samples[node.start..node.end];
        let mut left = std::mem::take(&mut self.left);
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
            let varies = match self.splitter {
                Splitter::Best => self.best_of(data, feature, rows, &node.counts, &mut left),
                Splitter::Random => {
                    self.random_of(data, feature, rows, &node.counts, &mut left, rng)
                }
            };
            if !varies {
                self.features.swap(f_j, n_total_constants);
                n_found_constants += 1;
                n_total_constants += 1;
                continue;
            }
            f_i -= 1;
            self.features.swap(f_i, f_j);
        }
        self.left = left;
        // The known constants stay first, in their order, for the siblings and the children;
        // the constants found here follow them.
        self.features[..n_known].copy_from_slice(&self.constant_features[..n_known]);
        self.constant_features[n_known..n_total_constants]
            .copy_from_slice(&self.features[n_known..n_total_constants]);
        (self.best.take(), n_total_constants)
    }

    /// Offers the best thresholds of `feature` over `rows` to [`Searcher::candidate`];
    /// false when the feature is constant there. `left` is scratch.
    fn best_of(
        &mut self,
        data: &TrainingSet,
        feature: usize,
        rows: &[u32],
        node: &L::Counts,
        left: &mut L::Counts,
    ) -> bool {
        let values = &data.values[feature];
        let column = data.column(feature);
        let n_ranks = values.len();
        if n_ranks == 1 {
            return false;
        }
        let shift = self.labels.shift();
        if n_ranks == 2
            && self
                .labels
                .lower_of_two(column, rows, node, left, &mut self.hist_classes)
        {
            let (low, n) = (L::rows(left), L::rows(node));
            if low == 0 || low == n || values[1] <= values[0] + FEATURE_THRESHOLD {
                return false;
            }
            self.candidate(feature, values, node, 0, 1, left);
            return true;
        }
        if n_ranks <= 4 * rows.len() {
            let (mut lo, mut hi) = (u32::MAX, 0u32);
            for &r in rows {
                let k = column[r as usize];
                let rank = k >> shift;
                self.hist_n[rank as usize] += 1;
                self.labels.tally(&mut self.hist_classes, k);
                lo = lo.min(rank);
                hi = hi.max(rank);
            }
            let constant = values[hi as usize] <= values[lo as usize] + FEATURE_THRESHOLD;
            self.labels.clear(left);
            let mut previous = lo;
            for rank in lo..=hi {
                let n = std::mem::take(&mut self.hist_n[rank as usize]);
                if n == 0 {
                    continue;
                }
                if rank > lo && !constant {
                    self.candidate(feature, values, node, previous, rank, left);
                }
                self.labels.absorb(&mut self.hist_classes, rank, n, left);
                previous = rank;
            }
            return !constant;
        }
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        keys.extend(rows.iter().map(|&r| column[r as usize]));
        keys.sort_unstable();
        let (lo, hi) = (keys[0] >> shift, keys[keys.len() - 1] >> shift);
        let varies = values[hi as usize] > values[lo as usize] + FEATURE_THRESHOLD;
        if varies {
            self.labels.clear(left);
            let mut previous = lo;
            for &k in &keys {
                let rank = k >> shift;
                if rank != previous {
                    self.candidate(feature, values, node, previous, rank, left);
                    previous = rank;
                }
                self.labels.add(left, k);
            }
        }
        self.keys = keys;
        varies
    }

    /// Offers one threshold of `feature` drawn uniformly between its lowest and highest
    /// values over `rows` (scikit-learn's random splitter); false when the feature is
    /// constant there. `left` is scratch.
    fn random_of(
        &mut self,
        data: &TrainingSet,
        feature: usize,
        rows: &[u32],
        node: &L::Counts,
        left: &mut L::Counts,
        rng: &mut ChaCha8Rng,
    ) -> bool {
        let values = &data.values[feature];
        let column = data.column(feature);
        if values.len() == 1 {
            return false;
        }
        let shift = self.labels.shift();
        let (mut lo, mut hi) = (u32::MAX, 0u32);
        for &r in rows {
            let k = column[r as usize];
            lo = lo.min(k);
            hi = hi.max(k);
        }
        let (min, max) = (
            values[(lo >> shift) as usize],
            values[(hi >> shift) as usize],
        );
        if max <= min + FEATURE_THRESHOLD {
            return false;
        }
        let mut threshold = min + (max - min) * rng.gen::<f64>();
        if threshold == max {
            threshold = min;
        }
        // The highest rank at most the threshold, and the keys going left: below `limit`.
        let left_rank = (values.partition_point(|&v| v <= threshold) - 1) as u32;
        let limit = (left_rank + 1) << shift;
        self.labels.count_below(column, rows, limit, left);
        let leaf = self.min_samples_leaf;
        let (nl, n) = (L::rows(left), L::rows(node));
        if nl < leaf || n - nl < leaf {
            return true;
        }
        let proxy = self.labels.proxy(self.criterion, &self.xlogx, node, left);
        if self.best.is_none_or(|b| proxy > b.proxy) {
            self.keep(feature, threshold, left_rank, proxy, left);
        }
        true
    }

    /// The threshold of `feature` between ranks `below` and `above` (consecutive among the
    /// node's rows), `left` the counts up to `below`: kept if better than the best so far.
    #[inline]
    fn candidate(
        &mut self,
        feature: usize,
        values: &[f64],
        node: &L::Counts,
        below: u32,
        above: u32,
        left: &L::Counts,
    ) {
        let (nl, n) = (L::rows(left), L::rows(node));
        if nl < self.min_samples_leaf || n - nl < self.min_samples_leaf {
            return;
        }
        let (a, b) = (values[below as usize], values[above as usize]);
        if b <= a + FEATURE_THRESHOLD {
            return;
        }
        let proxy = self.labels.proxy(self.criterion, &self.xlogx, node, left);
        if self.best.is_some_and(|s| proxy <= s.proxy) {
            return;
        }
        // scikit-learn's midpoint, kept strictly below the upper value.
        let mut threshold = a / 2.0 + b / 2.0;
        if threshold == b || !threshold.is_finite() {
            threshold = a;
        }
        self.keep(feature, threshold, below, proxy, left);
    }

    fn keep(
        &mut self,
        feature: usize,
        threshold: f64,
        left_rank: u32,
        proxy: f64,
        left: &L::Counts,
    ) {
        self.best = Some(Split {
            feature,
            threshold,
            left_rank,
            proxy,
        });
        self.best_left.clone_from(left);
    }
}
