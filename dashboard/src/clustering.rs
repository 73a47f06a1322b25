//! Reads of a clustering experiment: its summary from the store, and the instances of one cluster from
//! the assignments Parquet files its result names.
//!
//! A file is opened only through a path stored in [`ClusteringResult::assignments_files`], and only after
//! checking it: relative, made of plain names (no `..`), under the experiment's dataset folder
//! (`<project>/<dataset>/`), a `.parquet` file, and, once symbolic links are resolved, still inside the
//! datasets folder. No part of a path comes from the request.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::PathBuf;

use secuml_engine::cluster::read_assignments;
use secuml_proto::{keys, ClusteringResult, ExperimentRecord};
use serde::Serialize;

use crate::data::{decode, Reader};
use crate::error::DashboardError;
use crate::files::{Files, StoredPath};

/// Instances per page when the request gives no `limit`.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 500;

/// The summary of a clustering: its clusters with their label and family mix, and its runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusteringSummary {
    /// Experiment id.
    pub experiment: u64,
    /// Algorithm (`Kmeans`).
    pub algo: String,
    /// Number of clusters.
    pub num_clusters: u32,
    /// Rows clustered.
    pub n_rows: u64,
    /// Encoded columns the rows were clustered on.
    pub num_columns: usize,
    /// Inertia of the best run (standardised space).
    pub inertia: f64,
    /// Lloyd updates of the best run.
    pub iterations: u32,
    /// Index of the best run.
    pub best_run: u32,
    /// Every run, by index.
    pub runs: Vec<RunEntry>,
    /// Whether the label counts are meaningful (annotations were given).
    pub has_labels: bool,
    /// Whether the family counts are meaningful.
    pub has_families: bool,
    /// Wall time of the job in seconds.
    pub seconds: f64,
    /// Every cluster, by index.
    pub clusters: Vec<ClusterEntry>,
}

/// One run (initialisation) of a clustering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunEntry {
    /// Run index, from 0.
    pub run: u32,
    /// Its inertia.
    pub inertia: f64,
    /// Its Lloyd updates.
    pub iterations: u32,
}

/// One cluster of a clustering with its label and family mix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterEntry {
    /// Cluster index, from 0.
    pub cluster: u32,
    /// Instances.
    pub size: u64,
    /// Labelled malicious.
    pub malicious: u64,
    /// Labelled benign.
    pub benign: u64,
    /// Without a label.
    pub unlabeled: u64,
    /// Instances per family, most frequent first (then by name).
    pub families: Vec<FamilyCount>,
}

/// Instances of one family in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FamilyCount {
    /// Family name.
    pub family: String,
    /// Instances.
    pub count: u64,
}

/// Which instances a request wants: `limit` of them after the first `offset` (closest to a cluster's
/// centre, or of highest score).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Instances skipped, in the list's order.
    pub offset: usize,
    /// Instances returned at most, from 1 to the route's bound ([`MAX_LIMIT`] for a cluster).
    pub limit: usize,
}

impl PageRequest {
    /// Reads `offset` (default 0) and `limit` (default [`DEFAULT_LIMIT`]) from a query string's pairs.
    pub fn from_query(query: &HashMap<String, String>) -> Result<Self, DashboardError> {
        Self::from_query_bounded(query, DEFAULT_LIMIT, MAX_LIMIT)
    }

    /// Reads `offset` (default 0) and `limit` (default `default_limit`, at most `max_limit`).
    pub fn from_query_bounded(
        query: &HashMap<String, String>,
        default_limit: usize,
        max_limit: usize,
    ) -> Result<Self, DashboardError> {
        let offset = match query.get("offset") {
            None => 0,
            Some(text) => text.parse::<usize>().map_err(|_| {
                DashboardError::BadRequest(format!(
                    "`offset` must be a whole number of instances, got `{text}`"
                ))
            })?,
        };
        let limit = match query.get("limit") {
            None => default_limit,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=max_limit).contains(&n) => n,
                _ => {
                    return Err(DashboardError::BadRequest(format!(
                        "`limit` must be a whole number from 1 to {max_limit}, got `{text}`"
                    )))
                }
            },
        };
        Ok(Self { offset, limit })
    }
}

/// One instance of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceRow {
    /// Position in the cluster, from 0, closest to the centre first.
    pub rank: usize,
    /// Instance id.
    pub instance_id: i64,
    /// Readable name.
    pub ident: String,
    /// Euclidean distance to the cluster's centre (standardised space).
    pub distance: f64,
    /// `malicious` or `benign`, when the clustering has labels and the instance one.
    pub label: Option<&'static str>,
    /// Family, when the clustering has families and the instance one.
    pub family: Option<String>,
}

