//! Route tests of a clustering experiment: its summary, the instances of a cluster read from the
//! assignments Parquet files (order, paging, labels), the errors, and the checks on the stored paths.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secuml_dashboard::routes;
use secuml_engine::cluster::{write_assignments, Assignments};
use secuml_proto::{
    keys, ClusterMix, ClusterSummary, ClusteringResult, ClusteringSpec, ExperimentRecord,
    ExperimentStatus, JobSpec,
};
use secuml_runtime::Store;
use serde_json::Value;
use support::{fresh_store, put_diadem, save_record};
use warp::http::StatusCode;

const PROJECT: &str = "Gaussians";
const DATASET: &str = "test";
const ID: u64 = 3;
/// Rows of the synthetic dataset, in blocks of [`BLOCK`].
const ROWS: usize = 24;
const BLOCK: usize = 8;
const CLUSTERS: u32 = 3;

/// A datasets folder in a temporary directory, with room beside it for files outside it.
struct Fixture {
    tmp: tempfile::TempDir,
    store: Arc<dyn Store>,
}

impl Fixture {
    fn datasets_dir(&self) -> PathBuf {
        self.tmp.path().join("datasets")
    }

    async fn get(&self, path: &str) -> (StatusCode, String, warp::http::HeaderMap) {
        support::request(&self.store, self.datasets_dir(), path).await
    }

    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        support::request_json(&self.store, self.datasets_dir(), path).await
    }
}

/// Row `i`: cluster `i % 3`, distance `((7 i) mod 5) / 2` (so distances tie across blocks), label
/// malicious, benign or unknown by `i % 4`, family `fam-a` on even rows and `fam-b` on rows `i % 6 == 1`.
fn rows(range: std::ops::Range<usize>) -> Assignments {
    let mut out = Assignments::default();
    for i in range {
        out.instance_ids.push(100 + i as i64);
        out.idents.push(format!("inst-{i}"));
        out.clusters.push(i as u32 % CLUSTERS);
        out.distances.push(((i * 7) % 5) as f64 * 0.5);
        out.labels.push(match i % 4 {
            0 => Some(true),
            1 => Some(false),
            _ => None,
        });
        out.families.push(if i % 2 == 0 {
            Some("fam-a".to_string())
        } else if i % 6 == 1 {
            Some("fam-b".to_string())
        } else {
            None
        });
    }
    out
}

fn block_file(id: u64, block: usize) -> String {
    format!("{PROJECT}/{DATASET}/clusterings/{id}/part-{block:05}.parquet")
}

/// The stored result of the synthetic clustering, its mix counted from the rows.
fn result(files: Vec<String>, has_labels: bool) -> ClusteringResult {
    let all = rows(0..ROWS);
    let mut mix = vec![ClusterMix::default(); CLUSTERS as usize];
    for i in 0..ROWS {
        let m = &mut mix[all.clusters[i] as usize];
        m.size += 1;
        match all.labels[i] {
            Some(true) => m.malicious += 1,
            Some(false) => m.benign += 1,
            None => m.unlabeled += 1,
        }
        if let Some(f) = &all.families[i] {
            *m.families.entry(f.clone()).or_default() += 1;
        }
    }
    ClusteringResult {
        algo: "Kmeans".into(),
        num_clusters: CLUSTERS,
        n_rows: ROWS as u64,
        columns: vec!["x".into(), "y".into()],
        clusters: mix
            .into_iter()
            .enumerate()
            .map(|(c, mix)| ClusterSummary {
                cluster: c as u32,
                centroid: vec![c as f64, -(c as f64)],
                mix,
            })
            .collect(),
        inertia: all.distances.iter().map(|d| d * d).sum(),
        iterations: 5,
        best_run: 1,
        run_inertias: vec![40.0, 37.5],
        run_iterations: vec![7, 5],
        has_labels,
        has_families: has_labels,
        assignments_files: files,
        seconds: 0.25,
    }
}

