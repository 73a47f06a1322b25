//! Growing one tree on a [`TrainingSet`]: depth-first (scikit-learn's
//! `DepthFirstTreeBuilder`) or, with a leaf budget, best-first (`BestFirstTreeBuilder`); the
//! forest grows each of its trees with the same [`Grower`].

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::{Criterion, Splitter};

use super::data::TrainingSet;
use super::flat::{FlatTree, LEAF};
use super::labels::Labels;
use super::split::{Node, Searcher, Split};

/// scikit-learn's `EPSILON` (the machine epsilon of f64).
const EPSILON: f64 = f64::EPSILON;

/// Checked growth parameters of one tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GrowParams {
    pub criterion: Criterion,
    pub splitter: Splitter,
    /// `usize::MAX` when unlimited.
    pub max_depth: usize,
    pub min_samples_split: u32,
    pub min_samples_leaf: u32,
    /// Features drawn per split, in 1..=d.
    pub max_features: usize,
    /// At least 2 when set.
    pub max_leaf_nodes: Option<usize>,
    pub min_impurity_decrease: f64,
}

/// One grown tree: its nodes, the class fractions of its leaves (K classes: see
/// [`Labels::leaf`]) and the unnormalised decrease in impurity of each column.
pub(crate) struct Grown {
    pub tree: FlatTree,
    pub proba: Vec<f64>,
    pub decrease: Vec<f64>,
}

/// Grows trees on one training set, reusing its buffers from tree to tree.
pub(crate) struct Grower<'a, L: Labels> {
    data: &'a TrainingSet,
    params: GrowParams,
    searcher: Searcher<L>,
    samples: Vec<u32>,
    nodes: Vec<RawNode<L::Counts>>,
    decrease: Vec<f64>,
    /// Rows of the root (the weighted total of scikit-learn's formulas).
    root_rows: f64,
}

/// A node while the tree grows, children by index (0: none yet).
#[derive(Debug, Clone)]
struct RawNode<C> {
    feature: u32,
    threshold: f64,
    left: u32,
    right: u32,
    counts: C,
}

/// A node waiting for its split: its rows, depth, impurity, parent and known constants.
struct Pending<C> {
    node: Node<C>,
    depth: usize,
    impurity: f64,
    n_constants: usize,
    /// Parent index and whether this is its left child.
    parent: Option<(usize, bool)>,
}

/// A split kept by [`Grower::search`].
struct Found<C> {
    split: Split,
    /// Counts of the left child.
    left: C,
    /// Impurities of the left and right children.
    impurity_left: f64,
    impurity_right: f64,
    /// scikit-learn's weighted decrease in impurity.
    improvement: f64,
    /// The first row of the right child in `samples`.
    mid: usize,
}

/// A node of the best-first frontier, its split already searched.
struct Frontier<C> {
    id: usize,
    depth: usize,
    node: Node<C>,
    /// The split, the left child's counts and the children's impurities, `None` for a leaf.
    split: Option<(Split, C, f64, f64)>,
    impurity: f64,
    improvement: f64,
    constants: Vec<usize>,
}

impl<'a, L: Labels> Grower<'a, L> {
    /// A grower of trees on `data`, whose keys code the classes as `labels` do.
    pub fn new(data: &'a TrainingSet, labels: L, params: GrowParams) -> Self {
        debug_assert_eq!(labels.shift(), data.shift);
        let searcher = Searcher::new(
            data,
            labels,
            params.criterion,
            params.splitter,
            params.min_samples_leaf,
            params.max_features,
            data.n,
        );
        Grower {
            data,
            params,
            searcher,
            samples: Vec::with_capacity(data.n),
            nodes: Vec::new(),
            decrease: vec![0.0; data.d],
            root_rows: 0.0,
        }
    }

    /// Grows a tree on `rows` (row indices, repeated for a bootstrap sample).
    pub fn grow(&mut self, rows: impl IntoIterator<Item = u32>, rng: &mut ChaCha8Rng) -> Grown {
        self.samples.clear();
        self.samples.extend(rows);
        self.nodes.clear();
        self.decrease.iter_mut().for_each(|v| *v = 0.0);
        self.searcher.features = (0..self.data.d).collect();
        let counts = self.searcher.labels.count(self.data, &self.samples);
        self.root_rows = L::rows(&counts) as f64;
        let root = Node {
            start: 0,
            end: self.samples.len(),
            counts,
        };
        match self.params.max_leaf_nodes {
            None => self.depth_first(root, rng),
            Some(max_leaves) => self.best_first(root, max_leaves, rng),
        }
        let (tree, proba) = to_preorder(&self.nodes, &self.searcher.labels);
        Grown {
            tree,
            proba,
            decrease: self.decrease.clone(),
        }
    }

