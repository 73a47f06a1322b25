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
    /// Per training row, its normalised (malicious, benign) label distribution, flat; (0, 0)
    /// for a row the propagation never reached.
    pub distributions: Vec<[f64; 2]>,
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
    if !(hyper.gamma.is_finite() && hyper.gamma > 0.0) {
        return Err(ModelError::param("gamma", "expected a positive number"));
    }
    if hyper.n_neighbors == 0 {
        return Err(ModelError::param("n-neighbors", "expected at least 1"));
    }
    check_rows(x, 1)?;
    if y.len() != x.nrows() {
        return Err(ModelError::Data(format!(
            "{} labels for {} rows",
            y.len(),
            x.nrows()
        )));
    }
    if !(y.contains(&Some(true)) && y.contains(&Some(false))) {
        return Err(ModelError::Data(
            "label propagation needs labelled rows of both classes".into(),
        ));
    }
    let n_neighbors = (hyper.n_neighbors as usize).min(x.nrows());
    let graph = match hyper.kernel {
        PropagationKernel::Rbf => rbf_graph(x, hyper.gamma),
        PropagationKernel::Knn => knn_graph(x, n_neighbors),
    };
    let (distributions, iterations, converged) = propagate(&graph, y);
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

impl Detector for LabelPropagation {
    /// The probability that each row is malicious (0.5 for a row out of reach of the graph).
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let mut sums = vec![[0.0; 2]; x.nrows()];
        if x.nrows() == 0 {
            return Vec::new();
        }
        match self.kernel {
            PropagationKernel::Rbf => {
                let norms = squared_norms(self.train.view());
                for_each_distance_block(x, self.train.view(), &norms, |q0, t0, block| {
                    for (r, row) in block.outer_iter().enumerate() {
                        let s = &mut sums[q0 + r];
                        for (j, &d) in row.iter().enumerate() {
                            let w = (-self.gamma * d).exp();
                            if w > 0.0 {
                                let f = self.distributions[t0 + j];
                                s[0] += w * f[0];
                                s[1] += w * f[1];
                            }
                        }
                    }
                });
            }
            PropagationKernel::Knn => {
                let nb = kneighbors(self.train.view(), x, self.n_neighbors, false);
                for (i, s) in sums.iter_mut().enumerate() {
                    for &j in nb.of(i).0 {
                        s[0] += self.distributions[j][0];
                        s[1] += self.distributions[j][1];
                    }
                }
            }
        }
        sums.iter()
            .map(|s| {
                let total = s[0] + s[1];
                if total > 0.0 {
                    s[0] / total
                } else {
                    0.5
                }
            })
            .collect()
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

/// Iterates F ← P F with the labelled rows clamped; returns the normalised distributions,
/// the iterations and whether they converged.
fn propagate(graph: &Graph, y: &[Option<bool>]) -> (Vec<[f64; 2]>, usize, bool) {
    let clamp = |label: bool| if label { [1.0, 0.0] } else { [0.0, 1.0] };
    let mut f: Vec<[f64; 2]> = y.iter().map(|l| l.map_or([0.0; 2], clamp)).collect();
    let mut previous = vec![[0.0; 2]; y.len()];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < MAX_ITER {
        let change: f64 = f
            .iter()
            .zip(&previous)
            .map(|(a, b)| (a[0] - b[0]).abs() + (a[1] - b[1]).abs())
            .sum();
        if change < TOL {
            converged = true;
            break;
        }
        std::mem::swap(&mut f, &mut previous);
        for (i, out) in f.iter_mut().enumerate() {
            if let Some(label) = y[i] {
                *out = clamp(label);
                continue;
            }
            let mut s = [0.0; 2];
            for e in graph.starts[i]..graph.starts[i + 1] {
                let (w, from) = (graph.weights[e], previous[graph.columns[e] as usize]);
                s[0] += w * from[0];
                s[1] += w * from[1];
            }
            let total = s[0] + s[1];
            *out = if total == 0.0 {
                s
            } else {
                [s[0] / total, s[1] / total]
            };
        }
        iterations += 1;
    }
    for d in &mut f {
        let total = d[0] + d[1];
        if total != 0.0 {
            *d = [d[0] / total, d[1] / total];
        }
    }
    (f, iterations, converged)
}
