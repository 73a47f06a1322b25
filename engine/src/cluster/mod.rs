//! Clustering: k-means, factored so a coordinator can spread it over workers, and the
//! in-process Gaussian mixture ([`gmm`]: EM from a k-means partition) and DBSCAN ([`dbscan`])
//! of the alert analysis.
//!
//! The k-means algorithms, as scikit-learn's `KMeans(init="k-means++", algorithm="lloyd")`:
//! - **standardisation** over the whole data ([`ColumnMoments`]): per-block count, mean and
//!   sum of squared deviations, merged in block order with Chan's pairwise update, giving
//!   the population mean and standard deviation of every column;
//! - **greedy k-means++** initialisation ([`kmeans_plus_plus`]): the first centre is a
//!   uniformly drawn row; each next one is the best, by resulting potential (sum of squared
//!   distances to the closest centre), of `2 + floor(ln k)` rows drawn with probability
//!   proportional to their squared distance to the centres chosen so far;
//! - **Lloyd iterations** split into a [`partial_step`] over a block of rows (for each of
//!   several centroid sets: per-cluster sums, counts and inertia of the block), a [`reduce`]
//!   of the blocks' partials in block order (f64, so the result does not depend on which
//!   worker ran which block) and an [`update`] of the centroids returning the centre shift;
//! - **convergence** when the squared centre shift summed over the clusters is at most
//!   `tol` times the mean variance of the (standardised) columns ([`absolute_tolerance`]),
//!   or after `max_iter` updates. An empty cluster keeps its previous centre (scikit-learn
//!   moves it to a far point instead; both are deterministic, ours needs no extra pass);
//! - the **inertia** of a run is the sum of squared distances of the rows to the closest of
//!   its final centres, and the best of `n_init` runs is the one of lowest inertia (the first
//!   on ties).
//!
//! [`fit`] runs the whole algorithm in process on the same block partition and in the same
//! order as the distributed plan, so both give the same numbers.

mod assignments;
pub mod dbscan;
pub mod gmm;
mod kmeans;
#[cfg(test)]
mod mixture_tests;
mod moments;
#[cfg(test)]
mod tests;

pub use assignments::{read_assignments, write_assignments, Assignments};
pub use dbscan::{dbscan, DbscanParams};
pub use gmm::{fit_gmm, fit_gmm_from, Covariance, GmmError, GmmFit, GmmParams};
pub use kmeans::{
    absolute_tolerance, assign, derive_seed, fit, kmeans_plus_plus, partial_step, reduce,
    row_blocks, update, KmeansFit, KmeansParams, LloydRuns, Partial,
};
pub use moments::ColumnMoments;
