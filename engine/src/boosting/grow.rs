//! Growth of one stage's regression tree on the rank-coded in-bag rows: scikit-learn's
//! `DecisionTreeRegressor(criterion="friedman_mse", splitter="best")` split search, with exact
//! histograms over the ranks (or a sort of the node's ranks where the column has many more
//! distinct values than the node has rows).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::columns::RankedColumns;
use super::tree::RegressionTree;

/// scikit-learn's `FEATURE_THRESHOLD` (an `f32`): two values closer than this are one value.
const FEATURE_THRESHOLD: f32 = 1e-7;
/// scikit-learn's tree `EPSILON`: a node of lower impurity is pure.
const EPSILON: f64 = f64::EPSILON;

/// Checked growth limits of every tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_depth: usize,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub max_features: usize,
    pub max_leaf_nodes: Option<usize>,
    pub min_impurity_decrease: f64,
}

/// The rows a tree is grown on: `m` in-bag rows, their rank codes column-major
/// (`codes[f * m + i]`), their negative gradients `g` and hessians `h`; a leaf's value is
/// `scale · Σ g / Σ h` over its rows (`scale` 1 for the binomial deviance, (K − 1) / K for
/// the multinomial one).
pub(crate) struct Bag<'a> {
    pub m: usize,
    pub codes: &'a [u32],
    pub g: &'a [f64],
    pub h: &'a [f64],
    pub scale: f64,
}

/// A grown tree and, for routing the training rows, the rank code each split sends left at
/// most (`code_threshold[k]`, for internal nodes).
pub(crate) struct Grown {
    pub tree: RegressionTree,
    pub code_threshold: Vec<u32>,
}

impl Grown {
    /// The leaf training row `i` falls in, routed by its rank codes.
    pub fn training_leaf(&self, columns: &RankedColumns, i: usize) -> usize {
        let tree = &self.tree;
        let mut node = 0usize;
        while tree.left[node] != 0 {
            let f = tree.feature[node] as usize;
            node = if columns.codes[f * columns.n + i] <= self.code_threshold[node] {
                tree.left[node] as usize
            } else {
                tree.right[node] as usize
            };
        }
        node
    }
}

/// Scratch buffers reused by every node of every tree.
pub(crate) struct Grower<'a> {
    limits: Limits,
    /// Sorted distinct values of each column.
    values: &'a [Vec<f32>],
    rows: Vec<u32>,
    features: Vec<usize>,
    hist_count: Vec<u32>,
    hist_sum: Vec<f64>,
    pairs: Vec<(u32, f64)>,
    frontier: Vec<Record>,
}

/// A node of the growing tree, its rows `rows[start..end]`.
struct Record {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    impurity: f64,
    split: Option<Split>,
}

/// The split chosen for a node, its rows already partitioned at `pos`.
struct Split {
    feature: usize,
    left_code: u32,
    threshold: f64,
    pos: usize,
    improvement: f64,
    /// Weighted impurity decrease n·i − n_l·i_l − n_r·i_r (the feature importance share).
    decrease: f64,
    left: Sums,
    right: Sums,
}

/// Count, sum and sum of squares of a node's gradients.
#[derive(Clone, Copy, Default)]
struct Sums {
    n: usize,
    sum: f64,
    sq: f64,
}

impl Sums {
    fn impurity(&self) -> f64 {
        let n = self.n as f64;
        self.sq / n - (self.sum / n) * (self.sum / n)
    }
}

/// The best candidate of one column.
#[derive(Clone, Copy)]
struct Candidate {
    proxy: f64,
    left_code: u32,
    threshold: f64,
}

/// Scans the distinct values of one column present in a node, in increasing order, keeping
/// the split of highest Friedman improvement.
struct Scan {
    n: usize,
    total: f64,
    min_leaf: usize,
    n_left: usize,
    sum_left: f64,
    first: f32,
    prev: f32,
    prev_code: u32,
    best: Option<Candidate>,
}

impl Scan {
    fn new(n: usize, total: f64, min_leaf: usize) -> Self {
        Scan {
            n,
            total,
            min_leaf,
            n_left: 0,
            sum_left: 0.0,
            first: 0.0,
            prev: 0.0,
            prev_code: 0,
            best: None,
        }
    }

    /// The next present value `v` (rank `code`), held by `count` rows of gradient sum `sum`.
    #[inline]
    fn push(&mut self, code: u32, v: f32, count: usize, sum: f64) {
        if self.n_left == 0 {
            self.first = v;
        } else if v > self.prev + FEATURE_THRESHOLD {
            let (nl, nr) = (self.n_left, self.n - self.n_left);
            if nl >= self.min_leaf && nr >= self.min_leaf {
                let (nl, nr) = (nl as f64, nr as f64);
                let diff = nr * self.sum_left - nl * (self.total - self.sum_left);
                let proxy = diff * diff / (nl * nr);
                if self.best.is_none_or(|b| proxy > b.proxy) {
                    self.best = Some(Candidate {
                        proxy,
                        left_code: self.prev_code,
                        threshold: f64::from(self.prev) / 2.0 + f64::from(v) / 2.0,
                    });
                }
            }
        }
        self.n_left += count;
        self.sum_left += sum;
        self.prev = v;
        self.prev_code = code;
    }

