//! The description of one predicted instance: its prediction, every feature value (read from the
//! one shard of its dataset that holds it) and, for linear models, its weighted features.
//!
//! - `GET /api/experiments/<id>/detections/<name>/instances/<instance_id>`
//! - `GET /api/experiments/<id>/detections/<name>/instances/<instance_id>/weighted-features?limit=`
//!
//! An instance is known to a detection when its predictions file holds it. Its row is found from the
//! shards' footers and `instance_id` columns ([`locate_instance`]), then that shard alone is read,
//! checked against the manifest. The weighted features of a linear model are the encoded columns of
//! the row, standardised as at training, times the model's coefficients, largest in absolute value
//! first (SecuML's "Weighted Features").

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use secuml_engine::dataset::{
    locate_instance, read_manifest, read_shard, Encoder, FeatureKind, Frame, FrameColumn, Manifest,
    MANIFEST_FILE,
};
use secuml_proto::{keys, DetectionResult, ExperimentRecord, JobSpec, ModelSpec, StoredModel};
use serde::Serialize;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::api::answer;
use crate::clustering::PageRequest;
use crate::data::{decode, Reader};
use crate::diadem::{blocking, outer_fold, prediction_row, PredictionRow};
use crate::error::DashboardError;
use crate::files::StoredPath;
use crate::security::Segment;

/// Weighted features returned by default.
pub const DEFAULT_WEIGHTED_LIMIT: usize = 15;
/// Largest `limit` of weighted features accepted.
pub const MAX_WEIGHTED_LIMIT: usize = 1000;

/// One feature value of an instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureValue {
    /// Feature id (the column of the features file).
    pub id: String,
    /// Readable name.
    pub name: String,
    /// Description, when the dataset has one.
    pub description: Option<String>,
    /// Numeric, binary or categorical.
    pub kind: FeatureKind,
    /// A number, or a category.
    pub value: serde_json::Value,
}

/// An instance of a detection, described.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceDescription {
    /// Experiment id.
    pub experiment: u64,
    /// Detection name.
    pub detection: String,
    /// Dataset holding the instance.
    pub dataset: String,
    /// Row of the instance in the dataset, from 0.
    pub row: usize,
    /// Its prediction (`rank` is its position in the predictions file).
    pub prediction: PredictionRow,
    /// Every feature value, in the dataset's order.
    pub features: Vec<FeatureValue>,
}

/// One encoded column's part in a linear model's decision for an instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedFeature {
    /// Encoded column name (`feature`, or `feature=category`).
    pub feature: String,
    /// The instance's encoded value.
    pub value: f64,
    /// That value standardised as at training.
    pub standardised: f64,
    /// The model's coefficient on the standardised column.
    pub coefficient: f64,
    /// `standardised * coefficient`.
    pub product: f64,
}

/// The weighted features of an instance, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedFeatures {
    /// Experiment id.
    pub experiment: u64,
    /// Detection name.
    pub detection: String,
    /// Instance id.
    pub instance_id: i64,
    /// Model class of the detection's model.
    pub model_class: String,
    /// Whether the model is linear (has coefficients).
    pub available: bool,
    /// A multiclass linear model's family whose one-vs-rest coefficients weigh the features
    /// (the one asked for, else the instance's predicted family).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// A multiclass linear model's families that have coefficients (empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<String>,
    /// Encoded columns of the model.
    pub num_columns: usize,
    /// Columns skipped, by decreasing absolute product.
    pub offset: usize,
    /// Columns asked for.
    pub limit: usize,
    /// The columns, largest absolute product first (ties in column order).
    pub features: Vec<WeightedFeature>,
}

/// The routes of the instance description.
pub(crate) fn routes(
    with_reader: impl Filter<Extract = (Reader,), Error = std::convert::Infallible> + Clone + Send,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let describe =
        warp::path!("api" / "experiments" / u64 / "detections" / Segment / "instances" / i64)
            .and(with_reader.clone())
            .then(|id: u64, name: Segment, instance: i64, r: Reader| {
                answer(async move { r.instance(id, &name.0, instance).await })
            });
    let weighted = warp::path!(
        "api"
            / "experiments"
            / u64
            / "detections"
            / Segment
            / "instances"
            / i64
            / "weighted-features"
    )
    .and(warp::query::<HashMap<String, String>>())
    .and(with_reader)
    .then(
        |id: u64, name: Segment, instance: i64, query: HashMap<String, String>, r: Reader| {
            answer(async move {
                let page = PageRequest::from_query_bounded(
                    &query,
                    DEFAULT_WEIGHTED_LIMIT,
                    MAX_WEIGHTED_LIMIT,
                )?;
                let family = query.get("family").cloned();
                r.weighted_features(id, &name.0, instance, family, page)
                    .await
            })
        },
    );
    describe.or(weighted).unify()
}

