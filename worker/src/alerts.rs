//! The alert analysis of a detection: the alerts of its predictions file, the highest scoring
//! ones, a seeded random sample, and, when asked, their clusters.
//!
//! As SecuML's alert clustering: the alerts' feature rows are standardised on the alerts
//! themselves, then clustered with k-means, a diagonal-covariance Gaussian mixture or DBSCAN;
//! with fewer alerts than clusters asked for, `min(alerts, 4)` clusters are built. Or, as
//! SecuML's alert classification, a multiclass model learnt on the training rows' malicious
//! families names the family of each alert, one group per family.

use std::collections::HashMap;
use std::time::Instant;

use ndarray::{Array2, Axis};
use secuml_engine::cluster::{self, Covariance, DbscanParams, GmmParams, KmeansParams};
use secuml_engine::dataset::Encoder;
use secuml_engine::predictions::{read_predictions, Predictions};
use secuml_engine::preprocess::StandardScaler;
use secuml_engine::split::{self, sample_indices};
use secuml_proto::result::MAX_ALERTS_LISTED;
use secuml_proto::{
    AlertCluster, AlertRow, AlertsAnalysis, AlertsClusteringAlgo, AlertsResult, ClusterMix,
    DataRef, ErrorCode, Hyper, ModelSpec, StoredModel, TaskFailure, TrainingRows,
};
use secuml_runtime::data_root::DATASETS;

use crate::data::{select_rows, take_rows, DataCache};
use crate::execute::fit_model;
use crate::multiclass::{self, Target};

/// The clusters SecuML builds from `n_alerts` alerts when `asked` are asked for.
pub fn num_clusters(asked: u32, n_alerts: usize) -> usize {
    let asked = asked as usize;
    if n_alerts < asked {
        n_alerts.min(4)
    } else {
        asked
    }
}

fn bad_data(message: String) -> TaskFailure {
    TaskFailure::permanent(ErrorCode::BadData, message)
}

fn row(p: &Predictions, i: usize) -> AlertRow {
    AlertRow {
        instance_id: p.instance_ids[i],
        ident: p.idents[i].clone(),
        score: p.scores[i],
        label: p.labels[i],
        family: p.families[i].clone(),
    }
}

/// Up to [`MAX_ALERTS_LISTED`] of the rows `rows` by decreasing score, the given order on ties.
fn top(p: &Predictions, rows: &[usize]) -> Vec<AlertRow> {
    let mut sorted = rows.to_vec();
    sorted.sort_by(|a, b| p.scores[*b].total_cmp(&p.scores[*a]));
    sorted
        .into_iter()
        .take(MAX_ALERTS_LISTED)
        .map(|i| row(p, i))
        .collect()
}

/// Up to [`MAX_ALERTS_LISTED`] of `rows` drawn without replacement with `seed`, in their order.
fn sample(p: &Predictions, rows: &[usize], seed: u64) -> Vec<AlertRow> {
    sample_indices(rows.len(), MAX_ALERTS_LISTED, seed)
        .into_iter()
        .map(|k| row(p, rows[k]))
        .collect()
}

fn mix(p: &Predictions, rows: &[usize]) -> ClusterMix {
    let mut m = ClusterMix {
        size: rows.len() as u64,
        malicious: 0,
        benign: 0,
        unlabeled: 0,
        families: Default::default(),
    };
    for &i in rows {
        match p.labels[i] {
            Some(true) => m.malicious += 1,
            Some(false) => m.benign += 1,
            None => m.unlabeled += 1,
        }
        if let Some(f) = &p.families[i] {
            *m.families.entry(f.clone()).or_default() += 1;
        }
    }
    m
}

/// The group of every alert (`None`: DBSCAN's noise) and the number of groups, from the
/// standardised alert rows `x`.
fn cluster_rows(
    x: ndarray::ArrayView2<f64>,
    algo: AlertsClusteringAlgo,
    asked: u32,
    seed: u64,
) -> Result<(Vec<Option<u32>>, usize), TaskFailure> {
    let k = num_clusters(asked, x.nrows());
    Ok(match algo {
        AlertsClusteringAlgo::Kmeans => {
            let mean_variance = x.var_axis(Axis(0), 0.0).mean().unwrap_or(0.0);
            let fit = cluster::fit(
                x,
                &KmeansParams {
                    seed,
                    ..KmeansParams::new(k)
                },
                mean_variance,
            );
            (fit.labels.into_iter().map(Some).collect(), k)
        }
        AlertsClusteringAlgo::GaussianMixture => {
            let fit = cluster::fit_gmm(
                x,
                &GmmParams {
                    seed,
                    ..GmmParams::new(k, Covariance::Diag)
                },
            )
            .map_err(|e| bad_data(format!("alert clustering: {e}")))?;
            (fit.labels.into_iter().map(Some).collect(), k)
        }
        AlertsClusteringAlgo::Dbscan => {
            let labels = cluster::dbscan(x, &DbscanParams::default());
            let found = labels.iter().flatten().map(|c| *c as usize + 1).max();
            (labels, found.unwrap_or(0))
        }
    })
}

