//! One isolation tree: its stored form (flat node arrays), its growth on a subsample, and the
//! branch-free form the forests score with.

use ndarray::ArrayView2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A feature whose range over a node's rows is at most this is constant there (scikit-learn's
/// `FEATURE_THRESHOLD`).
const FEATURE_THRESHOLD: f64 = 1e-7;

/// The Euler–Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// An isolation tree, as flat arrays indexed by node (the root is node 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationTree {
    /// The column a split node tests (0 for a leaf).
    pub feature: Vec<u32>,
    /// A row goes left when its value is `<=` this (0 for a leaf).
    pub threshold: Vec<f64>,
    /// The left child of a split node, whose right child is `left + 1`; 0 for a leaf.
    pub left: Vec<u32>,
    /// Training rows that reached the node.
    pub n_samples: Vec<u32>,
}

/// c(n), the average path length of an unsuccessful search in a binary search tree of n
/// keys: what an isolation tree would add below a leaf holding n rows (scikit-learn's
/// `_average_path_length`).
pub fn average_path_length(n: u32) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = f64::from(n);
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

impl IsolationTree {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.feature.len()
    }

    /// Whether the tree has no node (never true for a fitted tree).
    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }

    /// Whether `node` is a leaf.
    pub fn is_leaf(&self, node: usize) -> bool {
        self.left[node] == 0
    }

    /// The length node `node` adds to the path of a row that visits it: 1 for the edge from
    /// its parent (none for the root), plus c(n) at a leaf of n training rows. A row's path
    /// length, depth of its leaf plus c(n), is the sum of these over the nodes it visits.
    pub fn node_length(&self, node: usize) -> f64 {
        let edge = if node == 0 { 0.0 } else { 1.0 };
        if self.is_leaf(node) {
            edge + average_path_length(self.n_samples[node])
        } else {
            edge
        }
    }

    /// Calls `visit(node)` for every node `row` goes through, root to leaf.
    pub fn for_each_on_path(&self, row: &[f64], mut visit: impl FnMut(usize)) {
        let mut node = 0;
        loop {
            visit(node);
            if self.is_leaf(node) {
                return;
            }
            let right = goes_right(row[self.feature[node] as usize], self.threshold[node]);
            node = self.left[node] as usize + usize::from(right);
        }
    }

    /// Depth of the deepest leaf (0 for a single leaf).
    fn depth(&self) -> u32 {
        let mut depth = vec![0u32; self.len()];
        let mut deepest = 0;
        // Children always come after their parent, so one pass in index order suffices.
        for node in 0..self.len() {
            if !self.is_leaf(node) {
                let child = self.left[node] as usize;
                depth[child] = depth[node] + 1;
                depth[child + 1] = depth[node] + 1;
                deepest = deepest.max(depth[node] + 1);
            }
        }
        deepest
    }
}

/// Scratch space reused from tree to tree while a forest grows: no allocation per node.
#[derive(Debug, Default)]
pub(crate) struct Grower {
    /// The drawn rows' values of the drawn features, column-major: `columns[f * ψ + i]`.
    columns: Vec<f64>,
    /// Positions (in `0..ψ`) of the drawn rows, partitioned node by node.
    order: Vec<u32>,
    /// Local indices of the drawn features that are not constant over the drawn rows.
    candidates: Vec<u32>,
    /// Nodes left to split: (node, start, end, depth) over `order`.
    stack: Vec<(u32, u32, u32, u32)>,
}