/// An instance's row: the manifest of its dataset, the shard that holds it and its row there.
struct InstanceRow {
    manifest: Manifest,
    shard: Frame,
    row_in_shard: usize,
    row: usize,
}

impl Reader {
    /// The prediction and every feature value of an instance of a detection.
    pub async fn instance(
        &self,
        id: u64,
        name: &str,
        instance_id: i64,
    ) -> Result<InstanceDescription, DashboardError> {
        let (record, detection, prediction) = self.predicted(id, name, instance_id).await?;
        let dataset = detection.dataset.clone();
        let row = self.instance_row(record, detection, instance_id).await?;
        let features = row
            .manifest
            .features
            .iter()
            .zip(&row.shard.columns)
            .map(|(f, column)| FeatureValue {
                id: f.id.clone(),
                name: f.name.clone(),
                description: f.description.clone(),
                kind: f.kind,
                value: match column {
                    FrameColumn::Numeric(v) => serde_json::json!(v[row.row_in_shard]),
                    FrameColumn::Categorical(v) => serde_json::json!(v[row.row_in_shard]),
                },
            })
            .collect();
        Ok(InstanceDescription {
            experiment: id,
            detection: name.to_string(),
            dataset,
            row: row.row,
            prediction,
            features,
        })
    }

    /// The weighted features of an instance for the detection's model: none, with `available`
    /// false, when the model is not linear. For a multiclass linear model, the coefficients are
    /// those of `family`'s one-vs-rest model (by default the instance's predicted family; a
    /// family without a model of its own, the first of two, has none).
    pub async fn weighted_features(
        &self,
        id: u64,
        name: &str,
        instance_id: i64,
        family: Option<String>,
        page: PageRequest,
    ) -> Result<WeightedFeatures, DashboardError> {
        let (record, detection, prediction) = self.predicted(id, name, instance_id).await?;
        let model = self.detection_model(&record, name).await?;
        let mut answer = WeightedFeatures {
            experiment: id,
            detection: name.to_string(),
            instance_id,
            model_class: model.hyper.class_name().to_string(),
            available: false,
            family: None,
            families: Vec::new(),
            num_columns: model.columns.len(),
            offset: page.offset,
            limit: page.limit,
            features: Vec::new(),
        };
        let coefficients = match &model.family_coefficients {
            Some(per_family) => {
                let Some(family) = family.or(prediction.predicted_family) else {
                    return Err(DashboardError::BadRequest(
                        "a multiclass model's weighted features need a `family`".into(),
                    ));
                };
                let Some(known) = model.classes.iter().flatten().find(|c| **c == family) else {
                    return Err(DashboardError::BadRequest(format!(
                        "`family` must be one of the model's families, got `{family}`"
                    )));
                };
                answer.family = Some(known.clone());
                answer.families = per_family.iter().map(|f| f.family.clone()).collect();
                match per_family.iter().find(|f| f.family == family) {
                    Some(f) => f.coefficients.clone(),
                    None => return Ok(answer),
                }
            }
            None => match model.coefficients.clone() {
                Some(coefficients) => coefficients,
                None => return Ok(answer),
            },
        };
        let row = self.instance_row(record, detection, instance_id).await?;
        let x = model_encoder(&model)
            .transform(&row.manifest, &row.shard, Some(&[row.row_in_shard]))
            .map_err(|e| DashboardError::BadRecord {
                key: keys::model_of(id, outer_fold(name)),
                reason: format!("the model does not fit the dataset's features: {e}"),
            })?;
        let mut weighted: Vec<WeightedFeature> = model
            .columns
            .iter()
            .zip(&coefficients)
            .enumerate()
            .map(|(j, (column, coefficient))| {
                let value = x[[0, j]];
                let standardised = match &model.scaling {
                    // As the model's rows were standardised.
                    Some(s) => secuml_engine::preprocess::StandardScaler::standardise(
                        value,
                        s.mean[j],
                        1.0 / s.scale[j],
                    ),
                    None => value,
                };
                WeightedFeature {
                    feature: column.name(),
                    value,
                    standardised,
                    coefficient: *coefficient,
                    product: standardised * coefficient,
                }
            })
            .collect();
        // A stable sort keeps ties in column order.
        weighted.sort_by(|a, b| b.product.abs().total_cmp(&a.product.abs()));
        answer.available = true;
        answer.features = weighted
            .into_iter()
            .skip(page.offset)
            .take(page.limit)
            .collect();
        Ok(answer)
    }

