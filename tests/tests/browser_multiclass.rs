//! A real multiclass DIADEM experiment (`--multiclass`, logistic regression one-vs-rest on
//! NSL-KDD's families), served by the dashboard and read in headless Chromium: the page shows the
//! stored accuracy, F1 micro and F1 macro and the family confusion matrix, and no binary threshold
//! slider; the coefficients chart shows the family selected; an instance's weighted features are
//! those of its predicted family's model.
//!
//! Runs with `cargo test -p secuml-tests --features browser-tests` (see `browser_diadem.rs` for
//! what it needs).
#![cfg(feature = "browser-tests")]

use std::sync::Arc;

use secuml_coordinator::embedded::run_diadem;
use secuml_proto::{
    keys, DetectionResult, DiademSpec, ModelSpec, Objective, Penalty, TrainSummary, ValidationSpec,
};
use secuml_runtime::{FileStore, Store};
use secuml_tests::browser::{serve_dashboard, BrowserTools};
use secuml_tests::paths_in;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diadem_page_shows_the_multiclass_indicators_and_family_confusion() {
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
    spec.multiclass = true;
    spec.objective = Objective::Accuracy;
    spec.num_folds = 2;
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
    let bytes = store.get(&keys::train_summary(id)).await.unwrap().unwrap();
    let train: TrainSummary = serde_json::from_slice(&bytes).unwrap();
    let chosen = &train.family_coefficients[3];
    // The test detection's fullest bin of predicted-family probabilities.
    let bytes = store
        .hget(&keys::detections(id), "test")
        .await
        .unwrap()
        .expect("the test detection is stored");
    let h = serde_json::from_slice::<DetectionResult>(&bytes)
        .unwrap()
        .histogram;
    let count = |b: usize| h.benign[b] + h.malicious[b] + h.unlabeled[b];
    let bin = (0..h.benign.len()).max_by_key(|&b| count(b)).unwrap();
    assert!(count(bin) > 0);
    let plan = serde_json::json!({
        "tab": "test", "bin": bin, "bin_instance": true,
        "interpretation": true, "coef_family": chosen.family,
    });
    let panels = tools.drive_diadem_panels(&url, &plan, &screenshot).await;
    server.abort();
    let reading = reading.unwrap_or_else(|e| panic!("{e:#}"));
    let panels = panels.unwrap_or_else(|e| panic!("{e:#}"));

    // The coefficients chart: the top 15 of the family selected.
    let shown = &panels["interpretation"];
    assert_eq!(shown["family"], chosen.family.as_str());
    let top: Vec<&str> = chosen.coefficients[..15]
        .iter()
        .map(|c| c.feature.as_str())
        .collect();
    assert_eq!(shown["features"], serde_json::json!(top));
    // The weighted features of an instance of that bin: its predicted
    // family's coefficients, which the family selector shows.
    let instance = &panels["bin"]["instance"];
    let predicted = instance["weighted"]["family"]
        .as_str()
        .expect("a family selector");
    let family = train
        .family_coefficients
        .iter()
        .find(|f| f.family == predicted)
        .expect("the predicted family has coefficients");
    for row in instance["weighted"]["rows"].as_array().unwrap() {
        let named = family
            .coefficients
            .iter()
            .find(|c| c.feature == row["feature"].as_str().unwrap())
            .unwrap();
        assert!((row["coefficient"].as_f64().unwrap() - named.value).abs() < 1e-12);
    }
    assert!(!instance["weighted"]["rows"].as_array().unwrap().is_empty());

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
