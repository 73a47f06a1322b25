//! k-means: greedy k-means++, Lloyd partial steps, their reduction, and the run state machine.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tracing::debug;

/// Rows whose distances to the centroids are computed at once: a chunk's distance matrix
/// (256 x centroids) stays in cache.
const CHUNK_ROWS: usize = 256;

/// A block's contribution to one Lloyd update of one centroid set.
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    /// Sum of the rows assigned to each cluster (k x d).
    pub sums: Array2<f64>,
    /// Rows assigned to each cluster.
    pub counts: Vec<u64>,
    /// Sum of the squared distances of the rows to their closest centre.
    pub inertia: f64,
}

impl Partial {
    /// Nothing assigned yet, for `k` clusters of `d` columns.
    pub fn zeros(k: usize, d: usize) -> Partial {
        Partial {
            sums: Array2::zeros((k, d)),
            counts: vec![0; k],
            inertia: 0.0,
        }
    }
}

/// Squared norm of every row.
fn row_sq_norms(x: ArrayView2<f64>) -> Vec<f64> {
    x.rows().into_iter().map(|r| r.dot(&r)).collect()
}

fn sq_distance(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    match (a.as_slice(), b.as_slice()) {
        (Some(a), Some(b)) => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
        _ => a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum(),
    }
}

/// Visits every row of `x` with, for each centroid set, its closest centre (lowest index on
/// ties) and its squared distance to it. The closest centre is found from `|c|^2 - 2 x.c`
/// (one matrix product per chunk of rows); the distance is then computed exactly.
fn for_each_closest(
    x: ArrayView2<f64>,
    sets: &[Array2<f64>],
    mut visit: impl FnMut(usize, usize, usize, f64),
) {
    let Some(first) = sets.first() else { return };
    let (k, d) = first.dim();
    assert!(
        sets.iter().all(|c| c.dim() == (k, d)),
        "every centroid set has the same shape"
    );
    assert_eq!(x.ncols(), d, "rows and centroids have the same columns");
    let mut stacked = Array2::<f64>::zeros((sets.len() * k, d));
    for (i, c) in sets.iter().enumerate() {
        stacked
            .slice_axis_mut(Axis(0), (i * k..(i + 1) * k).into())
            .assign(c);
    }
    let c_norms = row_sq_norms(stacked.view());
    let stacked_t = stacked.t();
    let n = x.nrows();
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK_ROWS).min(n);
        let chunk = x.slice_axis(Axis(0), (start..end).into());
        let dots = chunk.dot(&stacked_t);
        for (r, (row, dot)) in chunk.rows().into_iter().zip(dots.rows()).enumerate() {
            for (set, centroids) in sets.iter().enumerate() {
                let base = set * k;
                let mut best = 0;
                let mut best_score = f64::INFINITY;
                for j in 0..k {
                    let score = c_norms[base + j] - 2.0 * dot[base + j];
                    if score < best_score {
                        best_score = score;
                        best = j;
                    }
                }
                let dist = sq_distance(row, centroids.row(best));
                visit(start + r, set, best, dist);
            }
        }
        start = end;
    }
}

/// The partial Lloyd step of the rows `x` (already standardised) for each centroid set:
/// per-cluster sums and counts of the rows closest to each centre, and their inertia.
pub fn partial_step(x: ArrayView2<f64>, sets: &[Array2<f64>]) -> Vec<Partial> {
    let mut out: Vec<Partial> = sets
        .iter()
        .map(|c| Partial::zeros(c.nrows(), c.ncols()))
        .collect();
    for_each_closest(x, sets, |row, set, cluster, dist| {
        let p = &mut out[set];
        p.counts[cluster] += 1;
        p.inertia += dist;
        let mut sum = p.sums.row_mut(cluster);
        sum += &x.row(row);
    });
    out
}

/// Adds the partials of every block, in the order given (block order, for reproducibility).
pub fn reduce<'a>(k: usize, d: usize, partials: impl IntoIterator<Item = &'a Partial>) -> Partial {
    let mut total = Partial::zeros(k, d);
    for p in partials {
        total.sums += &p.sums;
        for (t, c) in total.counts.iter_mut().zip(&p.counts) {
            *t += c;
        }
        total.inertia += p.inertia;
    }
    total
}

/// The centroids after a Lloyd update (the mean of each cluster's rows; an empty cluster keeps
/// its centre) and the squared centre shift summed over the clusters.
pub fn update(old: ArrayView2<f64>, reduced: &Partial) -> (Array2<f64>, f64) {
    let mut new = old.to_owned();
    let mut shift = 0.0;
    for (j, &count) in reduced.counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let mean = &reduced.sums.row(j) / count as f64;
        shift += sq_distance(mean.view(), old.row(j));
        new.row_mut(j).assign(&mean);
    }
    (new, shift)
}