    /// Whether the column is constant in the node (scikit-learn: max <= min + threshold).
    fn constant(&self) -> bool {
        self.prev <= self.first + FEATURE_THRESHOLD
    }
}

impl<'a> Grower<'a> {
    pub fn new(limits: Limits, values: &'a [Vec<f32>], max_rows: usize) -> Self {
        let max_distinct = values.iter().map(Vec::len).max().unwrap_or(0);
        Grower {
            limits,
            values,
            rows: Vec::with_capacity(max_rows),
            features: (0..values.len()).collect(),
            hist_count: vec![0; max_distinct],
            hist_sum: vec![0.0; max_distinct],
            pairs: Vec::with_capacity(max_rows),
            frontier: Vec::new(),
        }
    }

    /// Grows one tree on `bag`, adding each split's weighted impurity decrease to
    /// `importances[feature]`; leaf values are the Newton step scale · sum(g) / sum(h) of their
    /// rows.
    pub fn grow(&mut self, bag: &Bag, rng: &mut ChaCha8Rng, importances: &mut [f64]) -> Grown {
        let m = bag.m;
        self.rows.clear();
        self.rows.extend(0..m as u32);
        let mut tree = RegressionTree::root();
        let mut code_threshold = vec![0u32];
        let root = self.sums(bag, 0, m);
        let mut record = Record {
            node: 0,
            start: 0,
            end: m,
            depth: 0,
            impurity: root.impurity(),
            split: None,
        };
        self.evaluate(bag, &mut record, root, rng);
        self.frontier.clear();
        self.frontier.push(record);
        let mut splits_left = self.limits.max_leaf_nodes.map_or(usize::MAX, |k| k - 1);
        while let Some(record) = self.pop() {
            let split = match record.split {
                Some(split) if splits_left > 0 => split,
                _ => {
                    tree.value[record.node] = self.newton_step(bag, record.start, record.end);
                    continue;
                }
            };
            splits_left -= 1;
            importances[split.feature] += split.decrease;
            let (l, r) = tree.split(record.node, split.feature, split.threshold);
            code_threshold[record.node] = split.left_code;
            code_threshold.extend([0, 0]);
            for (node, start, end, sums) in [
                (l, record.start, split.pos, split.left),
                (r, split.pos, record.end, split.right),
            ] {
                let mut child = Record {
                    node,
                    start,
                    end,
                    depth: record.depth + 1,
                    impurity: sums.impurity(),
                    split: None,
                };
                self.evaluate(bag, &mut child, sums, rng);
                self.frontier.push(child);
            }
        }
        Grown {
            tree,
            code_threshold,
        }
    }

    /// The next node to expand: the last one depth first, or the one of highest improvement
    /// when the leaves are limited (scikit-learn's best-first builder).
    fn pop(&mut self) -> Option<Record> {
        if self.limits.max_leaf_nodes.is_none() {
            return self.frontier.pop();
        }
        let improvement = |r: &Record| r.split.as_ref().map_or(-1.0, |s| s.improvement);
        let best = (0..self.frontier.len()).reduce(|a, b| {
            if improvement(&self.frontier[b]) > improvement(&self.frontier[a]) {
                b
            } else {
                a
            }
        })?;
        Some(self.frontier.swap_remove(best))
    }

    fn sums(&self, bag: &Bag, start: usize, end: usize) -> Sums {
        let mut s = Sums {
            n: end - start,
            ..Sums::default()
        };
        for &r in &self.rows[start..end] {
            let g = bag.g[r as usize];
            s.sum += g;
            s.sq += g * g;
        }
        s
    }

