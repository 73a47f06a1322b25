//! FastMCD (Rousseeuw and Van Driessen, 1999) as scikit-learn's `fast_mcd`, `select_candidates`
//! and `_c_step` run it: the raw minimum covariance determinant estimate.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tracing::warn;

use super::linalg::{log_det, moments, PseudoInverse};

/// The raw estimate (its location is not used after the reweighting).
pub struct RawMcd {
    pub covariance: Array2<f64>,
    /// Row indices of the support.
    pub support: Vec<usize>,
    /// Squared Mahalanobis distance of every row to the raw estimate.
    pub distances: Vec<f64>,
}

/// One candidate: its location, covariance and log-determinant.
struct Candidate {
    location: Array1<f64>,
    covariance: Array2<f64>,
    log_det: f64,
    support: Vec<usize>,
    /// Distances of the candidate's rows, when asked for.
    distances: Vec<f64>,
}

/// Where a C-step run starts.
enum Start<'a> {
    /// A random subset of `h` rows.
    Random,
    /// The `h` rows nearest an earlier estimate.
    From(&'a Array1<f64>, &'a Array2<f64>),
}

/// The raw MCD estimate of `x` with scikit-learn's default support size.
pub fn fast_mcd(x: ArrayView2<f64>, seed: u64) -> RawMcd {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n, d) = x.dim();
    let h = ((0.5 * (n + d + 1) as f64).ceil() as usize).min(n);
    if d == 1 {
        return univariate(x, h);
    }
    if log_det(&moments(x, &(0..n).collect::<Vec<_>>()).1) == f64::NEG_INFINITY {
        warn!(
            rows = n,
            columns = d,
            "the covariance matrix of the data is not full rank"
        );
    }
    let best = if n > 500 {
        let n_subsets = n / 300;
        let subset_rows = n / n_subsets;
        let shuffle = sample(&mut rng, n, n).into_vec();
        let h_subset = (subset_rows as f64 * (h as f64 / n as f64)).ceil() as usize;
        let trials = (500 / n_subsets).max(10);
        let mut pool = Vec::with_capacity(n_subsets * 10);
        for i in 0..n_subsets {
            let subset = x.select(Axis(0), &shuffle[i * subset_rows..(i + 1) * subset_rows]);
            let starts = (0..trials).map(|_| Start::Random);
            pool.extend(select(
                subset.view(),
                h_subset,
                starts,
                10,
                2,
                false,
                &mut rng,
            ));
        }
        let merged_rows = n.min(1500);
        let h_merged = (merged_rows as f64 * (h as f64 / n as f64)).ceil() as usize;
        let keep = if n > 1500 { 10 } else { 1 };
        let mut selection = sample(&mut rng, n, merged_rows).into_vec();
        let merged = x.select(Axis(0), &selection);
        let starts = pool.iter().map(|c| Start::From(&c.location, &c.covariance));
        let merged_best = select(
            merged.view(),
            h_merged,
            starts,
            keep,
            30,
            n < 1500,
            &mut rng,
        );
        if n < 1500 {
            // scikit-learn's `n_samples < 1500` branch (the merged set is all rows, shuffled): the best merged candidate, mapped back to row indices.
            let mut best = merged_best.into_iter().next().expect("one candidate");
            let mut distances = vec![0.0; n];
            for (k, &row) in selection.iter().enumerate() {
                distances[row] = best.distances[k];
            }
            best.support = best.support.iter().map(|&k| selection[k]).collect();
            selection.clear();
            best.distances = distances;
            best
        } else {
            let starts = merged_best
                .iter()
                .map(|c| Start::From(&c.location, &c.covariance));
            select(x, h, starts, 1, 30, true, &mut rng).remove(0)
        }
    } else {
        let firsts = select(x, h, (0..30).map(|_| Start::Random), 10, 2, false, &mut rng);
        let starts = firsts
            .iter()
            .map(|c| Start::From(&c.location, &c.covariance));
        select(x, h, starts, 1, 30, true, &mut rng).remove(0)
    };
    RawMcd {
        covariance: best.covariance,
        support: best.support,
        distances: best.distances,
    }
}

/// Runs the C-steps from each start and keeps the `keep` of lowest determinant (ties: the
/// first), as `select_candidates`.
fn select<'a>(
    x: ArrayView2<f64>,
    h: usize,
    starts: impl Iterator<Item = Start<'a>>,
    keep: usize,
    iterations: usize,
    with_distances: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<Candidate> {
    let mut all: Vec<Candidate> = starts
        .map(|start| c_steps(x, h, start, iterations, with_distances, rng))
        .collect();
    // A stable sort: among equal determinants (−∞ for singular covariances) the first wins.
    all.sort_by(|a, b| a.log_det.total_cmp(&b.log_det));
    all.truncate(keep);
    all
}