impl Grower {
    /// Grows one tree on rows `rows` of `x` (row-major, `d` columns), splitting on the columns
    /// `features` only, to depth `max_depth` at most.
    pub(crate) fn grow(
        &mut self,
        x: &[f64],
        d: usize,
        rows: &[usize],
        features: &[usize],
        max_depth: u32,
        rng: &mut ChaCha8Rng,
    ) -> IsolationTree {
        let psi = rows.len();
        self.columns.clear();
        self.columns.resize(features.len() * psi, 0.0);
        // Transposed eight rows at a time, so that each write fills a run of a column (one
        // cache line) rather than touching one line per value.
        const BLOCK: usize = 8;
        for (b, chunk) in rows.chunks(BLOCK).enumerate() {
            let block: [&[f64]; BLOCK] = std::array::from_fn(|k| {
                let r = chunk[k.min(chunk.len() - 1)];
                &x[r * d..(r + 1) * d]
            });
            for (f, &column) in features.iter().enumerate() {
                let out = &mut self.columns[f * psi + b * BLOCK..][..chunk.len()];
                for (k, v) in out.iter_mut().enumerate() {
                    *v = block[k][column];
                }
            }
        }
        self.candidates.clear();
        for f in 0..features.len() {
            let values = &self.columns[f * psi..(f + 1) * psi];
            let (lo, hi) = min_max(values.iter().copied());
            // A feature constant over the subsample is constant at every node: drop it once.
            if hi > lo + FEATURE_THRESHOLD {
                self.candidates.push(f as u32);
            }
        }
        self.order.clear();
        self.order.extend(0..psi as u32);

        let mut tree = IsolationTree {
            feature: vec![0],
            threshold: vec![0.0],
            left: vec![0],
            n_samples: vec![psi as u32],
        };
        self.stack.clear();
        self.stack.push((0, 0, psi as u32, 0));
        while let Some((node, start, end, depth)) = self.stack.pop() {
            let (start, end) = (start as usize, end as usize);
            if depth >= max_depth || end - start < 2 {
                continue;
            }
            let Some((f, threshold, mid)) = self.split(start, end, psi, rng) else {
                continue;
            };
            let left = tree.len() as u32;
            let node = node as usize;
            tree.feature[node] = features[f] as u32;
            tree.threshold[node] = threshold;
            tree.left[node] = left;
            for n in [mid - start, end - mid] {
                tree.feature.push(0);
                tree.threshold.push(0.0);
                tree.left.push(0);
                tree.n_samples.push(n as u32);
            }
            self.stack
                .push((left + 1, mid as u32, end as u32, depth + 1));
            self.stack.push((left, start as u32, mid as u32, depth + 1));
        }
        tree
    }

    /// Draws a feature uniformly among those not constant over `order[start..end]` and a
    /// threshold uniformly in [min, max) of its values there, and partitions the rows
    /// (`<=` left). Returns (local feature, threshold, first position of the right child),
    /// or `None` when every feature is constant (the node stays a leaf).
    fn split(
        &mut self,
        start: usize,
        end: usize,
        psi: usize,
        rng: &mut ChaCha8Rng,
    ) -> Option<(usize, f64, usize)> {
        let mut remaining = self.candidates.len();
        let (f, lo, hi) = loop {
            if remaining == 0 {
                return None;
            }
            let r = rng.gen_range(0..remaining);
            let f = self.candidates[r] as usize;
            let values = &self.columns[f * psi..(f + 1) * psi];
            let (lo, hi) = min_max(self.order[start..end].iter().map(|&i| values[i as usize]));
            if hi > lo + FEATURE_THRESHOLD {
                break (f, lo, hi);
            }
            // Constant here: set it aside for the rest of this node's draws.
            remaining -= 1;
            self.candidates.swap(r, remaining);
        };
        let mut threshold = lo + (hi - lo) * rng.gen::<f64>();
        if threshold >= hi {
            threshold = lo;
        }
        let values = &self.columns[f * psi..(f + 1) * psi];
        let order = &mut self.order[start..end];
        let (mut i, mut j) = (0, order.len());
        while i < j {
            if values[order[i] as usize] <= threshold {
                i += 1;
            } else {
                j -= 1;
                order.swap(i, j);
            }
        }
        Some((f, threshold, start + i))
    }
}

