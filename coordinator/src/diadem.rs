//! Plans a DIADEM job as tasks and aggregates their results.
//!
//! Stages (each waits for the previous one):
//! 1. one fit-and-score task per (candidate, fold) of the grid search;
//! 2. the refit of the best candidate on the whole training side;
//! 3. one detection task per evaluated set (train, the held-out test side, each validation dataset).
//!
//! Results depend only on the spec and the data: folds and splits are seeded, and
//! aggregation reads results keyed by task, so the number of workers and the order
//! tasks finish in change nothing.

use std::time::Instant;

use anyhow::Context;
use secuml_proto::result::{Coefficient, CvCandidate, TrainTimes};
use secuml_proto::task::FoldSpec;
use secuml_proto::{
    keys, AnnotationsSource, DataRef, DetectionResult, DiademSpec, FitScoreResult, Hyper,
    LogisticModel, ModelSpec, OuterSplit, RowSelection, Side, TaskKind, TrainSummary,
    ValidationSpec,
};

use crate::driver::{JobDriver, JobError};

/// The datasets of a DIADEM job, resolved to their manifests.
#[derive(Debug, Clone)]
pub struct DiademData {
    /// The training dataset.
    pub train: DataRef,
    /// The validation datasets (ValidationDatasets mode).
    pub validation: Vec<DataRef>,
}

/// What a finished DIADEM job produced.
#[derive(Debug, Clone)]
pub struct DiademResults {
    /// The training summary (stored under [`keys::train_summary`]).
    pub train: TrainSummary,
    /// Every detection, in planning order.
    pub detections: Vec<DetectionResult>,
}

/// Every candidate of the grid, in the order of scikit-learn's `ParameterGrid` (C outer, penalty inner).
pub fn candidates(model: &ModelSpec) -> Vec<Hyper> {
    match model {
        ModelSpec::LogisticRegression { c, penalty } => c
            .iter()
            .flat_map(|c| {
                penalty
                    .iter()
                    .map(move |p| Hyper::LogisticRegression { c: *c, penalty: *p })
            })
            .collect(),
    }
}

fn outer_split(spec: &DiademSpec) -> OuterSplit {
    match &spec.validation {
        ValidationSpec::RandomSplit { test_size } => OuterSplit::RandomSplit {
            test_size: *test_size,
            seed: spec.seed,
        },
        ValidationSpec::ValidationDatasets { .. } => OuterSplit::Whole,
    }
}

/// Mean and population standard deviation of each candidate; the best is the first with the highest mean.
pub fn aggregate(
    hypers: &[Hyper],
    num_folds: u32,
    results: &[FitScoreResult],
) -> anyhow::Result<(usize, Vec<CvCandidate>)> {
    let mut table = Vec::with_capacity(hypers.len());
    for hyper in hypers {
        let mut per_fold = vec![f64::NAN; num_folds as usize];
        for r in results.iter().filter(|r| &r.hyper == hyper) {
            per_fold[r.fold as usize] = r.score;
        }
        anyhow::ensure!(
            per_fold.iter().all(|s| s.is_finite()),
            "missing fold results for candidate {hyper}"
        );
        let mean = per_fold.iter().sum::<f64>() / per_fold.len() as f64;
        let var = per_fold.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / per_fold.len() as f64;
        table.push(CvCandidate {
            hyper: *hyper,
            mean,
            std: var.sqrt(),
            per_fold,
        });
    }
    let best = table
        .iter()
        .enumerate()
        .fold(None::<(usize, f64)>, |acc, (i, c)| match acc {
            Some((_, m)) if m >= c.mean => acc,
            _ => Some((i, c.mean)),
        })
        .map(|(i, _)| i)
        .context("empty grid")?;
    Ok((best, table))
}

