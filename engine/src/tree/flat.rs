//! A fitted tree as flat node arrays in pre-order, and its prediction; with K classes, the
//! class fractions of its leaves beside.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// [`FlatTree::feature`] of a leaf.
pub const LEAF: u32 = u32::MAX;

/// A binary classification tree, its nodes in pre-order (the root first, every internal
/// node followed by its left subtree): node `i`'s left child is `i + 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlatTree {
    /// The column an internal node splits on; [`LEAF`] for a leaf.
    pub feature: Vec<u32>,
    /// The right child of an internal node (rows whose value is above the threshold); 0 for a
    /// leaf.
    pub right: Vec<u32>,
    /// The threshold of an internal node (rows at most it go left); the probability of the
    /// malicious class of a leaf (the fraction of its training rows that are malicious), or
    /// in a [`ClassTree`] the index of the leaf among the leaves, in pre-order.
    pub value: Vec<f64>,
}

/// A classification tree of K classes: the nodes, and the class fractions of each leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassTree {
    /// The nodes; a leaf's value is its index among the leaves.
    pub tree: FlatTree,
    /// K.
    pub classes: usize,
    /// Leaf after leaf (in pre-order), the fraction of its training rows in each class.
    pub proba: Vec<f64>,
}

impl ClassTree {
    /// The class probabilities of the leaf `row` falls in.
    #[inline]
    pub fn predict_row(&self, row: &[f64]) -> &[f64] {
        let at = self.tree.value[self.tree.leaf_of(row)] as usize * self.classes;
        &self.proba[at..at + self.classes]
    }
}

impl FlatTree {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.feature.len()
    }

    /// Whether the tree has no node (never true of a fitted tree).
    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }

    /// Number of leaves.
    pub fn leaves(&self) -> usize {
        self.feature.iter().filter(|&&f| f == LEAF).count()
    }

    /// Depth of the deepest leaf (0 for a single leaf).
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            if self.feature[i] == LEAF {
                deepest = deepest.max(depth);
            } else {
                stack.push((i + 1, depth + 1));
                stack.push((self.right[i] as usize, depth + 1));
            }
        }
        deepest
    }

    /// The probability of the malicious class of the leaf `row` falls in.
    #[inline]
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.value[self.leaf_of(row)]
    }

    /// The node of the leaf `row` falls in.
    #[inline]
    pub fn leaf_of(&self, row: &[f64]) -> usize {
        let mut i = 0;
        loop {
            let f = self.feature[i];
            if f == LEAF {
                return i;
            }
            i = if row[f as usize] <= self.value[i] {
                i + 1
            } else {
                self.right[i] as usize
            };
        }
    }

    /// Whether every node references existing nodes and columns below `n_features`.
    #[cfg(test)]
    pub(crate) fn is_consistent(&self, n_features: usize) -> bool {
        let n = self.len();
        n > 0
            && self.right.len() == n
            && self.value.len() == n
            && (0..n).all(|i| {
                let f = self.feature[i];
                f == LEAF
                    || ((f as usize) < n_features
                        && i + 1 < n
                        && (self.right[i] as usize) < n
                        && self.right[i] as usize > i + 1)
            })
    }
}

/// Calls `visit` with each row of `x` as a contiguous slice (copied when `x` is not
/// row-major).
pub(crate) fn for_each_row(x: ArrayView2<f64>, mut visit: impl FnMut(&[f64])) {
    if let Some(all) = x.as_slice() {
        for row in all.chunks_exact(x.ncols().max(1)) {
            visit(row);
        }
    } else {
        let mut buffer = vec![0.0; x.ncols()];
        for row in x.rows() {
            for (b, v) in buffer.iter_mut().zip(row) {
                *b = *v;
            }
            visit(&buffer);
        }
    }
}
