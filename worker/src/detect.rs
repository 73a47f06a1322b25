//! Detection: applies a stored model to rows of a dataset and computes SecuML's indicators.

use std::time::Instant;

use std::collections::BTreeMap;

use secuml_engine::dataset::Encoder;
use secuml_engine::metrics;
use secuml_engine::model::multiclass::MulticlassModel;
use secuml_engine::model::FittedModel;
use secuml_engine::predictions::{write_predictions, Predictions};
use secuml_proto::result::{Confusion, FamilyDetection, Histogram, ThresholdIndicators};
use secuml_proto::{
    AnnotationsSource, DataRef, DetectionResult, ModelOutput, RowSelection, Side, StoredModel,
    TaskFailure,
};
use secuml_runtime::data_root::DATASETS;

use crate::data::{select_rows, take_rows, DataCache};

/// Bins of the predictions histogram.
pub const HISTOGRAM_BINS: usize = 10;

/// The model's scores for every row of `x` (encoded, not standardised): probabilities, or
/// anomaly scores for [`ModelOutput::Score`] models.
pub fn model_scores(
    model: &StoredModel,
    fitted: &FittedModel,
    x: &ndarray::Array2<f64>,
) -> Vec<f64> {
    match &model.scaling {
        Some(_) => fitted.scores(standardised(model, x).view()),
        None => fitted.scores(x.view()),
    }
}

/// `x` (encoded) as the model takes it: standardised with the model's scaling, if it has one.
pub fn standardised(model: &StoredModel, x: &ndarray::Array2<f64>) -> ndarray::Array2<f64> {
    let mut x = x.clone();
    if let Some(scaling) = &model.scaling {
        for mut row in x.rows_mut() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (*v - scaling.mean[j]) / scaling.scale[j];
            }
        }
    }
    x
}

/// A multiclass model's scores (the probability of the predicted family) and predicted
/// family of every row of `x` (encoded).
fn multiclass_predictions(
    model: &StoredModel,
    fitted: &MulticlassModel,
    x: &ndarray::Array2<f64>,
) -> (Vec<f64>, Vec<String>) {
    fitted
        .predict_proba(standardised(model, x).view())
        .into_iter()
        .map(|p| {
            let k = fitted.best(&p);
            (p[k], fitted.classes[k].clone())
        })
        .unzip()
}

/// The predictions file of a detection, relative to the datasets folder.
pub fn predictions_file(data: &DataRef, experiment_id: u64, detection: &str) -> String {
    let name: String = detection
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}/{}/predictions/{experiment_id}/{name}.parquet",
        data.project, data.dataset
    )
}

