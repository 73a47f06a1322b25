//! A real DIADEM experiment with its alerts clustered, served by the dashboard and read in headless
//! Chromium: the alerts the Alerts Analysis panel lists after clicking "Top N", "Random", "Clustering"
//! and one cluster are the stored ones.
//!
//! Runs with `cargo test -p secuml-tests --features browser-tests`; it needs Node, Debian's Chromium and
//! `tests/browser/node_modules` (`npm ci`), and fails with what to install when one is missing.
#![cfg(feature = "browser-tests")]

use std::sync::Arc;

use secuml_coordinator::embedded::run_diadem;
use secuml_proto::{
    keys, AlertRow, AlertsAnalysis, AlertsClusteringAlgo, AlertsResult, DiademSpec, ModelSpec,
    Penalty, ValidationSpec,
};
use secuml_runtime::{FileStore, Store};
use secuml_tests::browser::{serve_dashboard, BrowserTools};
use secuml_tests::paths_in;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct RowReading {
    instance_id: i64,
    ident: String,
    score: String,
    label: String,
    family: String,
}

#[derive(Debug, Deserialize)]
struct ListReading {
    view: String,
    cluster: String,
    rows: Vec<RowReading>,
}

#[derive(Debug, Deserialize)]
struct ClusterReading {
    name: String,
    size: u64,
    size_text: String,
}

#[derive(Debug, Deserialize)]
struct PanelReading {
    buttons: Vec<String>,
    summary: String,
    top: ListReading,
    random: ListReading,
    clusters: Vec<ClusterReading>,
    cluster: ListReading,
    selected: Vec<String>,
}

fn check_rows(what: &str, shown: &[RowReading], stored: &[AlertRow]) {
    assert_eq!(shown.len(), stored.len(), "{what}: rows");
    for (s, a) in shown.iter().zip(stored) {
        assert_eq!(
            (s.instance_id, s.ident.as_str()),
            (a.instance_id, a.ident.as_str()),
            "{what}"
        );
        let score: f64 = s.score.parse().unwrap();
        assert!(
            (score - a.score).abs() <= 5e-5 + 1e-12,
            "{what}: {} for {}",
            s.score,
            a.score
        );
        let label = match a.label {
            Some(true) => "malicious",
            Some(false) => "benign",
            None => "-",
        };
        assert_eq!(s.label, label, "{what}");
        assert_eq!(s.family, a.family.as_deref().unwrap_or("-"), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_panel_lists_the_stored_top_random_and_cluster_alerts() {
    check_panel(
        AlertsAnalysis::Clustering {
            algo: AlertsClusteringAlgo::Kmeans,
            num_clusters: 3,
        },
        "Clustering",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_panel_lists_the_families_of_an_alert_classification() {
    check_panel(
        AlertsAnalysis::Classification {
            model: Box::new(ModelSpec::secuml_default("GaussianNaiveBayes").unwrap()),
            num_folds: 2,
        },
        "Classification",
    )
    .await;
}

/// Runs a DIADEM job whose alerts are grouped by `analysis`, opens its alerts panel in the
/// browser, and checks every list, the groups and the second group's alerts against the store.
async fn check_panel(analysis: AlertsAnalysis, group_button: &str) {
    // Checked first, so a machine without the tools fails in a second with what to install.
    let tools = BrowserTools::find().unwrap_or_else(|e| panic!("{e:#}"));

    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let mut spec = DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::LogisticRegression {
            c: vec![1.0],
            penalty: vec![Penalty::L2],
            optim_algo: Default::default(),
        },
        ValidationSpec::RandomSplit { test_size: 0.2 },
    );
    spec.num_folds = 2;
    spec.alerts = Some(analysis);
    let outcome = run_diadem(&paths, spec, 2)
        .await
        .expect("the experiment runs");
    let id = outcome.experiment_id;

    let store: Arc<dyn Store> = Arc::new(FileStore::open(paths.data_dir.join("store")).unwrap());
    let bytes = store
        .hget(&keys::alerts(id), "test")
        .await
        .unwrap()
        .expect("the alerts of the test detection are stored");
    let stored: AlertsResult = serde_json::from_slice(&bytes).unwrap();
    assert!(stored.clusters.len() >= 2, "{:?}", stored.clusters.len());
    let second = stored.clusters[1].name.clone();

    let (addr, server) = serve_dashboard(store, &paths).await;
    let url = format!("http://{addr}/SecuML/{id}/");
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("browser_alerts_{group_button}.png"));
    let reading: anyhow::Result<PanelReading> = tools
        .run_script("alerts_panel.mjs", &[&url, "test", &second], &screenshot)
        .await;
    server.abort();
    let reading = reading.unwrap_or_else(|e| panic!("{e:#}"));

    assert_eq!(reading.buttons, vec!["Top N", "Random", group_button]);
    assert!(
        reading
            .summary
            .starts_with(&format!("{} alerts", stored.n_alerts)),
        "{}",
        reading.summary
    );
    assert_eq!(
        (reading.top.view.as_str(), reading.top.cluster.as_str()),
        ("top", "")
    );
    check_rows("Top N", &reading.top.rows, &stored.top);
    assert_eq!(reading.random.view, "random");
    check_rows("Random", &reading.random.rows, &stored.random);
    let shown: Vec<(&str, u64)> = reading
        .clusters
        .iter()
        .map(|c| (c.name.as_str(), c.size))
        .collect();
    let expected: Vec<(&str, u64)> = stored
        .clusters
        .iter()
        .map(|c| (c.name.as_str(), c.mix.size))
        .collect();
    assert_eq!(shown, expected);
    assert!(reading
        .clusters
        .iter()
        .all(|c| c.size_text == c.size.to_string()));
    assert_eq!(
        (
            reading.cluster.view.as_str(),
            reading.cluster.cluster.as_str()
        ),
        ("clustering", second.as_str())
    );
    check_rows(&second, &reading.cluster.rows, &stored.clusters[1].alerts);
    assert_eq!(reading.selected, vec![second.as_str()]);
    assert!(
        screenshot.is_file(),
        "screenshot at {}",
        screenshot.display()
    );
}
