//! Test support: an in-memory [`Store`] and realistic experiment records written through `keys`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use secuml_proto::{
    keys, Coefficient, Confusion, CvCandidate, DetectionResult, DiademSpec, ExperimentRecord,
    ExperimentStatus, Histogram, Hyper, JobSpec, ModelSpec, Objective, Penalty,
    ThresholdIndicators, TrainSummary, TrainTimes, ValidationSpec,
};
use secuml_runtime::{Durability, FileStore, Store};
use warp::http::{HeaderMap, StatusCode};

/// A fresh store of its own in a temporary folder, removed when dropped.
pub fn fresh_store() -> Arc<dyn Store> {
    Arc::new(FileStore::open_temporary(Durability::Process).expect("temporary store"))
}

/// A datasets folder that does not exist, for the tests that read no assignments file.
pub fn no_datasets() -> PathBuf {
    PathBuf::from("/nonexistent/secuml-dashboard-tests/datasets")
}

/// GETs `path` from the dashboard over `store` and `datasets_dir`: its status, body and headers.
pub async fn request(
    store: &Arc<dyn Store>,
    datasets_dir: PathBuf,
    path: &str,
) -> (StatusCode, String, HeaderMap) {
    let response = warp::test::request()
        .method("GET")
        .path(path)
        .reply(&secuml_dashboard::routes(store.clone(), datasets_dir))
        .await;
    let status = response.status();
    let headers = response.headers().clone();
    (
        status,
        String::from_utf8(response.body().to_vec()).unwrap(),
        headers,
    )
}

/// GETs a JSON reply: checks its media type and parses it.
pub async fn request_json(
    store: &Arc<dyn Store>,
    datasets_dir: PathBuf,
    path: &str,
) -> (StatusCode, serde_json::Value) {
    let (status, body, headers) = request(store, datasets_dir, path).await;
    assert_eq!(headers["content-type"], "application/json", "{path}");
    (status, serde_json::from_str(&body).unwrap())
}

/// A DIADEM spec on this project and dataset.
pub fn spec(project: &str, dataset: &str, validation: ValidationSpec) -> DiademSpec {
    DiademSpec::with_defaults(
        project,
        dataset,
        ModelSpec::default_logistic_regression(),
        validation,
    )
}

/// Writes an experiment record.
pub async fn put_record(
    store: &dyn Store,
    id: u64,
    kind: &str,
    project: &str,
    dataset: &str,
    name: &str,
) -> ExperimentRecord {
    let record = ExperimentRecord {
        id,
        kind: kind.into(),
        project: project.into(),
        dataset: dataset.into(),
        name: name.into(),
        job_id: format!("job-{id}"),
        status: ExperimentStatus::Succeeded,
        error: None,
        created_ms: 1_780_000_000_000 + id * 60_000,
        finished_ms: Some(1_780_000_000_000 + id * 60_000 + 42_000),
        spec: JobSpec::Diadem(spec(
            project,
            dataset,
            ValidationSpec::RandomSplit { test_size: 0.5 },
        )),
    };
    save_record(store, &record).await;
    record
}

/// Writes an experiment record as the coordinator does.
pub async fn save_record(store: &dyn Store, record: &ExperimentRecord) {
    store
        .hset(
            &keys::experiments(),
            &record.id.to_string(),
            &serde_json::to_vec(record).unwrap(),
        )
        .await
        .unwrap();
}

