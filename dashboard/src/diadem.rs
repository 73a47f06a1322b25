//! Reads of a DIADEM experiment beyond its records: the training summary of each outer fold, the
//! statistics across folds, and lists of predicted instances (a confusion-matrix cell at a
//! threshold, or a bin of the predictions histogram) read from the detection's predictions file.
//!
//! - `GET /api/experiments/<id>/folds/<k>/train`: the training summary of outer fold `k`
//! - `GET /api/experiments/<id>/fold-statistics`: mean and standard deviation across folds
//! - `GET /api/experiments/<id>/detections/<name>/predictions?cell=tp|fp|fn|tn&threshold=<t>` or
//!   `?bin=<b>`, with `offset` and `limit` (at most [`MAX_PREDICTIONS_LIMIT`]): the instances of a
//!   cell or a bin, highest score first, ties in dataset order
//! - `GET /api/experiments/<id>/detections/<name>/instances/<instance_id>` and
//!   `.../instances/<instance_id>/weighted-features?limit=`: see [`crate::instance`]
//!
//! A predictions file is opened only through the path its stored [`DetectionResult`] names, checked
//! by [`StoredPath::parquet_file`].

use std::collections::{BTreeMap, HashMap};

use secuml_engine::metrics::histogram_bin;
use secuml_engine::predictions::{read_predictions_file, ReadPredictions};
use secuml_proto::fold_stats::{fold_statistics, FoldStatistic};
use secuml_proto::{keys, DetectionResult, ExperimentRecord, TrainSummary};
use serde::Serialize;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::api::answer;
use crate::clustering::PageRequest;
use crate::data::{decode, Reader};
use crate::error::DashboardError;
use crate::files::StoredPath;
use crate::security::Segment;

/// Instances per page of a predictions list, by default and at most (SecuML's `NUM_MAX_DISPLAY`).
pub const MAX_PREDICTIONS_LIMIT: usize = 100;

/// A cell of the confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// Malicious, flagged.
    Tp,
    /// Benign, flagged.
    Fp,
    /// Malicious, not flagged ("Undetected").
    Fn,
    /// Benign, not flagged.
    Tn,
}

impl Cell {
    fn parse(text: &str) -> Option<Cell> {
        match text {
            "tp" => Some(Cell::Tp),
            "fp" => Some(Cell::Fp),
            "fn" => Some(Cell::Fn),
            "tn" => Some(Cell::Tn),
            _ => None,
        }
    }

    /// The title of its list, SecuML's for the errors.
    pub fn title(self) -> &'static str {
        match self {
            Cell::Tp => "True Positives",
            Cell::Fp => "False Positives",
            Cell::Fn => "Undetected",
            Cell::Tn => "True Negatives",
        }
    }

    /// Whether a row of this label and value (what the threshold applies to) is in the cell
    /// (flagged iff the value is above the threshold; unlabelled rows are in no cell).
    fn holds(self, label: Option<bool>, value: f64, threshold: f64) -> bool {
        let flagged = value > threshold;
        match (self, label) {
            (Cell::Tp, Some(true)) | (Cell::Fp, Some(false)) => flagged,
            (Cell::Fn, Some(true)) | (Cell::Tn, Some(false)) => !flagged,
            _ => false,
        }
    }
}

/// Which predictions a list holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// A cell of the confusion matrix at a threshold in [0, 1].
    Cell {
        /// The cell.
        cell: Cell,
        /// The threshold.
        threshold: f64,
    },
    /// A bin of the detection's predictions histogram.
    Bin(usize),
}

