//! Detection metrics with SecuML's conventions: ROC AUC, confusion counts and indicators at
//! thresholds, ROC and FAR-DR curves, prediction histograms; accuracy and F1 of multiclass
//! models on families.
//!
//! Conventions:
//! - an instance is flagged malicious when its score is **strictly greater** than the threshold;
//! - the "false alarm rate" is SecuML's: the false discovery rate FP / (FP + TP) = 1 − precision,
//!   not the false positive rate (which is reported separately);
//! - a ratio whose denominator is 0 is 0.

mod curves;
mod multiclass;
#[cfg(test)]
mod tests;

pub use curves::{far_dr_curve, histogram, histogram_bin, roc_curve, Curve, Histogram};
pub use multiclass::multiclass_indicators;

use serde::{Deserialize, Serialize};

/// Confusion counts of a binary detector at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Confusion {
    /// Malicious instances flagged.
    pub tp: usize,
    /// Benign instances flagged.
    pub fp: usize,
    /// Benign instances not flagged.
    pub tn: usize,
    /// Malicious instances not flagged.
    pub fn_: usize,
}

/// Performance indicators derived from a [`Confusion`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Indicators {
    /// TP / (TP + FN), also called recall or true positive rate.
    pub detection_rate: f64,
    /// SecuML's false alarm rate: FP / (FP + TP) = 1 − precision (the false discovery rate).
    pub false_alarm_rate: f64,
    /// TP / (TP + FP).
    pub precision: f64,
    /// Harmonic mean of precision and detection rate.
    pub f_score: f64,
    /// FP / (FP + TN).
    pub false_positive_rate: f64,
    /// (TP + TN) / all.
    pub accuracy: f64,
}

/// The confusion counts and indicators at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdPoint {
    /// Instances with a score strictly greater than this are flagged.
    pub threshold: f64,
    /// Counts at this threshold.
    pub confusion: Confusion,
    /// Indicators at this threshold.
    pub indicators: Indicators,
}

impl Confusion {
    /// Counts the confusion at `threshold` (flagged iff score > threshold).
    ///
    /// `labels` and `scores` must have the same length (extra items of the longer are ignored).
    pub fn at_threshold(labels: &[bool], scores: &[f64], threshold: f64) -> Confusion {
        let mut c = Confusion::default();
        for (&label, &score) in labels.iter().zip(scores) {
            match (label, score > threshold) {
                (true, true) => c.tp += 1,
                (true, false) => c.fn_ += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
            }
        }
        c
    }

    /// Derives the indicators (0 where a denominator is 0).
    pub fn indicators(&self) -> Indicators {
        let ratio = |num: usize, den: usize| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        let detection_rate = ratio(self.tp, self.tp + self.fn_);
        let precision = ratio(self.tp, self.tp + self.fp);
        let f_score = if precision + detection_rate > 0.0 {
            2.0 * precision * detection_rate / (precision + detection_rate)
        } else {
            0.0
        };
        Indicators {
            detection_rate,
            false_alarm_rate: ratio(self.fp, self.fp + self.tp),
            precision,
            f_score,
            false_positive_rate: ratio(self.fp, self.fp + self.tn),
            accuracy: ratio(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn_),
        }
    }
}

