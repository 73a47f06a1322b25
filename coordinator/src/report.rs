//! What a finished job prints: a short human summary, or one JSON object for scripts and CI.

use secuml_proto::{DetectionResult, Hyper};
use serde_json::{json, Value};

use crate::embedded::DiademOutcome;

fn hyper_json(h: &Hyper) -> Value {
    match h {
        Hyper::LogisticRegression { c, penalty } => json!({ "C": c, "penalty": penalty }),
    }
}

/// The metrics of one detection, flat, at its detection threshold.
pub fn detection_metrics(d: &DetectionResult) -> Value {
    let i = d.indicators.as_ref();
    json!({
        "name": d.name,
        "dataset": d.dataset,
        "n_instances": d.n_instances,
        "n_labeled": d.n_labeled,
        "threshold": d.detection_threshold,
        "auc": d.auc,
        "detection_rate": i.map(|i| i.detection_rate),
        "false_alarm_rate": i.map(|i| i.false_alarm_rate),
        "f_score": i.map(|i| i.f_score),
        "precision": i.map(|i| i.precision),
        "false_positive_rate": i.map(|i| i.false_positive_rate),
        "accuracy": i.map(|i| i.accuracy),
        "confusion_matrix": d.confusion,
    })
}

/// The held-out detection: the test side (RandomSplit) or the first validation dataset.
pub fn validation_detection(outcome: &DiademOutcome) -> Option<&DetectionResult> {
    outcome
        .results
        .detections
        .iter()
        .find(|d| d.name != "train")
}

/// The JSON object `secuml diadem --json` prints.
pub fn diadem_json(outcome: &DiademOutcome, experiment_url: &str) -> Value {
    let train = &outcome.results.train;
    let detections: serde_json::Map<String, Value> = outcome
        .results
        .detections
        .iter()
        .map(|d| (d.name.clone(), detection_metrics(d)))
        .collect();
    json!({
        "experiment_id": outcome.experiment_id,
        "job_id": outcome.job_id,
        "dashboard_url": experiment_url,
        "status": outcome.record.status,
        "project": outcome.record.project,
        "dataset": outcome.record.dataset,
        "name": outcome.record.name,
        "model_class": train.model_class,
        "best_params": hyper_json(&train.best),
        "cv": {
            "objective": train.objective,
            "best_score": train.best_score,
            "candidates": train.candidates.iter().map(|c| json!({
                "params": hyper_json(&c.hyper), "mean": c.mean, "std": c.std, "per_fold": c.per_fold,
            })).collect::<Vec<_>>(),
        },
        "validation": validation_detection(outcome).map(detection_metrics),
        "detections": detections,
        "num_fits": train.num_fits,
        "times": train.times,
    })
}

fn fmt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "n/a".into())
}

/// The few lines a person reads at the end of `secuml diadem`.
pub fn diadem_text(outcome: &DiademOutcome, experiment_url: &str) -> String {
    let train = &outcome.results.train;
    let mut out = format!(
        "experiment {}: {} ({} fits, {:.1} s)\nbest {} with cross-validation {:?} {:.4}\n",
        outcome.experiment_id,
        outcome.record.name,
        train.num_fits,
        train.times.total_seconds,
        train.best,
        train.objective,
        train.best_score
    );
    for d in &outcome.results.detections {
        let i = d.indicators.as_ref();
        out.push_str(&format!(
            "{:<20} AUC {}  detection rate {}  false alarm rate {}  F-score {}  (threshold {})\n",
            d.name,
            fmt(d.auc),
            fmt(i.map(|i| i.detection_rate)),
            fmt(i.map(|i| i.false_alarm_rate)),
            fmt(i.map(|i| i.f_score)),
            d.detection_threshold
        ));
    }
    out.push_str(&format!("dashboard: {experiment_url}\n"));
    out
}
