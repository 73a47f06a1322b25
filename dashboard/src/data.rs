//! Reads of the store, through the key builders of `secuml_proto::keys` only; nothing here writes.

use std::collections::BTreeMap;
use std::sync::Arc;

use secuml_proto::{keys, DetectionResult, ExperimentRecord, ExperimentStatus, TrainSummary};
use secuml_runtime::Store;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::DashboardError;
use crate::files::Files;

/// A project or a dataset in a menu, with how many experiments it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MenuEntry {
    /// Project or dataset name.
    pub name: String,
    /// Experiments under it.
    pub num_experiments: usize,
}

/// One experiment in the "Select an experiment" menu.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentEntry {
    /// Experiment id.
    pub id: u64,
    /// Kind ("Diadem").
    pub kind: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: ExperimentStatus,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// Completion time, when finished.
    pub finished_ms: Option<u64>,
}

/// One detection of an experiment, without its curves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionEntry {
    /// `train`, `test` or `validation:<dataset>`.
    pub name: String,
    /// Dataset of the rows.
    pub dataset: String,
    /// Rows predicted.
    pub n_instances: u64,
    /// ROC AUC, when both labels occur.
    pub auc: Option<f64>,
}

/// Read-only access to what the dashboard shows: the store, and the files its records name under the
/// datasets folder (`<datasets_dir>/<project>/<dataset>/`, the folder `secuml` ingests into) or in an
/// object store ([`Files`]).
#[derive(Clone)]
pub struct Reader {
    store: Arc<dyn Store>,
    files: Arc<Files>,
}

impl Reader {
    /// Wraps a store and where the datasets are.
    pub fn new(store: Arc<dyn Store>, files: impl Into<Files>) -> Self {
        Self {
            store,
            files: Arc::new(files.into()),
        }
    }

    /// The store read from.
    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Where the datasets' files are read.
    pub(crate) fn files(&self) -> Arc<Files> {
        self.files.clone()
    }

    /// Every readable experiment record, by id; unreadable ones are logged and skipped.
    pub async fn experiments(&self) -> Result<Vec<ExperimentRecord>, DashboardError> {
        let key = keys::experiments();
        let all = self.store.hgetall(&key).await?;
        let mut records = Vec::with_capacity(all.len());
        for (field, bytes) in all {
            match serde_json::from_slice::<ExperimentRecord>(&bytes) {
                Ok(record) => records.push(record),
                Err(err) => {
                    tracing::warn!(key = %key, field = %field, error = %err, "skipping unreadable experiment record")
                }
            }
        }
        records.sort_by_key(|r| r.id);
        Ok(records)
    }

    /// Projects that have at least one experiment, sorted by name.
    pub async fn projects(&self) -> Result<Vec<MenuEntry>, DashboardError> {
        let records = self.experiments().await?;
        Ok(count_by(records.iter().map(|r| r.project.as_str())))
    }

    /// Datasets of a project that have at least one experiment; an unknown project is not found.
    pub async fn datasets(&self, project: &str) -> Result<Vec<MenuEntry>, DashboardError> {
        let records = self.experiments().await?;
        let datasets = count_by(
            records
                .iter()
                .filter(|r| r.project == project)
                .map(|r| r.dataset.as_str()),
        );
        if datasets.is_empty() {
            return Err(DashboardError::not_found(format!("project {project}")));
        }
        Ok(datasets)
    }

    /// Experiments of a dataset, newest first; an unknown dataset is not found.
    pub async fn dataset_experiments(
        &self,
        project: &str,
        dataset: &str,
    ) -> Result<Vec<ExperimentEntry>, DashboardError> {
        let records = self.experiments().await?;
        let mut entries: Vec<ExperimentEntry> = records
            .into_iter()
            .filter(|r| r.project == project && r.dataset == dataset)
            .map(|r| ExperimentEntry {
                id: r.id,
                kind: r.kind,
                name: r.name,
                status: r.status,
                created_ms: r.created_ms,
                finished_ms: r.finished_ms,
            })
            .collect();
        if entries.is_empty() {
            return Err(DashboardError::not_found(format!(
                "dataset {dataset} of project {project}"
            )));
        }
        entries.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
        Ok(entries)
    }

    /// One experiment record.
    pub async fn experiment(&self, id: u64) -> Result<ExperimentRecord, DashboardError> {
        let key = keys::experiments();
        let field = id.to_string();
        let bytes = self.store.hget(&key, &field).await?;
        let bytes = bytes.ok_or_else(|| DashboardError::not_found(format!("experiment {id}")))?;
        decode(&format!("{key} {field}"), &bytes)
    }

    /// The training summary of an experiment (not found while it trains).
    pub async fn train_summary(&self, id: u64) -> Result<TrainSummary, DashboardError> {
        self.experiment(id).await?;
        let key = keys::train_summary(id);
        let bytes = self.store.get(&key).await?;
        let bytes = bytes.ok_or_else(|| {
            DashboardError::not_found(format!("training summary of experiment {id}"))
        })?;
        decode(&key, &bytes)
    }

    /// The detections of an experiment, train first, then test, then validations by name.
    pub async fn detections(&self, id: u64) -> Result<Vec<DetectionEntry>, DashboardError> {
        self.experiment(id).await?;
        let key = keys::detections(id);
        let all = self.store.hgetall(&key).await?;
        let mut entries = Vec::with_capacity(all.len());
        for (field, bytes) in all {
            let detection: DetectionResult = decode(&format!("{key} {field}"), &bytes)?;
            entries.push(DetectionEntry {
                name: field,
                dataset: detection.dataset,
                n_instances: detection.n_instances,
                auc: detection.auc,
            });
        }
        entries.sort_by(|a, b| {
            detection_rank(&a.name)
                .cmp(&detection_rank(&b.name))
                .then(a.name.cmp(&b.name))
        });
        Ok(entries)
    }

    /// One detection of an experiment.
    pub async fn detection(&self, id: u64, name: &str) -> Result<DetectionResult, DashboardError> {
        self.experiment(id).await?;
        let key = keys::detections(id);
        let bytes = self.store.hget(&key, name).await?;
        let bytes = bytes.ok_or_else(|| {
            DashboardError::not_found(format!("detection {name} of experiment {id}"))
        })?;
        decode(&format!("{key} {name}"), &bytes)
    }
}

pub(crate) fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, DashboardError> {
    serde_json::from_slice(bytes).map_err(|err| DashboardError::BadRecord {
        key: key.to_string(),
        reason: err.to_string(),
    })
}

fn count_by<'a>(names: impl Iterator<Item = &'a str>) -> Vec<MenuEntry> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(name, num_experiments)| MenuEntry {
            name: name.to_string(),
            num_experiments,
        })
        .collect()
}

fn detection_rank(name: &str) -> u8 {
    match name {
        "train" => 0,
        "test" => 1,
        _ => 2,
    }
}
