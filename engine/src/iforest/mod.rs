//! Isolation forests: the unsupervised isolation forest of Liu, Ting and Zhou (2008), as
//! scikit-learn's `IsolationForest` grows it, and the semi-supervised weighted isolation forest
//! of Siddiqui et al. (KDD 2018), whose node weights follow labelled feedback.
//!
#![doc = include_str!("README.md")]

mod params;
mod tree;
pub mod weighted;

#[cfg(test)]
mod tests;

pub(crate) use params::check_hyper;
pub use tree::{average_path_length, IsolationTree};
pub use weighted::WeightedIsolationForest;

use ndarray::ArrayView2;
use rand::seq::index;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::IsolationForestHyper;
use serde::{Deserialize, Serialize};

use crate::model::{Detector, ModelError, Output};
use tree::{Compiled, Grower};

/// A fitted isolation forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForest {
    /// Columns of the training data.
    pub n_features: u32,
    /// Rows each tree was grown on (ψ): the score is normalised by c(ψ).
    pub max_samples: u32,
    /// The trees.
    pub trees: Vec<IsolationTree>,
}

/// Fits an isolation forest on the rows of `x` (raw features: isolation forests are not
/// standardised). Every random choice comes from a ChaCha8 stream seeded by `seed`.
pub fn fit(
    hyper: &IsolationForestHyper,
    x: ArrayView2<f64>,
    seed: u64,
) -> Result<IsolationForest, ModelError> {
    let sizes = params::resolve(hyper, x)?;
    let (n, d) = x.dim();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = x.as_standard_layout();
    let data = data.as_slice().expect("standard layout");
    let mut grower = Grower::default();
    let all_features: Vec<usize> = (0..d).collect();
    let mut trees = Vec::with_capacity(sizes.n_estimators);
    for _ in 0..sizes.n_estimators {
        let rows = index::sample(&mut rng, n, sizes.max_samples).into_vec();
        let drawn;
        let features = if sizes.max_features < d {
            drawn = index::sample(&mut rng, d, sizes.max_features).into_vec();
            &drawn
        } else {
            &all_features
        };
        trees.push(grower.grow(data, d, &rows, features, sizes.max_depth, &mut rng));
    }
    tracing::debug!(
        trees = trees.len(),
        max_samples = sizes.max_samples,
        max_features = sizes.max_features,
        max_depth = sizes.max_depth,
        nodes = trees.iter().map(IsolationTree::len).sum::<usize>(),
        "isolation forest grown"
    );
    Ok(IsolationForest {
        n_features: d as u32,
        max_samples: sizes.max_samples as u32,
        trees,
    })
}

impl IsolationForest {
    /// Total number of nodes, over every tree.
    pub fn node_count(&self) -> usize {
        self.trees.iter().map(IsolationTree::len).sum()
    }

    /// Each row's mean path length over the trees, E[h(x)].
    pub fn mean_path_lengths(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.check_columns(x);
        let t = self.trees.len() as f64;
        let mut h = Compiled::new(&self.trees, None).path_lengths(x);
        h.iter_mut().for_each(|v| *v /= t);
        h
    }

    /// The anomaly scores 2^(-E[h(x)] / c(ψ)) of sums of path lengths over the trees.
    pub(crate) fn normalise(&self, mut sums: Vec<f64>) -> Vec<f64> {
        let denominator = self.trees.len() as f64 * average_path_length(self.max_samples);
        for s in &mut sums {
            // As scikit-learn: with ψ = 1, c(ψ) = 0 and every score is 2^-1.
            *s = if denominator == 0.0 {
                0.5
            } else {
                (-*s / denominator).exp2()
            };
        }
        sums
    }

    fn check_columns(&self, x: ArrayView2<f64>) {
        assert_eq!(
            x.ncols(),
            self.n_features as usize,
            "the isolation forest was fitted on {} columns",
            self.n_features
        );
    }
}

impl Detector for IsolationForest {
    /// The anomaly score 2^(-E[h(x)] / c(ψ)), in (0, 1]: the opposite of scikit-learn's
    /// `score_samples`.
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.check_columns(x);
        self.normalise(Compiled::new(&self.trees, None).path_lengths(x))
    }

    fn output(&self) -> Output {
        Output::Score
    }
}
