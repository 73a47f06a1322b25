//! Real DIADEM experiments, served by the dashboard and read in headless Chromium: the detection rate the
//! page shows after moving the threshold slider is the one stored at that threshold; the fold and
//! test-dataset selectors, the tabs, the instances of a confusion-matrix cell and of a histogram bin
//! (checked against the predictions file), an instance's features (against the dataset) and weighted
//! features (against the stored model), the family table and the importances chart.
//!
//! Runs with `cargo test -p secuml-tests --features browser-tests`; it needs Node, Debian's Chromium and
//! `tests/browser/node_modules` (`npm ci`), and fails with what to install when one is missing.
#![cfg(feature = "browser-tests")]

use std::sync::Arc;

use secuml_coordinator::config::Paths;
use secuml_coordinator::embedded::run_diadem;
use secuml_dashboard::instance::model_encoder;
use secuml_engine::dataset::{read_frame, read_manifest, Frame, FrameColumn, Manifest};
use secuml_engine::metrics::histogram_bin;
use secuml_engine::predictions::{read_predictions_file, Predictions};
use secuml_proto::fold_stats::fold_statistics;
use secuml_proto::{
    keys, DetectionResult, DiademSpec, ModelSpec, Penalty, StoredModel, TrainSummary,
    ValidationSpec,
};
use secuml_runtime::{FileStore, Store};
use secuml_tests::browser::{serve_dashboard, BrowserTools};
use secuml_tests::paths_in;
use serde_json::{json, Value};

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
    let paths = paths_in(tmp.path());
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

/// Runs a DIADEM experiment embedded; returns its id and the store it wrote.
async fn run_experiment(paths: &Paths, spec: DiademSpec) -> (u64, Arc<dyn Store>) {
    let outcome = run_diadem(paths, spec, 2)
        .await
        .expect("the DIADEM experiment runs");
    let store: Arc<dyn Store> = Arc::new(FileStore::open(paths.store_dir()).unwrap());
    (outcome.experiment_id, store)
}

/// The predictions of a detection, read from the file its stored result names.
fn stored_predictions(paths: &Paths, detection: &DetectionResult) -> Predictions {
    let file = detection
        .predictions_file
        .as_ref()
        .expect("the detection names its predictions file");
    read_predictions_file(&paths.datasets_dir().join(file))
        .expect("the predictions file reads")
        .rows
}

/// The instance ids of `p`'s rows that `keep` selects, highest score first, ties in file order.
fn ranked(p: &Predictions, keep: impl Fn(usize) -> bool) -> Vec<i64> {
    let mut rows: Vec<usize> = (0..p.instance_ids.len()).filter(|&i| keep(i)).collect();
    rows.sort_by(|&a, &b| p.scores[b].total_cmp(&p.scores[a]).then(a.cmp(&b)));
    rows.into_iter().map(|i| p.instance_ids[i]).collect()
}

fn listed_ids(list: &Value) -> Vec<i64> {
    list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instance_id"].as_i64().unwrap())
        .collect()
}

/// The manifest and the row of one instance of a dataset, read as the engine reads datasets.
fn dataset_row(paths: &Paths, dataset: &str, instance_id: i64) -> (Manifest, Frame, usize) {
    let dir = paths.datasets_dir().join("NSL-KDD").join(dataset);
    let (manifest, _) = read_manifest(&dir).unwrap();
    let frame = read_frame(&dir, &manifest).unwrap();
    let row = frame
        .instance_ids
        .iter()
        .position(|id| *id == instance_id)
        .expect("the instance is in its dataset");
    (manifest, frame, row)
}

/// Checks the Features tab against the dataset's values of the instance.
fn check_features(shown: &Value, manifest: &Manifest, frame: &Frame, row: usize) {
    let shown = shown.as_array().unwrap();
    assert_eq!(
        shown.len(),
        manifest.features.len(),
        "every feature is shown"
    );
    for ((feature, column), cell) in manifest.features.iter().zip(&frame.columns).zip(shown) {
        assert_eq!(cell["id"], feature.id.as_str());
        let text = cell["value"].as_str().unwrap();
        match column {
            FrameColumn::Numeric(v) => assert_eq!(
                text.parse::<f64>().unwrap(),
                v[row],
                "feature {}",
                feature.id
            ),
            FrameColumn::Categorical(v) => assert_eq!(text, v[row], "feature {}", feature.id),
        }
    }
}