impl Selection {
    /// Reads `cell` and `threshold`, or `bin`, from a query string's pairs.
    pub fn from_query(query: &HashMap<String, String>) -> Result<Self, DashboardError> {
        let bad = DashboardError::BadRequest;
        match (query.get("cell"), query.get("bin")) {
            (Some(_), Some(_)) => Err(bad("give `cell` or `bin`, not both".into())),
            (None, None) => Err(bad(
                "give `cell` (tp, fp, fn or tn) with `threshold`, or `bin`".into(),
            )),
            (Some(cell), None) => {
                let cell = Cell::parse(cell)
                    .ok_or_else(|| bad(format!("`cell` must be tp, fp, fn or tn, got `{cell}`")))?;
                let text = query
                    .get("threshold")
                    .ok_or_else(|| bad("`cell` needs a `threshold`".into()))?;
                let threshold = text
                    .parse::<f64>()
                    .ok()
                    .filter(|t| (0.0..=1.0).contains(t))
                    .ok_or_else(|| {
                        bad(format!(
                            "`threshold` must be a number from 0 to 1, got `{text}`"
                        ))
                    })?;
                Ok(Selection::Cell { cell, threshold })
            }
            (None, Some(text)) => text
                .parse::<usize>()
                .map(Selection::Bin)
                .map_err(|_| bad(format!("`bin` must be a bin number, got `{text}`"))),
        }
    }
}

/// One predicted instance of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionRow {
    /// Position in the list, from 0, highest score first.
    pub rank: usize,
    /// Instance id.
    pub instance_id: i64,
    /// Readable name.
    pub ident: String,
    /// The model's output (a probability, or an anomaly score).
    pub score: f64,
    /// What thresholds apply to (the probability, or the score's training quantile).
    pub value: f64,
    /// Whether it is an alert at the detection threshold.
    pub alert: bool,
    /// `malicious` or `benign`, when known.
    pub label: Option<&'static str>,
    /// Family, when known.
    pub family: Option<String>,
    /// A multiclass model's predicted family (its probability is `score`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_family: Option<String>,
}

/// A page of a list of predicted instances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionsPage {
    /// Experiment id.
    pub experiment: u64,
    /// Detection name.
    pub detection: String,
    /// "False Positives", "Undetected", ..., or "Predictions between x and y".
    pub title: String,
    /// The cell, for a confusion-matrix list.
    pub cell: Option<Cell>,
    /// Its threshold.
    pub threshold: Option<f64>,
    /// The bin, for a histogram list.
    pub bin: Option<usize>,
    /// The bin's lower edge.
    pub low: Option<f64>,
    /// The bin's upper edge.
    pub high: Option<f64>,
    /// Instances in the list.
    pub total: usize,
    /// Instances skipped.
    pub offset: usize,
    /// Instances asked for.
    pub limit: usize,
    /// The rows, `rank` from `offset`.
    pub instances: Vec<PredictionRow>,
}

/// The statistics across outer folds of a DIADEM experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldStatistics {
    /// Experiment id.
    pub experiment: u64,
    /// Outer folds (0 outside the cross-validation modes).
    pub num_folds: usize,
    /// `train` and `test`: indicator -> mean, standard deviation and value per fold.
    pub statistics: BTreeMap<String, BTreeMap<String, FoldStatistic>>,
}

/// The routes of this module and of [`crate::instance`].
pub fn routes(reader: Reader) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_reader = warp::any().map(move || reader.clone());
    let fold_train = warp::path!("api" / "experiments" / u64 / "folds" / u32 / "train")
        .and(with_reader.clone())
        .then(|id: u64, fold: u32, r: Reader| {
            answer(async move { r.fold_train_summary(id, fold).await })
        });
    let statistics = warp::path!("api" / "experiments" / u64 / "fold-statistics")
        .and(with_reader.clone())
        .then(|id: u64, r: Reader| answer(async move { r.fold_statistics(id).await }));
    let predictions =
        warp::path!("api" / "experiments" / u64 / "detections" / Segment / "predictions")
            .and(warp::query::<HashMap<String, String>>())
            .and(with_reader.clone())
            .then(
                |id: u64, name: Segment, query: HashMap<String, String>, r: Reader| {
                    answer(async move {
                        let selection = Selection::from_query(&query)?;
                        let page = PageRequest::from_query_bounded(
                            &query,
                            MAX_PREDICTIONS_LIMIT,
                            MAX_PREDICTIONS_LIMIT,
                        )?;
                        r.predictions(id, &name.0, selection, page).await
                    })
                },
            );
    fold_train
        .or(statistics)
        .unify()
        .or(predictions)
        .unify()
        .or(crate::instance::routes(with_reader))
        .unify()
}