/// A training summary over these feature names (coefficients decreasing in absolute value).
pub fn train_summary(features: &[&str]) -> TrainSummary {
    let mut candidates = Vec::new();
    for (i, c) in [0.01, 0.1, 1.0, 10.0].into_iter().enumerate() {
        for (j, penalty) in [Penalty::L1, Penalty::L2].into_iter().enumerate() {
            let mean = 0.90 + 0.01 * i as f64 + 0.003 * j as f64;
            candidates.push(CvCandidate {
                hyper: Hyper::LogisticRegression {
                    c,
                    penalty,
                    optim_algo: Default::default(),
                },
                mean,
                std: 0.004 + 0.001 * j as f64,
                per_fold: vec![mean - 0.004, mean + 0.002, mean + 0.001, mean + 0.001],
            });
        }
    }
    let coefficients = features
        .iter()
        .enumerate()
        .map(|(i, f)| Coefficient {
            feature: f.to_string(),
            value: if i % 3 == 1 { -1.0 } else { 1.0 } * 3.0 / (1.0 + i as f64),
        })
        .collect();
    TrainSummary {
        model_class: "LogisticRegression".into(),
        objective: Objective::RocAuc,
        best: Hyper::LogisticRegression {
            c: 10.0,
            penalty: Penalty::L2,
            optim_algo: Default::default(),
        },
        best_score: 0.933,
        candidates,
        coefficients,
        importances: Vec::new(),
        family_coefficients: Vec::new(),
        output: Default::default(),
        n_train: 1000,
        num_fits: 33,
        times: TrainTimes {
            search_seconds: 1.25,
            training_seconds: 0.5,
            total_seconds: 2.0,
        },
    }
}

/// A detection computed from generated probabilities and labels (1 = malicious, None = unlabelled).
pub fn detection(name: &str, dataset: &str, seed: u64) -> DetectionResult {
    let mut rows: Vec<(f64, Option<bool>)> = Vec::new();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    for i in 0..400 {
        let malicious = i % 3 == 0;
        let u = next();
        let p = if malicious {
            1.0 - u * u * 0.9
        } else {
            u * u * 0.9
        };
        rows.push((p, if i % 37 == 5 { None } else { Some(malicious) }));
    }
    let labeled: Vec<(f64, bool)> = rows
        .iter()
        .filter_map(|(p, l)| l.map(|l| (*p, l)))
        .collect();
    let thresholds: Vec<ThresholdIndicators> = (0..=100)
        .map(|t| indicators(&labeled, t as f64 / 100.0))
        .collect();
    let mut roc: Vec<[f64; 2]> = thresholds
        .iter()
        .rev()
        .map(|t| [t.false_positive_rate, t.detection_rate])
        .collect();
    roc.insert(0, [0.0, 0.0]);
    let far_dr = thresholds
        .iter()
        .rev()
        .map(|t| [t.false_alarm_rate, t.detection_rate])
        .collect();
    let mut histogram = Histogram {
        edges: (0..=10).map(|i| i as f64 / 10.0).collect(),
        benign: vec![0; 10],
        malicious: vec![0; 10],
        unlabeled: vec![0; 10],
    };
    for (p, label) in &rows {
        let bin = ((p * 10.0) as usize).min(9);
        match label {
            Some(true) => histogram.malicious[bin] += 1,
            Some(false) => histogram.benign[bin] += 1,
            None => histogram.unlabeled[bin] += 1,
        }
    }
    let at = thresholds[50].clone();
    DetectionResult {
        name: name.into(),
        dataset: dataset.into(),
        n_instances: rows.len() as u64,
        n_labeled: labeled.len() as u64,
        n_malicious: labeled.iter().filter(|(_, l)| *l).count() as u64,
        detection_threshold: 0.5,
        auc: Some(0.9321),
        confusion: Some(at.confusion),
        indicators: Some(at),
        thresholds,
        roc,
        far_dr,
        histogram,
        predictions_file: None,
        family_detection: Default::default(),
        multiclass: None,
        n_alerts: 0,
        seconds: 0.01,
    }
}

