//! Label propagation (Zhu and Ghahramani, 2002), as scikit-learn's `LabelPropagation`
//! (SecuML's LabelPropagation: `kernel='rbf'`, `gamma=20`, `n_neighbors=7`; scikit-learn's
//! `max_iter=1000`, `tol=1e-3`).
//!
//! The graph over the training rows: rbf weights wᵢⱼ = exp(−γ‖xᵢ − xⱼ‖²) (wᵢᵢ = 1), or knn
//! weights wᵢⱼ = 1 when j is among the k nearest rows of i (i itself included), each row divided
//! by its sum: P = D⁻¹W. The label distributions F (one row per training row, malicious and
//! benign) start at the one-hot labels of the labelled rows and 0 for the others; each iteration
//! sets F ← P F, divides each row by its sum (a zero sum stays 0) and clamps the labelled rows
//! back to their labels, until Σ|F − F_prev| < tol (checked before each iteration). A new row's
//! distribution is Σⱼ k(x, xⱼ) Fⱼ over the training rows (its k nearest for knn), normalised.
//!
//! [`fit_classes`] propagates distributions over any number of classes (multiclass models on
//! families), the same iteration with one column per class.
//!
//! Differences from scikit-learn: the rbf weights are kept as sparse rows of their nonzero
//! entries (exp(−γd²) underflows to exactly 0 beyond γd² ≈ 745, which with γ = 20 on
//! standardised data is most pairs), an exact representation of the same matrix; a row without
//! any information (all kernel weights 0, or neighbours without distribution) gets the
//! probability 0.5 where scikit-learn returns 0/0 = NaN.

use ndarray::{Array2, ArrayView2};
use secuml_proto::hyper::{LabelPropagationHyper, PropagationKernel};
use serde::{Deserialize, Serialize};

use crate::lof::check_rows;
use crate::model::{Detector, ModelError, Output};
use crate::neighbours::{for_each_distance_block, kneighbors, squared_norms};

#[cfg(test)]
mod tests;

/// Iterations at most (scikit-learn's default).
pub const MAX_ITER: usize = 1000;
/// Convergence threshold on Σ|F − F_prev| (scikit-learn's default).
pub const TOL: f64 = 1e-3;

/// A fitted label propagation model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelPropagation {
    /// The graph kernel.
    pub kernel: PropagationKernel,
    /// Width of the rbf kernel.
    pub gamma: f64,
    /// Neighbours of the knn kernel (capped at the training rows).
    pub n_neighbors: usize,
    /// The training rows.
    pub train: Array2<f64>,
    /// Per training row, its normalised label distribution: (malicious, benign) for a binary
    /// model, one value per class (in the multiclass model's class order) for one fitted by
    /// [`fit_classes`]; all zeros for a row the propagation never reached.
    pub distributions: Vec<Vec<f64>>,
    /// Iterations run.
    pub iterations: usize,
    /// Whether Σ|F − F_prev| fell below the tolerance.
    pub converged: bool,
}

/// Fits the model on `x` (standardised) with labels `y` (`None`: unlabelled; `Some(true)`:
/// malicious). `seed` is unused: the fit is deterministic.
pub fn fit(
    hyper: &LabelPropagationHyper,
    x: ArrayView2<f64>,
    y: &[Option<bool>],
    _seed: u64,
) -> Result<LabelPropagation, ModelError> {
    if !(y.contains(&Some(true)) && y.contains(&Some(false))) {
        return Err(ModelError::Data(
            "label propagation needs labelled rows of both classes".into(),
        ));
    }
    // Class 0 is malicious, class 1 benign (the distributions' order).
    let classes: Vec<Option<usize>> = y.iter().map(|l| l.map(|l| usize::from(!l))).collect();
    fit_classes(hyper, x, &classes, 2)
}

/// Checks the hyperparameters of `hyper` (no data needed).
pub(crate) fn check_hyper(hyper: &LabelPropagationHyper) -> Result<(), ModelError> {
    if !(hyper.gamma.is_finite() && hyper.gamma > 0.0) {
        return Err(ModelError::param("gamma", "expected a positive number"));
    }
    if hyper.n_neighbors == 0 {
        return Err(ModelError::param("n-neighbors", "expected at least 1"));
    }
    Ok(())
}

/// Fits the model on `x` (standardised) with the class of each row (`None`: unlabelled;
/// classes below `k`): scikit-learn's label distributions over `k` classes.
pub fn fit_classes(
    hyper: &LabelPropagationHyper,
    x: ArrayView2<f64>,
    y: &[Option<usize>],
    k: usize,
) -> Result<LabelPropagation, ModelError> {
    check_hyper(hyper)?;
    check_rows(x, 1)?;
    if y.len() != x.nrows() {
        return Err(ModelError::Data(format!(
            "{} labels for {} rows",
            y.len(),
            x.nrows()
        )));
    }
    if let Some(c) = y.iter().flatten().find(|&&c| c >= k) {
        return Err(ModelError::Data(format!("class {c} is not below {k}")));
    }
    let n_neighbors = (hyper.n_neighbors as usize).min(x.nrows());
    let graph = match hyper.kernel {
        PropagationKernel::Rbf => rbf_graph(x, hyper.gamma),
        PropagationKernel::Knn => knn_graph(x, n_neighbors),
    };
    let (distributions, iterations, converged) = propagate(&graph, y, k);
    Ok(LabelPropagation {
        kernel: hyper.kernel,
        gamma: hyper.gamma,
        n_neighbors,
        train: x.to_owned(),
        distributions,
        iterations,
        converged,
    })
}