    /// Whether a node is a leaf before any split search.
    fn stops(&self, node: &Node<L::Counts>, depth: usize, impurity: f64) -> bool {
        let n = L::rows(&node.counts);
        depth >= self.params.max_depth
            || n < self.params.min_samples_split
            || n < 2 * self.params.min_samples_leaf
            || impurity <= EPSILON
    }

    /// Searches the split of `node`; `None` when it stays a leaf. Reorders the node's rows,
    /// the left child's first, and returns where the right child's start.
    fn search(
        &mut self,
        node: &Node<L::Counts>,
        depth: usize,
        impurity: f64,
        n_constants: usize,
        rng: &mut ChaCha8Rng,
    ) -> (Option<Found<L::Counts>>, usize) {
        if self.stops(node, depth, impurity) {
            return (None, n_constants);
        }
        let (split, n_total) =
            self.searcher
                .split(self.data, &self.samples, node, n_constants, rng);
        let Some(split) = split else {
            return (None, n_total);
        };
        let left = self.searcher.best_left.clone();
        let right = self.searcher.labels.rest(&node.counts, &left);
        let (il, ir) = (
            self.searcher.impurity(&left),
            self.searcher.impurity(&right),
        );
        let n = L::rows(&node.counts) as f64;
        let (nl, nr) = (L::rows(&left) as f64, L::rows(&right) as f64);
        let improvement = (n / self.root_rows) * (impurity - nr / n * ir - nl / n * il);
        if improvement + EPSILON < self.params.min_impurity_decrease {
            return (None, n_total);
        }
        let mid = self.partition(node, &split);
        let found = Found {
            split,
            left,
            impurity_left: il,
            impurity_right: ir,
            improvement,
            mid,
        };
        (Some(found), n_total)
    }

    /// Moves the rows of `node` going left by `split` first; returns the first right row.
    fn partition(&mut self, node: &Node<L::Counts>, split: &Split) -> usize {
        let column = self.data.column(split.feature);
        let limit = (split.left_rank + 1) << self.data.shift;
        let rows = &mut self.samples[node.start..node.end];
        let (mut i, mut j) = (0, rows.len());
        while i < j {
            if column[rows[i] as usize] < limit {
                i += 1;
            } else {
                j -= 1;
                rows.swap(i, j);
            }
        }
        node.start + i
    }

    /// Adds a node (a leaf until its split is set) under `parent`; returns its index.
    fn add(&mut self, counts: L::Counts, parent: Option<(usize, bool)>) -> usize {
        let id = self.nodes.len();
        self.nodes.push(RawNode {
            feature: LEAF,
            threshold: 0.0,
            left: 0,
            right: 0,
            counts,
        });
        if let Some((p, is_left)) = parent {
            if is_left {
                self.nodes[p].left = id as u32;
            } else {
                self.nodes[p].right = id as u32;
            }
        }
        id
    }

    /// Records `split` at node `id` (`left_rows` going left) and its decrease in impurity.
    fn set_split(
        &mut self,
        id: usize,
        split: &Split,
        left_rows: u32,
        impurity: f64,
        il: f64,
        ir: f64,
    ) {
        let n = L::rows(&self.nodes[id].counts);
        let right = n - left_rows;
        self.decrease[split.feature] +=
            n as f64 * impurity - left_rows as f64 * il - right as f64 * ir;
        self.nodes[id].feature = split.feature as u32;
        self.nodes[id].threshold = split.threshold;
    }

    fn depth_first(&mut self, root: Node<L::Counts>, rng: &mut ChaCha8Rng) {
        let impurity = self.searcher.impurity(&root.counts);
        let mut stack = vec![Pending {
            node: root,
            depth: 0,
            impurity,
            n_constants: 0,
            parent: None,
        }];
        while let Some(p) = stack.pop() {
            let id = self.add(p.node.counts.clone(), p.parent);
            let (found, n_total) = self.search(&p.node, p.depth, p.impurity, p.n_constants, rng);
            let Some(Found {
                split,
                left,
                impurity_left: il,
                impurity_right: ir,
                mid,
                ..
            }) = found
            else {
                continue;
            };
            self.set_split(id, &split, L::rows(&left), p.impurity, il, ir);
            let (left, right) = self.children(p.node, left, mid);
            // Right pushed first: the left subtree is grown first, in pre-order.
            for (node, imp, is_left) in [(right, ir, false), (left, il, true)] {
                stack.push(Pending {
                    node,
                    depth: p.depth + 1,
                    impurity: imp,
                    n_constants: n_total,
                    parent: Some((id, is_left)),
                });
            }
        }
    }