async fn put_clustering_record(store: &dyn Store, id: u64, status: ExperimentStatus) {
    let record = ExperimentRecord {
        id,
        kind: "Clustering".into(),
        project: PROJECT.into(),
        dataset: DATASET.into(),
        name: format!("Kmeans__num_clusters{CLUSTERS} #{id}"),
        job_id: format!("job-{id}"),
        status,
        error: None,
        created_ms: 1_780_000_000_000,
        finished_ms: Some(1_780_000_042_000),
        spec: JobSpec::Clustering(ClusteringSpec::kmeans(PROJECT, DATASET, CLUSTERS)),
    };
    save_record(store, &record).await;
}

async fn put_result(store: &dyn Store, id: u64, result: &ClusteringResult) {
    store
        .set(&keys::clustering(id), &serde_json::to_vec(result).unwrap())
        .await
        .unwrap();
}

/// A store and a datasets folder holding clustering `ID`: its record, its result and its three blocks.
async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let store = fresh_store();
    let datasets = tmp.path().join("datasets");
    let mut files = Vec::new();
    for block in 0..ROWS / BLOCK {
        let file = block_file(ID, block);
        write_assignments(
            &datasets.join(&file),
            &rows(block * BLOCK..(block + 1) * BLOCK),
        )
        .unwrap();
        files.push(file);
    }
    put_clustering_record(store.as_ref(), ID, ExperimentStatus::Succeeded).await;
    put_result(store.as_ref(), ID, &result(files, true)).await;
    Fixture { tmp, store }
}

fn idents(page: &Value) -> Vec<String> {
    page["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ident"].as_str().unwrap().to_string())
        .collect()
}

/// Cluster 0 holds rows 0, 3, ..., 21, at distances 0, .5, 1, 1.5, 2, 0, .5, 1: closest first, ties in
/// dataset order (across blocks).
const CLUSTER_0: [&str; 8] = [
    "inst-0", "inst-15", "inst-3", "inst-18", "inst-6", "inst-21", "inst-9", "inst-12",
];

#[tokio::test]
async fn the_summary_has_the_clusters_mix_and_runs() {
    let f = fixture().await;
    let (status, summary) = f
        .get_json(&format!("/api/experiments/{ID}/clustering"))
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["algo"], "Kmeans");
    assert_eq!(summary["num_clusters"], CLUSTERS);
    assert_eq!(summary["n_rows"], ROWS);
    assert_eq!(summary["num_columns"], 2);
    assert_eq!(summary["iterations"], 5);
    assert_eq!(summary["has_labels"], true);
    assert_eq!(summary["has_families"], true);
    assert_eq!(
        summary["runs"],
        serde_json::json!([
            {"run": 0, "inertia": 40.0, "iterations": 7},
            {"run": 1, "inertia": 37.5, "iterations": 5}
        ])
    );
    assert_eq!(summary["best_run"], 1);
    let clusters = summary["clusters"].as_array().unwrap();
    let sizes: Vec<u64> = clusters
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![8, 8, 8]);
    // Cluster 0: rows 0, 3, ..., 21; malicious when i % 4 == 0 (0, 12), benign when 1 (9, 21).
    assert_eq!(
        (
            &clusters[0]["malicious"],
            &clusters[0]["benign"],
            &clusters[0]["unlabeled"]
        ),
        (&Value::from(2), &Value::from(2), &Value::from(4))
    );
    // Cluster 1: rows 1, 4, ..., 22: fam-a on even rows (4, 10, 16, 22), fam-b on 1, 7, 13, 19.
    // Cluster 2: rows 2, 5, ..., 23: fam-a on 2, 8, 14, 20, nothing else.
    assert_eq!(
        clusters[1]["families"],
        serde_json::json!([{"family": "fam-a", "count": 4}, {"family": "fam-b", "count": 4}])
    );
    assert_eq!(
        clusters[2]["families"],
        serde_json::json!([{"family": "fam-a", "count": 4}])
    );
    assert!(
        summary.get("assignments_files").is_none() && clusters[0].get("centroid").is_none(),
        "the summary names no file and carries no centroid: {summary}"
    );
}

