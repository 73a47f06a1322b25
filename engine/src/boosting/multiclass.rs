//! Multiclass gradient boosting on the multinomial deviance (softmax log loss), as
//! scikit-learn's `GradientBoostingClassifier(loss="log_loss")` fits K > 2 classes: K
//! regression trees per stage, one per class, on the negative gradients y_k − p_k (Friedman,
//! "Greedy function approximation: a gradient boosting machine", 2001, algorithm 6).

use ndarray::{ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::GradientBoostingHyper;
use serde::{Deserialize, Serialize};
use tracing::debug;

use super::columns::RankedColumns;
use super::grow::{Bag, Grower};
use super::tree::RegressionTree;
use super::{bag_size, check_matrix, normalise, resolve, Sampler};
use crate::model::ModelError;
use crate::rows::Rows;

/// Rows predicted together, through every tree in turn.
const PREDICT_BLOCK: usize = 64;

/// A fitted multiclass gradient boosting classifier: the raw score of class k is
/// `init[k] + Σ_stages learning_rate · stages[s][k](x)`, the class probabilities their softmax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientBoostingClasses {
    /// Raw scores before the first stage: the symmetric multinomial logit of the training
    /// priors, log p_k − mean_j log p_j (each p clipped to [ε, 1 − ε]).
    pub init: Vec<f64>,
    /// Shrinkage applied to every tree's values.
    pub learning_rate: f64,
    /// Per stage, one tree per class, in class order.
    pub stages: Vec<Vec<RegressionTree>>,
    /// Normalised total impurity decrease per feature over every tree of every class (sums to
    /// 1, or all 0 when no tree split).
    pub importances: Vec<f64>,
}

/// Fits multiclass gradient boosting on `x` (n × d, standardised) and the class index of each
/// row among `k` classes (k ≥ 3; two classes are the binary [`super::fit`], one tree per stage,
/// as scikit-learn's). Each stage draws one subsample, shared by its K trees, from `seed`,
/// which also orders the features of every split.
pub fn fit_classes(
    hyper: &GradientBoostingHyper,
    x: ArrayView2<f64>,
    y: &[usize],
    k: usize,
    seed: u64,
) -> Result<GradientBoostingClasses, ModelError> {
    let limits = resolve(hyper, x.ncols())?;
    let x = Rows::all(x);
    check_matrix(&x, y.len())?;
    if k < 3 {
        return Err(ModelError::Data(format!(
            "multiclass gradient boosting needs at least 3 classes, got {k} (two classes are \
             the binary model)"
        )));
    }
    if let Some((i, c)) = y.iter().enumerate().find(|(_, &c)| c >= k) {
        return Err(ModelError::Data(format!(
            "row {i} has class {c}: expected a class index below {k}"
        )));
    }
    let (n, d) = (x.len(), x.ncols());
    let columns = RankedColumns::new(&x);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let init = prior_logits(y, k);
    let mut raw: Vec<f64> = init.iter().copied().cycle().take(n * k).collect();
    let m = bag_size(hyper.subsample, n);
    // The leaf value's factor (K − 1) / K, as Friedman's algorithm and scikit-learn.
    let scale = (k - 1) as f64 / k as f64;

    let mut grower = Grower::new(limits, &columns.values, m);
    let mut sampler = Sampler::new(n, m, d);
    let mut importances = vec![0.0; d];
    let mut stages = Vec::with_capacity(hyper.n_estimators as usize);
    // Class-major: the in-bag rows' gradients of class c are g[c * m..(c + 1) * m].
    let (mut g, mut h) = (vec![0.0; k * m], vec![0.0; k * m]);
    let mut p = vec![0.0; k];
    for stage in 0..hyper.n_estimators {
        sampler.draw(&columns, &mut rng);
        // Every tree of the stage fits the gradients of the raw scores the stage started from.
        for (j, &i) in sampler.rows.iter().enumerate() {
            softmax(&raw[i * k..(i + 1) * k], &mut p);
            for (c, &pc) in p.iter().enumerate() {
                let target = if y[i] == c { 1.0 } else { 0.0 };
                g[c * m + j] = target - pc;
                h[c * m + j] = pc * (1.0 - pc);
            }
        }
        let codes = sampler.codes(&columns);
        let mut trees = Vec::with_capacity(k);
        for c in 0..k {
            let bag = Bag {
                m,
                codes,
                g: &g[c * m..(c + 1) * m],
                h: &h[c * m..(c + 1) * m],
                scale,
            };
            let grown = grower.grow(&bag, &mut rng, &mut importances);
            // Every training row, in bag or not, moves by the tree's value.
            for (i, r) in raw.iter_mut().skip(c).step_by(k).enumerate() {
                *r += hyper.learning_rate * grown.tree.value[grown.training_leaf(&columns, i)];
            }
            trees.push(grown.tree);
        }
        debug!(
            stage,
            nodes = trees.iter().map(RegressionTree::node_count).sum::<usize>(),
            "multiclass boosting stage"
        );
        stages.push(trees);
    }
    normalise(&mut importances);
    Ok(GradientBoostingClasses {
        init,
        learning_rate: hyper.learning_rate,
        stages,
        importances,
    })
}

