//! Detection: applies a stored model to rows of a dataset and computes SecuML's indicators.

use std::time::Instant;

use std::collections::BTreeMap;

use secuml_engine::dataset::Encoder;
use secuml_engine::metrics;
use secuml_engine::model::multiclass::MulticlassModel;
use secuml_engine::model::FittedModel;
use secuml_engine::predictions::{write_predictions, Predictions};
use secuml_engine::preprocess::StandardScaler;
use secuml_engine::rows::Rows;
use secuml_proto::result::{Confusion, FamilyDetection, Histogram, ThresholdIndicators};
use secuml_proto::{
    AnnotationsSource, DataRef, DetectionResult, ErrorCode, ModelOutput, RowSelection, Side,
    StoredModel, TaskFailure,
};
use secuml_runtime::data_root::DATASETS;

use crate::data::{select_rows, take_rows, DataCache};

/// Bins of the predictions histogram.
pub const HISTOGRAM_BINS: usize = 10;

/// Rows a detection standardises and scores at a time: its copy of the data is one block, not
/// the whole set of rows.
pub const SCORE_BLOCK_ROWS: usize = secuml_engine::rows::BLOCK_ROWS;

/// The model's scores for the rows `rows` of `x` (encoded, not standardised), in that order:
/// probabilities, or anomaly scores for [`ModelOutput::Score`] models. The rows are copied
/// (and standardised) [`SCORE_BLOCK_ROWS`] at a time ([`FittedModel::scores_rows`]); a row's
/// score depends on that row alone.
pub fn model_scores(
    model: &StoredModel,
    fitted: &FittedModel,
    x: &ndarray::Array2<f64>,
    rows: &[usize],
) -> Vec<f64> {
    let scaler = scaler(model);
    fitted.scores_rows(&Rows::new(x.view(), Some(rows), scaler.as_ref()))
}

/// The model's scores for the rows of `x` (encoded, not standardised; standardised here in
/// place).
fn block_scores(
    model: &StoredModel,
    fitted: &FittedModel,
    mut x: ndarray::Array2<f64>,
) -> Vec<f64> {
    standardise_inplace(model, &mut x);
    fitted.scores(x.view())
}

/// The model's standardisation, if it has one.
fn scaler(model: &StoredModel) -> Option<StandardScaler> {
    model.scaling.as_ref().map(|scaling| {
        StandardScaler::from_parts(
            ndarray::Array1::from(scaling.mean.clone()),
            ndarray::Array1::from(scaling.scale.clone()),
        )
    })
}

/// Standardises `x` (encoded) in place with the model's scaling, if it has one, as its
/// training rows were standardised.
fn standardise_inplace(model: &StoredModel, x: &mut ndarray::Array2<f64>) {
    if let Some(scaler) = scaler(model) {
        scaler.transform_inplace(x);
    }
}

