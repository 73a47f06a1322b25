//! ROC and FAR-DR curves over every distinct threshold, and the prediction histogram.

use serde::{Deserialize, Serialize};

use super::Confusion;

/// A curve traced by sweeping the threshold down through every distinct score.
///
/// Point `i` flags the instances with a score `>= thresholds[i]` (scikit-learn's convention
/// for curves; with SecuML's strict `>` it is the threshold just below). The first point has
/// threshold `+∞` and flags nothing. This is scikit-learn's `roc_curve` with
/// `drop_intermediate=False`: no thinning.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Curve {
    /// Abscissae (false positive rate for ROC, false alarm rate for FAR-DR).
    pub x: Vec<f64>,
    /// Ordinates (detection rate for both).
    pub y: Vec<f64>,
    /// Threshold of each point, decreasing.
    pub thresholds: Vec<f64>,
}

/// Counts of one probability bin by label.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Histogram {
    /// `bins + 1` edges over [0, 1].
    pub edges: Vec<f64>,
    /// Benign instances per bin.
    pub benign: Vec<usize>,
    /// Malicious instances per bin.
    pub malicious: Vec<usize>,
    /// Unlabelled instances per bin.
    pub unlabelled: Vec<usize>,
}

/// Computes the ROC curve: (false positive rate, detection rate) at every distinct threshold.
///
/// Returns `None` when a class is absent, a score is NaN or the lengths differ.
pub fn roc_curve(labels: &[bool], scores: &[f64]) -> Option<Curve> {
    sweep(labels, scores, |c| c.indicators().false_positive_rate)
}

/// Computes the FAR-DR curve: (SecuML's false alarm rate = 1 − precision, detection rate) at
/// every distinct threshold. The first point (nothing flagged) is (0, 0).
///
/// Returns `None` when a class is absent, a score is NaN or the lengths differ.
pub fn far_dr_curve(labels: &[bool], scores: &[f64]) -> Option<Curve> {
    sweep(labels, scores, |c| c.indicators().false_alarm_rate)
}

/// Counts `probas` in `bins` equal bins over [0, 1], split by label (`None` = unlabelled).
///
/// Bin `i` is `[i / bins, (i + 1) / bins)`, except the last, which also holds 1.0. Values below
/// 0 count in the first bin, values above 1 in the last; NaN values are skipped. `bins = 0`
/// gives empty counts.
pub fn histogram(probas: &[f64], labels: &[Option<bool>], bins: usize) -> Histogram {
    let edges: Vec<f64> = (0..=bins).map(|i| i as f64 / bins as f64).collect();
    let mut h = Histogram {
        benign: vec![0; bins],
        malicious: vec![0; bins],
        unlabelled: vec![0; bins],
        edges,
    };
    if bins == 0 {
        return h;
    }
    for (&p, &label) in probas.iter().zip(labels) {
        let Some(bin) = histogram_bin(p, &h.edges) else {
            continue;
        };
        match label {
            Some(false) => h.benign[bin] += 1,
            Some(true) => h.malicious[bin] += 1,
            None => h.unlabelled[bin] += 1,
        }
    }
    h
}

/// The bin of `value` among the bins of `edges` (as [`histogram`] makes them: `bins + 1` equal
/// steps over [0, 1]), by [`histogram`]'s rule; `None` for NaN or without bins.
pub fn histogram_bin(value: f64, edges: &[f64]) -> Option<usize> {
    let bins = edges.len().checked_sub(1).filter(|b| *b > 0)?;
    if value.is_nan() {
        return None;
    }
    let mut bin = ((value * bins as f64).floor().max(0.0) as usize).min(bins - 1);
    // Correct a rounding error of the product against the exact edges.
    if bin > 0 && value < edges[bin] {
        bin -= 1;
    } else if bin + 1 < bins && value >= edges[bin + 1] {
        bin += 1;
    }
    Some(bin)
}

/// Sweeps the threshold down through the distinct scores; `x_of` gives the abscissa of a
/// confusion, the ordinate is the detection rate.
fn sweep(labels: &[bool], scores: &[f64], x_of: impl Fn(&Confusion) -> f64) -> Option<Curve> {
    if labels.len() != scores.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut confusion = Confusion {
        tp: 0,
        fp: 0,
        tn: n_neg,
        fn_: n_pos,
    };
    let mut curve = Curve::default();
    let push = |c: &Confusion, threshold: f64, curve: &mut Curve| {
        curve.x.push(x_of(c));
        curve.y.push(c.indicators().detection_rate);
        curve.thresholds.push(threshold);
    };
    push(&confusion, f64::INFINITY, &mut curve);
    let mut i = 0;
    while i < order.len() {
        let threshold = scores[order[i]];
        while i < order.len() && scores[order[i]] == threshold {
            if labels[order[i]] {
                confusion.tp += 1;
                confusion.fn_ -= 1;
            } else {
                confusion.fp += 1;
                confusion.tn -= 1;
            }
            i += 1;
        }
        push(&confusion, threshold, &mut curve);
    }
    Some(curve)
}