/// A page of the instances of one cluster, closest to its centre first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstancesPage {
    /// Experiment id.
    pub experiment: u64,
    /// Cluster index.
    pub cluster: u32,
    /// Instances of the cluster in the assignments files.
    pub total: u64,
    /// Instances skipped.
    pub offset: usize,
    /// Instances asked for.
    pub limit: usize,
    /// Whether the rows carry labels.
    pub has_labels: bool,
    /// Whether the rows carry families.
    pub has_families: bool,
    /// The rows, `rank` from `offset`.
    pub instances: Vec<InstanceRow>,
}

impl Reader {
    /// The record and the stored result of a clustering experiment; another kind of experiment, or one
    /// whose result is not stored yet, is not found.
    pub async fn clustering_result(
        &self,
        id: u64,
    ) -> Result<(ExperimentRecord, ClusteringResult), DashboardError> {
        let record = self.experiment(id).await?;
        if !is_clustering(&record) {
            return Err(DashboardError::not_found(format!(
                "clustering of experiment {id} (a {} experiment)",
                record.kind
            )));
        }
        let key = keys::clustering(id);
        let bytes = self.store().get(&key).await?.ok_or_else(|| {
            DashboardError::not_found(format!("clustering result of experiment {id}"))
        })?;
        let result = decode(&key, &bytes)?;
        Ok((record, result))
    }

    /// The summary of a clustering experiment.
    pub async fn clustering(&self, id: u64) -> Result<ClusteringSummary, DashboardError> {
        let (_, result) = self.clustering_result(id).await?;
        Ok(summary(id, result))
    }

    /// A page of the instances of one cluster, closest to its centre first (ties in dataset order), read
    /// from every assignments file of the experiment.
    pub async fn cluster_instances(
        &self,
        id: u64,
        cluster: u32,
        page: PageRequest,
    ) -> Result<InstancesPage, DashboardError> {
        let (record, result) = self.clustering_result(id).await?;
        if cluster >= result.num_clusters {
            let known = match result.num_clusters {
                0 => "it has no cluster".to_string(),
                n => format!("its clusters are 0 to {}", n - 1),
            };
            return Err(DashboardError::not_found(format!(
                "cluster {cluster} of experiment {id} ({known})"
            )));
        }
        let (has_labels, has_families) = (result.has_labels, result.has_families);
        let files = self.files();
        let (total, instances) = tokio::task::spawn_blocking(move || {
            let files = result
                .assignments_files
                .iter()
                .map(|f| assignments_path(&files, &record, f))
                .collect::<Result<Vec<_>, _>>()?;
            select_instances(id, &files, cluster, page, has_labels, has_families)
        })
        .await
        .map_err(|e| DashboardError::Internal(format!("reading the assignments: {e}")))??;
        Ok(InstancesPage {
            experiment: id,
            cluster,
            total,
            offset: page.offset,
            limit: page.limit,
            has_labels,
            has_families,
            instances,
        })
    }
}

/// Whether an experiment record is a clustering's.
pub(crate) fn is_clustering(record: &ExperimentRecord) -> bool {
    record.kind.eq_ignore_ascii_case("clustering")
}

fn summary(id: u64, result: ClusteringResult) -> ClusteringSummary {
    let runs = result
        .run_inertias
        .iter()
        .zip(&result.run_iterations)
        .enumerate()
        .map(|(run, (inertia, iterations))| RunEntry {
            run: run as u32,
            inertia: *inertia,
            iterations: *iterations,
        })
        .collect();
    let clusters = result
        .clusters
        .into_iter()
        .map(|c| {
            let mut families: Vec<FamilyCount> = c
                .mix
                .families
                .into_iter()
                .map(|(family, count)| FamilyCount { family, count })
                .collect();
            families.sort_by(|a, b| b.count.cmp(&a.count).then(a.family.cmp(&b.family)));
            ClusterEntry {
                cluster: c.cluster,
                size: c.mix.size,
                malicious: c.mix.malicious,
                benign: c.mix.benign,
                unlabeled: c.mix.unlabeled,
                families,
            }
        })
        .collect();
    ClusteringSummary {
        experiment: id,
        algo: result.algo,
        num_clusters: result.num_clusters,
        n_rows: result.n_rows,
        num_columns: result.columns.len(),
        inertia: result.inertia,
        iterations: result.iterations,
        best_run: result.best_run,
        runs,
        has_labels: result.has_labels,
        has_families: result.has_families,
        seconds: result.seconds,
        clusters,
    }
}

