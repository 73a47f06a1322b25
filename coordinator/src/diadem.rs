//! Plans a DIADEM job as tasks and aggregates their results.
//!
//! Stages (each waits for the previous one):
//! 1. one fit-and-score task per (candidate, fold) of the grid search;
//! 2. the refit of the best candidate on the whole training side;
//! 3. one detection task per evaluated set (train, the held-out test side, each validation dataset);
//! 4. one alert analysis task per detection but the training one that has alerts: its Top N,
//!    a seeded random sample, and its clusters when `--alerts-clustering` asks.
//!
//! In the cross-validation modes (Cv, TemporalCv, SlidingWindow) each outer fold is its own
//! search, refit and detections (task ids prefixed `fold<k>-`, detections `train-fold-<k>` and
//! `test-fold-<k>`); the stages run every fold's tasks together, and the results carry the mean
//! and standard deviation across folds of every indicator ([`fold_statistics`]).
//!
//! Results depend only on the spec and the data: folds and splits are seeded, and
//! aggregation reads results keyed by task, so the number of workers and the order
//! tasks finish in change nothing.

use std::time::Instant;

use anyhow::Context;
use secuml_proto::result::{Coefficient, CvCandidate, FamilyCoefficients, TrainTimes};
use secuml_proto::task::FoldSpec;
use secuml_proto::{
    keys, AlertsAnalysis, AnnotationsSource, DataRef, DetectionResult, DiademSpec, FitScoreResult,
    Hyper, ModelSpec, OuterSplit, RowSelection, Side, StoredModel, Supervision, TaskKind,
    TrainSummary, TrainingRows, ValidationSpec,
};

use crate::driver::{JobDriver, JobError};

pub use secuml_proto::fold_stats::{
    detection_indicators, fold_statistics, mean_std, FoldStatistic, FOLD_INDICATORS,
};

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
    /// The training summary (stored under [`keys::train_summary`]): in the cross-validation
    /// modes, outer fold 0's.
    pub train: TrainSummary,
    /// Every detection, in planning order.
    pub detections: Vec<DetectionResult>,
    /// The training summary of every outer fold (stored under [`keys::fold_train_summary`]),
    /// in fold order; empty outside the cross-validation modes.
    pub folds: Vec<TrainSummary>,
}

/// One outer split of a job: `fold` is `Some` in the cross-validation modes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outer {
    /// The outer fold, from 0.
    pub fold: Option<u32>,
    /// The split its tasks read.
    pub split: OuterSplit,
}

impl Outer {
    fn task_prefix(&self) -> String {
        self.fold.map(|f| format!("fold{f}-")).unwrap_or_default()
    }

    /// The name of its detection of `side` (`train` or `test`).
    pub fn detection_name(&self, side: &str) -> String {
        match self.fold {
            Some(f) => format!("{side}-fold-{f}"),
            None => side.to_string(),
        }
    }
}

/// The outer splits of a job, in fold order.
pub fn outer_splits(spec: &DiademSpec) -> Vec<Outer> {
    let one = |split| vec![Outer { fold: None, split }];
    let folds = |n: u32, split: &dyn Fn(u32) -> OuterSplit| {
        (0..n)
            .map(|f| Outer {
                fold: Some(f),
                split: split(f),
            })
            .collect()
    };
    match &spec.validation {
        ValidationSpec::RandomSplit { test_size } => one(OuterSplit::RandomSplit {
            test_size: *test_size,
            seed: spec.seed,
        }),
        ValidationSpec::ValidationDatasets { .. } | ValidationSpec::UnlabeledLabeled => {
            one(OuterSplit::Whole)
        }
        ValidationSpec::TemporalSplit { test_size } => one(OuterSplit::TemporalSplit {
            test_size: *test_size,
        }),
        ValidationSpec::CutoffTime { cutoff_time } => one(OuterSplit::CutoffTime {
            cutoff_time: *cutoff_time,
        }),
        ValidationSpec::Cv { num_folds } => folds(*num_folds, &|fold| OuterSplit::Cv {
            num_folds: *num_folds,
            seed: spec.seed,
            fold,
        }),
        ValidationSpec::TemporalCv { num_folds } => {
            folds(*num_folds, &|fold| OuterSplit::TemporalCv {
                num_folds: *num_folds,
                fold,
            })
        }
        ValidationSpec::SlidingWindow {
            num_buckets,
            num_train_buckets,
            num_test_buckets,
        } => folds(spec.validation.outer_folds().unwrap_or_default(), &|fold| {
            OuterSplit::SlidingWindow {
                num_buckets: *num_buckets,
                num_train_buckets: *num_train_buckets,
                num_test_buckets: *num_test_buckets,
                fold,
            }
        }),
    }
}