/// The top `n` weighted features of a row for a linear model, computed here from the stored model.
fn weighted_features(
    model: &StoredModel,
    manifest: &Manifest,
    frame: &Frame,
    row: usize,
    n: usize,
) -> Vec<(String, f64)> {
    let x = model_encoder(model)
        .transform(manifest, frame, Some(&[row]))
        .unwrap();
    let scaling = model.scaling.as_ref().expect("a standardised model");
    let coefficients = model.coefficients.as_ref().expect("a linear model");
    let mut products: Vec<(String, f64)> = model
        .columns
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let z = (x[[0, j]] - scaling.mean[j]) / scaling.scale[j];
            (c.name(), z * coefficients[j])
        })
        .collect();
    products.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    products.truncate(n);
    products
}

async fn stored<T: serde::de::DeserializeOwned>(store: &dyn Store, key: &str) -> T {
    let bytes = store
        .get(key)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{key} is stored"));
    serde_json::from_slice(&bytes).unwrap()
}

async fn stored_detection(store: &dyn Store, id: u64, name: &str) -> DetectionResult {
    let bytes = store
        .hget(&keys::detections(id), name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("detection {name} is stored"));
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diadem_panels_follow_the_folds_and_describe_the_instances_of_a_cell_and_a_bin() {
    let tools = BrowserTools::find().unwrap_or_else(|e| panic!("{e:#}"));
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let mut spec = DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::LogisticRegression {
            c: vec![0.1, 1.0],
            penalty: vec![Penalty::L2],
            optim_algo: Default::default(),
        },
        ValidationSpec::Cv { num_folds: 3 },
    );
    spec.num_folds = 2;
    let (id, store) = run_experiment(&paths, spec).await;

    // Fold 1's test detection: a cell with instances at 30 %, and the fullest histogram bin.
    let fold = 1u32;
    let test = stored_detection(store.as_ref(), id, "test-fold-1").await;
    let at = &test.thresholds[30];
    assert_eq!((at.threshold * 100.0).round(), 30.0);
    let (cell, count) = if at.confusion.fp > 0 {
        ("fp", at.confusion.fp)
    } else {
        ("fn", at.confusion.fn_)
    };
    assert!(count > 0, "the model makes errors at 30 %");
    let h = &test.histogram;
    let bin = (0..h.benign.len())
        .filter(|&b| h.benign[b] + h.malicious[b] > 0)
        .min_by_key(|&b| h.benign[b] + h.malicious[b])
        .expect("a bin holds instances");

    let (addr, server) = serve_dashboard(store.clone(), &paths).await;
    let url = format!("http://{addr}/SecuML/{id}/");
    let screenshot =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser_diadem_folds.png");
    let plan = json!({ "fold": fold, "tab": "test", "cell": cell, "percent": 30, "bin": bin });
    let reading = tools.drive_diadem_panels(&url, &plan, &screenshot).await;
    server.abort();
    let reading = reading.unwrap_or_else(|e| panic!("{e:#}"));

    assert_eq!(
        reading["tabs"],
        json!(["Train", "Cross Validation", "Test"]),
        "SecuML's tabs"
    );
    assert_eq!(reading["initial"], "test-fold-0");
    assert_eq!(reading["fold"]["folds"], json!([0, 1, 2]));
    assert_eq!(reading["detection"], "test-fold-1");

    // Cross Validation tab: fold 1's search, and the statistics across folds.
    let summary: TrainSummary = stored(store.as_ref(), &keys::fold_train_summary(id, fold)).await;
    let candidates = reading["fold"]["cv"]["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), summary.candidates.len());
    let best: Vec<usize> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c["best"] == true)
        .map(|(i, _)| i)
        .collect();
    let stored_best = summary
        .candidates
        .iter()
        .position(|c| c.hyper == summary.best)
        .unwrap();
    assert_eq!(best, vec![stored_best], "the best candidate is highlighted");
    let mut detections = Vec::new();
    for k in 0..3 {
        for side in ["train", "test"] {
            detections
                .push(stored_detection(store.as_ref(), id, &format!("{side}-fold-{k}")).await);
        }
    }
    let statistics = fold_statistics(&detections, 3);
    let shown = reading["fold"]["cv"]["statistics"].as_array().unwrap();
    assert!(shown.len() >= 6, "{shown:?}");
    for row in shown {
        let indicator = row["indicator"].as_str().unwrap();
        let want = &statistics["test"][indicator];
        assert!(
            (row["test_mean"].as_f64().unwrap() - want.mean).abs() < 1e-12,
            "{indicator}"
        );
        assert!(
            (row["test_std"].as_f64().unwrap() - want.std).abs() < 1e-12,
            "{indicator}"
        );
        let train = &statistics["train"][indicator];
        assert!(
            (row["train_mean"].as_f64().unwrap() - train.mean).abs() < 1e-12,
            "{indicator}"
        );
    }
    assert!(statistics["test"]["auc"].std > 0.0, "the folds differ");

    // The confusion-matrix cell lists the instances of the predictions file in that cell.
    let p = stored_predictions(&paths, &test);
    let threshold = 0.30;
    let in_cell = ranked(&p, |i| match cell {
        "fp" => p.labels[i] == Some(false) && p.values[i] > threshold,
        _ => p.labels[i] == Some(true) && p.values[i] <= threshold,
    });
    let list = &reading["cell"]["list"];
    assert_eq!(reading["cell"]["count"], count);
    assert_eq!(list["total"], in_cell.len());
    assert_eq!(
        in_cell.len() as u64,
        count,
        "the file agrees with the stored matrix"
    );
    assert_eq!(
        list["title"],
        if cell == "fp" {
            "False Positives"
        } else {
            "Undetected"
        }
    );
    let shown_ids = listed_ids(list);
    assert_eq!(shown_ids.len(), in_cell.len().min(100), "up to 100 a page");
    assert_eq!(shown_ids, in_cell[..shown_ids.len()]);

    // Its first instance: every feature value, and the weighted features of fold 1's model.
    let instance = &reading["cell"]["instance"];
    assert_eq!(instance["instance_id"], in_cell[0]);
    let (manifest, frame, row) = dataset_row(&paths, "train20", in_cell[0]);
    check_features(&instance["features"], &manifest, &frame, row);
    let model: StoredModel = stored(store.as_ref(), &keys::model_of(id, Some(fold))).await;
    let want = weighted_features(&model, &manifest, &frame, row, 15);
    let got = instance["weighted"]["rows"].as_array().unwrap();
    assert_eq!(instance["weighted"]["unavailable"], Value::Null);
    assert_eq!(got.len(), want.len());
    for (g, (name, product)) in got.iter().zip(&want) {
        assert_eq!(g["feature"], name.as_str());
        assert!(
            (g["product"].as_f64().unwrap() - product).abs() < 1e-9,
            "{name}"
        );
        let c = model
            .columns
            .iter()
            .position(|c| &c.name() == name)
            .unwrap();
        assert_eq!(
            g["coefficient"].as_f64().unwrap(),
            model.coefficients.as_ref().unwrap()[c]
        );
    }

    // The histogram bin lists the predictions between its edges.
    let (lo, hi) = (h.edges[bin], h.edges[bin + 1]);
    let in_bin = ranked(&p, |i| histogram_bin(p.values[i], &h.edges) == Some(bin));
    assert_eq!(
        reading["bin"]["title"],
        format!("Predictions between {lo:.2} and {hi:.2}")
    );
    assert_eq!(reading["bin"]["total"], in_bin.len());
    let shown_bin = listed_ids(&reading["bin"]);
    assert_eq!(shown_bin, in_bin[..shown_bin.len()]);
    for r in reading["bin"]["rows"].as_array().unwrap() {
        let score = r["score"].as_f64().unwrap();
        assert!(score >= lo && score <= hi, "{score} in [{lo}, {hi}]");
    }
    assert!(screenshot.is_file());
}

