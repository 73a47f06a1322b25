//! Statistics across the outer folds of the cross-validation modes (Cv, TemporalCv,
//! SlidingWindow): the mean and population standard deviation of every indicator of the
//! detections `train-fold-<k>` and `test-fold-<k>`.
//!
//! Pure functions over [`DetectionResult`]s, shared by the coordinator (job metrics, `--json`)
//! and the dashboard (the Cross Validation tab), so both show the same numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::result::DetectionResult;

/// Mean and population standard deviation of an indicator across outer folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldStatistic {
    /// Mean over the folds where the indicator is defined.
    pub mean: f64,
    /// Population standard deviation over those folds.
    pub std: f64,
    /// The value of each fold (`None` where undefined, e.g. an AUC with one class).
    pub per_fold: Vec<Option<f64>>,
}

/// The indicators averaged across folds, by name, as [`detection_indicators`] lists them; a
/// multiclass detection has the accuracy and F1 scores on families only.
pub const FOLD_INDICATORS: [&str; 9] = [
    "auc",
    "detection_rate",
    "false_alarm_rate",
    "precision",
    "f_score",
    "false_positive_rate",
    "accuracy",
    "f1_micro",
    "f1_macro",
];

/// The indicators of a detection at its threshold, in [`FOLD_INDICATORS`] order.
pub fn detection_indicators(d: &DetectionResult) -> [Option<f64>; 9] {
    let i = d.indicators.as_ref();
    let m = d.multiclass.as_ref();
    [
        d.auc,
        i.map(|i| i.detection_rate),
        i.map(|i| i.false_alarm_rate),
        i.map(|i| i.precision),
        i.map(|i| i.f_score),
        i.map(|i| i.false_positive_rate),
        i.map(|i| i.accuracy).or(m.map(|m| m.accuracy)),
        m.map(|m| m.f1_micro),
        m.map(|m| m.f1_macro),
    ]
}

/// Mean and standard deviation across the outer folds of every indicator of the detections
/// `train-fold-<k>` and `test-fold-<k>`: `side -> indicator -> statistic`. Empty outside the
/// cross-validation modes; an indicator undefined in every fold is left out.
pub fn fold_statistics(
    detections: &[DetectionResult],
    num_folds: usize,
) -> BTreeMap<String, BTreeMap<String, FoldStatistic>> {
    let mut out = BTreeMap::new();
    for side in ["train", "test"] {
        let per_fold: Vec<Option<[Option<f64>; 9]>> = (0..num_folds)
            .map(|f| {
                let name = format!("{side}-fold-{f}");
                detections
                    .iter()
                    .find(|d| d.name == name)
                    .map(detection_indicators)
            })
            .collect();
        if per_fold.iter().all(Option::is_none) {
            continue;
        }
        let mut stats = BTreeMap::new();
        for (m, metric) in FOLD_INDICATORS.iter().enumerate() {
            let values: Vec<Option<f64>> = per_fold
                .iter()
                .map(|v| v.and_then(|v| v[m]).filter(|x| x.is_finite()))
                .collect();
            if let Some((mean, std)) = mean_std(values.iter().flatten().copied()) {
                stats.insert(
                    metric.to_string(),
                    FoldStatistic {
                        mean,
                        std,
                        per_fold: values,
                    },
                );
            }
        }
        out.insert(side.to_string(), stats);
    }
    out
}

/// Mean and population standard deviation; `None` without values.
pub fn mean_std(values: impl Iterator<Item = f64> + Clone) -> Option<(f64, f64)> {
    let n = values.clone().count();
    if n == 0 {
        return None;
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    Some((mean, var.sqrt()))
}
