//! Runs one task: engine work on a blocking thread, then the result's writes to the store.

use std::sync::Arc;
use std::time::Instant;

use secuml_engine::dataset::Encoder;
use secuml_engine::metrics;
use secuml_engine::model::{self as engine_model, FittedModel, ModelError, Output};
use secuml_engine::preprocess::StandardScaler;
use secuml_engine::rows::Rows;
use secuml_engine::split;
use secuml_proto::result::MODEL_FORMAT_VERSION;
use secuml_proto::{
    keys, EncodedColumn, ErrorCode, FamilyCoefficients, FitScoreResult, Hyper, KmeansCentroidSets,
    Objective, OuterSplit, StandardScaling, StoredModel, Supervision, TaskFailure, TaskKind,
    TaskMessage,
};
use secuml_runtime::Store;

use crate::alerts;
use crate::cluster;
use crate::data::{select_rows, take_rows, DataCache};
use crate::detect;
use crate::multiclass::{self, Target};

/// What a task needs besides its message.
#[derive(Clone)]
pub struct TaskContext {
    /// Loaded datasets.
    pub cache: Arc<DataCache>,
    /// Where results go.
    pub store: Arc<dyn Store>,
}

/// One write a task makes once it has computed its result.
pub(crate) enum Write {
    Set {
        key: String,
        value: Vec<u8>,
    },
    HSet {
        key: String,
        field: String,
        value: Vec<u8>,
    },
}

fn internal(message: String) -> TaskFailure {
    TaskFailure::permanent(ErrorCode::Internal, message)
}

fn store_failure(e: secuml_runtime::StoreError) -> TaskFailure {
    TaskFailure::transient(format!("store: {e}"))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, TaskFailure> {
    serde_json::to_vec(value).map_err(|e| internal(format!("cannot serialise result: {e}")))
}

/// Runs `task` and stores its result under [`keys::task_results`] (and any other key it fills).
///
/// Writes are keyed by the task, so running a task twice overwrites the same values.
pub async fn execute(ctx: &TaskContext, task: &TaskMessage) -> Result<(), TaskFailure> {
    let model_of = match &task.kind {
        TaskKind::Detect {
            experiment_id,
            fold,
            model_experiment,
            ..
        } => Some((model_experiment.unwrap_or(*experiment_id), *fold)),
        // The columns of the model encode the alerts' features when they are clustered.
        TaskKind::Alerts {
            model_experiment,
            fold,
            analysis: Some(_),
            ..
        } => Some((*model_experiment, *fold)),
        _ => None,
    };
    let model = match model_of {
        Some((experiment_id, fold)) => {
            let experiment_id = &experiment_id;
            let bytes = ctx
                .store
                .get(&keys::model_of(*experiment_id, fold))
                .await
                .map_err(store_failure)?
                .ok_or_else(|| {
                    TaskFailure::permanent(
                        ErrorCode::NotFound,
                        format!("experiment {experiment_id} has no model"),
                    )
                })?;
            Some(decode_model(*experiment_id, &bytes)?)
        }
        None => None,
    };
    let centroids = match &task.kind {
        TaskKind::KmeansStep { centroids_key, .. }
        | TaskKind::KmeansAssign { centroids_key, .. } => {
            let bytes = ctx
                .store
                .get(centroids_key)
                .await
                .map_err(store_failure)?
                .ok_or_else(|| {
                    TaskFailure::permanent(
                        ErrorCode::NotFound,
                        format!("no centroids under {centroids_key}"),
                    )
                })?;
            Some(serde_json::from_slice(&bytes).map_err(|e| {
                internal(format!("centroids under {centroids_key} do not parse: {e}"))
            })?)
        }
        _ => None,
    };
    let cache = ctx.cache.clone();
    let message = task.clone();
    let writes = tokio::task::spawn_blocking(move || compute(&cache, &message, model, centroids))
        .await
        .map_err(|e| internal(format!("task panicked: {e}")))??;
    for write in writes {
        match write {
            Write::Set { key, value } => ctx.store.set(&key, &value).await,
            Write::HSet { key, field, value } => ctx.store.hset(&key, &field, &value).await,
        }
        .map_err(store_failure)?;
    }
    Ok(())
}

/// A stored model and its fitted model, checked: the format version, then the model itself.
pub fn decode_model(
    experiment_id: u64,
    bytes: &[u8],
) -> Result<(StoredModel, FittedModel), TaskFailure> {
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: u32,
    }
    let bad = |e: serde_json::Error| {
        TaskFailure::permanent(
            ErrorCode::BadRequest,
            format!("stored model of experiment {experiment_id} does not parse: {e}"),
        )
    };
    let version: Version = serde_json::from_slice(bytes).map_err(bad)?;
    if version.format_version != MODEL_FORMAT_VERSION {
        return Err(TaskFailure::permanent(
            ErrorCode::BadRequest,
            format!(
                "model of experiment {experiment_id} has format version {}, this worker reads version {}",
                version.format_version, MODEL_FORMAT_VERSION
            ),
        ));
    }
    let mut stored: StoredModel = serde_json::from_slice(bytes).map_err(bad)?;
    // The fitted model is the one kept: its JSON tree (tens of MB for a forest) goes.
    let fitted: FittedModel =
        serde_json::from_value(std::mem::take(&mut stored.model)).map_err(bad)?;
    Ok((stored, fitted))
}

