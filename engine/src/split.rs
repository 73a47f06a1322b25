//! Stratified cross-validation folds and stratified train/test splits, seeded and reproducible.
//!
//! [`stratified_kfold`] without a seed assigns rows to folds exactly as scikit-learn's
//! `StratifiedKFold(n_splits=k)` (no shuffle, scikit-learn ≥ 0.22), which is what SecuML's grid
//! search uses:
//! 1. classes are numbered in order of first appearance;
//! 2. the labels, sorted by that number, are dealt round-robin to the `k` folds, which gives
//!    how many members of each class every fold receives;
//! 3. within each class, rows in their original order take the fold indices
//!    `0, …, 0, 1, …, 1, …` with those multiplicities.
//!
//! With a seed, step 3 permutes each class's fold sequence with a ChaCha8 generator
//! (reproducible on every platform), so fold sizes stay balanced per class.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

/// Errors of the fold and split builders (all are bad parameters or bad labels).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SplitError {
    /// The number of folds is below 2.
    #[error("number of folds k must be at least 2, got {0}")]
    TooFewFolds(usize),
    /// A class has fewer members than there are folds.
    #[error("class {class} has {count} members, fewer than the {k} folds")]
    ClassTooSmall {
        /// The class (true = malicious).
        class: bool,
        /// Its number of members.
        count: usize,
        /// The requested number of folds.
        k: usize,
    },
    /// The held-out fraction is not in (0, 1).
    #[error("test_size must be in (0, 1), got {0}")]
    InvalidTestSize(f64),
    /// Every class has fewer members than there are folds (multiclass folds).
    #[error("the largest class has {largest} members, fewer than the {k} folds")]
    EveryClassTooSmall {
        /// Members of the largest class.
        largest: usize,
        /// The requested number of folds.
        k: usize,
    },
    /// There are no rows.
    #[error("no rows to split")]
    Empty,
    /// The number of time buckets is 0.
    #[error("the number of time buckets must be at least 1")]
    NoBuckets,
}

/// Returns the fold index (in `0..k`) of every row, stratified by label.
///
/// Without `shuffle_seed` the assignment is scikit-learn's unshuffled `StratifiedKFold`.
/// Errors when `k < 2` or when either class has fewer than `k` members.
pub fn stratified_kfold(
    labels: &[bool],
    k: usize,
    shuffle_seed: Option<u64>,
) -> Result<Vec<usize>, SplitError> {
    if k < 2 {
        return Err(SplitError::TooFewFolds(k));
    }
    if labels.is_empty() {
        return Err(SplitError::Empty);
    }
    let classes = classes_in_order_of_appearance(labels);
    for &class in &classes {
        let count = labels.iter().filter(|&&l| l == class).count();
        if count < k {
            return Err(SplitError::ClassTooSmall { class, count, k });
        }
    }
    // A single class present means the other one has no members.
    if classes.len() == 1 {
        return Err(SplitError::ClassTooSmall {
            class: !classes[0],
            count: 0,
            k,
        });
    }
    Ok(assign_folds(labels, &classes, k, shuffle_seed))
}

/// Returns the fold index (in `0..k`) of every row, stratified by class (`classes[i]` is row
/// `i`'s class, any numbering): the multiclass case of [`stratified_kfold`], with
/// scikit-learn's tolerance of small classes (a class with fewer than `k` members leaves some
/// folds without it). Errors when `k < 2`, there are fewer rows than folds, or every class has
/// fewer than `k` members, as scikit-learn's `StratifiedKFold`.
pub fn stratified_kfold_multiclass(
    classes: &[usize],
    k: usize,
    shuffle_seed: Option<u64>,
) -> Result<Vec<usize>, SplitError> {
    if k < 2 {
        return Err(SplitError::TooFewFolds(k));
    }
    if classes.is_empty() {
        return Err(SplitError::Empty);
    }
    let mut order = Vec::new();
    for &c in classes {
        if !order.contains(&c) {
            order.push(c);
        }
    }
    let largest = order
        .iter()
        .map(|&c| classes.iter().filter(|&&x| x == c).count())
        .max()
        .unwrap_or(0);
    if classes.len() < k || largest < k {
        return Err(SplitError::EveryClassTooSmall { largest, k });
    }
    Ok(assign_folds(classes, &order, k, shuffle_seed))
}

