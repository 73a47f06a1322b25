//! Route tests of the dashboard: every page and API route, status codes, escaping, guards and assets.

mod support;

use std::sync::Arc;

use secuml_dashboard::routes;
use secuml_proto::{keys, DetectionResult, ExperimentRecord, TrainSummary};
use secuml_runtime::Store;
use serde_json::Value;
use support::{demo_store, detection, fresh_store, put_diadem, put_record};
use warp::http::StatusCode;

async fn get(store: &Arc<dyn Store>, path: &str) -> (StatusCode, String, warp::http::HeaderMap) {
    support::request(store, support::no_datasets(), path).await
}

async fn get_json(store: &Arc<dyn Store>, path: &str) -> (StatusCode, Value) {
    support::request_json(store, support::no_datasets(), path).await
}

fn empty_store() -> Arc<dyn Store> {
    fresh_store()
}

#[tokio::test]
async fn project_menu_pages_answer_when_the_store_is_empty() {
    let store = empty_store();
    for path in ["/", "/SecuML/", "/SecuML"] {
        let (status, body, headers) = get(&store, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains("<title>Select a project</title>"), "{body}");
        assert!(body.contains("data-page=\"projects\""));
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
    let (status, projects) = get_json(&store, "/api/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(projects, serde_json::json!([]));
    let (_, menus, _) = get(&store, "/static/menus.js").await;
    assert!(menus.contains("No experiment has been executed yet"));
}

#[tokio::test]
async fn menus_list_projects_datasets_and_experiments() {
    let store = empty_store();
    put_diadem(store.as_ref(), 1, "NSL-KDD", "train20", &["duration"]).await;
    put_diadem(store.as_ref(), 2, "NSL-KDD", "train20", &["duration"]).await;
    put_record(store.as_ref(), 3, "Diadem", "NSL-KDD", "test", "other").await;
    put_record(store.as_ref(), 4, "Diadem", "Gaussians", "test", "gauss").await;

    let (_, projects) = get_json(&store, "/api/projects").await;
    assert_eq!(
        projects,
        serde_json::json!([{"name": "Gaussians", "num_experiments": 1}, {"name": "NSL-KDD", "num_experiments": 3}])
    );
    let (_, datasets) = get_json(&store, "/api/projects/NSL-KDD/datasets").await;
    assert_eq!(
        datasets,
        serde_json::json!([{"name": "test", "num_experiments": 1}, {"name": "train20", "num_experiments": 2}])
    );
    let (_, experiments) =
        get_json(&store, "/api/projects/NSL-KDD/datasets/train20/experiments").await;
    let ids: Vec<u64> = experiments
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![2, 1], "newest first");
    assert_eq!(experiments[0]["kind"], "Diadem");
    assert_eq!(experiments[0]["status"], "succeeded");

    let (status, body, _) = get(&store, "/SecuML/NSL-KDD/menu/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<title>Select a dataset</title>")
            && body.contains("data-project=\"NSL-KDD\"")
    );
    let (status, body, _) = get(&store, "/SecuML/NSL-KDD/train20/menu/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<title>Select an experiment</title>")
            && body.contains("data-dataset=\"train20\"")
    );
    assert!(
        body.contains("href=\"/SecuML/NSL-KDD/train20/menu/\""),
        "breadcrumbs link the dataset: {body}"
    );
}

#[tokio::test]
async fn experiment_routes_return_the_stored_records() {
    let store = demo_store().await;
    let stored = serde_json::to_vec(&detection("validation:test", "test", 3)).unwrap();
    store
        .hset(&keys::detections(1), "validation:test", &stored)
        .await
        .unwrap();
    let validation: DetectionResult = serde_json::from_slice(&stored).unwrap();

    let (status, record) = get_json(&store, "/api/experiments/1").await;
    assert_eq!(status, StatusCode::OK);
    let record: ExperimentRecord = serde_json::from_value(record).unwrap();
    assert_eq!((record.id, record.project.as_str()), (1, "Gaussians"));

    let (status, train) = get_json(&store, "/api/experiments/1/train").await;
    assert_eq!(status, StatusCode::OK);
    let train: TrainSummary = serde_json::from_value(train).unwrap();
    assert_eq!(train.candidates.len(), 8);

    let (_, list) = get_json(&store, "/api/experiments/1/detections").await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["train", "test", "validation:test"]);

    for path in [
        "/api/experiments/1/detections/validation%3Atest",
        "/api/experiments/1/detections/validation:test",
    ] {
        let (status, d) = get_json(&store, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let d: DetectionResult = serde_json::from_value(d).unwrap();
        assert_eq!(d, validation);
        assert_eq!(d.thresholds.len(), 101);
    }

    let (status, body, _) = get(&store, "/SecuML/1/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(
            "<title>DIADEM \u{2013} LogisticRegression__GROUND_TRUTH__RandomSplit0.5 #1</title>"
        ),
        "{body}"
    );
    assert!(body.contains("data-experiment=\"1\"") && body.contains("/static/vendor/chart.umd.js"));
}

