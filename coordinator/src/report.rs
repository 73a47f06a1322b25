//! What a finished job prints: a short human summary, or one JSON object for scripts and CI.

use secuml_proto::{DetectionResult, Hyper};
use serde_json::{json, Value};

use crate::diadem::{fold_statistics, FoldStatistic};
use crate::embedded::{ClusteringOutcome, DiademOutcome};

fn hyper_json(h: &Hyper) -> Value {
    match h {
        Hyper::LogisticRegression {
            c,
            penalty,
            optim_algo,
        } => json!({ "C": c, "penalty": penalty, "optim_algo": optim_algo }),
        other => other.params_json(),
    }
}

/// The metrics of one detection, flat, at its detection threshold.
pub fn detection_metrics(d: &DetectionResult) -> Value {
    let i = d.indicators.as_ref();
    if let Some(m) = &d.multiclass {
        return json!({
            "name": d.name,
            "dataset": d.dataset,
            "n_instances": d.n_instances,
            "n_labeled": d.n_labeled,
            "multiclass": true,
            "accuracy": m.accuracy,
            "f1_micro": m.f1_micro,
            "f1_macro": m.f1_macro,
            "families": m.labels,
            "family_confusion_matrix": m.confusion,
        });
    }
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

/// `side -> indicator -> {mean, std, per_fold}` across the outer folds (empty outside the
/// cross-validation modes).
fn fold_statistics_json(outcome: &DiademOutcome) -> Value {
    json!(fold_statistics(
        &outcome.results.detections,
        outcome.results.folds.len()
    ))
}

/// The means across folds of one side's indicators, flat, with `<indicator>_std` beside each.
fn fold_means(stats: &std::collections::BTreeMap<String, FoldStatistic>, folds: usize) -> Value {
    let mut flat = serde_json::Map::new();
    flat.insert("folds".into(), json!(folds));
    for (metric, s) in stats {
        flat.insert(metric.clone(), json!(s.mean));
        flat.insert(format!("{metric}_std"), json!(s.std));
    }
    Value::Object(flat)
}

/// Model fits of the whole job: every outer fold's in the cross-validation modes.
fn num_fits(outcome: &DiademOutcome) -> u32 {
    match outcome.results.folds.as_slice() {
        [] => outcome.results.train.num_fits,
        folds => folds.iter().map(|f| f.num_fits).sum(),
    }
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
        "validation": if outcome.results.folds.is_empty() {
            validation_detection(outcome).map(detection_metrics)
        } else {
            fold_statistics(&outcome.results.detections, outcome.results.folds.len())
                .get("test")
                .map(|stats| fold_means(stats, outcome.results.folds.len()))
        },
        "detections": detections,
        "folds": outcome.results.folds.iter().enumerate().map(|(k, f)| json!({
            "fold": k,
            "best_params": hyper_json(&f.best),
            "best_score": f.best_score,
            "n_train": f.n_train,
            "candidates": f.candidates.iter().map(|c| json!({
                "params": hyper_json(&c.hyper), "mean": c.mean, "std": c.std, "per_fold": c.per_fold,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "fold_statistics": fold_statistics_json(outcome),
        "num_fits": num_fits(outcome),
        "times": train.times,
    })
}

fn fmt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "n/a".into())
}

/// The few lines a person reads at the end of `secuml diadem`.
pub fn diadem_text(outcome: &DiademOutcome, experiment_url: &str) -> String {
    let train = &outcome.results.train;
    let search = if train.best_score.is_finite() {
        format!(
            "best {} with cross-validation {:?} {:.4}",
            train.best, train.objective, train.best_score
        )
    } else {
        format!("{} (no search: a single candidate)", train.best)
    };
    let mut out = format!(
        "experiment {}: {} ({} fits, {:.1} s)\n{search}\n",
        outcome.experiment_id,
        outcome.record.name,
        num_fits(outcome),
        train.times.total_seconds,
    );
    for d in &outcome.results.detections {
        let i = d.indicators.as_ref();
        if let Some(m) = &d.multiclass {
            out.push_str(&format!(
                "{:<20} accuracy {:.4}  F1 micro {:.4}  F1 macro {:.4}  ({} families)\n",
                d.name,
                m.accuracy,
                m.f1_micro,
                m.f1_macro,
                m.labels.len()
            ));
            continue;
        }
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
    let folds = outcome.results.folds.len();
    for (side, stats) in fold_statistics(&outcome.results.detections, folds) {
        let at = |m: &str| {
            stats
                .get(m)
                .map(|s| format!("{:.4} ± {:.4}", s.mean, s.std))
                .unwrap_or_else(|| "n/a".into())
        };
        if stats.contains_key("f1_macro") {
            out.push_str(&format!(
                "{side} over {folds} folds: accuracy {}  F1 micro {}  F1 macro {}\n",
                at("accuracy"),
                at("f1_micro"),
                at("f1_macro")
            ));
            continue;
        }
        out.push_str(&format!(
            "{side} over {folds} folds: AUC {}  detection rate {}  false alarm rate {}  F-score {}\n",
            at("auc"),
            at("detection_rate"),
            at("false_alarm_rate"),
            at("f_score")
        ));
    }
    out.push_str(&format!("dashboard: {experiment_url}\n"));
    out
}

/// The JSON object `secuml clustering --json` prints.
pub fn clustering_json(outcome: &ClusteringOutcome, experiment_url: &str) -> Value {
    let r = &outcome.results.result;
    json!({
        "experiment_id": outcome.experiment_id,
        "job_id": outcome.job_id,
        "dashboard_url": experiment_url,
        "status": outcome.record.status,
        "project": outcome.record.project,
        "dataset": outcome.record.dataset,
        "name": outcome.record.name,
        "algo": r.algo,
        "num_clusters": r.num_clusters,
        "n_rows": r.n_rows,
        "inertia": r.inertia,
        "iterations": r.iterations,
        "best_run": r.best_run,
        "run_inertias": r.run_inertias,
        "clusters": r.clusters.iter().map(|c| json!({
            "cluster": c.cluster, "size": c.mix.size, "malicious": c.mix.malicious,
            "benign": c.mix.benign, "unlabeled": c.mix.unlabeled, "families": c.mix.families,
        })).collect::<Vec<_>>(),
        "assignments_files": r.assignments_files,
        "seconds": r.seconds,
        "tasks": outcome.results.tasks,
    })
}

/// The few lines a person reads at the end of `secuml clustering`.
pub fn clustering_text(outcome: &ClusteringOutcome, experiment_url: &str) -> String {
    let r = &outcome.results.result;
    let mut text = format!(
        "experiment {} ({}): {} clusters of {} rows, inertia {:.1} after {} iteration(s) (best of {} run(s)), {:.2} s\n",
        outcome.experiment_id,
        outcome.record.name,
        r.num_clusters,
        r.n_rows,
        r.inertia,
        r.iterations,
        r.run_inertias.len(),
        r.seconds
    );
    for c in &r.clusters {
        text.push_str(&format!(
            "  cluster {:>3}: {:>7} instances ({} malicious, {} benign, {} unlabeled)\n",
            c.cluster, c.mix.size, c.mix.malicious, c.mix.benign, c.mix.unlabeled
        ));
    }
    text.push_str(&format!("dashboard: {experiment_url}\n"));
    text
}
