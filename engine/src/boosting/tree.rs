//! The regression tree of one boosting stage: its stored form (flat node arrays) and how it
//! routes a row to a leaf.

use serde::{Deserialize, Serialize};

/// A binary regression tree stored as flat arrays indexed by node, the root at 0.
/// Node `k` is a leaf when `left[k] == 0` (no node has the root as child); otherwise a row
/// goes to `left[k]` when its `feature[k]` value, rounded to `f32`, is at most `threshold[k]`,
/// and to `right[k]` otherwise. Only leaves' `value`s are used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionTree {
    /// Split feature of each internal node (0 for a leaf).
    pub feature: Vec<u32>,
    /// Split threshold of each internal node (0 for a leaf).
    pub threshold: Vec<f64>,
    /// Left child of each internal node, 0 for a leaf.
    pub left: Vec<u32>,
    /// Right child of each internal node, 0 for a leaf.
    pub right: Vec<u32>,
    /// Leaf values: the Newton step of the stage, before the learning rate (0 for an internal
    /// node).
    pub value: Vec<f64>,
}

impl RegressionTree {
    /// A single leaf of value 0.
    pub(crate) fn root() -> Self {
        RegressionTree {
            feature: vec![0],
            threshold: vec![0.0],
            left: vec![0],
            right: vec![0],
            value: vec![0.0],
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.feature.len()
    }

    /// Number of leaves.
    pub fn leaf_count(&self) -> usize {
        self.left.iter().filter(|&&l| l == 0).count()
    }

    /// Depth of the deepest leaf (0 for a lone root).
    pub fn depth(&self) -> usize {
        fn below(tree: &RegressionTree, node: usize) -> usize {
            match tree.left[node] {
                0 => 0,
                l => 1 + below(tree, l as usize).max(below(tree, tree.right[node] as usize)),
            }
        }
        below(self, 0)
    }

    /// The leaf a row (already rounded to `f32`) falls in.
    #[inline]
    pub fn leaf(&self, row: &[f32]) -> usize {
        let mut node = 0usize;
        loop {
            let left = self.left[node];
            if left == 0 {
                return node;
            }
            let v = row[self.feature[node] as usize];
            node = if f64::from(v) <= self.threshold[node] {
                left as usize
            } else {
                self.right[node] as usize
            };
        }
    }

    /// Appends two leaves under leaf `node`, split on `feature` at `threshold`; returns
    /// their ids.
    pub(crate) fn split(&mut self, node: usize, feature: usize, threshold: f64) -> (usize, usize) {
        let left = self.feature.len();
        for _ in 0..2 {
            self.feature.push(0);
            self.threshold.push(0.0);
            self.left.push(0);
            self.right.push(0);
            self.value.push(0.0);
        }
        self.feature[node] = feature as u32;
        self.threshold[node] = threshold;
        self.left[node] = left as u32;
        self.right[node] = (left + 1) as u32;
        (left, left + 1)
    }
}