#[tokio::test]
async fn missing_things_are_not_found() {
    let store = demo_store().await;
    put_record(
        store.as_ref(),
        2,
        "Diadem",
        "Gaussians",
        "test",
        "still training",
    )
    .await;
    put_record(
        store.as_ref(),
        3,
        "ActiveLearning",
        "Gaussians",
        "test",
        "annotations",
    )
    .await;
    for path in [
        "/api/experiments/99",
        "/api/experiments/99/train",
        "/api/experiments/99/detections",
        "/api/experiments/1/detections/validation%3Anope",
        "/api/experiments/2/train",
        "/api/projects/nope/datasets",
        "/api/projects/Gaussians/datasets/nope/experiments",
        "/api/not-a-route",
        "/api/experiments/abc",
        "/nothing/here",
        "/static/nope.js",
    ] {
        let (status, body) = get_json(&store, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["code"], "not_found", "{path}");
    }
    for path in [
        "/SecuML/99/",
        "/SecuML/3/",
        "/SecuML/nope/menu/",
        "/SecuML/Gaussians/nope/menu/",
    ] {
        let (status, body, headers) = get(&store, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(
            body.contains("<title>Not found</title>") && body.contains("id=\"error-message\""),
            "{body}"
        );
    }
    let (_, detections) = get_json(&store, "/api/experiments/2/detections").await;
    assert_eq!(detections, serde_json::json!([]));
}

#[tokio::test]
async fn unreadable_records_are_server_errors() {
    let store = demo_store().await;
    store
        .hset(&keys::experiments(), "7", b"{not json")
        .await
        .unwrap();
    store
        .hset(&keys::detections(1), "broken", b"[]")
        .await
        .unwrap();
    let (status, body) = get_json(&store, "/api/experiments/7").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "bad_data");
    let (status, _) = get_json(&store, "/api/experiments/1/detections/broken").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, projects) = get_json(&store, "/api/projects").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an unreadable record is skipped in menus"
    );
    assert_eq!(projects.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn names_from_the_store_are_escaped_in_pages() {
    let store = empty_store();
    let evil = "<script>alert(1)</script>";
    let record = put_record(
        store.as_ref(),
        5,
        "Diadem",
        evil,
        "d\"><img src=x onerror=alert(2)>",
        "<b>name</b>",
    )
    .await;
    let project = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let (status, body, _) = get(&store, &format!("/SecuML/{project}/menu/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains(evil), "{body}");
    assert!(
        body.contains("data-project=\"&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{body}"
    );
    assert!(
        body.contains(&format!("href=\"/SecuML/{project}/menu/\"")),
        "links are percent-encoded: {body}"
    );

    let dataset = "d%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E";
    let (status, body, _) = get(&store, &format!("/SecuML/{project}/{dataset}/menu/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !body.contains("<img") && body.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{body}"
    );

    let (status, body, _) = get(&store, "/SecuML/5/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains(evil) && !body.contains("<b>name"), "{body}");
    assert!(
        body.contains("DIADEM \u{2013} &lt;b&gt;name&lt;/b&gt;"),
        "{body}"
    );

    let (status, body, _) = get(&store, "/SecuML/%3Cscript%3E/menu/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        !body.contains("<script>") && body.contains("&lt;script&gt;"),
        "{body}"
    );
    let (_, api) = get_json(&store, &format!("/api/projects/{project}/datasets")).await;
    assert_eq!(api[0]["name"], record.dataset);
}

#[tokio::test]
async fn other_methods_and_large_requests_are_refused() {
    let store = demo_store().await;
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let response = warp::test::request()
            .method(method)
            .path("/api/projects")
            .reply(&routes(store.clone(), support::no_datasets()))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["code"], "bad_request");
    }
    let response = warp::test::request()
        .method("GET")
        .path("/api/projects")
        .header("content-length", "1000000")
        .body(vec![0u8; 1_000_000])
        .reply(&routes(store.clone(), support::no_datasets()))
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let long = format!("/SecuML/{}/menu/", "a".repeat(5000));
    let (status, _) = get_json(&store, &long).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn static_files_are_served_from_the_binary() {
    let store = empty_store();
    let (status, chart, headers) = get(&store, "/static/vendor/chart.umd.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(chart.contains("Chart.js v4"));
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let (status, license, _) = get(&store, "/static/vendor/chart.js-LICENSE.md").await;
    assert_eq!(status, StatusCode::OK);
    assert!(license.contains("MIT License"));
    for name in [
        "common.js",
        "menus.js",
        "charts.js",
        "alerts.js",
        "diadem.js",
        "clustering.js",
        "live.js",
        "style.css",
    ] {
        let (status, body, _) = get(&store, &format!("/static/{name}")).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            !body.contains("innerHTML"),
            "{name} must build the DOM with textContent"
        );
    }
    let (status, _) = get_json(&store, "/static/../Cargo.toml").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