/// Whether a row with `value` goes to the right child: unless `value <= threshold`, so a NaN
/// value (or threshold) goes right, as in scikit-learn's trees.
#[inline]
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn goes_right(value: f64, threshold: f64) -> bool {
    !(value <= threshold)
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// A node of [`Compiled`]: a row at node `g` moves to `next + 1` when its value of `feature`
/// is not `<= threshold`, to `next` otherwise. A leaf has a NaN threshold and `next = g - 1`,
/// so it sends every row to itself: a tree is then walked for a fixed number of steps, its
/// depth, with no test for leaves.
#[derive(Debug, Clone, Copy)]
struct FlatNode {
    threshold: f64,
    feature: u32,
    next: u32,
}

/// Rows walked through the trees side by side, for independent chains of loads.
const LANES: usize = 8;

/// A forest laid out for scoring: every tree's nodes in one array, and for each node the
/// (weighted) path length from the root to it.
#[derive(Debug)]
pub(crate) struct Compiled {
    nodes: Vec<FlatNode>,
    /// Sum of `weight * node_length` over the nodes from the root to this one.
    path: Vec<f64>,
    /// (root, depth) of each tree.
    trees: Vec<(u32, u32)>,
}

impl Compiled {
    /// Lays out `trees`, with node weights `weights` (one per node, tree after tree) or 1.
    pub(crate) fn new(trees: &[IsolationTree], weights: Option<&[f64]>) -> Self {
        let total: usize = trees.iter().map(IsolationTree::len).sum();
        let mut nodes = Vec::with_capacity(total);
        let mut path = Vec::with_capacity(total);
        let mut roots = Vec::with_capacity(trees.len());
        for tree in trees {
            let offset = nodes.len();
            roots.push((offset as u32, tree.depth()));
            for node in 0..tree.len() {
                let g = offset + node;
                nodes.push(if tree.is_leaf(node) {
                    FlatNode {
                        threshold: f64::NAN,
                        feature: 0,
                        next: (g as u32).wrapping_sub(1),
                    }
                } else {
                    FlatNode {
                        threshold: tree.threshold[node],
                        feature: tree.feature[node],
                        next: (offset as u32) + tree.left[node],
                    }
                });
                path.push(0.0);
            }
            for node in 0..tree.len() {
                let weight = weights.map_or(1.0, |w| w[offset + node]);
                // Children come after their parent: the parent's sum is already final.
                path[offset + node] += weight * tree.node_length(node);
                if !tree.is_leaf(node) {
                    let child = offset + tree.left[node] as usize;
                    path[child] = path[offset + node];
                    path[child + 1] = path[offset + node];
                }
            }
        }
        Compiled {
            nodes,
            path,
            trees: roots,
        }
    }

    /// The sum over the trees of each row's (weighted) path length.
    pub(crate) fn path_lengths(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let x = x.as_standard_layout();
        let d = x.ncols();
        let data = x.as_slice().expect("standard layout");
        let n = x.nrows();
        let mut out = Vec::with_capacity(n);
        for block in (0..n).step_by(LANES) {
            // A short last block repeats its last row.
            let rows: [&[f64]; LANES] = std::array::from_fn(|k| {
                let i = (block + k).min(n - 1);
                &data[i * d..(i + 1) * d]
            });
            let sums = self.walk(&rows);
            out.extend_from_slice(&sums[..LANES.min(n - block)]);
        }
        out
    }

    fn walk(&self, rows: &[&[f64]; LANES]) -> [f64; LANES] {
        let mut sums = [0.0; LANES];
        for &(root, depth) in &self.trees {
            let mut at = [root; LANES];
            for _ in 0..depth {
                for k in 0..LANES {
                    let node = self.nodes[at[k] as usize];
                    let right = goes_right(rows[k][node.feature as usize], node.threshold);
                    at[k] = node.next.wrapping_add(u32::from(right));
                }
            }
            for k in 0..LANES {
                sums[k] += self.path[at[k] as usize];
            }
        }
        sums
    }
}