/// Fits `hyper` on the rows `x` (raw features; standardised here when the class standardises)
/// and their labels or families (`None` for unlabelled rows of semi- and unsupervised classes).
pub(crate) fn fit_model(
    hyper: &Hyper,
    mut x: ndarray::Array2<f64>,
    y: Target,
    seed: u64,
) -> Result<(FittedModel, Option<StandardScaler>, ndarray::Array2<f64>), TaskFailure> {
    let scaler = hyper.standardises().then(|| {
        let scaler = StandardScaler::fit(x.view());
        scaler.transform_inplace(&mut x);
        scaler
    });
    let fitted = fit_prepared(hyper, x.view(), y, seed)?;
    Ok((fitted, scaler, x))
}

/// Fits `hyper` on the labelled rows `x`, standardised when the class standardises.
fn fit_rows(
    hyper: &Hyper,
    x: &Rows,
    y: &[Option<bool>],
    seed: u64,
) -> Result<FittedModel, TaskFailure> {
    engine_model::fit_rows(hyper, x, y, seed).map_err(fit_failure)
}

/// The task failure of a fit that failed: a bad hyperparameter or unfit data, for good.
fn fit_failure(e: ModelError) -> TaskFailure {
    match e {
        ModelError::Param { .. } => TaskFailure::permanent(ErrorCode::BadRequest, e.to_string()),
        ModelError::Data(m) => {
            TaskFailure::permanent(ErrorCode::BadData, format!("fit failed: {m}"))
        }
    }
}

/// Fits `hyper` on the rows `x`, already standardised when the class standardises.
fn fit_prepared(
    hyper: &Hyper,
    x: ndarray::ArrayView2<f64>,
    y: Target,
    seed: u64,
) -> Result<FittedModel, TaskFailure> {
    multiclass::fit(hyper, x, y, seed).map_err(fit_failure)
}

/// Threshold of the Accuracy objective: the classifier's own decision (probability above 0.5).
pub const ACCURACY_THRESHOLD: f64 = 0.5;

/// The value of `objective` for the probabilities `proba` of instances labelled `labels`;
/// `None` when it is undefined (a class is absent for ROC AUC and DrAtFar, no malicious
/// instance for NDCG, no instance for Accuracy).
pub fn objective_score(
    objective: Objective,
    far: f64,
    labels: &[bool],
    proba: &[f64],
) -> Option<f64> {
    match objective {
        Objective::RocAuc => metrics::roc_auc(labels, proba),
        Objective::Accuracy => metrics::accuracy(labels, proba, ACCURACY_THRESHOLD),
        Objective::Ndcg => metrics::ndcg(labels, proba),
        Objective::DrAtFar => metrics::detection_rate_at_far(labels, proba, far),
    }
}

