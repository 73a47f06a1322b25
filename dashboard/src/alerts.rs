//! The alert analysis of a DIADEM detection ([`secuml_proto::AlertsResult`], stored by the
//! alerts stage), for the DIADEM page's Alerts Analysis panel (`static/alerts.js`):
//!
//! - `GET /api/experiments/<id>/alerts/<detection>`: the number of alerts, the threshold, the
//!   clustering algorithm and each cluster's name and label and family mix;
//! - `GET /api/experiments/<id>/alerts/<detection>/top`: up to 100 alerts by decreasing score;
//! - `GET /api/experiments/<id>/alerts/<detection>/random`: a seeded sample of up to 100 alerts;
//! - `GET /api/experiments/<id>/alerts/<detection>/clusters/<name>`: a cluster, its mix and up
//!   to 100 of its alerts by decreasing score.
//!
//! A detection without a stored analysis (no alert, or not analysed yet) is not found.

use secuml_proto::{keys, AlertCluster, AlertRow, AlertsResult, ClusterMix};
use serde::Serialize;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::api::answer;
use crate::data::{decode, Reader};
use crate::error::DashboardError;
use crate::security::Segment;

/// One cluster without its alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterOverview {
    /// Name: the cluster index, `noise`, or the family of an alert classification.
    pub name: String,
    /// Its label and family mix.
    pub mix: ClusterMix,
}

/// The alert analysis of a detection without its lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertsOverview {
    /// The detection.
    pub detection: String,
    /// The threshold the alerts are above.
    pub detection_threshold: f64,
    /// Alerts.
    pub n_alerts: u64,
    /// The clustering algorithm, when the alerts were clustered.
    pub algo: Option<String>,
    /// The clusters, in the stored order.
    pub clusters: Vec<ClusterOverview>,
    /// The groups are families named by an alert classification of class `algo`.
    pub classified: bool,
    /// Why the asked-for grouping was not done.
    pub skipped: Option<String>,
}

impl Reader {
    /// The stored alert analysis of `detection` of DIADEM experiment `id`.
    pub async fn alerts(&self, id: u64, detection: &str) -> Result<AlertsResult, DashboardError> {
        self.experiment(id).await?;
        let key = keys::alerts(id);
        let bytes = self.store().hget(&key, detection).await?.ok_or_else(|| {
            DashboardError::not_found(format!(
                "alerts of detection {detection} of experiment {id}"
            ))
        })?;
        decode(&format!("{key} {detection}"), &bytes)
    }

    /// The detections of DIADEM experiment `id` whose alerts were analysed, in name order.
    pub async fn alerts_detections(&self, id: u64) -> Result<Vec<String>, DashboardError> {
        self.experiment(id).await?;
        Ok(self
            .store()
            .hgetall(&keys::alerts(id))
            .await?
            .into_keys()
            .collect())
    }

    /// The overview of the alert analysis of `detection`.
    pub async fn alerts_overview(
        &self,
        id: u64,
        detection: &str,
    ) -> Result<AlertsOverview, DashboardError> {
        let r = self.alerts(id, detection).await?;
        Ok(AlertsOverview {
            detection: r.detection,
            detection_threshold: r.detection_threshold,
            n_alerts: r.n_alerts,
            algo: r.algo,
            clusters: r
                .clusters
                .into_iter()
                .map(|c| ClusterOverview {
                    name: c.name,
                    mix: c.mix,
                })
                .collect(),
            classified: r.classified,
            skipped: r.skipped,
        })
    }

    /// The Top N (`top`) or random (`random`) alerts of `detection`.
    pub async fn alerts_list(
        &self,
        id: u64,
        detection: &str,
        view: &str,
    ) -> Result<Vec<AlertRow>, DashboardError> {
        let r = self.alerts(id, detection).await?;
        match view {
            "top" => Ok(r.top),
            "random" => Ok(r.random),
            other => Err(DashboardError::not_found(format!(
                "alerts view {other} (expected top or random)"
            ))),
        }
    }

    /// The cluster `name` of the alerts of `detection`.
    pub async fn alerts_cluster(
        &self,
        id: u64,
        detection: &str,
        name: &str,
    ) -> Result<AlertCluster, DashboardError> {
        let r = self.alerts(id, detection).await?;
        r.clusters
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                DashboardError::not_found(format!(
                    "cluster {name} of the alerts of detection {detection} of experiment {id}"
                ))
            })
    }
}

/// The alerts routes.
pub fn routes(reader: Reader) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_reader = warp::any().map(move || reader.clone());
    let analysed = warp::path!("api" / "experiments" / u64 / "alerts")
        .and(with_reader.clone())
        .then(|id: u64, r: Reader| answer(async move { r.alerts_detections(id).await }));
    let overview = warp::path!("api" / "experiments" / u64 / "alerts" / Segment)
        .and(with_reader.clone())
        .then(|id: u64, d: Segment, r: Reader| {
            answer(async move { r.alerts_overview(id, &d.0).await })
        });
    let list = warp::path!("api" / "experiments" / u64 / "alerts" / Segment / Segment)
        .and(with_reader.clone())
        .then(|id: u64, d: Segment, view: Segment, r: Reader| {
            answer(async move { r.alerts_list(id, &d.0, &view.0).await })
        });
    let cluster =
        warp::path!("api" / "experiments" / u64 / "alerts" / Segment / "clusters" / Segment)
            .and(with_reader)
            .then(|id: u64, d: Segment, c: Segment, r: Reader| {
                answer(async move { r.alerts_cluster(id, &d.0, &c.0).await })
            });
    analysed
        .or(overview)
        .unify()
        .or(list)
        .unify()
        .or(cluster)
        .unify()
}