/// What the alert analysis of one detection reads.
pub struct AlertsInput<'a> {
    /// The detection.
    pub detection: &'a str,
    /// The dataset it predicted.
    pub data: &'a DataRef,
    /// Its predictions file, relative to the datasets folder.
    pub predictions_file: &'a str,
    /// The model it applied: its columns encode the features of a grouping.
    pub model: Option<&'a StoredModel>,
    /// The threshold the alerts are above.
    pub detection_threshold: f64,
    /// Seed of the random sample, the clustering and the classification.
    pub seed: u64,
    /// How the alerts are grouped, if at all.
    pub analysis: Option<&'a AlertsAnalysis>,
    /// The model's training rows (an alert classification learns their families).
    pub training: Option<&'a TrainingRows>,
}

/// The feature rows (raw, encoded as `encoder`) of the alerts `alerts` of the predictions `p`.
fn alert_rows(
    cache: &DataCache,
    input: &AlertsInput,
    encoder: &Encoder,
    p: &Predictions,
    alerts: &[usize],
) -> Result<Array2<f64>, TaskFailure> {
    let (data, file) = (input.data, input.predictions_file);
    let loaded = cache.load(data, Some(encoder))?;
    let by_id: HashMap<i64, usize> = loaded
        .instance_ids
        .iter()
        .enumerate()
        .map(|(row, id)| (*id, row))
        .collect();
    let rows = alerts
        .iter()
        .map(|&i| {
            by_id.get(&p.instance_ids[i]).copied().ok_or_else(|| {
                bad_data(format!(
                    "instance {} of {file} is not in dataset {}/{}",
                    p.instance_ids[i], data.project, data.dataset
                ))
            })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    Ok(take_rows(&loaded.x, &rows))
}

/// The groups of the alerts: `names[g]` is group `g`'s name, `assigned[i]` the group of the
/// `i`-th alert (`None`: DBSCAN's noise, the last group). Empty groups are kept unless
/// `drop_empty`.
fn grouped(
    p: &Predictions,
    alerts: &[usize],
    names: Vec<String>,
    assigned: &[Option<usize>],
    drop_empty: bool,
) -> Vec<AlertCluster> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    let mut noise = Vec::new();
    for (&alert, group) in alerts.iter().zip(assigned) {
        match group {
            Some(g) => members[*g].push(alert),
            None => noise.push(alert),
        }
    }
    names
        .into_iter()
        .zip(members)
        .chain((!noise.is_empty()).then(|| ("noise".to_string(), noise)))
        .filter(|(_, m)| !(drop_empty && m.is_empty()))
        .map(|(name, m)| AlertCluster {
            name,
            mix: mix(p, &m),
            alerts: top(p, &m),
        })
        .collect()
}

/// What an alert classification gives.
enum Classified {
    /// The sorted families learnt, and each alert's index among them.
    Families(Vec<String>, Vec<usize>),
    /// Why it was skipped.
    Skipped(String),
}

/// SecuML's alert classification: a multiclass model of `spec`'s class, its candidate chosen
/// by the mean Accuracy over `num_folds` folds stratified by family (the first best, as the
/// search), trained on the malicious training rows with a family, names the family of each
/// alert row of `x_alerts` (raw features); skipped with fewer than 2 families.
fn classify(
    cache: &DataCache,
    training: &TrainingRows,
    encoder: &Encoder,
    spec: &ModelSpec,
    num_folds: u32,
    seed: u64,
    mut x_alerts: Array2<f64>,
) -> Result<Classified, TaskFailure> {
    let data = &training.data;
    let loaded = cache.load(data, Some(encoder))?;
    let labels = cache.labels(data, &loaded, &training.annotations)?;
    let Some(families) = cache.families(data, &loaded, &training.annotations)? else {
        return Ok(Classified::Skipped(format!(
            "the training dataset {}/{} has no families to learn",
            data.project, data.dataset
        )));
    };
    let train = select_rows(&labels, loaded.timestamps.as_deref(), &training.rows)?;
    let (rows, fams): (Vec<usize>, Vec<String>) = train
        .rows
        .iter()
        .zip(&train.labels)
        .filter(|(_, malicious)| **malicious)
        .filter_map(|(&r, _)| families[r].clone().map(|f| (r, f)))
        .unzip();
    let (classes, index) =
        multiclass::class_indices(&fams.iter().cloned().map(Some).collect::<Vec<_>>());
    if classes.len() < 2 {
        return Ok(Classified::Skipped(format!(
            "the training rows hold {} malicious famil{}: at least 2 are needed",
            classes.len(),
            if classes.len() == 1 { "y" } else { "ies" }
        )));
    }
    let x = take_rows(&loaded.x, &rows);
    let candidates = spec
        .candidates()
        .map_err(|e| TaskFailure::permanent(ErrorCode::BadRequest, e.to_string()))?;
    let fit = |hyper: &Hyper, rows: &[usize]| {
        let y: Vec<Option<String>> = rows.iter().map(|&r| Some(fams[r].clone())).collect();
        fit_model(hyper, x.select(Axis(0), rows), Target::Families(&y), seed)
    };
    let mut best = (0, f64::NEG_INFINITY);
    if candidates.len() > 1 {
        let strata: Vec<usize> = index.iter().flatten().copied().collect();
        let fold_of = split::stratified_kfold_multiclass(&strata, num_folds as usize, None)
            .map_err(|e| {
                TaskFailure::permanent(
                    ErrorCode::BadData,
                    format!("alert classification: cannot build the folds of its search: {e}"),
                )
            })?;
        for (c, hyper) in candidates.iter().enumerate() {
            let mut total = 0.0;
            for k in 0..num_folds as usize {
                let (score_rows, fit_rows): (Vec<usize>, Vec<usize>) =
                    (0..rows.len()).partition(|&i| fold_of[i] == k);
                let (fitted, scaler, _) = fit(hyper, &fit_rows)?;
                let mut x_score = x.select(Axis(0), &score_rows);
                if let Some(scaler) = &scaler {
                    scaler.transform_inplace(&mut x_score);
                }
                let m = fitted.multiclass().ok_or_else(|| {
                    TaskFailure::permanent(ErrorCode::Internal, "not a multiclass model")
                })?;
                let truth: Vec<String> = score_rows.iter().map(|&i| fams[i].clone()).collect();
                total += multiclass::accuracy(&truth, &multiclass::predict(m, x_score.view()))
                    .unwrap_or(0.0);
            }
            let mean = total / num_folds as f64;
            tracing::debug!(
                candidate = c,
                accuracy = mean,
                "alert classification candidate"
            );
            if mean > best.1 {
                best = (c, mean);
            }
        }
    }
    let all: Vec<usize> = (0..rows.len()).collect();
    let (fitted, scaler, _) = fit(&candidates[best.0], &all)?;
    if let Some(scaler) = &scaler {
        scaler.transform_inplace(&mut x_alerts);
    }
    let m = fitted
        .multiclass()
        .ok_or_else(|| TaskFailure::permanent(ErrorCode::Internal, "not a multiclass model"))?;
    let assigned = m.predict(x_alerts.view());
    // The model's classes are the sorted families, as `classes`.
    Ok(Classified::Families(m.classes.clone(), assigned))
}

/// Runs the alert analysis of a detection: its alerts listed, and grouped when asked.
pub fn run(cache: &DataCache, input: &AlertsInput) -> Result<AlertsResult, TaskFailure> {
    let started = Instant::now();
    let predictions_file = input.predictions_file;
    let key = format!("{DATASETS}/{predictions_file}");
    let bytes = cache
        .root()
        .get(&key)
        .map_err(|e| TaskFailure::transient(format!("cannot read {key}: {e}")))?
        .ok_or_else(|| bad_data(format!("predictions file {key} does not exist")))?;
    let read = read_predictions(bytes, predictions_file).map_err(|e| bad_data(e.to_string()))?;
    let p = &read.rows;
    let alerts: Vec<usize> = (0..read.alerts.len()).filter(|&i| read.alerts[i]).collect();
    let mut result = AlertsResult {
        detection: input.detection.to_string(),
        detection_threshold: input.detection_threshold,
        n_alerts: alerts.len() as u64,
        top: top(p, &alerts),
        random: sample(p, &alerts, input.seed),
        algo: None,
        clusters: Vec::new(),
        classified: false,
        skipped: None,
        seconds: 0.0,
    };
    if let (Some(analysis), false) = (input.analysis, alerts.is_empty()) {
        let model = input.model.ok_or_else(|| {
            TaskFailure::permanent(ErrorCode::Internal, "alert analysis without its model")
        })?;
        let encoder = Encoder::from_columns(
            model
                .columns
                .iter()
                .map(|c| (c.feature.clone(), c.category.clone()))
                .collect(),
        );
        let mut x = alert_rows(cache, input, &encoder, p, &alerts)?;
        match analysis {
            AlertsAnalysis::Clustering { algo, num_clusters } => {
                StandardScaler::fit(x.view()).transform_inplace(&mut x);
                let (groups, n_groups) = cluster_rows(x.view(), *algo, *num_clusters, input.seed)?;
                let assigned: Vec<Option<usize>> =
                    groups.iter().map(|g| g.map(|g| g as usize)).collect();
                let names = (0..n_groups).map(|g| g.to_string()).collect();
                result.clusters = grouped(p, &alerts, names, &assigned, false);
                result.algo = Some(algo.name().to_string());
            }
            AlertsAnalysis::Classification {
                model: spec,
                num_folds,
            } => {
                let training = input.training.ok_or_else(|| {
                    TaskFailure::permanent(
                        ErrorCode::Internal,
                        "alert classification without its training rows",
                    )
                })?;
                match classify(cache, training, &encoder, spec, *num_folds, input.seed, x)? {
                    Classified::Families(families, assigned) => {
                        let assigned: Vec<Option<usize>> = assigned.into_iter().map(Some).collect();
                        result.clusters = grouped(p, &alerts, families, &assigned, true);
                        result.algo = Some(spec.class_name().to_string());
                        result.classified = true;
                    }
                    Classified::Skipped(reason) => {
                        tracing::info!(detection = input.detection, %reason, "alert classification skipped");
                        result.skipped = Some(format!("alert classification skipped: {reason}"));
                    }
                }
            }
        }
        tracing::debug!(
            detection = input.detection,
            n_alerts = alerts.len(),
            groups = result.clusters.len(),
            "alerts grouped"
        );
    }
    result.seconds = started.elapsed().as_secs_f64();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn predictions(scores: &[f64]) -> Predictions {
        Predictions {
            instance_ids: (0..scores.len() as i64).collect(),
            idents: (0..scores.len()).map(|i| format!("i{i}")).collect(),
            scores: scores.to_vec(),
            values: scores.to_vec(),
            threshold: 0.5,
            labels: vec![Some(true); scores.len()],
            families: vec![None; scores.len()],
            predicted_families: None,
        }
    }

    #[test]
    fn clusters_are_capped_as_secuml_caps_them() {
        assert_eq!(num_clusters(4, 100), 4);
        assert_eq!(num_clusters(4, 3), 3);
        assert_eq!(
            num_clusters(10, 7),
            4,
            "SecuML falls back to min(alerts, 4)"
        );
        assert_eq!(num_clusters(10, 10), 10);
    }

    #[test]
    fn top_sorts_by_score_keeping_dataset_order_on_ties_and_sample_is_seeded() {
        let p = predictions(&[0.6, 0.9, 0.6, 0.99, 0.7]);
        let ids: Vec<i64> = top(&p, &[0, 1, 2, 3, 4])
            .iter()
            .map(|r| r.instance_id)
            .collect();
        assert_eq!(ids, vec![3, 1, 4, 0, 2]);
        let scores: Vec<f64> = (0..300).map(|i| 0.5 + i as f64 / 1000.0).collect();
        let p = predictions(&scores);
        let rows: Vec<usize> = (0..300).collect();
        let a = sample(&p, &rows, 7);
        assert_eq!(a.len(), MAX_ALERTS_LISTED);
        assert!(a.windows(2).all(|w| w[0].instance_id < w[1].instance_id));
        assert_eq!(a, sample(&p, &rows, 7));
        assert_ne!(a, sample(&p, &rows, 8));
        assert_eq!(top(&p, &rows)[0].instance_id, 299);
        assert_eq!(sample(&p, &rows[..3], 7).len(), 3);
    }
}
