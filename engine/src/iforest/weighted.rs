//! The weighted isolation forest (Siddiqui et al., "Feedback-Guided Anomaly Discovery via
//! Online Optimization", KDD 2018): an isolation forest whose node weights are set from
//! labelled feedback by online mirror descent on the linear loss (see the module README).

use ndarray::ArrayView2;
use secuml_proto::hyper::WeightedIsolationForestHyper;
use serde::{Deserialize, Serialize};

use super::tree::Compiled;
use super::{params, IsolationForest};
use crate::model::{Detector, ModelError, Output};

/// A fitted weighted isolation forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedIsolationForest {
    /// The forest, grown on every row, labelled or not.
    pub forest: IsolationForest,
    /// Learning rate of the weight updates.
    pub eta: f64,
    /// One non-negative weight per node, tree after tree, in node order; all 1 without
    /// feedback (the plain isolation forest).
    pub weights: Vec<f64>,
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &WeightedIsolationForestHyper) -> Result<(), ModelError> {
    if !(hyper.eta.is_finite() && hyper.eta > 0.0) {
        return Err(ModelError::param(
            "eta",
            format!("a finite number > 0, got {}", hyper.eta),
        ));
    }
    params::check_hyper(&hyper.forest)
}

/// Fits the forest on every row of `x`, then sets its node weights from the labelled rows
/// (`y[i]`: `Some(true)` malicious, `Some(false)` benign, `None` unlabelled), as
/// [`WeightedIsolationForest::update`] does.
pub fn fit(
    hyper: &WeightedIsolationForestHyper,
    x: ArrayView2<f64>,
    y: &[Option<bool>],
    seed: u64,
) -> Result<WeightedIsolationForest, ModelError> {
    check_hyper(hyper)?;
    check_labels(x, y)?;
    let forest = super::fit(&hyper.forest, x, seed)?;
    let mut model = WeightedIsolationForest {
        weights: vec![1.0; forest.node_count()],
        forest,
        eta: hyper.eta,
    };
    model.update(x, y)?;
    Ok(model)
}

impl WeightedIsolationForest {
    /// Sets the node weights from the labelled rows of `x`, without regrowing the trees, as
    /// SecuML's `update()`: the weights restart from 1 and take every labelled row's step, so
    /// they depend on the set of labelled rows given, not on earlier calls or on row order.
    ///
    /// With φ(x) the vector of the lengths each node adds to the path of `x` (1 per edge,
    /// plus c(n) at the leaf; 0 at nodes `x` does not visit) and the linear score
    /// S(x; w) = -w·φ(x), each labelled row (y = +1 malicious, -1 benign) takes an online
    /// mirror descent step on the linear loss f(w) = -y S(x; w), with the Euclidean mirror map
    /// on w >= 0: θ ← θ - η y φ(x), w = max(0, θ), from θ = 1.
    pub fn update(&mut self, x: ArrayView2<f64>, y: &[Option<bool>]) -> Result<(), ModelError> {
        check_labels(x, y)?;
        if x.ncols() != self.forest.n_features as usize {
            return Err(ModelError::Data(format!(
                "{} columns, the forest was fitted on {}",
                x.ncols(),
                self.forest.n_features
            )));
        }
        let x = x.as_standard_layout();
        let mut lengths = Vec::with_capacity(self.weights.len());
        for tree in &self.forest.trees {
            lengths.extend((0..tree.len()).map(|node| tree.node_length(node)));
        }
        let mut theta = vec![1.0; self.weights.len()];
        let mut labelled = 0usize;
        for (row, label) in x.outer_iter().zip(y) {
            let Some(malicious) = *label else { continue };
            let row = row.to_slice().expect("standard layout");
            if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::Data(format!(
                    "non-finite value {} in a labelled row, column {j}",
                    row[j]
                )));
            }
            let step = if malicious { -self.eta } else { self.eta };
            let mut offset = 0;
            for tree in &self.forest.trees {
                tree.for_each_on_path(row, |node| {
                    theta[offset + node] += step * lengths[offset + node];
                });
                offset += tree.len();
            }
            labelled += 1;
        }
        for (w, t) in self.weights.iter_mut().zip(&theta) {
            *w = t.max(0.0);
        }
        tracing::debug!(
            labelled,
            zero_weights = self.weights.iter().filter(|w| **w == 0.0).count(),
            "weighted isolation forest updated"
        );
        Ok(())
    }
}

impl Detector for WeightedIsolationForest {
    /// 2^(-H_w(x) / (T c(ψ))) with H_w(x) = w·φ(x) the weighted path length summed over the
    /// T trees: a decreasing function of the linear score's opposite, equal to the plain
    /// isolation forest's score when every weight is 1.
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.forest.check_columns(x);
        let sums = Compiled::new(&self.forest.trees, Some(&self.weights)).path_lengths(x);
        self.forest.normalise(sums)
    }

    fn output(&self) -> Output {
        Output::Score
    }
}

fn check_labels(x: ArrayView2<f64>, y: &[Option<bool>]) -> Result<(), ModelError> {
    if y.len() != x.nrows() {
        return Err(ModelError::Data(format!(
            "{} labels for {} rows",
            y.len(),
            x.nrows()
        )));
    }
    Ok(())
}