/// Detection rate at `threshold` of each family of the labelled malicious rows.
pub fn family_detection(
    labels: &[Option<bool>],
    families: &[Option<String>],
    values: &[f64],
    threshold: f64,
) -> BTreeMap<String, FamilyDetection> {
    let mut out: BTreeMap<String, FamilyDetection> = BTreeMap::new();
    for ((label, family), value) in labels.iter().zip(families).zip(values) {
        let (Some(true), Some(family)) = (label, family) else {
            continue;
        };
        let entry = out.entry(family.clone()).or_insert(FamilyDetection {
            n: 0,
            detected: 0,
            detection_rate: 0.0,
        });
        entry.n += 1;
        entry.detected += u64::from(*value > threshold);
    }
    for f in out.values_mut() {
        f.detection_rate = f.detected as f64 / f.n as f64;
    }
    out
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
    experiment_id: u64,
    model: &StoredModel,
    fitted: &FittedModel,
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
    // Rankings (AUC, curves) use the raw scores; thresholds apply to probabilities, or for
    // anomaly scores to the share of training rows scoring lower.
    let (raw, predicted_families) = match fitted.multiclass() {
        Some(m) => {
            let (scores, predicted) = multiclass_predictions(model, m, &x);
            (scores, Some(predicted))
        }
        None => (model_scores(model, fitted, &x), None),
    };
    // A multiclass model has no binary indicators: its own are on families.
    let binary = predicted_families.is_none();
    let proba: Vec<f64> = match model.output {
        ModelOutput::Probability => raw.clone(),
        ModelOutput::Score => raw.iter().map(|s| model.threshold_value(*s)).collect(),
    };
    let known = |values: &[f64]| -> (Vec<bool>, Vec<f64>) {
        row_labels
            .iter()
            .zip(values)
            .filter_map(|(l, p)| l.map(|l| (l, *p)))
            .unzip()
    };
    let (known_labels, known_proba) = known(&proba);
    let (_, known_raw) = known(&raw);
    let n_malicious = known_labels.iter().filter(|l| **l).count() as u64;
    let n_labeled = known_labels.len() as u64;
    let (known_labels, known_proba, known_raw) = match binary {
        true => (known_labels, known_proba, known_raw),
        false => Default::default(),
    };
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
    let auc = metrics::roc_auc(&known_labels, &known_raw);
    let thin = |c: Option<metrics::Curve>| {
        c.map(|c| thin_curve(&c.x, &c.y, MAX_CURVE_POINTS))
            .unwrap_or_default()
    };
    let roc = thin(metrics::roc_curve(&known_labels, &known_raw));
    let far_dr = thin(metrics::far_dr_curve(&known_labels, &known_raw));
    let h = metrics::histogram(&proba, &row_labels, HISTOGRAM_BINS);
    let families: Vec<Option<String>> = row_ids
        .iter()
        .map(|&r| loaded.families.as_ref().and_then(|f| f[r].clone()))
        .collect();
    let family_detection = match binary {
        true => family_detection(&row_labels, &families, &proba, threshold),
        false => BTreeMap::new(),
    };
    let multiclass = match &predicted_families {
        Some(predicted) => {
            let truth = cache.families(data, &loaded, annotations)?;
            let (truth, predicted): (Vec<&str>, Vec<&str>) = row_ids
                .iter()
                .zip(&row_labels)
                .zip(predicted)
                .filter_map(|((&r, l), p)| {
                    let family = truth.as_ref()?.get(r)?.as_deref()?;
                    l.map(|_| (family, p.as_str()))
                })
                .unzip();
            metrics::multiclass_indicators(&truth, &predicted)
        }
        None => None,
    };
    let file = predictions_file(data, experiment_id, name);
    let predictions = Predictions {
        instance_ids: row_ids.iter().map(|&r| loaded.instance_ids[r]).collect(),
        idents: row_ids.iter().map(|&r| loaded.idents[r].clone()).collect(),
        scores: raw,
        values: proba,
        threshold,
        labels: row_labels,
        families,
        predicted_families,
    };
    cache
        .root()
        .write_file(&format!("{DATASETS}/{file}"), |path| {
            write_predictions(path, &predictions)
        })
        .map_err(|e| TaskFailure::transient(format!("cannot write the predictions: {e}")))?;
    Ok(DetectionResult {
        name: name.to_string(),
        dataset: data.dataset.clone(),
        n_instances: row_ids.len() as u64,
        n_labeled,
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
        predictions_file: Some(file),
        family_detection,
        multiclass,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_detection_counts_flagged_malicious_rows_per_family() {
        let labels = [Some(true), Some(true), Some(true), Some(false), None];
        let families = [
            Some("dos".to_string()),
            Some("dos".to_string()),
            Some("probe".to_string()),
            Some("dos".to_string()),
            Some("dos".to_string()),
        ];
        let values = [0.9, 0.4, 0.6, 0.99, 0.99];
        let d = family_detection(&labels, &families, &values, 0.5);
        assert_eq!(d.len(), 2);
        assert_eq!((d["dos"].n, d["dos"].detected), (2, 1));
        assert_eq!(d["dos"].detection_rate, 0.5);
        assert_eq!(d["probe"].detection_rate, 1.0);
    }

    #[test]
    fn predictions_files_have_plain_names() {
        let data = DataRef {
            project: "P".into(),
            dataset: "d".into(),
            manifest_sha256: String::new(),
        };
        assert_eq!(
            predictions_file(&data, 4, "validation:test"),
            "P/d/predictions/4/validation_test.parquet"
        );
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