/// A copy of NSL-KDD's `train20` and of `test` twice (`test` and `test2`) in a new input folder.
fn two_validation_datasets(tmp: &std::path::Path) -> Paths {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/NSL-KDD");
    let input = tmp.join("input");
    for (from, to) in [("train20", "train20"), ("test", "test"), ("test", "test2")] {
        copy_dir(&source.join(from), &input.join("NSL-KDD").join(to));
    }
    Paths {
        input_dir: input,
        data_dir: tmp.join("data"),
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diadem_page_selects_test_datasets_and_shows_a_forest_s_importances_and_family_rates() {
    let tools = BrowserTools::find().unwrap_or_else(|e| panic!("{e:#}"));
    let tmp = tempfile::tempdir().unwrap();
    let paths = two_validation_datasets(tmp.path());
    let mut model = ModelSpec::secuml_default("RandomForest").unwrap();
    if let ModelSpec::RandomForest { n_estimators, .. } = &mut model {
        *n_estimators = vec![10];
    }
    let mut spec = DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        model,
        ValidationSpec::ValidationDatasets {
            datasets: vec!["test".into(), "test2".into()],
        },
    );
    spec.num_folds = 2;
    let (id, store) = run_experiment(&paths, spec).await;
    let test = stored_detection(store.as_ref(), id, "validation:test").await;
    assert!(
        !test.family_detection.is_empty(),
        "NSL-KDD's test set has families"
    );

    let (addr, server) = serve_dashboard(store.clone(), &paths).await;
    let url = format!("http://{addr}/SecuML/{id}/");
    let screenshot =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser_diadem_forest.png");
    let plan = json!({
        "datasets": ["validation:test2", "validation:test"],
        "cell": "tp", "percent": 50,
        "families": true, "interpretation": true,
    });
    let reading = tools.drive_diadem_panels(&url, &plan, &screenshot).await;
    server.abort();
    let reading = reading.unwrap_or_else(|e| panic!("{e:#}"));

    assert_eq!(
        reading["tabs"],
        json!(["Train", "Cross Validation", "Validation"])
    );
    assert_eq!(reading["initial"], "validation:test");
    assert_eq!(
        reading["datasets"]["options"],
        json!([
            { "value": "validation:test", "text": "test" },
            { "value": "validation:test2", "text": "test2" },
        ])
    );
    let shown = reading["datasets"]["shown"].as_array().unwrap();
    assert_eq!(shown[0]["detection"], "validation:test2");
    assert!(
        shown[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Dataset test2:"),
        "{shown:?}"
    );
    assert_eq!(reading["detection"], "validation:test");

    // The family table of the detection shown: every family with its stored counts and rate.
    let families = reading["families"].as_array().unwrap();
    assert_eq!(families.len(), test.family_detection.len());
    for f in families {
        let stored = &test.family_detection[f["family"].as_str().unwrap()];
        assert_eq!(f["detected"], stored.detected);
        assert_eq!(f["n"], stored.n);
        assert_eq!(f["rate"], format!("{:.2}%", stored.detection_rate * 100.0));
    }

    // The importances chart: the top 15 of the stored importances.
    let summary: TrainSummary = stored(store.as_ref(), &keys::train_summary(id)).await;
    assert!(!summary.importances.is_empty() && summary.coefficients.is_empty());
    let mut top = summary.importances.clone();
    top.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    top.truncate(15);
    let interpretation = &reading["interpretation"];
    assert_eq!(interpretation["title"], "Features Importance");
    let names: Vec<&str> = top.iter().map(|c| c.feature.as_str()).collect();
    assert_eq!(interpretation["features"], json!(names));
    let values: Vec<f64> = top.iter().map(|c| c.value).collect();
    assert_eq!(interpretation["values"], json!(values));

    // A forest has no weighted features; its instances still show their features.
    let instance = &reading["cell"]["instance"];
    let unavailable = instance["weighted"]["unavailable"].as_str().unwrap();
    assert!(
        unavailable.contains("not available for RandomForest"),
        "{unavailable}"
    );
    let first = instance["instance_id"].as_i64().unwrap();
    let (manifest, frame, row) = dataset_row(&paths, "test", first);
    check_features(&instance["features"], &manifest, &frame, row);
    let p = stored_predictions(&paths, &test);
    let tp = ranked(&p, |i| p.labels[i] == Some(true) && p.values[i] > 0.5);
    assert_eq!(reading["cell"]["list"]["total"], tp.len());
    assert_eq!(first, tp[0]);
}