fn indicators(rows: &[(f64, bool)], threshold: f64) -> ThresholdIndicators {
    let mut c = Confusion::default();
    for (p, malicious) in rows {
        match (*p > threshold, *malicious) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, false) => c.tn += 1,
            (false, true) => c.fn_ += 1,
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let detection_rate = ratio(c.tp, c.tp + c.fn_);
    let precision = ratio(c.tp, c.tp + c.fp);
    let f_score = if precision + detection_rate == 0.0 {
        0.0
    } else {
        2.0 * precision * detection_rate / (precision + detection_rate)
    };
    ThresholdIndicators {
        threshold,
        detection_rate,
        false_alarm_rate: ratio(c.fp, c.fp + c.tp),
        precision,
        f_score,
        false_positive_rate: ratio(c.fp, c.fp + c.tn),
        accuracy: ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn_),
        confusion: c,
    }
}

/// A complete DIADEM experiment: record, training summary, train and test detections.
pub async fn put_diadem(
    store: &dyn Store,
    id: u64,
    project: &str,
    dataset: &str,
    features: &[&str],
) -> ExperimentRecord {
    let record = put_record(
        store,
        id,
        "Diadem",
        project,
        dataset,
        &format!("LogisticRegression__GROUND_TRUTH__RandomSplit0.5 #{id}"),
    )
    .await;
    store
        .set(
            &keys::train_summary(id),
            &serde_json::to_vec(&train_summary(features)).unwrap(),
        )
        .await
        .unwrap();
    for (name, seed) in [("train", 1), ("test", 2)] {
        let d = detection(name, dataset, seed);
        store
            .hset(
                &keys::detections(id),
                name,
                &serde_json::to_vec(&d).unwrap(),
            )
            .await
            .unwrap();
    }
    record
}

/// A store with one project, one dataset and one complete DIADEM experiment (id 1).
pub async fn demo_store() -> Arc<dyn Store> {
    let store: Arc<dyn Store> = fresh_store();
    let features: Vec<String> = (0..20).map(|i| format!("feature_{i}")).collect();
    let features: Vec<&str> = features.iter().map(String::as_str).collect();
    put_diadem(store.as_ref(), 1, "Gaussians", "test", &features).await;
    store
}

/// Writes a job record over a DIADEM spec on this project and dataset.
pub async fn put_job(
    store: &dyn Store,
    job_id: &str,
    status: secuml_proto::JobStatus,
    submitted_ms: u64,
    error: Option<&str>,
) -> secuml_proto::JobRecord {
    let record = secuml_proto::JobRecord {
        job_id: job_id.into(),
        spec: JobSpec::Diadem(spec(
            "NSL-KDD",
            "train20",
            ValidationSpec::RandomSplit { test_size: 0.2 },
        )),
        status,
        experiment_id: Some(3),
        error: error.map(str::to_string),
        submitted_ms,
        started_ms: Some(submitted_ms + 10),
        finished_ms: status.is_final().then_some(submitted_ms + 5_000),
        coordinator: Some("coordinator-a".into()),
        tasks_planned: 0,
        tasks_done: 0,
        metrics: Default::default(),
    };
    store
        .hset(&keys::jobs(), job_id, &serde_json::to_vec(&record).unwrap())
        .await
        .unwrap();
    record
}

/// Writes a task state as the coordinator does.
pub async fn put_task(
    store: &dyn Store,
    job_id: &str,
    task_id: &str,
    state: &str,
    attempt: u32,
    error: Option<&str>,
) {
    let value = serde_json::json!({
        "state": state,
        "attempt": attempt,
        "label": format!("label of {task_id}"),
        "seconds": if state == "done" { Some(0.25) } else { None },
        "error": error,
        "worker": if state == "queued" { None } else { Some("w1/0") },
    });
    store
        .hset(
            &keys::job_tasks(job_id),
            task_id,
            &serde_json::to_vec(&value).unwrap(),
        )
        .await
        .unwrap();
}

/// Appends an event to a job's stream; returns its sequence number.
pub async fn put_event(store: &dyn Store, job_id: &str, kind: secuml_proto::EventKind) -> u64 {
    let event = secuml_proto::Event::now(job_id, kind);
    store
        .append(
            &keys::job_events(job_id),
            &serde_json::to_vec(&event).unwrap(),
        )
        .await
        .unwrap()
}