    fn best_first(&mut self, root: Node<L::Counts>, max_leaves: usize, rng: &mut ChaCha8Rng) {
        let impurity = self.searcher.impurity(&root.counts);
        let mut frontier = BinaryHeap::new();
        let first = self.frontier(root, 0, impurity, Vec::new(), None, rng);
        frontier.push(first);
        let mut splits_left = max_leaves - 1;
        while let Some(f) = frontier.pop() {
            let Some((split, left, il, ir)) = f.split.filter(|_| splits_left > 0) else {
                continue;
            };
            splits_left -= 1;
            let left_rows = L::rows(&left);
            self.set_split(f.id, &split, left_rows, f.impurity, il, ir);
            let mid = f.node.start + left_rows as usize;
            let (left, right) = self.children(f.node, left, mid);
            for (node, imp, is_left) in [(left, il, true), (right, ir, false)] {
                let child = self.frontier(
                    node,
                    f.depth + 1,
                    imp,
                    f.constants.clone(),
                    Some((f.id, is_left)),
                    rng,
                );
                frontier.push(child);
            }
        }
    }

    /// Adds a node and searches its split, for the best-first frontier.
    fn frontier(
        &mut self,
        node: Node<L::Counts>,
        depth: usize,
        impurity: f64,
        constants: Vec<usize>,
        parent: Option<(usize, bool)>,
        rng: &mut ChaCha8Rng,
    ) -> Frontier<L::Counts> {
        let id = self.add(node.counts.clone(), parent);
        // Splits are searched out of depth-first order: the known constants are set up anew.
        let d = self.data.d;
        let mut is_constant = vec![false; d];
        constants.iter().for_each(|&f| is_constant[f] = true);
        let features = &mut self.searcher.features;
        features.clear();
        features.extend_from_slice(&constants);
        features.extend((0..d).filter(|&f| !is_constant[f]));
        self.searcher.constant_features[..constants.len()].copy_from_slice(&constants);
        let (found, n_total) = self.search(&node, depth, impurity, constants.len(), rng);
        let constants = self.searcher.constant_features[..n_total].to_vec();
        let (split, improvement) = match found {
            Some(f) => (
                Some((f.split, f.left, f.impurity_left, f.impurity_right)),
                f.improvement,
            ),
            None => (None, 0.0),
        };
        Frontier {
            id,
            depth,
            node,
            split,
            impurity,
            improvement,
            constants,
        }
    }

    /// The two children of `node` split at `mid`, `left` the left one's counts.
    fn children(
        &self,
        node: Node<L::Counts>,
        left: L::Counts,
        mid: usize,
    ) -> (Node<L::Counts>, Node<L::Counts>) {
        let right = self.searcher.labels.rest(&node.counts, &left);
        (
            Node {
                start: node.start,
                end: mid,
                counts: left,
            },
            Node {
                start: mid,
                end: node.end,
                counts: right,
            },
        )
    }
}

/// The tree in pre-order, leaves holding [`Labels::leaf`]'s value, and the class fractions of
/// the leaves it appends.
fn to_preorder<L: Labels>(nodes: &[RawNode<L::Counts>], labels: &L) -> (FlatTree, Vec<f64>) {
    let mut tree = FlatTree {
        feature: Vec::with_capacity(nodes.len()),
        right: Vec::with_capacity(nodes.len()),
        value: Vec::with_capacity(nodes.len()),
    };
    let mut proba = Vec::new();
    // (raw index, flat index of the parent whose right child this is).
    let mut stack = vec![(0usize, None::<usize>)];
    while let Some((i, right_of)) = stack.pop() {
        let at = tree.feature.len();
        if let Some(p) = right_of {
            tree.right[p] = at as u32;
        }
        let node = &nodes[i];
        tree.feature.push(node.feature);
        tree.right.push(0);
        if node.feature == LEAF {
            tree.value.push(labels.leaf(&node.counts, &mut proba));
        } else {
            tree.value.push(node.threshold);
            stack.push((node.right as usize, Some(at)));
            stack.push((node.left as usize, None));
        }
    }
    (tree, proba)
}

impl<C> PartialEq for Frontier<C> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<C> Eq for Frontier<C> {}

impl<C> PartialOrd for Frontier<C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<C> Ord for Frontier<C> {
    /// The largest improvement first; among equal ones, the node added first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.improvement
            .total_cmp(&other.improvement)
            .then_with(|| other.id.cmp(&self.id))
    }
}