/// `x` (encoded) as the model takes it: standardised with the model's scaling, if it has one.
pub fn standardised(model: &StoredModel, x: &ndarray::Array2<f64>) -> ndarray::Array2<f64> {
    let mut x = x.clone();
    standardise_inplace(model, &mut x);
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

/// The rows a detection predicts, in dataset order, with what it reports of each.
#[derive(Default)]
struct Scored {
    instance_ids: Vec<i64>,
    idents: Vec<String>,
    labels: Vec<Option<bool>>,
    families: Vec<Option<String>>,
    /// The model's raw scores (for a multiclass model, the probability of the predicted family).
    raw: Vec<f64>,
    /// A multiclass model's predicted family of each row.
    predicted_families: Option<Vec<String>>,
    /// Each row's family in the detection's annotations (multiclass models).
    truth_families: Vec<Option<String>>,
}

/// Scores the rows `rows` of `data`, loaded whole (through the cache).
fn score_loaded(
    cache: &DataCache,
    model: &StoredModel,
    fitted: &FittedModel,
    encoder: &Encoder,
    data: &DataRef,
    annotations: &AnnotationsSource,
    rows: &RowSelection,
) -> Result<Scored, TaskFailure> {
    let loaded = cache.load(data, Some(encoder))?;
    // A validation dataset without ground truth is still predicted, with no performance.
    let labels = match rows.side {
        Side::All => cache
            .labels(data, &loaded, annotations)
            .unwrap_or_else(|_| vec![None; loaded.instance_ids.len()]),
        // A dataset without a label column (an unsupervised class trained on it, which the
        // preflight allows alone): every row unlabelled.
        _ => cache.labels_or_none(data, &loaded, annotations)?,
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
    let (raw, predicted_families, truth_families) = match fitted.multiclass() {
        Some(m) => {
            let (scores, predicted) =
                multiclass_predictions(model, m, &take_rows(&loaded.x, &row_ids));
            let truth = cache.families(data, &loaded, annotations)?;
            let truth = row_ids
                .iter()
                .map(|&r| truth.as_ref().and_then(|t| t.get(r).cloned().flatten()))
                .collect();
            (scores, Some(predicted), truth)
        }
        None => (
            model_scores(model, fitted, &loaded.x, &row_ids),
            None,
            Vec::new(),
        ),
    };
    Ok(Scored {
        predicted_families,
        truth_families,
        instance_ids: row_ids.iter().map(|&r| loaded.instance_ids[r]).collect(),
        idents: row_ids.iter().map(|&r| loaded.idents[r].clone()).collect(),
        families: row_ids
            .iter()
            .map(|&r| loaded.families.as_ref().and_then(|f| f[r].clone()))
            .collect(),
        labels: row_labels,
        raw,
    })
}

/// Scores every row of `data` shard by shard, `batch` rows at a time: the feature matrix of at
/// most `batch` rows and one shard's values are in memory at once, whatever the dataset's size.
/// The labels are the ground truth of idents.csv (a dataset without is predicted, with none).
fn score_streamed(
    cache: &DataCache,
    model: &StoredModel,
    fitted: &FittedModel,
    encoder: &Encoder,
    data: &DataRef,
    annotations: &AnnotationsSource,
    batch: usize,
) -> Result<Scored, TaskFailure> {
    if *annotations != AnnotationsSource::GroundTruth {
        return Err(TaskFailure::permanent(
            ErrorCode::BadRequest,
            format!(
                "streaming reads the ground truth of {}/{}, not an annotations file",
                data.project, data.dataset
            ),
        ));
    }
    let mut scored = Scored::default();
    cache.for_each_shard(data, |manifest, frame| {
        let n = frame.rows();
        let rows: Vec<usize> = (0..n).collect();
        for chunk in rows.chunks(batch.max(1)) {
            let x = encoder
                .transform(manifest, &frame, Some(chunk))
                .map_err(|e| {
                    TaskFailure::permanent(
                        ErrorCode::BadData,
                        format!("cannot encode {}/{}: {e}", data.project, data.dataset),
                    )
                })?;
            match fitted.multiclass() {
                Some(m) => {
                    let (scores, predicted) = multiclass_predictions(model, m, &x);
                    scored.raw.extend(scores);
                    scored
                        .predicted_families
                        .get_or_insert_with(Vec::new)
                        .extend(predicted);
                }
                None => scored.raw.extend(block_scores(model, fitted, x)),
            }
        }
        if fitted.multiclass().is_some() {
            // Streaming reads the ground truth: the families of idents.csv.
            scored.truth_families.extend(match &frame.families {
                Some(families) => families.clone(),
                None => vec![None; n],
            });
        }
        scored.labels.extend(match &frame.labels {
            Some(labels) => labels.clone(),
            None => vec![None; n],
        });
        scored.families.extend(match frame.families {
            Some(families) => families,
            None => vec![None; n],
        });
        scored.instance_ids.extend(frame.instance_ids);
        scored.idents.extend(frame.idents);
        Ok(())
    })?;
    Ok(scored)
}

/// Runs one detection; with `stream_batch`, the rows (every row of a validation dataset) are
/// read shard by shard and predicted that many at a time.
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
    stream_batch: Option<u32>,
) -> Result<DetectionResult, TaskFailure> {
    let started = Instant::now();
    let Scored {
        instance_ids,
        idents,
        labels: row_labels,
        families,
        raw,
        predicted_families,
        truth_families,
    } = match stream_batch {
        Some(batch) if rows.side == Side::All => score_streamed(
            cache,
            model,
            fitted,
            encoder,
            data,
            annotations,
            batch as usize,
        )?,
        _ => score_loaded(cache, model, fitted, encoder, data, annotations, rows)?,
    };
    // Rankings (AUC, curves) use the raw scores; thresholds apply to probabilities, or for
    // anomaly scores to the share of training rows scoring lower.
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
    let n_instances = instance_ids.len() as u64;
    let family_detection = match binary {
        true => family_detection(&row_labels, &families, &proba, threshold),
        false => BTreeMap::new(),
    };
    let multiclass = match &predicted_families {
        Some(predicted) => {
            let (truth, predicted): (Vec<&str>, Vec<&str>) = truth_families
                .iter()
                .zip(&row_labels)
                .zip(predicted)
                .filter_map(|((family, l), p)| {
                    let family = family.as_deref()?;
                    l.map(|_| (family, p.as_str()))
                })
                .unzip();
            metrics::multiclass_indicators(&truth, &predicted)
        }
        None => None,
    };
    let n_alerts = proba.iter().filter(|v| **v > threshold).count() as u64;
    let file = predictions_file(data, experiment_id, name);
    let predictions = Predictions {
        instance_ids,
        idents,
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
        n_instances,
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
        n_alerts,
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