/// Runs the three stages of a DIADEM job and stores the training summary.
pub async fn run(
    driver: &mut JobDriver,
    experiment_id: u64,
    spec: &DiademSpec,
    data: &DiademData,
) -> Result<DiademResults, JobError> {
    let started = Instant::now();
    let hypers = candidates(&spec.model);
    let train_rows = RowSelection {
        outer: outer_split(spec),
        side: Side::Train,
    };
    let folds = FoldSpec {
        num_folds: spec.num_folds,
        shuffle: spec.shuffle_folds,
        seed: spec.seed,
    };

    // Stage 1: the grid search.
    let mut tasks = Vec::new();
    for (ci, hyper) in hypers.iter().enumerate() {
        for fold in 0..spec.num_folds {
            tasks.push((
                format!("fit-{ci}-{fold}"),
                TaskKind::FitScore {
                    data: data.train.clone(),
                    annotations: spec.annotations.clone(),
                    rows: train_rows.clone(),
                    folds: folds.clone(),
                    fold,
                    hyper: *hyper,
                },
            ));
        }
    }
    driver.run_stage(tasks).await?;
    let search_seconds = started.elapsed().as_secs_f64();
    let stored = driver.results().await?;
    let mut fits = Vec::new();
    for (ci, _) in hypers.iter().enumerate() {
        for fold in 0..spec.num_folds {
            let id = format!("fit-{ci}-{fold}");
            let bytes = stored
                .get(&id)
                .with_context(|| format!("result of task {id} is missing"))?;
            let r: FitScoreResult = serde_json::from_slice(bytes)
                .with_context(|| format!("result of task {id} does not parse"))?;
            fits.push(r);
        }
    }
    let (best, table) = aggregate(&hypers, spec.num_folds, &fits)?;
    let best_hyper = hypers[best];

    // Stage 2: the refit.
    let refit = driver
        .run_stage(vec![(
            "refit".into(),
            TaskKind::Refit {
                experiment_id,
                data: data.train.clone(),
                annotations: spec.annotations.clone(),
                rows: train_rows.clone(),
                hyper: best_hyper,
            },
        )])
        .await?;
    let training_seconds = refit.get("refit").copied().unwrap_or_default();

    // Stage 3: the detections.
    let mut planned = Vec::new();
    let detect = |name: String,
                  data: DataRef,
                  annotations: AnnotationsSource,
                  rows: RowSelection| TaskKind::Detect {
        experiment_id,
        detection: name,
        data,
        annotations,
        rows,
        detection_threshold: spec.detection_threshold,
    };
    if !spec.no_training_detection {
        planned.push((
            "detect-train".to_string(),
            detect(
                "train".into(),
                data.train.clone(),
                spec.annotations.clone(),
                train_rows.clone(),
            ),
        ));
    }
    match &spec.validation {
        ValidationSpec::RandomSplit { .. } => planned.push((
            "detect-test".into(),
            detect(
                "test".into(),
                data.train.clone(),
                spec.annotations.clone(),
                RowSelection {
                    outer: outer_split(spec),
                    side: Side::Test,
                },
            ),
        )),
        ValidationSpec::ValidationDatasets { .. } => {
            for v in &data.validation {
                planned.push((
                    format!("detect-validation-{}", v.dataset),
                    detect(
                        format!("validation:{}", v.dataset),
                        v.clone(),
                        AnnotationsSource::GroundTruth,
                        RowSelection {
                            outer: OuterSplit::Whole,
                            side: Side::All,
                        },
                    ),
                ));
            }
        }
    }
    let names: Vec<String> = planned
        .iter()
        .map(|(_, k)| match k {
            TaskKind::Detect { detection, .. } => detection.clone(),
            _ => unreachable!("only detections are planned here"),
        })
        .collect();
    driver.run_stage(planned).await?;

    let store = driver.store();
    let model: LogisticModel = read_json(&*store, &keys::model(experiment_id)).await?;
    let mut coefficients: Vec<Coefficient> = model
        .columns
        .iter()
        .zip(&model.coefficients)
        .map(|(c, v)| Coefficient {
            feature: c.name(),
            value: *v,
        })
        .collect();
    coefficients.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    let summary = TrainSummary {
        model_class: spec.model.class_name().to_string(),
        objective: spec.objective,
        best: best_hyper,
        best_score: table[best].mean,
        candidates: table,
        coefficients,
        n_train: model.n_train,
        num_fits: (hypers.len() as u32) * spec.num_folds + 1,
        times: TrainTimes {
            search_seconds,
            training_seconds,
            total_seconds: started.elapsed().as_secs_f64(),
        },
    };
    store
        .set(
            &keys::train_summary(experiment_id),
            &serde_json::to_vec(&summary).map_err(anyhow::Error::from)?,
        )
        .await
        .map_err(anyhow::Error::from)?;
    let detections = read_detections(&*store, experiment_id, &names).await?;
    Ok(DiademResults {
        train: summary,
        detections,
    })
}