pub(crate) fn compute(
    cache: &DataCache,
    task: &TaskMessage,
    model: Option<(StoredModel, FittedModel)>,
    centroids: Option<KmeansCentroidSets>,
) -> Result<Vec<Write>, TaskFailure> {
    let result_key = keys::task_results(&task.job_id);
    let field = keys::task_result(&task.task_id);
    match &task.kind {
        TaskKind::FitScore {
            data,
            annotations,
            rows,
            folds,
            fold,
            hyper,
            objective,
            far,
            multiclass: on_families,
        } => {
            let started = Instant::now();
            let (score, n_train, n_test, iterations) = if *on_families {
                // Multiclass: the rows of the training side with a family, folds stratified by
                // it (not cached: the shared folds are the binary ones).
                let loaded = cache.load(data, None)?;
                let labels = cache.labels(data, &loaded, annotations)?;
                let mut train = select_rows(&labels, loaded.timestamps.as_deref(), rows)?;
                // Multiclass: the rows of the training side with a family, folds stratified by it.
                let families = match on_families {
                    true => {
                        let all = cache.required_families(data, &loaded, annotations)?;
                        let (rows, labels) = train
                            .rows
                            .iter()
                            .zip(&train.labels)
                            .filter(|(r, _)| all[**r].is_some())
                            .unzip();
                        (train.rows, train.labels) = (rows, labels);
                        Some(
                            train
                                .rows
                                .iter()
                                .map(|&r| all[r].clone())
                                .collect::<Vec<_>>(),
                        )
                    }
                    false => None,
                };
                let shuffle = folds.shuffle.then_some(folds.seed);
                let k = folds.num_folds as usize;
                let fold_of = match &families {
                    Some(f) => {
                        let strata: Vec<usize> = multiclass::class_indices(f)
                            .1
                            .into_iter()
                            .flatten()
                            .collect();
                        split::stratified_kfold_multiclass(&strata, k, shuffle)
                    }
                    None => split::stratified_kfold(&train.labels, k, shuffle),
                }
                .map_err(|e| {
                    TaskFailure::permanent(
                        ErrorCode::BadRequest,
                        format!("cannot build folds: {e}"),
                    )
                })?;
                let (mut fit_rows, mut fit_y, mut score_rows, mut score_y) =
                    (vec![], vec![], vec![], vec![]);
                let (mut fit_families, mut score_families) = (vec![], vec![]);
                for (i, ((row, label), f)) in train
                    .rows
                    .iter()
                    .zip(&train.labels)
                    .zip(&fold_of)
                    .enumerate()
                {
                    let family = families.as_ref().and_then(|v| v[i].clone());
                    if *f == *fold as usize {
                        score_rows.push(*row);
                        score_y.push(*label);
                        score_families.extend(family);
                    } else {
                        fit_rows.push(*row);
                        fit_y.push(Some(*label));
                        fit_families.push(family);
                    }
                }
                let x_fit = take_rows(&loaded.x, &fit_rows);
                let mut x_score = take_rows(&loaded.x, &score_rows);
                let target = match on_families {
                    true => Target::Families(&fit_families),
                    false => Target::Labels(&fit_y),
                };
                let (fitted, scaler, _) = fit_model(hyper, x_fit, target, folds.seed)?;
                if let Some(scaler) = &scaler {
                    scaler.transform_inplace(&mut x_score);
                }
                let score = match fitted.multiclass() {
                    Some(m) => multiclass::accuracy(
                        &score_families,
                        &multiclass::predict(m, x_score.view()),
                    ),
                    None => {
                        let proba = fitted.scores(x_score.view());
                        objective_score(*objective, *far, &score_y, &proba)
                    }
                }
                .ok_or_else(|| {
                    TaskFailure::permanent(
                        ErrorCode::BadData,
                        format!("fold {fold} holds a single class: no {objective:?} score"),
                    )
                })?;
                (
                    score,
                    fit_rows.len() as u64,
                    score_rows.len() as u64,
                    fitted.iterations() as u32,
                )
            } else {
                let split = cache.fold(
                    data,
                    annotations,
                    rows,
                    folds,
                    *fold,
                    hyper.standardises(),
                    !engine_model::fits_rows(hyper),
                )?;
                let fitted = if engine_model::fits_coded(hyper) {
                    // The fold's candidates share one coding of its rows.
                    let coded = split.coded().map_err(fit_failure)?;
                    engine_model::fit_coded(hyper, coded, folds.seed).map_err(fit_failure)?
                } else {
                    fit_rows(hyper, &split.fit_rows(), &split.y_fit, folds.seed)?
                };
                let proba = split.scores(&fitted);
                let score =
                    objective_score(*objective, *far, &split.y_score, &proba).ok_or_else(|| {
                        TaskFailure::permanent(
                            ErrorCode::BadData,
                            format!("fold {fold} holds a single class: no {objective:?} score"),
                        )
                    })?;
                (
                    score,
                    split.y_fit.len() as u64,
                    split.y_score.len() as u64,
                    fitted.iterations() as u32,
                )
            };
            let result = FitScoreResult {
                hyper: *hyper,
                fold: *fold,
                score,
                n_train,
                n_test,
                fit_seconds: started.elapsed().as_secs_f64(),
                iterations,
            };
            Ok(vec![Write::HSet {
                key: result_key,
                field,
                value: to_json(&result)?,
            }])
        }
        TaskKind::Refit {
            experiment_id,
            data,
            annotations,
            rows,
            hyper,
            fold,
            seed,
            multiclass: on_families,
        } => {
            cache.forget_folds(data, annotations, rows);
            let loaded = cache.load(data, None)?;
            // An unsupervised class needs no label: a dataset without any is trained on too.
            let labels = match hyper.supervision() {
                Supervision::Unsupervised => cache.labels_or_none(data, &loaded, annotations)?,
                _ => cache.labels(data, &loaded, annotations)?,
            };
            let (mut train_rows, mut train_y) = training_rows(hyper, &labels, &loaded, rows)?;
            let mut families = Vec::new();
            if *on_families {
                // A labelled row's family; a supervised class trains on the rows with one.
                let all = cache.required_families(data, &loaded, annotations)?;
                let family = |r: usize, l: &Option<bool>| l.and(all[r].clone());
                if hyper.supervision() == Supervision::Supervised {
                    (train_rows, train_y) = train_rows
                        .into_iter()
                        .zip(train_y)
                        .filter(|(r, l)| family(*r, l).is_some())
                        .unzip();
                }
                families = train_rows
                    .iter()
                    .zip(&train_y)
                    .map(|(&r, l)| family(r, l))
                    .collect();
            }
            // The trees and forests read the training rows where they are; the other
            // classes (and multiclass models) fit on a copy.
            let (fitted, scaler, training_scores) = if !*on_families
                && engine_model::fits_rows(hyper)
            {
                let scaler = hyper
                    .standardises()
                    .then(|| StandardScaler::fit_rows(loaded.x.view(), &train_rows));
                let x = Rows::new(loaded.x.view(), Some(&train_rows), scaler.as_ref());
                let fitted = fit_rows(hyper, &x, &train_y, *seed)?;
                let scores = (fitted.output() == Output::Score).then(|| fitted.scores_rows(&x));
                (fitted, scaler, scores)
            } else {
                let x = take_rows(&loaded.x, &train_rows);
                let target = match on_families {
                    true => Target::Families(&families),
                    false => Target::Labels(&train_y),
                };
                let (fitted, scaler, x) = fit_model(hyper, x, target, *seed)?;
                let scores = (fitted.output() == Output::Score).then(|| fitted.scores(x.view()));
                (fitted, scaler, scores)
            };
            let columns = loaded
                .encoder
                .columns()
                .iter()
                .map(|(feature, category)| EncodedColumn {
                    feature: feature.clone(),
                    category: category.clone(),
                })
                .collect();
            let output = fitted.output();
            let score_quantiles = training_scores.map(|s| engine_model::quantiles(&s));
            let model = StoredModel {
                format_version: MODEL_FORMAT_VERSION,
                hyper: *hyper,
                trained_on: data.clone(),
                columns,
                scaling: scaler.map(|s| StandardScaling {
                    mean: s.mean.to_vec(),
                    scale: s.scale.to_vec(),
                }),
                output,
                score_quantiles,
                coefficients: fitted.coefficients(),
                importances: fitted.importances(),
                family_coefficients: fitted.family_coefficients().map(|per_family| {
                    per_family
                        .into_iter()
                        .map(|(family, coefficients)| FamilyCoefficients {
                            family,
                            coefficients,
                        })
                        .collect()
                }),
                n_train: train_rows.len() as u64,
                iterations: fitted.iterations() as u32,
                classes: fitted.multiclass().map(|m| m.classes.clone()),
                model: serde_json::to_value(&fitted)
                    .map_err(|e| internal(format!("cannot serialise the model: {e}")))?,
            };
            let bytes = to_json(&model)?;
            Ok(vec![
                Write::Set {
                    key: keys::model_of(*experiment_id, *fold),
                    value: bytes,
                },
                Write::HSet {
                    key: result_key,
                    field,
                    value: to_json(
                        &serde_json::json!({ "n_train": model.n_train, "iterations": model.iterations }),
                    )?,
                },
            ])
        }
        TaskKind::Detect {
            experiment_id,
            detection,
            data,
            annotations,
            rows,
            detection_threshold,
            stream_batch,
            ..
        } => {
            let (model, fitted) =
                model.ok_or_else(|| internal("detect task without its model".into()))?;
            let encoder = Encoder::from_columns(
                model
                    .columns
                    .iter()
                    .map(|c| (c.feature.clone(), c.category.clone()))
                    .collect(),
            );
            let result = detect::run(
                cache,
                *experiment_id,
                &model,
                &fitted,
                &encoder,
                detection,
                data,
                annotations,
                rows,
                *detection_threshold,
                *stream_batch,
            )?;
            let bytes = to_json(&result)?;
            Ok(vec![
                Write::HSet {
                    key: keys::detections(*experiment_id),
                    field: detection.clone(),
                    value: bytes,
                },
                Write::HSet {
                    key: result_key,
                    field,
                    value: to_json(&serde_json::json!({ "detection": detection }))?,
                },
            ])
        }
        TaskKind::Alerts {
            experiment_id,
            detection,
            data,
            predictions_file,
            detection_threshold,
            seed,
            analysis,
            training,
            ..
        } => {
            let result = alerts::run(
                cache,
                &alerts::AlertsInput {
                    detection,
                    data,
                    predictions_file,
                    model: model.as_ref().map(|(stored, _)| stored),
                    detection_threshold: *detection_threshold,
                    seed: *seed,
                    analysis: analysis.as_ref(),
                    training: training.as_ref(),
                },
            )?;
            Ok(vec![
                Write::HSet {
                    key: keys::alerts(*experiment_id),
                    field: detection.clone(),
                    value: to_json(&result)?,
                },
                Write::HSet {
                    key: result_key,
                    field,
                    value: to_json(&serde_json::json!({
                        "detection": detection,
                        "n_alerts": result.n_alerts,
                        "clusters": result.clusters.len(),
                    }))?,
                },
            ])
        }
        TaskKind::ClusterStats { data, block_rows } => Ok(vec![Write::HSet {
            key: result_key,
            field,
            value: to_json(&cluster::stats(cache, data, *block_rows)?)?,
        }]),
        TaskKind::KmeansInit {
            data,
            scaling,
            num_clusters,
            run,
            seed,
        } => Ok(vec![Write::HSet {
            key: result_key,
            field,
            value: to_json(&cluster::init(
                cache,
                data,
                scaling,
                *num_clusters,
                *run,
                *seed,
            )?)?,
        }]),
        TaskKind::KmeansStep {
            data,
            block,
            rows,
            scaling,
            ..
        } => {
            let sets =
                centroids.ok_or_else(|| internal("step task without its centroids".into()))?;
            Ok(vec![Write::HSet {
                key: result_key,
                field,
                value: to_json(&cluster::step(cache, data, *block, rows, scaling, &sets)?)?,
            }])
        }
        TaskKind::KmeansAssign {
            experiment_id,
            data,
            block,
            rows,
            scaling,
            annotations,
            ..
        } => {
            let sets =
                centroids.ok_or_else(|| internal("assign task without its centroids".into()))?;
            let result = cluster::assign(
                cache,
                *experiment_id,
                data,
                *block,
                rows,
                scaling,
                &sets,
                annotations.as_ref(),
            )?;
            Ok(vec![Write::HSet {
                key: result_key,
                field,
                value: to_json(&result)?,
            }])
        }
        TaskKind::Noop { result_bytes } => Ok(vec![Write::HSet {
            key: result_key,
            field,
            value: to_json(&"x".repeat((*result_bytes).min(1 << 20) as usize))?,
        }]),
    }
}

/// The rows a refit trains on, with their labels: the labelled rows of the training side for
/// a supervised class; for semi- and unsupervised classes, also every unlabelled row when the
/// outer split is the whole dataset (ValidationDatasets, UnlabeledLabeled), since the other
/// splits assign sides to labelled rows only.
fn training_rows(
    hyper: &Hyper,
    labels: &[Option<bool>],
    loaded: &crate::data::LoadedData,
    rows: &secuml_proto::RowSelection,
) -> Result<(Vec<usize>, Vec<Option<bool>>), TaskFailure> {
    let supervision = hyper.supervision();
    if supervision != Supervision::Supervised && rows.outer == OuterSplit::Whole {
        let y = match supervision {
            Supervision::Unsupervised => vec![None; labels.len()],
            _ => labels.to_vec(),
        };
        return Ok(((0..labels.len()).collect(), y));
    }
    let train = select_rows(labels, loaded.timestamps.as_deref(), rows)?;
    let y = match supervision {
        Supervision::Unsupervised => vec![None; train.rows.len()],
        _ => train.labels.into_iter().map(Some).collect(),
    };
    Ok((train.rows, y))
}