impl Reader {
    /// The training summary of outer fold `fold` (cross-validation modes).
    pub async fn fold_train_summary(
        &self,
        id: u64,
        fold: u32,
    ) -> Result<TrainSummary, DashboardError> {
        self.experiment(id).await?;
        let key = keys::fold_train_summary(id, fold);
        let bytes = self.store().get(&key).await?.ok_or_else(|| {
            DashboardError::not_found(format!(
                "training summary of fold {fold} of experiment {id}"
            ))
        })?;
        decode(&key, &bytes)
    }

    /// Mean and standard deviation across the outer folds of every indicator, computed from the
    /// stored detections `train-fold-<k>` and `test-fold-<k>` as the job's results are.
    pub async fn fold_statistics(&self, id: u64) -> Result<FoldStatistics, DashboardError> {
        self.experiment(id).await?;
        let key = keys::detections(id);
        let mut detections = Vec::new();
        let mut num_folds = 0;
        for (field, bytes) in self.store().hgetall(&key).await? {
            if let Some(fold) = outer_fold(&field) {
                num_folds = num_folds.max(fold as usize + 1);
                detections.push(decode::<DetectionResult>(
                    &format!("{key} {field}"),
                    &bytes,
                )?);
            }
        }
        Ok(FoldStatistics {
            experiment: id,
            num_folds,
            statistics: fold_statistics(&detections, num_folds),
        })
    }

    /// The record, the detection and its predictions file (checked), or not found when the
    /// detection has none.
    pub(crate) async fn detection_predictions(
        &self,
        id: u64,
        name: &str,
    ) -> Result<(ExperimentRecord, DetectionResult, ReadPredictions), DashboardError> {
        let record = self.experiment(id).await?;
        let detection = self.detection(id, name).await?;
        let relative = detection.predictions_file.clone().ok_or_else(|| {
            DashboardError::not_found(format!(
                "predictions of detection {name} of experiment {id}"
            ))
        })?;
        let files = self.files();
        let (record, predictions) = blocking(move || {
            let stored = StoredPath {
                key: keys::detections(record.id),
                what: "predictions file",
                relative: &relative,
            };
            let path = stored.parquet_file_in_project(&files, &record)?;
            let predictions = read_predictions_file(&path).map_err(|e| {
                DashboardError::of_file(&relative, e, || {
                    DashboardError::not_found(format!("predictions file {relative}"))
                })
            })?;
            let rows = &predictions.rows;
            if [
                rows.idents.len(),
                rows.scores.len(),
                rows.values.len(),
                predictions.alerts.len(),
                rows.labels.len(),
                rows.families.len(),
            ]
            .into_iter()
            .chain(rows.predicted_families.as_ref().map(Vec::len))
            .any(|n| n != predictions.len())
            {
                return Err(DashboardError::BadFile {
                    file: relative,
                    reason: "its columns have different lengths".into(),
                });
            }
            Ok((record, predictions))
        })
        .await?;
        Ok((record, detection, predictions))
    }

    /// A page of the predicted instances of a confusion-matrix cell or a histogram bin, highest
    /// score first (ties in dataset order).
    pub async fn predictions(
        &self,
        id: u64,
        name: &str,
        selection: Selection,
        page: PageRequest,
    ) -> Result<PredictionsPage, DashboardError> {
        let detection = self.detection(id, name).await?;
        let edges = &detection.histogram.edges;
        let (title, cell, threshold, bin, range) = match selection {
            Selection::Cell { cell, threshold } => (
                cell.title().to_string(),
                Some(cell),
                Some(threshold),
                None,
                None,
            ),
            Selection::Bin(bin) => {
                if bin + 1 >= edges.len() {
                    return Err(DashboardError::BadRequest(format!(
                        "`bin` must be from 0 to {}, got `{bin}`",
                        edges.len().saturating_sub(2)
                    )));
                }
                let (low, high) = (edges[bin], edges[bin + 1]);
                let title = format!("Predictions between {low:.2} and {high:.2}");
                (title, None, None, Some(bin), Some((low, high)))
            }
        };
        let (_, detection, p) = self.detection_predictions(id, name).await?;
        let edges = &detection.histogram.edges;
        let r = &p.rows;
        let mut rows: Vec<usize> = (0..p.len())
            .filter(|&i| match selection {
                Selection::Cell { cell, threshold } => {
                    cell.holds(r.labels[i], r.values[i], threshold)
                }
                Selection::Bin(bin) => histogram_bin(r.values[i], edges) == Some(bin),
            })
            .collect();
        rows.sort_by(|&a, &b| r.scores[b].total_cmp(&r.scores[a]).then(a.cmp(&b)));
        let total = rows.len();
        let instances = rows
            .into_iter()
            .enumerate()
            .skip(page.offset)
            .take(page.limit)
            .map(|(rank, i)| prediction_row(&p, i, rank))
            .collect();
        Ok(PredictionsPage {
            experiment: id,
            detection: name.to_string(),
            title,
            cell,
            threshold,
            bin,
            low: range.map(|r| r.0),
            high: range.map(|r| r.1),
            total,
            offset: page.offset,
            limit: page.limit,
            instances,
        })
    }
}

