//! Route tests of the alert analysis API (`/api/experiments/<id>/alerts/...`) and of the DIADEM
//! page's Alerts Analysis script.

mod support;

use std::sync::Arc;

use secuml_proto::{keys, AlertCluster, AlertRow, AlertsResult, ClusterMix};
use secuml_runtime::Store;
use serde_json::{json, Value};
use support::{fresh_store, put_diadem};
use warp::http::StatusCode;

async fn get_json(store: &Arc<dyn Store>, path: &str) -> (StatusCode, Value) {
    support::request_json(store, support::no_datasets(), path).await
}

fn alert(id: i64, score: f64, label: Option<bool>, family: Option<&str>) -> AlertRow {
    AlertRow {
        instance_id: id,
        ident: format!("<host-{id}>"),
        score,
        label,
        family: family.map(str::to_string),
    }
}

fn mix(rows: &[AlertRow]) -> ClusterMix {
    ClusterMix {
        size: rows.len() as u64,
        malicious: rows.iter().filter(|r| r.label == Some(true)).count() as u64,
        benign: rows.iter().filter(|r| r.label == Some(false)).count() as u64,
        unlabeled: rows.iter().filter(|r| r.label.is_none()).count() as u64,
        families: rows.iter().filter_map(|r| r.family.clone()).fold(
            Default::default(),
            |mut m, f| {
                *m.entry(f).or_default() += 1;
                m
            },
        ),
    }
}

/// A DIADEM experiment (id 1) whose test detection's alerts are clustered by DBSCAN.
async fn store_with_alerts() -> (Arc<dyn Store>, AlertsResult) {
    let store = fresh_store();
    put_diadem(store.as_ref(), 1, "NSL-KDD", "train20", &["duration"]).await;
    let a = vec![
        alert(7, 0.99, Some(true), Some("dos")),
        alert(3, 0.9, Some(true), Some("probe")),
    ];
    let noise = vec![alert(5, 0.6, Some(false), None)];
    let result = AlertsResult {
        detection: "validation:test".into(),
        detection_threshold: 0.5,
        n_alerts: 3,
        top: vec![a[0].clone(), a[1].clone(), noise[0].clone()],
        random: vec![a[1].clone(), noise[0].clone()],
        algo: Some("Dbscan".into()),
        clusters: vec![
            AlertCluster {
                name: "0".into(),
                mix: mix(&a),
                alerts: a.clone(),
            },
            AlertCluster {
                name: "noise".into(),
                mix: mix(&noise),
                alerts: noise,
            },
        ],
        classified: false,
        skipped: None,
        seconds: 0.01,
    };
    store
        .hset(
            &keys::alerts(1),
            "validation:test",
            &serde_json::to_vec(&result).unwrap(),
        )
        .await
        .unwrap();
    (store, result)
}

#[tokio::test]
async fn the_overview_lists_the_clusters_without_their_alerts() {
    let (store, _) = store_with_alerts().await;
    let (status, analysed) = get_json(&store, "/api/experiments/1/alerts").await;
    assert_eq!(
        (status, analysed),
        (StatusCode::OK, json!(["validation:test"]))
    );
    let (status, v) = get_json(&store, "/api/experiments/1/alerts/validation:test").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({
            "detection": "validation:test",
            "detection_threshold": 0.5,
            "n_alerts": 3,
            "algo": "Dbscan",
            "clusters": [
                {"name": "0", "mix": {"size": 2, "malicious": 2, "benign": 0, "unlabeled": 0,
                                       "families": {"dos": 1, "probe": 1}}},
                {"name": "noise", "mix": {"size": 1, "malicious": 0, "benign": 1, "unlabeled": 0,
                                           "families": {}}},
            ],
            "classified": false,
            "skipped": null,
        })
    );
    // A percent-encoded detection name reads the same.
    let (status, _) = get_json(&store, "/api/experiments/1/alerts/validation%3Atest").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn top_random_and_each_cluster_list_their_alerts() {
    let (store, result) = store_with_alerts().await;
    let base = "/api/experiments/1/alerts/validation:test";
    let (status, top) = get_json(&store, &format!("{base}/top")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(top, serde_json::to_value(&result.top).unwrap());
    assert_eq!(
        top[0]["ident"], "<host-7>",
        "stored as is; the page escapes"
    );
    let (_, random) = get_json(&store, &format!("{base}/random")).await;
    assert_eq!(random, serde_json::to_value(&result.random).unwrap());
    let (status, c) = get_json(&store, &format!("{base}/clusters/noise")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(c, serde_json::to_value(&result.clusters[1]).unwrap());
    let (_, c) = get_json(&store, &format!("{base}/clusters/0")).await;
    assert_eq!(c["alerts"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn missing_analyses_views_clusters_and_experiments_are_not_found() {
    let (store, _) = store_with_alerts().await;
    for path in [
        "/api/experiments/1/alerts/test",
        "/api/experiments/1/alerts/validation:test/sideways",
        "/api/experiments/1/alerts/validation:test/clusters/9",
        "/api/experiments/2/alerts/validation:test",
        "/api/experiments/2/alerts/validation:test/top",
    ] {
        let (status, body) = get_json(&store, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["code"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn the_diadem_page_loads_the_alerts_script_before_its_own() {
    let (store, _) = store_with_alerts().await;
    let (status, page, _) = support::request(&store, support::no_datasets(), "/SecuML/1/").await;
    assert_eq!(status, StatusCode::OK);
    let alerts = page.find("/static/alerts.js").expect("alerts.js loaded");
    let diadem = page.find("/static/diadem.js").expect("diadem.js loaded");
    assert!(alerts < diadem, "secumlAlerts exists when diadem.js runs");
    let (status, script, headers) =
        support::request(&store, support::no_datasets(), "/static/alerts.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    for needle in ["Top N", "Random", "Clustering", "/clusters/", "textContent"] {
        assert!(script.contains(needle), "{needle}");
    }
}