/// The `h` rows of smallest distance (ties to the lower index).
fn nearest(distances: &[f64], h: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..distances.len()).collect();
    if h < order.len() {
        order.select_nth_unstable_by(h - 1, |&a, &b| {
            distances[a].total_cmp(&distances[b]).then(a.cmp(&b))
        });
        order.truncate(h);
    }
    order
}

/// C-steps from `start` until the determinant stops decreasing, is −∞ or `iterations` ran out
/// (scikit-learn's `_c_step`, including which estimate it returns in each case).
fn c_steps(
    x: ArrayView2<f64>,
    h: usize,
    start: Start<'_>,
    iterations: usize,
    with_distances: bool,
    rng: &mut ChaCha8Rng,
) -> Candidate {
    let mut support = match start {
        Start::Random => sample(rng, x.nrows(), h).into_vec(),
        Start::From(location, covariance) => {
            nearest(&PseudoInverse::of(covariance).mahalanobis(x, location), h)
        }
    };
    let (mut location, mut covariance) = moments(x, &support);
    let mut det = log_det(&covariance);
    let mut precision: Option<PseudoInverse> = None;
    let mut previous: Option<Candidate> = None;
    let mut remaining = iterations;
    let mut previous_det = f64::INFINITY;
    while det < previous_det && remaining > 0 && det != f64::NEG_INFINITY {
        let p = PseudoInverse::of(&covariance);
        let distances = p.mahalanobis(x, &location);
        let next_support = nearest(&distances, h);
        let (next_location, next_covariance) = moments(x, &next_support);
        previous_det = det;
        previous = Some(Candidate {
            location: std::mem::replace(&mut location, next_location),
            covariance: std::mem::replace(&mut covariance, next_covariance),
            log_det: det,
            support: std::mem::replace(&mut support, next_support),
            distances,
        });
        precision = Some(p);
        det = log_det(&covariance);
        remaining -= 1;
    }
    let current_distances = |precision: Option<PseudoInverse>| {
        if with_distances {
            let p = precision.unwrap_or_else(|| PseudoInverse::of(&covariance));
            p.mahalanobis(x, &location)
        } else {
            Vec::new()
        }
    };
    // The loop stopped on a determinant that increased: scikit-learn warns and returns the
    // previous estimate, unless the iterations ran out.
    let increased = det != f64::NEG_INFINITY
        && !close(det, previous_det)
        && det > previous_det
        && remaining > 0;
    if increased {
        warn!(
            det,
            previous_det, "determinant has increased; this should not happen"
        );
        let mut p = previous.expect("a previous estimate");
        if !with_distances {
            p.distances.clear();
        }
        return p;
    }
    // With a singular covariance from the start, scikit-learn uses the pseudo-inverse of the
    // current covariance; otherwise the precision of the last step's covariance.
    let distances = current_distances(if det == f64::NEG_INFINITY && previous.is_none() {
        None
    } else {
        precision
    });
    Candidate {
        location,
        covariance,
        log_det: det,
        support,
        distances,
    }
}

/// numpy's `allclose` for two scalars (infinities equal only to themselves).
fn close(a: f64, b: f64) -> bool {
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= 1e-8 + 1e-5 * b.abs()
}

/// One column: the shortest half, as scikit-learn's univariate branch of `fast_mcd`.
fn univariate(x: ArrayView2<f64>, h: usize) -> RawMcd {
    let n = x.nrows();
    let values: Vec<f64> = x.column(0).to_vec();
    let (location, support) = if h < n {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let widths: Vec<f64> = (0..n - h).map(|i| sorted[i + h] - sorted[i]).collect();
        let shortest = widths.iter().copied().fold(f64::INFINITY, f64::min);
        let starts: Vec<usize> = (0..n - h).filter(|&i| widths[i] == shortest).collect();
        let location = 0.5
            * starts
                .iter()
                .map(|&i| sorted[i + h] + sorted[i])
                .sum::<f64>()
            / starts.len() as f64;
        let gaps: Vec<f64> = values.iter().map(|v| (v - location).abs()).collect();
        (location, nearest(&gaps, h))
    } else {
        (values.iter().sum::<f64>() / n as f64, (0..n).collect())
    };
    let chosen: Vec<f64> = support.iter().map(|&i| values[i]).collect();
    let mean = chosen.iter().sum::<f64>() / chosen.len() as f64;
    let variance =
        chosen.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / chosen.len() as f64;
    let location = if h < n { location } else { mean };
    let covariance = Array2::from_elem((1, 1), variance);
    let p = PseudoInverse::of(&covariance);
    let loc = Array1::from_elem(1, location);
    RawMcd {
        distances: p.mahalanobis(x, &loc),
        covariance,
        support,
    }
}