    fn newton_step(&self, bag: &Bag, start: usize, end: usize) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for &r in &self.rows[start..end] {
            num += bag.g[r as usize];
            den += bag.h[r as usize];
        }
        // scikit-learn's `_safe_divide`.
        if den.abs() < 1e-150 {
            0.0
        } else {
            bag.scale * num / den
        }
    }

    /// Decides whether `record` is split, and how (scikit-learn's stopping rules), partitioning
    /// its rows when it is.
    fn evaluate(&mut self, bag: &Bag, record: &mut Record, sums: Sums, rng: &mut ChaCha8Rng) {
        let n = record.end - record.start;
        let lim = self.limits;
        if record.depth >= lim.max_depth
            || n < lim.min_samples_split
            || n < 2 * lim.min_samples_leaf
            || record.impurity <= EPSILON
        {
            return;
        }
        let Some((feature, candidate)) =
            self.best_split(bag, record.start, record.end, sums.sum, rng)
        else {
            return;
        };
        let (pos, left, right) =
            self.partition(bag, record.start, record.end, feature, candidate.left_code);
        let (il, ir) = (left.impurity(), right.impurity());
        let (nf, nl, nr) = (n as f64, left.n as f64, right.n as f64);
        let improvement = (nf / bag.m as f64) * (record.impurity - nr / nf * ir - nl / nf * il);
        if improvement + EPSILON < lim.min_impurity_decrease {
            return;
        }
        record.split = Some(Split {
            feature,
            left_code: candidate.left_code,
            threshold: candidate.threshold,
            pos,
            improvement,
            decrease: nf * record.impurity - nl * il - nr * ir,
            left,
            right,
        });
    }

    /// The best split of rows `start..end` over the features drawn in random order
    /// (scikit-learn's Fisher–Yates draw: at least `max_features` of them, and one that is not
    /// constant in the node); ties go to the feature drawn first.
    fn best_split(
        &mut self,
        bag: &Bag,
        start: usize,
        end: usize,
        total: f64,
        rng: &mut ChaCha8Rng,
    ) -> Option<(usize, Candidate)> {
        let n = end - start;
        let d = self.features.len();
        let all_values = self.values;
        let mut best: Option<(usize, Candidate)> = None;
        let (mut drawn, mut non_constant) = (0, 0);
        for k in 0..d {
            if drawn >= self.limits.max_features && non_constant > 0 {
                break;
            }
            let j = rng.gen_range(k..d);
            self.features.swap(k, j);
            let f = self.features[k];
            drawn += 1;
            let values = &all_values[f];
            if values.len() < 2 {
                continue;
            }
            let codes = &bag.codes[f * bag.m..(f + 1) * bag.m];
            let scan = self.scan_column(codes, values, bag.g, start, end, total, n);
            if scan.constant() {
                continue;
            }
            non_constant += 1;
            if let Some(c) = scan.best {
                if best.is_none_or(|(_, b)| c.proxy > b.proxy) {
                    best = Some((f, c));
                }
            }
        }
        best
    }

    /// Runs a [`Scan`] over one column's values in the node: through a histogram of its
    /// ranks when the column has at most twice as many distinct values as the node has rows,
    /// through a sort of the node's ranks otherwise.
    #[allow(clippy::too_many_arguments)]
    fn scan_column(
        &mut self,
        codes: &[u32],
        values: &[f32],
        g: &[f64],
        start: usize,
        end: usize,
        total: f64,
        n: usize,
    ) -> Scan {
        let mut scan = Scan::new(n, total, self.limits.min_samples_leaf);
        let rows = &self.rows[start..end];
        if values.len() <= 2 * n {
            let count = &mut self.hist_count[..values.len()];
            let sum = &mut self.hist_sum[..values.len()];
            count.fill(0);
            sum.fill(0.0);
            for &r in rows {
                let c = codes[r as usize] as usize;
                count[c] += 1;
                sum[c] += g[r as usize];
            }
            for (c, (&k, &s)) in count.iter().zip(sum.iter()).enumerate() {
                if k != 0 {
                    scan.push(c as u32, values[c], k as usize, s);
                }
            }
        } else {
            self.pairs.clear();
            self.pairs
                .extend(rows.iter().map(|&r| (codes[r as usize], g[r as usize])));
            self.pairs.sort_unstable_by_key(|p| p.0);
            let mut i = 0;
            while i < self.pairs.len() {
                let code = self.pairs[i].0;
                let (mut k, mut s) = (0, 0.0);
                while i < self.pairs.len() && self.pairs[i].0 == code {
                    s += self.pairs[i].1;
                    k += 1;
                    i += 1;
                }
                scan.push(code, values[code as usize], k, s);
            }
        }
        scan
    }

    /// Moves the rows of `start..end` whose `feature` rank is at most `left_code` first;
    /// returns the boundary and both sides' sums.
    fn partition(
        &mut self,
        bag: &Bag,
        start: usize,
        end: usize,
        feature: usize,
        left_code: u32,
    ) -> (usize, Sums, Sums) {
        let codes = &bag.codes[feature * bag.m..(feature + 1) * bag.m];
        let rows = &mut self.rows[start..end];
        let (mut left, mut right) = (Sums::default(), Sums::default());
        let mut pos = 0;
        for i in 0..rows.len() {
            let r = rows[i];
            let g = bag.g[r as usize];
            let side = if codes[r as usize] <= left_code {
                rows.swap(pos, i);
                pos += 1;
                &mut left
            } else {
                &mut right
            };
            side.n += 1;
            side.sum += g;
            side.sq += g * g;
        }
        (start + pos, left, right)
    }
}