/// Deals the rows of each class (in `classes` order, the order of first appearance) to the
/// folds as scikit-learn's `StratifiedKFold` does, each class's fold sequence permuted when
/// seeded.
fn assign_folds<T: Copy + PartialEq>(
    labels: &[T],
    classes: &[T],
    k: usize,
    shuffle_seed: Option<u64>,
) -> Vec<usize> {
    let mut rng = shuffle_seed.map(ChaCha8Rng::seed_from_u64);
    let mut folds = vec![0usize; labels.len()];
    // Start of each class's block in the sorted label vector.
    let mut start = 0usize;
    for &class in classes {
        let count = labels.iter().filter(|&&l| l == class).count();
        let mut sequence = Vec::with_capacity(count);
        for fold in 0..k {
            sequence.extend(std::iter::repeat_n(
                fold,
                dealt_count(start, count, fold, k),
            ));
        }
        if let Some(rng) = rng.as_mut() {
            shuffle(&mut sequence, rng);
        }
        let rows = labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l == class)
            .map(|(i, _)| i);
        for (row, fold) in rows.zip(sequence) {
            folds[row] = fold;
        }
        start += count;
    }
    folds
}

/// Returns a held-out mask (true = test row), stratified by label.
///
/// Per class, the rows are shuffled with a ChaCha8 generator seeded by `seed` and the first
/// `round(test_size × n_class)` of them are held out.
pub fn stratified_split(
    labels: &[bool],
    test_size: f64,
    seed: u64,
) -> Result<Vec<bool>, SplitError> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(SplitError::InvalidTestSize(test_size));
    }
    if labels.is_empty() {
        return Err(SplitError::Empty);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut held_out = vec![false; labels.len()];
    for class in [false, true] {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        shuffle(&mut rows, &mut rng);
        let n_test = (test_size * rows.len() as f64).round() as usize;
        for &row in &rows[..n_test.min(rows.len())] {
            held_out[row] = true;
        }
    }
    Ok(held_out)
}

/// `amount` distinct indices of `0..n` (all of them when `amount >= n`) drawn uniformly with a
/// ChaCha8 generator seeded by `seed` (a partial Fisher-Yates shuffle), in increasing order.
pub fn sample_indices(n: usize, amount: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut all: Vec<usize> = (0..n).collect();
    let amount = amount.min(n);
    for i in 0..amount {
        let j = rng.gen_range(i..n);
        all.swap(i, j);
    }
    all.truncate(amount);
    all.sort_unstable();
    all
}

/// Returns a held-out mask (true = test row): the `round(test_size × n)` most recent rows.
///
/// Rows are ordered by timestamp, ties by row order, so the split is the same on every run.
pub fn temporal_split(timestamps: &[i64], test_size: f64) -> Result<Vec<bool>, SplitError> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(SplitError::InvalidTestSize(test_size));
    }
    if timestamps.is_empty() {
        return Err(SplitError::Empty);
    }
    let mut order: Vec<usize> = (0..timestamps.len()).collect();
    order.sort_by_key(|&i| (timestamps[i], i));
    let n_test = (test_size * timestamps.len() as f64).round() as usize;
    let mut held_out = vec![false; timestamps.len()];
    for &row in &order[timestamps.len() - n_test.min(timestamps.len())..] {
        held_out[row] = true;
    }
    Ok(held_out)
}

/// Returns the bucket (in `0..num_buckets`) of every timestamp, the buckets splitting
/// `[min, max]` of the timestamps into intervals of equal duration (the last one closed).
///
/// Exact integer arithmetic: bucket = ⌊(t − min) × num_buckets / (max − min)⌋, capped at
/// `num_buckets − 1`; with a single distinct timestamp every row is in bucket 0.
pub fn time_buckets(timestamps: &[i64], num_buckets: usize) -> Result<Vec<usize>, SplitError> {
    if num_buckets == 0 {
        return Err(SplitError::NoBuckets);
    }
    let (Some(&min), Some(&max)) = (timestamps.iter().min(), timestamps.iter().max()) else {
        return Err(SplitError::Empty);
    };
    let span = i128::from(max) - i128::from(min);
    Ok(timestamps
        .iter()
        .map(|&t| {
            if span == 0 {
                return 0;
            }
            let bucket = (i128::from(t) - i128::from(min)) * num_buckets as i128 / span;
            (bucket as usize).min(num_buckets - 1)
        })
        .collect())
}

/// Lists the distinct labels in order of first appearance.
fn classes_in_order_of_appearance(labels: &[bool]) -> Vec<bool> {
    let first = labels[0];
    if labels.iter().any(|&l| l != first) {
        vec![first, !first]
    } else {
        vec![first]
    }
}

/// Counts the positions `p` in `start..start + count` with `p % k == fold`, i.e. how many
/// members of a class occupying that block of the sorted labels fold `fold` is dealt.
fn dealt_count(start: usize, count: usize, fold: usize, k: usize) -> usize {
    // Positions p < n with p % k == fold number ceil((n - fold) / k) when n > fold.
    let below = |n: usize| if n > fold { (n - fold).div_ceil(k) } else { 0 };
    below(start + count) - below(start)
}