impl GradientBoostingClasses {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.init.len()
    }

    /// The raw score of every class for each row of `x` (scikit-learn's `decision_function`).
    /// Values are rounded to `f32` before they meet the thresholds, as scikit-learn does.
    ///
    /// # Panics
    /// When `x` has another number of columns than the training matrix.
    pub fn decision_function(&self, x: ArrayView2<f64>) -> Vec<Vec<f64>> {
        let d = self.importances.len();
        assert_eq!(
            x.ncols(),
            d,
            "gradient boosting fitted on {d} columns, given {}",
            x.ncols()
        );
        let mut out = vec![self.init.clone(); x.nrows()];
        // Blocks of rows go through every tree in turn: the K × n_estimators trees are read once
        // per block, not once per row.
        let mut block = vec![0f32; PREDICT_BLOCK * d];
        for (rows, raws) in x
            .axis_chunks_iter(Axis(0), PREDICT_BLOCK)
            .zip(out.chunks_mut(PREDICT_BLOCK))
        {
            for (b, &v) in block.iter_mut().zip(rows.iter()) {
                *b = v as f32;
            }
            for trees in &self.stages {
                for (c, tree) in trees.iter().enumerate() {
                    for (raw, row) in raws.iter_mut().zip(block.chunks_exact(d)) {
                        raw[c] += self.learning_rate * tree.value[tree.leaf(row)];
                    }
                }
            }
        }
        out
    }

    /// The probability of each class for every row: the softmax of its raw scores.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Vec<Vec<f64>> {
        let mut raw = self.decision_function(x);
        let mut p = vec![0.0; self.n_classes()];
        for r in &mut raw {
            softmax(r, &mut p);
            r.copy_from_slice(&p);
        }
        raw
    }
}

/// log p_k − mean_j log p_j of the class shares p (clipped to [ε, 1 − ε]): scikit-learn's
/// prior initialisation through the symmetric multinomial logit.
fn prior_logits(y: &[usize], k: usize) -> Vec<f64> {
    let mut counts = vec![0usize; k];
    for &c in y {
        counts[c] += 1;
    }
    let n = y.len() as f64;
    let logs: Vec<f64> = counts
        .iter()
        .map(|&c| (c as f64 / n).clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln())
        .collect();
    let mean = logs.iter().sum::<f64>() / k as f64;
    logs.into_iter().map(|l| l - mean).collect()
}

/// The softmax of `raw` into `out`, shifted by the maximum against overflow.
fn softmax(raw: &[f64], out: &mut [f64]) {
    let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (o, &r) in out.iter_mut().zip(raw) {
        *o = (r - max).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
}