/// Every candidate of the grid, in the order of scikit-learn's `ParameterGrid` (names sorted,
/// the last varying fastest: for logistic regression, C outer and penalty inner).
pub fn candidates(model: &ModelSpec) -> Vec<Hyper> {
    // The spec was validated: its grid expands.
    model.candidates().unwrap_or_default()
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
        let (mean, std) =
            mean_std(per_fold.iter().copied()).context("a search needs at least one fold")?;
        table.push(CvCandidate {
            hyper: *hyper,
            mean,
            std,
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

/// Runs the four stages of a DIADEM job and stores the training summaries.
pub async fn run(
    driver: &mut JobDriver,
    experiment_id: u64,
    spec: &DiademSpec,
    data: &DiademData,
) -> Result<DiademResults, JobError> {
    let started = Instant::now();
    let hypers = candidates(&spec.model);
    let outers = outer_splits(spec);
    let train_rows = |outer: &Outer| RowSelection {
        outer: outer.split.clone(),
        side: Side::Train,
    };
    let folds = FoldSpec {
        num_folds: spec.num_folds,
        shuffle: spec.shuffle_folds,
        seed: spec.seed,
    };

    let model_experiment = match spec.model {
        ModelSpec::AlreadyTrained { model_exp_id } => Some(model_exp_id),
        _ => None,
    };
    // Semi- and unsupervised classes have a single configuration and no search; an already
    // trained model has neither a search nor a refit.
    let searched = hypers
        .first()
        .is_some_and(|h| h.supervision() == Supervision::Supervised);

    // Stage 1: the grid search of every outer split, fold by fold: a worker prepares a fold's
    // rows once for the candidates that follow one another (`secuml_worker::folds`).
    let mut tasks = Vec::new();
    for outer in outers.iter().filter(|_| searched) {
        for fold in 0..spec.num_folds {
            for (ci, hyper) in hypers.iter().enumerate() {
                tasks.push((
                    format!("{}fit-{ci}-{fold}", outer.task_prefix()),
                    TaskKind::FitScore {
                        data: data.train.clone(),
                        annotations: spec.annotations.clone(),
                        rows: train_rows(outer),
                        folds: folds.clone(),
                        fold,
                        hyper: *hyper,
                        objective: spec.objective,
                        far: spec.far,
                        multiclass: spec.multiclass,
                    },
                ));
            }
        }
    }
    driver.run_stage(tasks).await?;
    let search_seconds = started.elapsed().as_secs_f64();
    let stored = driver.results().await?;
    let mut searches = Vec::new();
    for outer in &outers {
        let mut fits = Vec::new();
        for (ci, _) in hypers.iter().enumerate().filter(|_| searched) {
            for fold in 0..spec.num_folds {
                let id = format!("{}fit-{ci}-{fold}", outer.task_prefix());
                let bytes = stored
                    .get(&id)
                    .with_context(|| format!("result of task {id} is missing"))?;
                let r: FitScoreResult = serde_json::from_slice(bytes)
                    .with_context(|| format!("result of task {id} does not parse"))?;
                fits.push(r);
            }
        }
        searches.push(if searched {
            aggregate(&hypers, spec.num_folds, &fits)?
        } else {
            (0, Vec::new())
        });
    }

    // Stage 2: the refits.
    let refits = outers
        .iter()
        .filter(|_| model_experiment.is_none())
        .zip(&searches)
        .map(|(outer, (best, _))| {
            (
                format!("{}refit", outer.task_prefix()),
                TaskKind::Refit {
                    experiment_id,
                    data: data.train.clone(),
                    annotations: spec.annotations.clone(),
                    rows: train_rows(outer),
                    hyper: hypers[*best],
                    fold: outer.fold,
                    seed: spec.seed,
                    multiclass: spec.multiclass,
                },
            )
        })
        .collect();
    let refit_seconds = driver.run_stage(refits).await?;

    // Stage 3: the detections.
    let mut planned = Vec::new();
    for outer in &outers {
        let detect = |name: String, data: DataRef, annotations: AnnotationsSource, side: Side| {
            TaskKind::Detect {
                experiment_id,
                detection: name,
                data,
                annotations,
                rows: RowSelection {
                    outer: outer.split.clone(),
                    side,
                },
                detection_threshold: spec.detection_threshold,
                fold: outer.fold,
                model_experiment,
                // Only validation datasets stream: the training side is in memory for the fit.
                stream_batch: spec.stream_batch.filter(|_| side == Side::All),
            }
        };
        let prefix = outer.task_prefix();
        let train_side = || (data.train.clone(), spec.annotations.clone());
        if !spec.no_training_detection {
            let (d, a) = train_side();
            planned.push((
                format!("{prefix}detect-train"),
                detect(outer.detection_name("train"), d, a, Side::Train),
            ));
        }
        match &spec.validation {
            ValidationSpec::ValidationDatasets { .. } => {
                for v in &data.validation {
                    planned.push((
                        format!("detect-validation-{}", v.dataset),
                        detect(
                            format!("validation:{}", v.dataset),
                            v.clone(),
                            AnnotationsSource::GroundTruth,
                            Side::All,
                        ),
                    ));
                }
            }
            ValidationSpec::UnlabeledLabeled => {
                let (d, a) = train_side();
                planned.push((
                    format!("{prefix}detect-test"),
                    detect(outer.detection_name("test"), d, a, Side::Unlabeled),
                ));
            }
            _ => {
                let (d, a) = train_side();
                planned.push((
                    format!("{prefix}detect-test"),
                    detect(outer.detection_name("test"), d, a, Side::Test),
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
    let analysed: Vec<(String, TaskKind)> = planned
        .iter()
        .filter_map(|(id, k)| match k {
            TaskKind::Detect {
                detection,
                data,
                rows,
                fold,
                stream_batch,
                ..
            // Streamed validation datasets are never held whole, and a multiclass model's
            // detections have no alerts: neither has an alert analysis.
            } if rows.side != Side::Train && stream_batch.is_none() && !spec.multiclass => Some((
                id.replacen("detect-", "alerts-", 1),
                detection.clone(),
                data.clone(),
                *fold,
            )),
            _ => None,
        })
        .map(|(id, detection, detected, fold)| {
            (
                id,
                TaskKind::Alerts {
                    experiment_id,
                    detection,
                    data: detected,
                    predictions_file: String::new(),
                    detection_threshold: spec.detection_threshold,
                    model_experiment: model_experiment.unwrap_or(experiment_id),
                    fold,
                    seed: spec.seed,
                    analysis: spec.alerts.clone(),
                    training: matches!(spec.alerts, Some(AlertsAnalysis::Classification { .. }))
                        .then(|| outers.iter().find(|o| o.fold == fold))
                        .flatten()
                        .map(|outer| TrainingRows {
                            data: data.train.clone(),
                            annotations: spec.annotations.clone(),
                            rows: train_rows(outer),
                        }),
                },
            )
        })
        .collect();
    driver.run_stage(planned).await?;

    // Stage 4: the alert analysis of every detection but the training one that has alerts
    // (binary models, detections held in memory).
    let detected = read_detections(&*driver.store(), experiment_id, &names).await?;
    let alerts = analysed
        .into_iter()
        .filter_map(|(id, mut kind)| {
            let TaskKind::Alerts {
                detection,
                predictions_file,
                ..
            } = &mut kind
            else {
                return None;
            };
            let d = detected.iter().find(|d| &d.name == detection)?;
            *predictions_file = d.predictions_file.clone()?;
            (d.n_alerts > 0).then_some((id, kind))
        })
        .collect();
    driver.run_stage(alerts).await?;

    let store = driver.store();
    let mut summaries = Vec::new();
    for (outer, (best, table)) in outers.iter().zip(searches) {
        let model: StoredModel = read_json(
            &*store,
            &keys::model_of(model_experiment.unwrap_or(experiment_id), outer.fold),
        )
        .await?;
        let named = |values: Option<&Vec<f64>>| {
            let mut named: Vec<Coefficient> = model
                .columns
                .iter()
                .zip(values.into_iter().flatten())
                .map(|(c, v)| Coefficient {
                    feature: c.name(),
                    value: *v,
                })
                .collect();
            named.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
            named
        };
        let coefficients = named(model.coefficients.as_ref());
        let importances = named(model.importances.as_ref());
        let family_coefficients = model
            .family_coefficients
            .iter()
            .flatten()
            .map(|f| FamilyCoefficients {
                family: f.family.clone(),
                coefficients: named(Some(&f.coefficients)),
            })
            .collect();
        let best = if hypers.is_empty() {
            model.hyper
        } else {
            hypers[best]
        };
        let summary = TrainSummary {
            model_class: spec.model.class_name().to_string(),
            objective: spec.objective,
            best,
            best_score: table
                .iter()
                .find(|c| c.hyper == best)
                .map(|c| c.mean)
                .unwrap_or(f64::NAN),
            num_fits: if searched {
                (hypers.len() as u32) * spec.num_folds + 1
            } else {
                u32::from(model_experiment.is_none())
            },
            candidates: table,
            coefficients,
            importances,
            family_coefficients,
            output: model.output,
            n_train: model.n_train,
            times: TrainTimes {
                search_seconds,
                training_seconds: refit_seconds
                    .get(&format!("{}refit", outer.task_prefix()))
                    .copied()
                    .unwrap_or_default(),
                total_seconds: started.elapsed().as_secs_f64(),
            },
        };
        let bytes = serde_json::to_vec(&summary).map_err(anyhow::Error::from)?;
        if let Some(fold) = outer.fold {
            store
                .set(&keys::fold_train_summary(experiment_id, fold), &bytes)
                .await
                .map_err(anyhow::Error::from)?;
        }
        // The experiment's summary: the single split's, or (what the dashboard shows) fold 0's.
        if outer.fold.unwrap_or_default() == 0 {
            store
                .set(&keys::train_summary(experiment_id), &bytes)
                .await
                .map_err(anyhow::Error::from)?;
        }
        summaries.push(summary);
    }
    let detections = detected;
    let train = summaries[0].clone();
    let folds = if spec.validation.outer_folds().is_some() {
        summaries
    } else {
        Vec::new()
    };
    Ok(DiademResults {
        train,
        detections,
        folds,
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
    for outer in outer_splits(spec) {
        if !spec.no_training_detection {
            names.push(outer.detection_name("train"));
        }
        match &spec.validation {
            ValidationSpec::ValidationDatasets { datasets } => {
                names.extend(datasets.iter().map(|d| format!("validation:{d}")))
            }
            _ => names.push(outer.detection_name("test")),
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
    let mut folds = Vec::new();
    for fold in 0..spec.validation.outer_folds().unwrap_or_default() {
        folds.push(read_json(store, &keys::fold_train_summary(experiment_id, fold)).await?);
    }
    Ok(DiademResults {
        train,
        detections,
        folds,
    })
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
                penalty: Penalty::L1,
                optim_algo: Default::default(),
            }
        );
        assert_eq!(
            hypers[1],
            Hyper::LogisticRegression {
                c: 0.01,
                penalty: Penalty::L2,
                optim_algo: Default::default(),
            }
        );
        assert_eq!(
            hypers[7],
            Hyper::LogisticRegression {
                c: 10.0,
                penalty: Penalty::L2,
                optim_algo: Default::default(),
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
            optim_algo: Default::default(),
        };
        let b = Hyper::LogisticRegression {
            c: 1.0,
            penalty: Penalty::L2,
            optim_algo: Default::default(),
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
