//! A real DIADEM experiment, served by the dashboard and read in headless Chromium: the detection rate the
//! page shows after moving the threshold slider is the one stored at that threshold.
//!
//! Runs with `cargo test -p secuml-tests --features browser-tests`; it needs Node, Debian's Chromium and
//! `tests/browser/node_modules` (`npm ci`), and fails with what to install when one is missing.
#![cfg(feature = "browser-tests")]

use std::sync::Arc;

use secuml_coordinator::config::Paths;
use secuml_coordinator::embedded::run_diadem;
use secuml_proto::{keys, DetectionResult, DiademSpec, ModelSpec, Penalty, ValidationSpec};
use secuml_runtime::{FileStore, Store};
use secuml_tests::browser::{serve_dashboard, BrowserTools};

/// Thresholds tried in order; the first whose detection rate differs from the default threshold's is checked.
const CANDIDATE_THRESHOLDS: [u32; 9] = [30, 20, 10, 40, 60, 70, 80, 90, 5];

/// A small real experiment on NSL-KDD: one candidate, so it runs in seconds, with a model whose
/// detection rate varies across thresholds.
fn nsl_kdd_spec() -> DiademSpec {
    DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::LogisticRegression {
            c: vec![1.0],
            penalty: vec![Penalty::L2],
            optim_algo: Default::default(),
        },
        ValidationSpec::RandomSplit { test_size: 0.2 },
    )
}

fn detection_rate_at(detection: &DetectionResult, percent: u32) -> f64 {
    let row = detection
        .thresholds
        .iter()
        .find(|t| (t.threshold * 100.0).round() as u32 == percent)
        .unwrap_or_else(|| panic!("no stored indicators at threshold {percent}%"));
    row.detection_rate
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diadem_page_shows_the_stored_detection_rate_at_the_slider_threshold() {
    // Checked first, so a machine without the tools fails in a second with what to install.
    let tools = BrowserTools::find().unwrap_or_else(|e| panic!("{e:#}"));

    let tmp = tempfile::tempdir().unwrap();
    let input_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let paths = Paths {
        input_dir,
        data_dir: tmp.path().join("data"),
    };
    let outcome = run_diadem(&paths, nsl_kdd_spec(), 2)
        .await
        .expect("the DIADEM experiment runs");
    let id = outcome.experiment_id;

    let store: Arc<dyn Store> = Arc::new(FileStore::open(paths.data_dir.join("store")).unwrap());
    let bytes = store
        .hget(&keys::detections(id), "test")
        .await
        .unwrap()
        .expect("a test detection is stored");
    let detection: DetectionResult = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(detection.thresholds.len(), 101);
    let default_percent = (detection.detection_threshold * 100.0).round() as u32;
    let default_dr = detection_rate_at(&detection, default_percent);
    let percent = CANDIDATE_THRESHOLDS
        .into_iter()
        .find(|p| detection_rate_at(&detection, *p) != default_dr)
        .expect("the model's detection rate varies with the threshold");
    let expected = detection_rate_at(&detection, percent);

    let (addr, server) = serve_dashboard(store, &paths).await;
    let url = format!("http://{addr}/SecuML/{id}/");
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser_diadem.png");
    let threshold = f64::from(percent) / 100.0;
    let reading = tools
        .check_diadem_page(&url, threshold, expected, &screenshot)
        .await;
    server.abort();
    let reading = reading.unwrap_or_else(|e| panic!("{e:#}"));

    assert_eq!(reading.detection, "test");
    assert_eq!(
        reading.initial_slider, default_percent,
        "the slider starts at the detection threshold"
    );
    assert_eq!(reading.slider, percent);
    assert_eq!(
        reading.detection_rate, expected,
        "detection rate at threshold {threshold}"
    );
    let shown: f64 = reading
        .detection_rate_text
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(
        (shown - expected * 100.0).abs() <= 0.005 + 1e-9,
        "{} for {expected}",
        reading.detection_rate_text
    );
    assert_eq!(reading.charts.len(), 4, "{:?}", reading.charts);
    assert!(
        screenshot.is_file(),
        "screenshot at {}",
        screenshot.display()
    );
}