    /// The record, the detection and the prediction of an instance it holds; an instance the
    /// predictions file lacks is not found.
    async fn predicted(
        &self,
        id: u64,
        name: &str,
        instance_id: i64,
    ) -> Result<(ExperimentRecord, DetectionResult, PredictionRow), DashboardError> {
        let (record, detection, p) = self.detection_predictions(id, name).await?;
        let i = p
            .rows
            .instance_ids
            .iter()
            .position(|x| *x == instance_id)
            .ok_or_else(|| {
                DashboardError::not_found(format!(
                    "instance {instance_id} of detection {name} of experiment {id}"
                ))
            })?;
        Ok((record, detection, prediction_row(&p, i, i)))
    }

    /// The stored model a detection applied: the experiment's (or, for `AlreadyTrained`, the one
    /// it applies), of the detection's outer fold in the cross-validation modes.
    async fn detection_model(
        &self,
        record: &ExperimentRecord,
        name: &str,
    ) -> Result<StoredModel, DashboardError> {
        let owner = match &record.spec {
            JobSpec::Diadem(spec) => match spec.model {
                ModelSpec::AlreadyTrained { model_exp_id } => model_exp_id,
                _ => record.id,
            },
            JobSpec::Clustering(_) => {
                return Err(DashboardError::not_found(format!(
                    "model of experiment {} (a clustering)",
                    record.id
                )))
            }
        };
        let key = keys::model_of(owner, outer_fold(name));
        let bytes = self
            .store()
            .get(&key)
            .await?
            .ok_or_else(|| DashboardError::not_found(format!("model of experiment {owner}")))?;
        let model: StoredModel = decode(&key, &bytes)?;
        if model.format_version != secuml_proto::MODEL_FORMAT_VERSION {
            return Err(DashboardError::BadRecord {
                key,
                reason: format!(
                    "model format version {}, this dashboard reads version {}",
                    model.format_version,
                    secuml_proto::MODEL_FORMAT_VERSION
                ),
            });
        }
        Ok(model)
    }

    /// Reads the row of an instance from the one shard of the detection's dataset that holds it.
    async fn instance_row(
        &self,
        record: ExperimentRecord,
        detection: DetectionResult,
        instance_id: i64,
    ) -> Result<InstanceRow, DashboardError> {
        let files = self.files();
        blocking(move || {
            let datasets_dir = files.dir();
            let key = keys::detections(record.id);
            let dataset = StoredPath {
                key: key.clone(),
                what: "dataset",
                relative: &detection.dataset,
            };
            let dir = dataset.dataset_dir(&files, &record)?;
            let shown = format!("{}/{}", record.project, detection.dataset);
            let bad_file = |file: &str, e: &dyn std::fmt::Display| DashboardError::BadFile {
                file: format!("{shown}/{file}"),
                reason: hide_folder(&e.to_string(), datasets_dir),
            };
            let (manifest, _) = read_manifest(&dir).map_err(|e| bad_file(MANIFEST_FILE, &e))?;
            for shard in &manifest.shards {
                StoredPath {
                    key: format!("{shown}/{MANIFEST_FILE}"),
                    what: "shard",
                    relative: &shard.file,
                }
                .in_dataset(
                    &files,
                    &Path::new(&record.project).join(&detection.dataset),
                    &shard.sha256,
                )?;
            }
            let location = locate_instance(&dir, &manifest, instance_id)
                .map_err(|e| bad_file("shards", &e))?
                .ok_or_else(|| {
                    DashboardError::not_found(format!("instance {instance_id} in dataset {shown}"))
                })?;
            let shard = read_shard(&dir, &manifest, location.shard)
                .map_err(|e| bad_file(&manifest.shards[location.shard].file, &e))?;
            Ok(InstanceRow {
                manifest,
                shard,
                row_in_shard: location.row_in_shard,
                row: location.row,
            })
        })
        .await
    }
}

/// The encoder of a stored model's columns.
pub fn model_encoder(model: &StoredModel) -> Encoder {
    Encoder::from_columns(
        model
            .columns
            .iter()
            .map(|c| (c.feature.clone(), c.category.clone()))
            .collect(),
    )
}

/// Removes the server's datasets folder from an error message.
fn hide_folder(message: &str, datasets_dir: &Path) -> String {
    let folder: PathBuf = std::fs::canonicalize(datasets_dir).unwrap_or(datasets_dir.into());
    message
        .replace(&format!("{}/", folder.display()), "")
        .replace(&format!("{}/", datasets_dir.display()), "")
}