/// Closest centre and squared distance to it of every row of `x`.
pub fn assign(x: ArrayView2<f64>, centroids: &Array2<f64>) -> (Vec<u32>, Vec<f64>) {
    let n = x.nrows();
    let (mut labels, mut dists) = (vec![0u32; n], vec![0.0; n]);
    for_each_closest(
        x,
        std::slice::from_ref(centroids),
        |row, _, cluster, dist| {
            labels[row] = cluster as u32;
            dists[row] = dist;
        },
    );
    (labels, dists)
}

/// The absolute tolerance of the convergence test: `tol` times the mean column variance.
pub fn absolute_tolerance(tol: f64, mean_variance: f64) -> f64 {
    tol * mean_variance
}

/// The seed of the `init`-th run of a job seeded with `seed` (splitmix64 of both).
pub fn derive_seed(seed: u64, init: u32) -> u64 {
    let mut z = seed ^ (u64::from(init).wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Greedy k-means++ on the rows of `x` (already standardised), seeded with `seed`.
///
/// Returns `k` centres, rows of `x`. Needs at least one row; with fewer than `k` distinct
/// rows some centres repeat.
pub fn kmeans_plus_plus(x: ArrayView2<f64>, k: usize, seed: u64) -> Array2<f64> {
    let (n, d) = x.dim();
    assert!(n > 0 && k > 0, "k-means++ needs rows and clusters");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let trials = 2 + (k as f64).ln().floor() as usize;
    let x_norms = row_sq_norms(x);
    let mut centres = Array2::<f64>::zeros((k, d));
    let first = rng.gen_range(0..n);
    centres.row_mut(0).assign(&x.row(first));
    let dist_to = |ids: &[usize]| -> Array2<f64> {
        // Squared distances of every row to each candidate: n x candidates.
        let cands = x.select(Axis(0), ids);
        let mut out = x.dot(&cands.t());
        for (c, &id) in ids.iter().enumerate() {
            let cn = x_norms[id];
            for (i, v) in out.column_mut(c).iter_mut().enumerate() {
                *v = (x_norms[i] + cn - 2.0 * *v).max(0.0);
            }
        }
        out
    };
    let mut closest: Vec<f64> = dist_to(&[first]).column(0).to_vec();
    let mut potential: f64 = closest.iter().sum();
    let mut cumulative = vec![0.0; n];
    for c in 1..k {
        let mut acc = 0.0;
        for (cum, v) in cumulative.iter_mut().zip(&closest) {
            acc += v;
            *cum = acc;
        }
        let ids: Vec<usize> = (0..trials)
            .map(|_| {
                let target = rng.gen::<f64>() * potential;
                cumulative.partition_point(|&v| v < target).min(n - 1)
            })
            .collect();
        let dists = dist_to(&ids);
        let mut best: Option<(f64, usize)> = None;
        for t in 0..ids.len() {
            let pot: f64 = dists
                .column(t)
                .iter()
                .zip(&closest)
                .map(|(a, b)| a.min(*b))
                .sum();
            if best.is_none_or(|(p, _)| pot < p) {
                best = Some((pot, t));
            }
        }
        let (pot, t) = best.expect("at least two trials");
        for (cl, v) in closest.iter_mut().zip(dists.column(t)) {
            *cl = cl.min(*v);
        }
        potential = pot;
        centres.row_mut(c).assign(&x.row(ids[t]));
    }
    centres
}

/// Parameters of an in-process k-means.
#[derive(Debug, Clone, PartialEq)]
pub struct KmeansParams {
    /// Clusters.
    pub k: usize,
    /// Runs from different k-means++ seeds; the best is kept.
    pub n_init: u32,
    /// Lloyd updates per run at most.
    pub max_iter: u32,
    /// Relative tolerance of the convergence test.
    pub tol: f64,
    /// Seed of the runs' seeds ([`derive_seed`]).
    pub seed: u64,
    /// Rows per block of the partial steps.
    pub block_rows: usize,
}

impl KmeansParams {
    /// scikit-learn's defaults (n_init 10, max_iter 300, tol 1e-4), seed 0, blocks of 8192 rows.
    pub fn new(k: usize) -> KmeansParams {
        KmeansParams {
            k,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            block_rows: 8192,
        }
    }
}

/// Where one run stands.
#[derive(Debug, Clone, PartialEq)]
enum RunState {
    /// Updating its centroids.
    Running,
    /// Converged or out of iterations: its inertia on its final centres is next.
    Evaluating,
    /// Finished with this inertia.
    Done(f64),
}

/// The Lloyd iterations of several runs at once, driven by reduced partials: the same state
/// machine drives [`fit`] in process and the coordinator's task stages.
#[derive(Debug, Clone)]
pub struct LloydRuns {
    centroids: Vec<Array2<f64>>,
    states: Vec<RunState>,
    iterations: Vec<u32>,
    max_iter: u32,
    tol: f64,
}

impl LloydRuns {
    /// Runs from the given initial centroids, converged when the shift is at most `abs_tol`.
    pub fn new(inits: Vec<Array2<f64>>, max_iter: u32, abs_tol: f64) -> LloydRuns {
        let n = inits.len();
        LloydRuns {
            centroids: inits,
            states: vec![RunState::Running; n],
            iterations: vec![0; n],
            max_iter: max_iter.max(1),
            tol: abs_tol,
        }
    }

    /// The runs that need a pass over the data, by index, in run order.
    pub fn pending(&self) -> Vec<usize> {
        (0..self.states.len())
            .filter(|&i| !matches!(self.states[i], RunState::Done(_)))
            .collect()
    }

    /// The current centroids of run `i`.
    pub fn centroids(&self, i: usize) -> &Array2<f64> {
        &self.centroids[i]
    }

    /// Whether every run is finished.
    pub fn done(&self) -> bool {
        self.pending().is_empty()
    }

    /// Takes the reduced partials of a pass over the data, one per [`Self::pending`] run, in
    /// that order: updates the running ones, finishes the evaluated ones.
    pub fn advance(&mut self, reduced: &[Partial]) {
        let pending = self.pending();
        assert_eq!(pending.len(), reduced.len(), "one partial per pending run");
        for (&i, p) in pending.iter().zip(reduced) {
            match self.states[i] {
                RunState::Running => {
                    let (new, shift) = update(self.centroids[i].view(), p);
                    self.centroids[i] = new;
                    self.iterations[i] += 1;
                    if shift <= self.tol || self.iterations[i] >= self.max_iter {
                        debug!(
                            run = i,
                            iterations = self.iterations[i],
                            shift,
                            "k-means run stopped"
                        );
                        self.states[i] = RunState::Evaluating;
                    }
                }
                RunState::Evaluating => self.states[i] = RunState::Done(p.inertia),
                RunState::Done(_) => unreachable!("finished runs are not pending"),
            }
        }
    }

    /// Inertia of every run (`None` until finished).
    pub fn inertias(&self) -> Vec<Option<f64>> {
        self.states
            .iter()
            .map(|s| match s {
                RunState::Done(i) => Some(*i),
                _ => None,
            })
            .collect()
    }

    /// Lloyd updates made by every run.
    pub fn iterations(&self) -> &[u32] {
        &self.iterations
    }

    /// The finished run of lowest inertia (the first on ties).
    pub fn best(&self) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (i, inertia) in self.inertias().into_iter().enumerate() {
            let inertia = inertia?;
            if best.is_none_or(|(_, b)| inertia < b) {
                best = Some((i, inertia));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// Row ranges `[start, end)` of `block_rows` rows covering `n` rows.
pub fn row_blocks(n: usize, block_rows: usize) -> Vec<(usize, usize)> {
    let b = block_rows.max(1);
    (0..n.div_ceil(b))
        .map(|i| (i * b, ((i + 1) * b).min(n)))
        .collect()
}

/// A fitted k-means.
#[derive(Debug, Clone, PartialEq)]
pub struct KmeansFit {
    /// Centres of the best run (k x d).
    pub centroids: Array2<f64>,
    /// Closest centre of every row.
    pub labels: Vec<u32>,
    /// Squared distance of every row to its centre.
    pub sq_distances: Vec<f64>,
    /// Inertia of the best run.
    pub inertia: f64,
    /// Index of the best run.
    pub best_init: usize,
    /// Inertia of every run.
    pub inertias: Vec<f64>,
    /// Lloyd updates of every run.
    pub iterations: Vec<u32>,
}

/// k-means in process on standardised rows `x`, with the plan the coordinator uses: the same
/// seeds, blocks and reduction order, so the same numbers. `mean_variance` is the mean column
/// variance of `x` (1 for standardised non-constant columns).
pub fn fit(x: ArrayView2<f64>, params: &KmeansParams, mean_variance: f64) -> KmeansFit {
    let (n, d) = x.dim();
    let k = params.k;
    let inits: Vec<Array2<f64>> = (0..params.n_init.max(1))
        .map(|i| kmeans_plus_plus(x, k, derive_seed(params.seed, i)))
        .collect();
    let mut runs = LloydRuns::new(
        inits,
        params.max_iter,
        absolute_tolerance(params.tol, mean_variance),
    );
    let blocks = row_blocks(n, params.block_rows);
    while !runs.done() {
        let pending = runs.pending();
        let sets: Vec<Array2<f64>> = pending.iter().map(|&i| runs.centroids(i).clone()).collect();
        let partials: Vec<Vec<Partial>> = blocks
            .iter()
            .map(|&(a, b)| partial_step(x.slice_axis(Axis(0), (a..b).into()), &sets))
            .collect();
        let reduced: Vec<Partial> = (0..sets.len())
            .map(|s| reduce(k, d, partials.iter().map(|p| &p[s])))
            .collect();
        runs.advance(&reduced);
    }
    let best = runs.best().expect("every run finished");
    let centroids = runs.centroids(best).clone();
    let (labels, sq_distances) = assign(x, &centroids);
    let inertias: Vec<f64> = runs.inertias().into_iter().flatten().collect();
    KmeansFit {
        centroids,
        labels,
        sq_distances,
        inertia: inertias[best],
        best_init: best,
        inertias,
        iterations: runs.iterations().to_vec(),
    }
}