/// Computes the ROC AUC of `scores` (higher = more malicious) against `labels`.
///
/// Tied scores count one half, as scikit-learn's `roc_auc_score` (the trapezoid over tied
/// thresholds, i.e. the Mann–Whitney statistic with average ranks). Returns `None` when a class
/// is absent, when a score is NaN or when the lengths differ.
pub fn roc_auc(labels: &[bool], scores: &[f64]) -> Option<f64> {
    if labels.len() != scores.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let order = sorted_order(scores);
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum = 0.0;
    for (i, j) in tie_groups(&order, scores) {
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        let positives = order[i..=j].iter().filter(|&&r| labels[r]).count();
        rank_sum += average_rank * positives as f64;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Computes the accuracy of the detector flagging the scores strictly greater than `threshold`:
/// scikit-learn's `accuracy_score(labels, scores > threshold)`. Returns `None` without rows or
/// when the lengths differ.
pub fn accuracy(labels: &[bool], scores: &[f64], threshold: f64) -> Option<f64> {
    if labels.is_empty() || labels.len() != scores.len() {
        return None;
    }
    Some(
        Confusion::at_threshold(labels, scores, threshold)
            .indicators()
            .accuracy,
    )
}

/// Computes the normalised discounted cumulative gain of the ranking of the instances by
/// decreasing score, with binary relevance (malicious = 1): scikit-learn's
/// `ndcg_score([labels], [scores])` (all positions, gain `rel`, discount `1 / log2(rank + 1)`,
/// tied scores share the average gain of their positions).
///
/// Returns `None` when there is no malicious instance (the ideal gain is 0), a score is NaN or
/// the lengths differ.
pub fn ndcg(labels: &[bool], scores: &[f64]) -> Option<f64> {
    if labels.len() != scores.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    if n_pos == 0 {
        return None;
    }
    let discount = |position: usize| 1.0 / ((position + 2) as f64).log2();
    let ideal: f64 = (0..n_pos).map(discount).sum();
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut dcg = 0.0;
    for (i, j) in tie_groups(&order, scores) {
        let positives = order[i..=j].iter().filter(|&&r| labels[r]).count();
        let average_gain = positives as f64 / (j - i + 1) as f64;
        dcg += average_gain * (i..=j).map(discount).sum::<f64>();
    }
    Some(dcg / ideal)
}

/// Computes SecuML's "detection rate at false alarm rate" (`DrAtFar`): the highest detection
/// rate among the thresholds (every distinct score, and the one flagging nothing) whose false
/// alarm rate, SecuML's false **discovery** rate FP / (FP + TP), is at most `far`.
///
/// The false discovery rate is not monotonic in the threshold, so every threshold is examined.
/// Returns `None` when a class is absent, a score is NaN or the lengths differ.
pub fn detection_rate_at_far(labels: &[bool], scores: &[f64], far: f64) -> Option<f64> {
    let curve = far_dr_curve(labels, scores)?;
    curve
        .x
        .iter()
        .zip(&curve.y)
        .filter(|(fdr, _)| **fdr <= far)
        .map(|(_, dr)| *dr)
        .reduce(f64::max)
}

/// Computes the confusion and indicators at each of `thresholds`, which must be sorted
/// ascending, in one pass over the sorted scores.
pub fn indicators_at_thresholds(
    labels: &[bool],
    scores: &[f64],
    thresholds: &[f64],
) -> Vec<ThresholdPoint> {
    let n = labels.len().min(scores.len());
    let (labels, scores) = (&labels[..n], &scores[..n]);
    let order = sorted_order(scores);
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = n - n_pos;
    // Counts of positives and negatives with a score <= the current threshold.
    let (mut pos_below, mut neg_below, mut next) = (0usize, 0usize, 0usize);
    let mut points = Vec::with_capacity(thresholds.len());
    for &threshold in thresholds {
        while next < n && (scores[order[next]].is_nan() || scores[order[next]] <= threshold) {
            if labels[order[next]] {
                pos_below += 1;
            } else {
                neg_below += 1;
            }
            next += 1;
        }
        let confusion = Confusion {
            tp: n_pos - pos_below,
            fn_: pos_below,
            fp: n_neg - neg_below,
            tn: neg_below,
        };
        points.push(ThresholdPoint {
            threshold,
            confusion,
            indicators: confusion.indicators(),
        });
    }
    points
}

/// Computes the indicators at the 101 thresholds 0.00, 0.01, …, 1.00 SecuML reports.
pub fn indicators_at_percent_thresholds(labels: &[bool], probas: &[f64]) -> Vec<ThresholdPoint> {
    let thresholds: Vec<f64> = (0..=100).map(|t| t as f64 / 100.0).collect();
    indicators_at_thresholds(labels, probas, &thresholds)
}

/// The runs `(first, last)` (inclusive positions in `order`) of equal scores along `order`.
fn tie_groups<'a>(
    order: &'a [usize],
    scores: &'a [f64],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let mut i = 0;
    std::iter::from_fn(move || {
        if i >= order.len() {
            return None;
        }
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let group = (i, j);
        i = j + 1;
        Some(group)
    })
}

/// Returns the row indices sorted by ascending score, NaN first (a NaN score is never flagged).
fn sorted_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (scores[a], scores[b]);
        (!x.is_nan())
            .cmp(&!y.is_nan())
            .then(x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal))
    });
    order
}

/// The adjusted Rand index of two partitions of the same rows (Hubert and Arabie 1985, as
/// scikit-learn's `adjusted_rand_score`): the Rand index corrected for chance, 1 for identical
/// partitions up to renaming, about 0 for independent ones. `None` when the lengths differ.
pub fn adjusted_rand_index<A: Ord + Clone, B: Ord + Clone>(a: &[A], b: &[B]) -> Option<f64> {
    use std::collections::BTreeMap;
    if a.len() != b.len() {
        return None;
    }
    let pairs = |c: u64| (c * c.saturating_sub(1) / 2) as f64;
    let mut table: BTreeMap<(A, B), u64> = BTreeMap::new();
    let mut rows: BTreeMap<A, u64> = BTreeMap::new();
    let mut cols: BTreeMap<B, u64> = BTreeMap::new();
    for (x, y) in a.iter().zip(b) {
        *table.entry((x.clone(), y.clone())).or_default() += 1;
        *rows.entry(x.clone()).or_default() += 1;
        *cols.entry(y.clone()).or_default() += 1;
    }
    let index: f64 = table.values().map(|&c| pairs(c)).sum();
    let sum_a: f64 = rows.values().map(|&c| pairs(c)).sum();
    let sum_b: f64 = cols.values().map(|&c| pairs(c)).sum();
    let expected = sum_a * sum_b / pairs(a.len() as u64).max(1.0);
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        // Both partitions trivial (one cluster, or every row alone): identical by convention.
        return Some(1.0);
    }
    Some((index - expected) / (max - expected))
}