/// Row `i` of a predictions file as a list entry.
pub(crate) fn prediction_row(p: &ReadPredictions, i: usize, rank: usize) -> PredictionRow {
    let r = &p.rows;
    PredictionRow {
        rank,
        instance_id: r.instance_ids[i],
        ident: r.idents[i].clone(),
        score: r.scores[i],
        value: r.values[i],
        alert: p.alerts[i],
        label: r.labels[i].map(|l| if l { "malicious" } else { "benign" }),
        family: r.families[i].clone(),
        predicted_family: r.predicted_families.as_ref().map(|f| f[i].clone()),
    }
}

/// The outer fold of a detection `train-fold-<k>` or `test-fold-<k>`.
pub(crate) fn outer_fold(detection: &str) -> Option<u32> {
    let rest = detection
        .strip_prefix("train-fold-")
        .or_else(|| detection.strip_prefix("test-fold-"))?;
    rest.parse().ok()
}

/// Runs a file read on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, DashboardError> + Send + 'static,
) -> Result<T, DashboardError> {
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|e| DashboardError::Internal(format!("reading a file: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn cells_follow_the_threshold_rule_of_the_indicators() {
        // Flagged iff the value is above the threshold: 0.5 at 0.5 is not flagged.
        assert!(Cell::Tp.holds(Some(true), 0.51, 0.5));
        assert!(Cell::Fn.holds(Some(true), 0.5, 0.5));
        assert!(Cell::Fp.holds(Some(false), 0.9, 0.5));
        assert!(Cell::Tn.holds(Some(false), 0.5, 0.5));
        for cell in [Cell::Tp, Cell::Fp, Cell::Fn, Cell::Tn] {
            assert!(!cell.holds(None, 0.9, 0.5) && !cell.holds(None, 0.1, 0.5));
        }
    }

    #[test]
    fn selections_are_read_and_checked() {
        assert_eq!(
            Selection::from_query(&query(&[("cell", "fp"), ("threshold", "0.37")])).unwrap(),
            Selection::Cell {
                cell: Cell::Fp,
                threshold: 0.37
            }
        );
        assert_eq!(
            Selection::from_query(&query(&[("bin", "3")])).unwrap(),
            Selection::Bin(3)
        );
        for bad in [
            query(&[]),
            query(&[("cell", "fp")]),
            query(&[("cell", "xx"), ("threshold", "0.5")]),
            query(&[("cell", "tp"), ("threshold", "1.5")]),
            query(&[("cell", "tp"), ("threshold", "NaN")]),
            query(&[("cell", "tp"), ("threshold", "half")]),
            query(&[("bin", "-1")]),
            query(&[("bin", "1"), ("cell", "tp"), ("threshold", "0.5")]),
        ] {
            assert!(
                matches!(
                    Selection::from_query(&bad),
                    Err(DashboardError::BadRequest(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(outer_fold("test-fold-3"), Some(3));
        assert_eq!(outer_fold("train-fold-0"), Some(0));
        assert_eq!(outer_fold("test"), None);
        assert_eq!(outer_fold("validation:test-fold-1"), None);
    }
}