/// Shuffles in place (Fisher–Yates) with 64-bit draws, so results do not depend on the
/// platform's pointer width.
fn shuffle<T>(items: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.gen_range(0..=i as u64) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_distinct_sorted_seeded_and_bounded() {
        let a = sample_indices(1000, 100, 3);
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a[99] < 1000);
        assert_eq!(a, sample_indices(1000, 100, 3));
        assert_ne!(a, sample_indices(1000, 100, 4));
        assert_eq!(sample_indices(5, 100, 3), vec![0, 1, 2, 3, 4]);
        // Uniform: every index is drawn about as often over many seeds.
        let mut counts = [0u32; 10];
        for seed in 0..2000 {
            for i in sample_indices(10, 3, seed) {
                counts[i] += 1;
            }
        }
        assert!(
            counts.iter().all(|&c| (500..700).contains(&c)),
            "{counts:?}"
        );
    }

    /// (labels, k, scikit-learn's fold of every row), from tests/bench/make_split_metrics_fixture.py.
    #[rustfmt::skip]
    fn sklearn_cases() -> Vec<(Vec<bool>, usize, Vec<usize>)> {
        let (t, f) = (true, false);
        let c1 = vec![t, t, f, f, t, f, t, f, f, f];
        let c2 = vec![f, f, f, f, f, t, t, t, t, t, t, t, f];
        let c3 = vec![t, f, f, f, f, f, f, t, t, f, f, f, f, t, t, f, t, f, f, t, f, f, t, f, f, t, f, f, f, f, t, f, f, f, f, f, f];
        vec![
            (c1.clone(), 2, vec![0, 0, 0, 0, 1, 0, 1, 1, 1, 1]),
            (c1, 3, vec![0, 0, 0, 0, 1, 1, 2, 1, 2, 2]),
            (c2, 4, vec![0, 0, 1, 1, 2, 0, 0, 1, 2, 2, 3, 3, 3]),
            (c3.clone(), 4, vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3]),
            (c3, 5, vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 2, 3, 2, 2, 3, 2, 2, 4, 3, 3, 3, 3, 4, 3, 4, 4, 4, 4, 4]),
        ]
    }

    #[test]
    fn multiclass_folds_of_two_classes_are_the_binary_ones() {
        for (labels, k, expected) in sklearn_cases() {
            let classes: Vec<usize> = labels.iter().map(|&l| 7 + usize::from(l)).collect();
            assert_eq!(
                stratified_kfold_multiclass(&classes, k, None).unwrap(),
                expected
            );
        }
    }

    #[test]
    fn multiclass_folds_match_sklearn_with_a_small_class() {
        // StratifiedKFold(3).split(X, [2, 0, 0, 1, 2, 0, 0, 2, 1, 0, 2, 5]) (class 5 has one
        // member: scikit-learn warns and puts it in fold 0).
        let classes = [2, 0, 0, 1, 2, 0, 0, 2, 1, 0, 2, 5];
        assert_eq!(
            stratified_kfold_multiclass(&classes, 3, None).unwrap(),
            vec![0, 0, 1, 0, 0, 1, 2, 1, 1, 2, 2, 2]
        );
        assert!(matches!(
            stratified_kfold_multiclass(&[0, 1, 2], 2, None),
            Err(SplitError::EveryClassTooSmall { largest: 1, k: 2 })
        ));
    }

    #[test]
    fn unshuffled_folds_match_sklearn() {
        for (labels, k, expected) in sklearn_cases() {
            assert_eq!(
                stratified_kfold(&labels, k, None).unwrap(),
                expected,
                "k={k}"
            );
        }
    }

    /// Builds a seeded pseudo-random label vector with roughly `p` positives.
    fn random_labels(n: usize, p: f64, seed: u64) -> Vec<bool> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_bool(p)).collect()
    }

    #[test]
    fn folds_are_a_balanced_partition() {
        for seed in 0..30u64 {
            let n = 20 + (seed as usize * 37) % 300;
            let labels = random_labels(n, 0.1 + 0.8 * (seed as f64 / 30.0), seed);
            for k in [2, 3, 4, 5] {
                for shuffle_seed in [None, Some(seed)] {
                    let Ok(folds) = stratified_kfold(&labels, k, shuffle_seed) else {
                        continue;
                    };
                    assert_eq!(folds.len(), n);
                    for class in [false, true] {
                        let mut sizes = vec![0usize; k];
                        for (i, &fold) in folds.iter().enumerate() {
                            assert!(fold < k);
                            if labels[i] == class {
                                sizes[fold] += 1;
                            }
                        }
                        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                        assert!(hi - lo <= 1, "class {class} sizes {sizes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn shuffled_folds_are_reproducible_and_differ_from_unshuffled() {
        let labels = random_labels(200, 0.4, 3);
        let a = stratified_kfold(&labels, 4, Some(11)).unwrap();
        assert_eq!(a, stratified_kfold(&labels, 4, Some(11)).unwrap());
        assert_ne!(a, stratified_kfold(&labels, 4, Some(12)).unwrap());
        assert_ne!(a, stratified_kfold(&labels, 4, None).unwrap());
    }

    #[test]
    fn bad_fold_parameters_are_errors() {
        let labels = [true, false, false, true, false];
        assert_eq!(
            stratified_kfold(&labels, 1, None),
            Err(SplitError::TooFewFolds(1))
        );
        assert_eq!(
            stratified_kfold(&labels, 3, None),
            Err(SplitError::ClassTooSmall {
                class: true,
                count: 2,
                k: 3
            })
        );
        assert_eq!(
            stratified_kfold(&[true; 6], 2, None),
            Err(SplitError::ClassTooSmall {
                class: false,
                count: 0,
                k: 2
            })
        );
        assert_eq!(stratified_kfold(&[], 2, None), Err(SplitError::Empty));
        let message = stratified_kfold(&labels, 3, None).unwrap_err().to_string();
        assert_eq!(message, "class true has 2 members, fewer than the 3 folds");
    }

    #[test]
    fn split_holds_out_the_rounded_share_of_each_class() {
        for seed in 0..20u64 {
            let labels = random_labels(50 + seed as usize * 13, 0.3, seed);
            let test_size = 0.05 + seed as f64 * 0.04;
            let mask = stratified_split(&labels, test_size, seed).unwrap();
            assert_eq!(mask, stratified_split(&labels, test_size, seed).unwrap());
            for class in [false, true] {
                let n_class = labels.iter().filter(|&&l| l == class).count();
                let held = labels
                    .iter()
                    .zip(&mask)
                    .filter(|(&l, &m)| l == class && m)
                    .count();
                assert_eq!(held, (test_size * n_class as f64).round() as usize);
            }
        }
        let labels = random_labels(100, 0.5, 1);
        assert_ne!(
            stratified_split(&labels, 0.3, 1),
            stratified_split(&labels, 0.3, 2)
        );
    }

    #[test]
    fn temporal_split_holds_out_the_most_recent_rows() {
        let timestamps = [50, 10, 40, 40, 20, 30, 60, 0, 70, 40];
        let mask = temporal_split(&timestamps, 0.3).unwrap();
        // The 3 most recent: 70 (row 8), 60 (row 6), 50 (row 0).
        let held: Vec<usize> = (0..10).filter(|&i| mask[i]).collect();
        assert_eq!(held, vec![0, 6, 8]);
        // Ties at 40 go by row order: the 4 most recent rows end with the last 40 (row 9).
        let mask = temporal_split(&timestamps, 0.4).unwrap();
        let held: Vec<usize> = (0..10).filter(|&i| mask[i]).collect();
        assert_eq!(held, vec![0, 6, 8, 9]);
        assert_eq!(temporal_split(&[], 0.5), Err(SplitError::Empty));
        assert!(matches!(
            temporal_split(&timestamps, 1.0),
            Err(SplitError::InvalidTestSize(_))
        ));
    }

    #[test]
    fn time_buckets_have_equal_durations() {
        // Range [100, 200], 4 buckets of 25 s: [100, 125) [125, 150) [150, 175) [175, 200].
        let timestamps = [100, 124, 125, 149, 150, 174, 175, 200, 199];
        assert_eq!(
            time_buckets(&timestamps, 4).unwrap(),
            vec![0, 0, 1, 1, 2, 2, 3, 3, 3]
        );
        assert_eq!(time_buckets(&[5, 5], 3).unwrap(), vec![0, 0]);
        assert_eq!(time_buckets(&[1, 2], 0), Err(SplitError::NoBuckets));
        assert_eq!(time_buckets(&[], 2), Err(SplitError::Empty));
        // Extreme timestamps do not overflow.
        assert_eq!(
            time_buckets(&[i64::MIN, 0, i64::MAX], 2).unwrap(),
            vec![0, 1, 1]
        );
    }

    #[test]
    fn bad_test_size_is_an_error() {
        for bad in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(matches!(
                stratified_split(&[true, false], bad, 0),
                Err(SplitError::InvalidTestSize(_))
            ));
        }
    }
}