async fn read_detections(
    store: &dyn secuml_runtime::Store,
    experiment_id: u64,
    names: &[String],
) -> anyhow::Result<Vec<DetectionResult>> {
    let all = store.hgetall(&keys::detections(experiment_id)).await?;
    let mut detections = Vec::new();
    for name in names {
        let bytes = all
            .get(name)
            .with_context(|| format!("detection {name} is missing"))?;
        let d: DetectionResult = serde_json::from_slice(bytes)
            .with_context(|| format!("detection {name} does not parse"))?;
        detections.push(d);
    }
    Ok(detections)
}

/// The names of a DIADEM job's detections, in planning order.
pub fn detection_names(spec: &DiademSpec) -> Vec<String> {
    let mut names = Vec::new();
    if !spec.no_training_detection {
        names.push("train".to_string());
    }
    match &spec.validation {
        ValidationSpec::RandomSplit { .. } => names.push("test".into()),
        ValidationSpec::ValidationDatasets { datasets } => {
            names.extend(datasets.iter().map(|d| format!("validation:{d}")))
        }
    }
    names
}

/// Reads a finished DIADEM experiment's results back from the store.
pub async fn load_results(
    store: &dyn secuml_runtime::Store,
    experiment_id: u64,
    spec: &DiademSpec,
) -> anyhow::Result<DiademResults> {
    let train: TrainSummary = read_json(store, &keys::train_summary(experiment_id)).await?;
    let detections = read_detections(store, experiment_id, &detection_names(spec)).await?;
    Ok(DiademResults { train, detections })
}

async fn read_json<T: serde::de::DeserializeOwned>(
    store: &dyn secuml_runtime::Store,
    key: &str,
) -> anyhow::Result<T> {
    let bytes = store
        .get(key)
        .await?
        .with_context(|| format!("{key} is missing from the store"))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{key} does not parse"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secuml_proto::Penalty;

    #[test]
    fn grid_order_is_c_outer_penalty_inner() {
        let hypers = candidates(&ModelSpec::default_logistic_regression());
        assert_eq!(hypers.len(), 8);
        assert_eq!(
            hypers[0],
            Hyper::LogisticRegression {
                c: 0.01,
                penalty: Penalty::L1
            }
        );
        assert_eq!(
            hypers[1],
            Hyper::LogisticRegression {
                c: 0.01,
                penalty: Penalty::L2
            }
        );
        assert_eq!(
            hypers[7],
            Hyper::LogisticRegression {
                c: 10.0,
                penalty: Penalty::L2
            }
        );
    }

    fn fit(hyper: Hyper, fold: u32, score: f64) -> FitScoreResult {
        FitScoreResult {
            hyper,
            fold,
            score,
            n_train: 3,
            n_test: 1,
            fit_seconds: 0.0,
            iterations: 1,
        }
    }

    #[test]
    fn aggregate_takes_the_first_best_mean_whatever_the_result_order() {
        let a = Hyper::LogisticRegression {
            c: 1.0,
            penalty: Penalty::L1,
        };
        let b = Hyper::LogisticRegression {
            c: 1.0,
            penalty: Penalty::L2,
        };
        let mut results = vec![
            fit(a, 0, 0.8),
            fit(a, 1, 0.6),
            fit(b, 0, 0.7),
            fit(b, 1, 0.7),
        ];
        let (best, table) = aggregate(&[a, b], 2, &results).unwrap();
        assert_eq!(best, 0, "ties go to the first candidate in grid order");
        assert!((table[0].mean - 0.7).abs() < 1e-12 && (table[0].std - 0.1).abs() < 1e-12);
        results.reverse();
        assert_eq!(aggregate(&[a, b], 2, &results).unwrap().1, table);
        results.pop();
        assert!(
            aggregate(&[a, b], 2, &results).is_err(),
            "a missing fold is an error, not a silent mean"
        );
    }
}