/// The assignments file `relative` (a stored path, relative to the datasets folder) of the experiment of
/// `record`, checked by [`StoredPath::parquet_file`].
pub(crate) fn assignments_path(
    files: &Files,
    record: &ExperimentRecord,
    relative: &str,
) -> Result<(String, PathBuf), DashboardError> {
    let stored = StoredPath {
        key: keys::clustering(record.id),
        what: "assignments file",
        relative,
    };
    let file = stored.parquet_file(files, record).map_err(|e| match e {
        DashboardError::NotFound { .. } => missing_file(relative, record.id),
        other => other,
    })?;
    Ok((relative.to_string(), file))
}

fn missing_file(relative: &str, id: u64) -> DashboardError {
    DashboardError::not_found(format!("assignments file {relative} of experiment {id}"))
}

/// One instance of the cluster asked for, with its row in the dataset (across files, in file order).
struct Candidate {
    row: u64,
    instance_id: i64,
    ident: String,
    distance: f64,
    label: Option<bool>,
    family: Option<String>,
}

fn closest_first(a: &Candidate, b: &Candidate) -> Ordering {
    a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row))
}

/// Reads every file, keeps the `offset + limit` instances of `cluster` closest to its centre, and returns
/// the cluster's size and the requested page. Memory stays within a few pages plus one file.
fn select_instances(
    id: u64,
    files: &[(String, PathBuf)],
    cluster: u32,
    page: PageRequest,
    has_labels: bool,
    has_families: bool,
) -> Result<(u64, Vec<InstanceRow>), DashboardError> {
    let keep = page.offset.saturating_add(page.limit);
    let mut kept: Vec<Candidate> = Vec::new();
    let mut total = 0u64;
    let mut row = 0u64;
    for (relative, path) in files {
        let part = read_assignments(path)
            .map_err(|e| DashboardError::of_file(relative, e, || missing_file(relative, id)))?;
        let rows = part.clusters.len();
        if [
            part.instance_ids.len(),
            part.idents.len(),
            part.distances.len(),
            part.labels.len(),
            part.families.len(),
        ]
        .iter()
        .any(|n| *n != rows)
        {
            return Err(DashboardError::BadFile {
                file: relative.clone(),
                reason: "its columns have different lengths".into(),
            });
        }
        for (i, (ident, family)) in part.idents.into_iter().zip(part.families).enumerate() {
            if part.clusters[i] == cluster {
                total += 1;
                kept.push(Candidate {
                    row: row + i as u64,
                    instance_id: part.instance_ids[i],
                    ident,
                    distance: part.distances[i],
                    label: part.labels[i],
                    family,
                });
            }
        }
        row += rows as u64;
        if kept.len() > keep.saturating_mul(2) {
            kept.select_nth_unstable_by(keep, closest_first);
            kept.truncate(keep);
        }
    }
    kept.sort_by(closest_first);
    let instances = kept
        .into_iter()
        .enumerate()
        .skip(page.offset)
        .take(page.limit)
        .map(|(rank, c)| InstanceRow {
            rank,
            instance_id: c.instance_id,
            ident: c.ident,
            distance: c.distance,
            label: if has_labels {
                c.label.map(|l| if l { "malicious" } else { "benign" })
            } else {
                None
            },
            family: if has_families { c.family } else { None },
        })
        .collect();
    Ok((total, instances))
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
    fn pages_default_and_bound_their_limit() {
        assert_eq!(
            PageRequest::from_query(&query(&[])).unwrap(),
            PageRequest {
                offset: 0,
                limit: DEFAULT_LIMIT
            }
        );
        assert_eq!(
            PageRequest::from_query(&query(&[("offset", "40"), ("limit", "20")])).unwrap(),
            PageRequest {
                offset: 40,
                limit: 20
            }
        );
        let max = MAX_LIMIT.to_string();
        assert!(PageRequest::from_query(&query(&[("limit", &max)])).is_ok());
        let over = (MAX_LIMIT + 1).to_string();
        for bad in [
            query(&[("limit", "0")]),
            query(&[("limit", &over)]),
            query(&[("limit", "-1")]),
            query(&[("limit", "ten")]),
            query(&[("offset", "-5")]),
            query(&[("offset", "1.5")]),
        ] {
            let err = PageRequest::from_query(&bad).unwrap_err();
            assert!(matches!(err, DashboardError::BadRequest(_)), "{bad:?}");
        }
    }
}
