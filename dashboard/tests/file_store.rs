//! The dashboard over the file-backed store of the embedded mode: what one process writes, another one's dashboard shows.

mod support;

use std::sync::Arc;

use secuml_dashboard::routes;
use secuml_runtime::{FileStore, Store};
use serde_json::Value;
use warp::http::StatusCode;

async fn get_json(store: &Arc<dyn Store>, path: &str) -> (StatusCode, Value) {
    let response = warp::test::request()
        .method("GET")
        .path(path)
        .reply(&routes(store.clone(), support::no_datasets()))
        .await;
    (
        response.status(),
        serde_json::from_slice(response.body()).unwrap(),
    )
}

#[tokio::test]
async fn a_second_handle_on_the_store_folder_sees_the_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let writer = FileStore::open(dir.path()).unwrap();
    support::put_diadem(
        &writer,
        1,
        "NSL-KDD",
        "train20",
        &["duration", "protocol_type=tcp"],
    )
    .await;

    let reader: Arc<dyn Store> = Arc::new(FileStore::open(dir.path()).unwrap());
    let (status, projects) = get_json(&reader, "/api/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        projects,
        serde_json::json!([{"name": "NSL-KDD", "num_experiments": 1}])
    );
    let (status, train) = get_json(&reader, "/api/experiments/1/train").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(train["coefficients"][1]["feature"], "protocol_type=tcp");
    let (status, test) = get_json(&reader, "/api/experiments/1/detections/test").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(test["thresholds"].as_array().unwrap().len(), 101);
    let (status, _) = get_json(&reader, "/api/experiments/2").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
