//! A real multiclass DIADEM experiment (`--multiclass`, Gaussian naive Bayes on NSL-KDD's
//! families), served by the dashboard and read in headless Chromium: the page shows the stored
//! accuracy, F1 micro and F1 macro and the family confusion matrix, and no binary threshold slider.
//!
//! Runs with `cargo test -p secuml-tests --features browser-tests` (see `browser_diadem.rs` for
//! what it needs).
#![cfg(feature = "browser-tests")]

use std::sync::Arc;

use secuml_coordinator::config::Paths;
use secuml_coordinator::embedded::run_diadem;
use secuml_proto::{keys, DetectionResult, DiademSpec, ModelSpec, Objective, ValidationSpec};
use secuml_runtime::{FileStore, Store};
use secuml_tests::browser::{serve_dashboard, BrowserTools};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diadem_page_shows_the_multiclass_indicators_and_family_confusion() {
    let tools = BrowserTools::find().unwrap_or_else(|e| panic!("{e:#}"));
    let tmp = tempfile::tempdir().unwrap();
    let paths = Paths {
        input_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"),
        data_dir: tmp.path().join("data"),
    };
    let mut spec = DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::secuml_default("GaussianNaiveBayes").unwrap(),
        ValidationSpec::RandomSplit { test_size: 0.2 },
    );
    spec.multiclass = true;
    spec.objective = Objective::Accuracy;
    let id = run_diadem(&paths, spec, 2)
        .await
        .expect("the DIADEM experiment runs")
        .experiment_id;

    let store: Arc<dyn Store> = Arc::new(FileStore::open(paths.data_dir.join("store")).unwrap());
    let (addr, server) = serve_dashboard(store.clone(), &paths).await;
    let url = format!("http://{addr}/SecuML/{id}/");
    let screenshot =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser_multiclass.png");
    let reading = tools.read_multiclass_page(&url, &screenshot).await;
    server.abort();
    let reading = reading.unwrap_or_else(|e| panic!("{e:#}"));

    let bytes = store
        .hget(&keys::detections(id), &reading.detection)
        .await
        .unwrap()
        .expect("the detection shown is stored");
    let detection: DetectionResult = serde_json::from_slice(&bytes).unwrap();
    let m = detection.multiclass.expect("multiclass indicators");
    assert_eq!(reading.accuracy, m.accuracy);
    assert_eq!(reading.f1_micro, m.f1_micro);
    assert_eq!(reading.f1_macro, m.f1_macro);
    assert_eq!(reading.accuracy_text, format!("{:.2}%", m.accuracy * 100.0));
    assert_eq!(reading.f1_macro_text, format!("{:.2}%", m.f1_macro * 100.0));
    assert_eq!(reading.families, m.labels);
    assert_eq!(reading.confusion, m.confusion);
    assert!(m.labels.len() > 2, "{:?}", m.labels);
    assert!(screenshot.is_file());
}
