//! Detection: applies a stored model to rows of a dataset and computes SecuML's indicators.

use std::time::Instant;

use ndarray::Array1;
use secuml_engine::dataset::Encoder;
use secuml_engine::metrics;
use secuml_proto::result::{Confusion, Histogram, ThresholdIndicators};
use secuml_proto::{
    AnnotationsSource, DataRef, DetectionResult, LogisticModel, RowSelection, Side, TaskFailure,
};

use crate::data::{select_rows, take_rows, DataCache};

/// Bins of the predictions histogram.
pub const HISTOGRAM_BINS: usize = 10;

/// Probability of the malicious class for every row of `x` (already encoded).
pub fn predict_proba(model: &LogisticModel, x: &ndarray::Array2<f64>) -> Array1<f64> {
    let mean = Array1::from(model.scaling.mean.clone());
    let scale = Array1::from(model.scaling.scale.clone());
    let w = Array1::from(model.coefficients.clone()) / &scale;
    let offset = mean.dot(&w);
    x.dot(&w).mapv(|z| sigmoid(z - offset))
}

/// The logistic function, without overflow for large |z|.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Points kept of a curve: enough for a chart, bounded whatever the dataset size.
pub const MAX_CURVE_POINTS: usize = 500;

/// Keeps at most `max` points of a curve, evenly spread over its length, always with both ends.
pub fn thin_curve(x: &[f64], y: &[f64], max: usize) -> Vec<[f64; 2]> {
    let n = x.len().min(y.len());
    if n <= max || max < 2 {
        return (0..n).map(|i| [x[i], y[i]]).collect();
    }
    let mut out: Vec<[f64; 2]> = (0..max)
        .map(|k| {
            let i = (k * (n - 1)) / (max - 1);
            [x[i], y[i]]
        })
        .collect();
    out.dedup();
    out
}

fn to_proto_indicators(threshold: f64, c: &metrics::Confusion) -> ThresholdIndicators {
    let i = c.indicators();
    ThresholdIndicators {
        threshold,
        detection_rate: i.detection_rate,
        false_alarm_rate: i.false_alarm_rate,
        precision: i.precision,
        f_score: i.f_score,
        false_positive_rate: i.false_positive_rate,
        accuracy: i.accuracy,
        confusion: Confusion {
            tp: c.tp as u64,
            fp: c.fp as u64,
            tn: c.tn as u64,
            fn_: c.fn_ as u64,
        },
    }
}

/// Runs one detection.
#[allow(clippy::too_many_arguments)]
pub fn run(
    cache: &DataCache,
    model: &LogisticModel,
    encoder: &Encoder,
    name: &str,
    data: &DataRef,
    annotations: &AnnotationsSource,
    rows: &RowSelection,
    threshold: f64,
) -> Result<DetectionResult, TaskFailure> {
    let started = Instant::now();
    let loaded = cache.load(data, Some(encoder))?;
    // A validation dataset without ground truth is still predicted, with no performance.
    let labels = match (cache.labels(data, &loaded, annotations), rows.side) {
        (Ok(labels), _) => labels,
        (Err(_), Side::All) => vec![None; loaded.instance_ids.len()],
        (Err(e), _) => return Err(e),
    };
    let (row_ids, row_labels): (Vec<usize>, Vec<Option<bool>>) = match rows.side {
        Side::All => (0..labels.len()).zip(labels.iter().copied()).unzip(),
        Side::Unlabeled => (0..labels.len())
            .filter(|&i| labels[i].is_none())
            .map(|i| (i, None))
            .unzip(),
        Side::Train | Side::Test => {
            let selected = select_rows(&labels, loaded.timestamps.as_deref(), rows)?;
            (
                selected.rows,
                selected.labels.into_iter().map(Some).collect(),
            )
        }
    };
    let x = take_rows(&loaded.x, &row_ids);
    let proba = predict_proba(model, &x);
    let proba = proba.to_vec();

    let (known_labels, known_proba): (Vec<bool>, Vec<f64>) = row_labels
        .iter()
        .zip(&proba)
        .filter_map(|(l, p)| l.map(|l| (l, *p)))
        .unzip();
    let n_malicious = known_labels.iter().filter(|l| **l).count() as u64;
    let has_truth = !known_labels.is_empty();
    let thresholds: Vec<ThresholdIndicators> = if has_truth {
        metrics::indicators_at_percent_thresholds(&known_labels, &known_proba)
            .iter()
            .map(|p| to_proto_indicators(p.threshold, &p.confusion))
            .collect()
    } else {
        Vec::new()
    };
    let indicators = has_truth.then(|| {
        to_proto_indicators(
            threshold,
            &metrics::Confusion::at_threshold(&known_labels, &known_proba, threshold),
        )
    });
    let auc = metrics::roc_auc(&known_labels, &known_proba);
    let thin = |c: Option<metrics::Curve>| {
        c.map(|c| thin_curve(&c.x, &c.y, MAX_CURVE_POINTS))
            .unwrap_or_default()
    };
    let roc = thin(metrics::roc_curve(&known_labels, &known_proba));
    let far_dr = thin(metrics::far_dr_curve(&known_labels, &known_proba));
    let h = metrics::histogram(&proba, &row_labels, HISTOGRAM_BINS);
    Ok(DetectionResult {
        name: name.to_string(),
        dataset: data.dataset.clone(),
        n_instances: row_ids.len() as u64,
        n_labeled: known_labels.len() as u64,
        n_malicious,
        detection_threshold: threshold,
        auc,
        confusion: indicators.as_ref().map(|i| i.confusion),
        indicators,
        thresholds,
        roc,
        far_dr,
        histogram: Histogram {
            edges: h.edges,
            benign: h.benign.into_iter().map(|c| c as u64).collect(),
            malicious: h.malicious.into_iter().map(|c| c as u64).collect(),
            unlabeled: h.unlabelled.into_iter().map(|c| c as u64).collect(),
        },
        predictions_file: None,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_stable_and_symmetric() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((sigmoid(2.0) + sigmoid(-2.0) - 1.0).abs() < 1e-15);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
    }

    #[test]
    fn thinning_keeps_both_ends_and_bounds_the_size() {
        let x: Vec<f64> = (0..10_000).map(|i| i as f64 / 9_999.0).collect();
        let y: Vec<f64> = x.iter().map(|v| v.sqrt()).collect();
        let c = thin_curve(&x, &y, 500);
        assert!(c.len() <= 500);
        assert_eq!(c[0], [0.0, 0.0]);
        assert_eq!(*c.last().unwrap(), [1.0, 1.0]);
        assert_eq!(thin_curve(&x[..3], &y[..3], 500).len(), 3);
    }
}