impl LabelPropagation {
    /// Each row's label distribution Σⱼ k(x, xⱼ) Fⱼ over the training rows (its nearest for
    /// knn), normalised; uniform for a row out of reach of the graph.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Vec<Vec<f64>> {
        let k = self.distributions.first().map_or(2, Vec::len);
        let mut sums = vec![vec![0.0; k]; x.nrows()];
        if x.nrows() == 0 {
            return Vec::new();
        }
        let add = |s: &mut [f64], w: f64, f: &[f64]| {
            for (s, f) in s.iter_mut().zip(f) {
                *s += w * f;
            }
        };
        match self.kernel {
            PropagationKernel::Rbf => {
                let norms = squared_norms(self.train.view());
                for_each_distance_block(x, self.train.view(), &norms, |q0, t0, block| {
                    for (r, row) in block.outer_iter().enumerate() {
                        let s = &mut sums[q0 + r];
                        for (j, &d) in row.iter().enumerate() {
                            let w = (-self.gamma * d).exp();
                            if w > 0.0 {
                                add(s, w, &self.distributions[t0 + j]);
                            }
                        }
                    }
                });
            }
            PropagationKernel::Knn => {
                let nb = kneighbors(self.train.view(), x, self.n_neighbors, false);
                for (i, s) in sums.iter_mut().enumerate() {
                    for &j in nb.of(i).0 {
                        add(s, 1.0, &self.distributions[j]);
                    }
                }
            }
        }
        for s in &mut sums {
            let total: f64 = s.iter().sum();
            if total > 0.0 {
                s.iter_mut().for_each(|v| *v /= total);
            } else {
                s.iter_mut().for_each(|v| *v = 1.0 / k as f64);
            }
        }
        sums
    }
}

impl Detector for LabelPropagation {
    /// The probability that each row is malicious (0.5 for a row out of reach of the graph).
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.predict_proba(x).into_iter().map(|p| p[0]).collect()
    }

    fn output(&self) -> Output {
        Output::Probability
    }
}

/// A row-stochastic matrix by sparse rows.
struct Graph {
    /// Row i's entries are `starts[i]..starts[i + 1]` of `columns` and `weights`.
    starts: Vec<usize>,
    columns: Vec<u32>,
    weights: Vec<f64>,
}

impl Graph {
    fn from_rows(rows: impl Iterator<Item = Vec<(u32, f64)>>) -> Graph {
        let mut g = Graph {
            starts: vec![0],
            columns: Vec::new(),
            weights: Vec::new(),
        };
        for row in rows {
            let total: f64 = row.iter().map(|e| e.1).sum();
            for (j, w) in row {
                g.columns.push(j);
                g.weights.push(w / total);
            }
            g.starts.push(g.columns.len());
        }
        g
    }
}

/// The rbf graph: the nonzero exp(−γ d²) of each row, the diagonal 1.
fn rbf_graph(x: ArrayView2<f64>, gamma: f64) -> Graph {
    let n = x.nrows();
    let norms = squared_norms(x);
    let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    for_each_distance_block(x, x, &norms, |q0, t0, block| {
        for (r, row) in block.outer_iter().enumerate() {
            let i = q0 + r;
            for (j, &d) in row.iter().enumerate() {
                let j = t0 + j;
                let w = if i == j { 1.0 } else { (-gamma * d).exp() };
                if w > 0.0 {
                    rows[i].push((j as u32, w));
                }
            }
        }
    });
    Graph::from_rows(rows.into_iter())
}

/// The knn graph: weight 1 to each of the k nearest rows (the row itself included).
fn knn_graph(x: ArrayView2<f64>, k: usize) -> Graph {
    let nb = kneighbors(x, x, k, false);
    Graph::from_rows((0..x.nrows()).map(|i| nb.of(i).0.iter().map(|&j| (j as u32, 1.0)).collect()))
}

/// Iterates F ← P F with the labelled rows clamped (`k` classes); returns the normalised
/// distributions, the iterations and whether they converged.
fn propagate(graph: &Graph, y: &[Option<usize>], k: usize) -> (Vec<Vec<f64>>, usize, bool) {
    let clamp = |c: Option<usize>| {
        let mut row = vec![0.0; k];
        if let Some(c) = c {
            row[c] = 1.0;
        }
        row
    };
    let mut f: Vec<Vec<f64>> = y.iter().map(|&c| clamp(c)).collect();
    let mut previous = vec![vec![0.0; k]; y.len()];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < MAX_ITER {
        let change: f64 = f
            .iter()
            .zip(&previous)
            .map(|(a, b)| a.iter().zip(b).map(|(a, b)| (a - b).abs()).sum::<f64>())
            .sum();
        if change < TOL {
            converged = true;
            break;
        }
        std::mem::swap(&mut f, &mut previous);
        for (i, out) in f.iter_mut().enumerate() {
            if let Some(c) = y[i] {
                out.iter_mut().for_each(|v| *v = 0.0);
                out[c] = 1.0;
                continue;
            }
            out.iter_mut().for_each(|v| *v = 0.0);
            for e in graph.starts[i]..graph.starts[i + 1] {
                let (w, from) = (graph.weights[e], &previous[graph.columns[e] as usize]);
                for (o, v) in out.iter_mut().zip(from) {
                    *o += w * v;
                }
            }
            let total: f64 = out.iter().sum();
            if total != 0.0 {
                out.iter_mut().for_each(|v| *v /= total);
            }
        }
        iterations += 1;
    }
    for d in &mut f {
        let total: f64 = d.iter().sum();
        if total != 0.0 {
            d.iter_mut().for_each(|v| *v /= total);
        }
    }
    (f, iterations, converged)
}