#[tokio::test]
async fn instances_are_closest_first_across_blocks_and_paged() {
    let f = fixture().await;
    let (status, page) = f
        .get_json(&format!("/api/experiments/{ID}/clusters/0/instances"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(idents(&page), CLUSTER_0);
    assert_eq!(page["total"], 8);
    assert_eq!(page["offset"], 0);
    assert_eq!(page["limit"], secuml_dashboard::clustering::DEFAULT_LIMIT);
    let first = &page["instances"][0];
    assert_eq!(first["rank"], 0);
    assert_eq!(first["instance_id"], 100);
    assert_eq!(first["distance"], 0.0);
    assert_eq!(first["label"], "malicious");
    assert_eq!(first["family"], "fam-a");
    let third = &page["instances"][2];
    assert_eq!(
        (&third["ident"], &third["label"]),
        (&"inst-3".into(), &Value::Null)
    );
    assert_eq!(third["family"], Value::Null);
    let distances: Vec<f64> = page["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["distance"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");

    // Every page is the slice of the whole order, whatever the page size.
    for limit in 1..=4usize {
        for offset in 0..=9usize {
            let (status, page) = f
                .get_json(&format!(
                    "/api/experiments/{ID}/clusters/0/instances?offset={offset}&limit={limit}"
                ))
                .await;
            assert_eq!(status, StatusCode::OK);
            let expected: Vec<&str> = CLUSTER_0.iter().copied().skip(offset).take(limit).collect();
            assert_eq!(idents(&page), expected, "offset {offset}, limit {limit}");
            let ranks: Vec<u64> = page["instances"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["rank"].as_u64().unwrap())
                .collect();
            let expected_ranks: Vec<u64> = (offset as u64..8).take(limit).collect();
            assert_eq!(ranks, expected_ranks);
            assert_eq!(page["total"], 8);
        }
    }

    let (_, page) = f
        .get_json(&format!(
            "/api/experiments/{ID}/clusters/2/instances?limit=3"
        ))
        .await;
    // Cluster 2: rows 2, 5, ..., 23 at distances 2, 0, .5, 1, 1.5, 2, 0, .5.
    assert_eq!(idents(&page), vec!["inst-5", "inst-20", "inst-8"]);
}

#[tokio::test]
async fn without_labels_the_instances_carry_none() {
    let f = fixture().await;
    let files = (0..ROWS / BLOCK).map(|b| block_file(ID, b)).collect();
    put_result(f.store.as_ref(), ID, &result(files, false)).await;
    let (status, page) = f
        .get_json(&format!(
            "/api/experiments/{ID}/clusters/0/instances?limit=2"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["has_labels"], false);
    assert_eq!(page["has_families"], false);
    assert_eq!(page["instances"][0]["ident"], "inst-0");
    assert_eq!(page["instances"][0]["label"], Value::Null);
    assert_eq!(page["instances"][0]["family"], Value::Null);
}

#[tokio::test]
async fn errors_name_what_was_expected() {
    let f = fixture().await;
    put_diadem(f.store.as_ref(), 1, PROJECT, DATASET, &["x", "y"]).await;
    put_clustering_record(f.store.as_ref(), 5, ExperimentStatus::Running).await;
    let not_found = [
        ("/api/experiments/99/clustering", "experiment 99 not found"),
        (
            "/api/experiments/99/clusters/0/instances",
            "experiment 99 not found",
        ),
        (
            "/api/experiments/1/clustering",
            "clustering of experiment 1 (a Diadem experiment) not found",
        ),
        (
            "/api/experiments/1/clusters/0/instances",
            "clustering of experiment 1 (a Diadem experiment) not found",
        ),
        (
            "/api/experiments/5/clustering",
            "clustering result of experiment 5 not found",
        ),
        (
            "/api/experiments/3/clusters/3/instances",
            "cluster 3 of experiment 3 (its clusters are 0 to 2) not found",
        ),
        (
            "/api/experiments/3/clusters/4294967295/instances",
            "cluster 4294967295 of experiment 3 (its clusters are 0 to 2) not found",
        ),
        (
            "/api/experiments/3/clusters/-1/instances",
            "api route not found",
        ),
        (
            "/api/experiments/3/clusters/abc/instances",
            "api route not found",
        ),
    ];
    for (path, message) in not_found {
        let (status, body) = f.get_json(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["code"], "not_found", "{path}");
        assert_eq!(body["message"], message, "{path}");
    }
    let max = secuml_dashboard::clustering::MAX_LIMIT;
    let bad_requests = [
        (
            "limit=0",
            format!("`limit` must be a whole number from 1 to {max}, got `0`"),
        ),
        (
            &format!("limit={}", max + 1) as &str,
            format!(
                "`limit` must be a whole number from 1 to {max}, got `{}`",
                max + 1
            ),
        ),
        (
            "limit=all",
            format!("`limit` must be a whole number from 1 to {max}, got `all`"),
        ),
        (
            "offset=-3",
            "`offset` must be a whole number of instances, got `-3`".to_string(),
        ),
    ];
    for (query, message) in bad_requests {
        let path = format!("/api/experiments/{ID}/clusters/0/instances?{query}");
        let (status, body) = f.get_json(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["code"], "bad_request");
        assert_eq!(body["message"], format!("bad request: {message}"), "{path}");
    }
}

#[tokio::test]
async fn a_missing_or_broken_assignments_file_is_reported() {
    let f = fixture().await;
    let missing = block_file(ID, 1);
    std::fs::remove_file(f.datasets_dir().join(&missing)).unwrap();
    let (status, body) = f
        .get_json(&format!("/api/experiments/{ID}/clusters/0/instances"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        body["message"],
        format!("assignments file {missing} of experiment {ID} not found")
    );
    assert!(
        !body["message"]
            .as_str()
            .unwrap()
            .contains(&f.tmp.path().display().to_string()),
        "the server's folders are not shown"
    );

    std::fs::write(f.datasets_dir().join(&missing), b"not parquet").unwrap();
    let (status, body) = f
        .get_json(&format!("/api/experiments/{ID}/clusters/0/instances"))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["code"], "bad_data");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("file {missing} is unreadable: ")),
        "{body}"
    );

    // A dashboard given another datasets folder finds none of the files.
    let response = warp::test::request()
        .path(&format!("/api/experiments/{ID}/clusters/0/instances"))
        .reply(&routes(f.store.clone(), support::no_datasets()))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// Writes a valid assignments file at `path` (so a request that reached it would succeed).
fn valid_file(path: &Path) {
    write_assignments(path, &rows(0..BLOCK)).unwrap();
}

#[tokio::test]
async fn stored_paths_that_leave_the_dataset_folder_are_refused() {
    let f = fixture().await;
    let outside = f.tmp.path().join("outside").join("part-00000.parquet");
    valid_file(&outside);
    let other_dataset = "Other/set/clusterings/3/part-00000.parquet";
    valid_file(&f.datasets_dir().join(other_dataset));
    let not_parquet = format!("{PROJECT}/{DATASET}/manifest.json");
    std::fs::write(f.datasets_dir().join(&not_parquet), b"{}").unwrap();
    let link = format!("{PROJECT}/{DATASET}/clusterings/3/part-link.parquet");
    std::os::unix::fs::symlink(&outside, f.datasets_dir().join(&link)).unwrap();
    let dir_link = format!("{PROJECT}/{DATASET}/clusterings/linked");
    std::os::unix::fs::symlink(outside.parent().unwrap(), f.datasets_dir().join(&dir_link))
        .unwrap();

    let refused = [
        (
            "../outside/part-00000.parquet".to_string(),
            "is not a relative path of plain names under Gaussians/test/",
        ),
        (
            format!("{PROJECT}/{DATASET}/../../../outside/part-00000.parquet"),
            "is not a relative path of plain names under Gaussians/test/",
        ),
        (
            format!("./{PROJECT}/{DATASET}/clusterings/3/part-00000.parquet"),
            "is not a relative path of plain names under Gaussians/test/",
        ),
        (
            outside.display().to_string(),
            "is not a relative path of plain names under Gaussians/test/",
        ),
        (
            other_dataset.to_string(),
            "is not a relative path of plain names under Gaussians/test/",
        ),
        (
            format!("{PROJECT}/{DATASET}"),
            "is not a relative path of plain names under Gaussians/test/",
        ),
        (not_parquet.clone(), "is not a .parquet file"),
        (link.clone(), "leads outside the datasets folder"),
        (
            format!("{dir_link}/part-00000.parquet"),
            "leads outside the datasets folder",
        ),
    ];
    for (stored, why) in refused {
        let files = vec![block_file(ID, 0), stored.clone()];
        put_result(f.store.as_ref(), ID, &result(files, true)).await;
        let (status, body) = f
            .get_json(&format!("/api/experiments/{ID}/clusters/0/instances"))
            .await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{stored}: {body}"
        );
        assert_eq!(body["code"], "bad_data", "{stored}");
        assert_eq!(
            body["message"],
            format!(
                "stored record at {} is unreadable: assignments file `{stored}` {why}",
                keys::clustering(ID)
            ),
            "{stored}"
        );
    }

    // The same files read fine once the stored paths are the experiment's own.
    let files = (0..ROWS / BLOCK).map(|b| block_file(ID, b)).collect();
    put_result(f.store.as_ref(), ID, &result(files, true)).await;
    let (status, page) = f
        .get_json(&format!("/api/experiments/{ID}/clusters/0/instances"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(idents(&page), CLUSTER_0);
}

#[tokio::test]
async fn url_segments_never_reach_the_filesystem() {
    let f = fixture().await;
    for path in [
        "/api/experiments/3/clusters/..%2F..%2Foutside/instances",
        "/api/experiments/3/clusters/0%2F..%2F1/instances",
        "/api/experiments/..%2F3/clustering",
        "/api/experiments/3/clusters/0/instances/..",
    ] {
        let (status, body) = f.get_json(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["message"], "api route not found", "{path}");
    }
}

#[tokio::test]
async fn the_clustering_page_is_served_and_listed_in_its_dataset_menu() {
    let f = fixture().await;
    put_diadem(f.store.as_ref(), 1, PROJECT, DATASET, &["x", "y"]).await;
    let (status, body, _) = f.get(&format!("/SecuML/{ID}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(&format!(
            "<title>Clustering \u{2013} Kmeans__num_clusters3 #{ID}</title>"
        )),
        "{body}"
    );
    assert!(
        body.contains("data-page=\"clustering\"") && body.contains("data-experiment=\"3\""),
        "{body}"
    );
    assert!(
        body.contains("/static/vendor/chart.umd.js") && body.contains("/static/clustering.js"),
        "{body}"
    );
    assert!(!body.contains("/static/diadem.js"), "{body}");
    assert!(
        body.contains("href=\"/SecuML/Gaussians/test/menu/\""),
        "crumbs link the dataset: {body}"
    );

    let (status, list) = f
        .get_json(&format!(
            "/api/projects/{PROJECT}/datasets/{DATASET}/experiments"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<(u64, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_u64().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&(ID, "Clustering")), "{kinds:?}");
    assert!(kinds.contains(&(1, "Diadem")), "{kinds:?}");

    let (status, script, _) = f.get("/static/clustering.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(script.contains("/clusters/") && !script.contains("innerHTML"));
}
