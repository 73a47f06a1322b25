//! The JSON API under `/api/`: menus, experiment records, training summaries and detections.
//!
//! - `GET /api/projects`
//! - `GET /api/projects/<project>/datasets`
//! - `GET /api/projects/<project>/datasets/<dataset>/experiments`
//! - `GET /api/experiments/<id>`
//! - `GET /api/experiments/<id>/train`
//! - `GET /api/experiments/<id>/detections`
//! - `GET /api/experiments/<id>/detections/<name>`
//! - `GET /api/experiments/<id>/alerts/<detection>[/top|/random|/clusters/<name>]`: a detection's
//!   alert analysis ([`crate::alerts`])
//! - `GET /api/experiments/<id>/folds/<k>/train`, `.../fold-statistics`,
//!   `.../detections/<name>/predictions?...`, `.../detections/<name>/instances/<instance>[/weighted-features]`:
//!   outer folds, predicted instances and their description ([`crate::diadem`], [`crate::instance`])
//! - `GET /api/experiments/<id>/clustering`: a clustering's clusters, label and family mix, and runs
//! - `GET /api/experiments/<id>/clusters/<cluster>/instances?offset=&limit=`: a page of one cluster's
//!   instances, closest to its centre first ([`crate::clustering`])
//! - `GET /api/jobs`: every job, newest first
//! - `GET /api/jobs/<job_id>`: a job's record, tasks, progress and latest events
//! - `GET /api/jobs/<job_id>/events`: its events as server-sent events ([`crate::live`])
//! - `GET /api/jobs/<job_id>/leaderboard` and `GET /api/experiments/<id>/leaderboard`: the live
//!   leaderboard of a DIADEM job's hyperparameter search ([`crate::leaderboard`])
//! - `GET /api/workers`: the live workers
//! - `GET /api/dead-letters`: the latest dead letters

use std::collections::HashMap;
use std::future::Future;

use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::clustering::PageRequest;
use crate::data::Reader;
use crate::error::{DashboardError, ErrorBody};
use crate::security::Segment;

/// Every API route.
pub fn routes(reader: Reader) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_reader = {
        let reader = reader.clone();
        warp::any().map(move || reader.clone())
    };

    let projects = warp::path!("api" / "projects")
        .and(with_reader.clone())
        .then(|r: Reader| answer(async move { r.projects().await }));
    let datasets = warp::path!("api" / "projects" / Segment / "datasets")
        .and(with_reader.clone())
        .then(|p: Segment, r: Reader| answer(async move { r.datasets(&p.0).await }));
    let experiments =
        warp::path!("api" / "projects" / Segment / "datasets" / Segment / "experiments")
            .and(with_reader.clone())
            .then(|p: Segment, d: Segment, r: Reader| {
                answer(async move { r.dataset_experiments(&p.0, &d.0).await })
            });
    let experiment = warp::path!("api" / "experiments" / u64)
        .and(with_reader.clone())
        .then(|id: u64, r: Reader| answer(async move { r.experiment(id).await }));
    let train = warp::path!("api" / "experiments" / u64 / "train")
        .and(with_reader.clone())
        .then(|id: u64, r: Reader| answer(async move { r.train_summary(id).await }));
    let detections = warp::path!("api" / "experiments" / u64 / "detections")
        .and(with_reader.clone())
        .then(|id: u64, r: Reader| answer(async move { r.detections(id).await }));
    let detection = warp::path!("api" / "experiments" / u64 / "detections" / Segment)
        .and(with_reader.clone())
        .then(|id: u64, name: Segment, r: Reader| {
            answer(async move { r.detection(id, &name.0).await })
        });
    let clustering = warp::path!("api" / "experiments" / u64 / "clustering")
        .and(with_reader.clone())
        .then(|id: u64, r: Reader| answer(async move { r.clustering(id).await }));
    let instances = warp::path!("api" / "experiments" / u64 / "clusters" / u32 / "instances")
        .and(warp::query::<HashMap<String, String>>())
        .and(with_reader.clone())
        .then(
            |id: u64, cluster: u32, query: HashMap<String, String>, r: Reader| {
                answer(async move {
                    let page = PageRequest::from_query(&query)?;
                    r.cluster_instances(id, cluster, page).await
                })
            },
        );
    let jobs = warp::path!("api" / "jobs")
        .and(with_reader.clone())
        .then(|r: Reader| answer(async move { r.jobs().await }));
    let job = warp::path!("api" / "jobs" / Segment)
        .and(with_reader.clone())
        .then(|id: Segment, r: Reader| answer(async move { r.job(&id.0).await }));
    let leaderboard = warp::path!("api" / "jobs" / Segment / "leaderboard")
        .and(with_reader.clone())
        .then(|id: Segment, r: Reader| answer(async move { r.leaderboard(&id.0).await }));
    let experiment_leaderboard = warp::path!("api" / "experiments" / u64 / "leaderboard")
        .and(with_reader.clone())
        .then(|id: u64, r: Reader| {
            answer(async move {
                let record = r.experiment(id).await?;
                r.leaderboard(&record.job_id).await
            })
        });
    let workers = warp::path!("api" / "workers")
        .and(with_reader.clone())
        .then(|r: Reader| answer(async move { r.workers().await }));
    let dead_letters = warp::path!("api" / "dead-letters")
        .and(with_reader.clone())
        .then(|r: Reader| answer(async move { r.dead_letters().await }));
    let unknown =
        warp::path("api").then(|| async { error_reply(&DashboardError::not_found("api route")) });

    // Boxed and combined one by one: a chain of `or`s nests its types, and the compile time of
    // the nested filter grows much faster than the number of routes.
    any_of(vec![
        projects.boxed(),
        datasets.boxed(),
        experiments.boxed(),
        experiment.boxed(),
        train.boxed(),
        detections.boxed(),
        detection.boxed(),
        crate::alerts::routes(reader.clone()).boxed(),
        clustering.boxed(),
        instances.boxed(),
        jobs.boxed(),
        job.boxed(),
        leaderboard.boxed(),
        experiment_leaderboard.boxed(),
        crate::diadem::routes(reader.clone()).boxed(),
        crate::live::routes(reader).boxed(),
        workers.boxed(),
        dead_letters.boxed(),
        unknown.boxed(),
    ])
}

/// A route, boxed.
pub(crate) type Route = warp::filters::BoxedFilter<(Response,)>;

/// The first of `routes` that matches (in order), as one boxed filter.
pub(crate) fn any_of(routes: Vec<Route>) -> Route {
    routes
        .into_iter()
        .reduce(|a, b| a.or(b).unify().boxed())
        .expect("at least one route")
}

/// The JSON reply of an error, with its status.
pub fn error_reply(err: &DashboardError) -> Response {
    if err.status().is_server_error() {
        tracing::warn!(error = %err, "request failed");
    }
    let body = ErrorBody {
        code: err.code(),
        message: err.to_string(),
    };
    warp::reply::with_status(warp::reply::json(&body), err.status()).into_response()
}

pub(crate) async fn answer<T: Serialize>(
    read: impl Future<Output = Result<T, DashboardError>>,
) -> Response {
    match read.await {
        Ok(value) => {
            warp::reply::with_status(warp::reply::json(&value), StatusCode::OK).into_response()
        }
        Err(err) => error_reply(&err),
    }
}
