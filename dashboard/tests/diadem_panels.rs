//! Route tests of the DIADEM panels: fold training summaries and statistics, the instances of a
//! confusion-matrix cell or a histogram bin, and an instance's features and weighted features, over a
//! real ingested dataset, a predictions file and a stored model.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secuml_engine::dataset::{ingest, Encoder, IngestOptions, Manifest};
use secuml_engine::predictions::{write_predictions, Predictions};
use secuml_proto::fold_stats::fold_statistics;
use secuml_proto::{
    keys, DataRef, DetectionResult, EncodedColumn, Hyper, ModelOutput, Penalty, StandardScaling,
    StoredModel, MODEL_FORMAT_VERSION,
};
use secuml_runtime::Store;
use serde_json::Value;
use warp::http::StatusCode;

const PROJECT: &str = "Toy";
const DATASET: &str = "set";
/// The linear experiment.
const LINEAR: u64 = 7;
/// An experiment with a random forest's model over the same predictions.
const FOREST: u64 = 8;
/// A cross-validation experiment.
const FOLDS: u64 = 9;

/// An instance: id, label, family, x (numeric), flag (binary), proto (categorical), predicted value.
type Row = (i64, bool, &'static str, f64, f64, &'static str, f64);

/// The instances of the dataset.
const ROWS: [Row; 10] = [
    (100, false, "", 1.5, 0.0, "tcp", 0.05),
    (101, true, "dos", -2.0, 1.0, "udp", 0.92),
    (102, false, "", 3.0, 0.0, "tcp", 0.41),
    (103, true, "probe", 4.0, 1.0, "icmp", 0.33),
    (104, false, "", 0.25, 0.0, "tcp", 0.12),
    (105, true, "dos", 7.5, 1.0, "udp", 0.77),
    (106, false, "", -1.0, 1.0, "icmp", 0.66),
    (107, true, "dos", 2.5, 0.0, "tcp", 0.35),
    (108, false, "", 0.0, 0.0, "udp", 0.30),
    (109, true, "probe", 5.0, 1.0, "tcp", 0.99),
];

struct Fixture {
    _tmp: tempfile::TempDir,
    datasets: PathBuf,
    store: Arc<dyn Store>,
    manifest: Manifest,
}

impl Fixture {
    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        support::request_json(&self.store, self.datasets.clone(), path).await
    }
}

fn predictions_file(experiment: u64) -> String {
    format!("{PROJECT}/{DATASET}/predictions/{experiment}/test.parquet")
}

fn write_input(root: &Path) -> PathBuf {
    let input = root.join("in");
    std::fs::create_dir_all(input.join("features")).unwrap();
    let mut idents = String::from("instance_id,ident,label,family\n");
    let mut features = String::from("instance_id,x,flag,proto\n");
    for (id, label, family, x, flag, proto, _) in ROWS {
        idents.push_str(&format!("{id},host-{id},{},{family}\n", u8::from(label)));
        features.push_str(&format!("{id},{x},{flag},{proto}\n"));
    }
    std::fs::write(input.join("idents.csv"), idents).unwrap();
    std::fs::write(input.join("features/features.csv"), features).unwrap();
    input
}

fn model(manifest: &Manifest, hyper: Hyper, coefficients: Option<Vec<f64>>) -> StoredModel {
    let columns: Vec<EncodedColumn> = Encoder::fit(manifest)
        .columns()
        .iter()
        .map(|(feature, category)| EncodedColumn {
            feature: feature.clone(),
            category: category.clone(),
        })
        .collect();
    let n = columns.len();
    StoredModel {
        format_version: MODEL_FORMAT_VERSION,
        hyper,
        trained_on: DataRef {
            project: PROJECT.into(),
            dataset: DATASET.into(),
            manifest_sha256: "0".repeat(64),
        },
        columns,
        scaling: Some(StandardScaling {
            mean: (0..n).map(|j| 0.5 * j as f64).collect(),
            scale: (0..n).map(|j| 1.0 + j as f64).collect(),
        }),
        output: ModelOutput::Probability,
        score_quantiles: None,
        coefficients,
        importances: None,
        family_coefficients: None,
        n_train: 10,
        iterations: 3,
        classes: None,
        model: serde_json::json!({}),
    }
}

async fn put_detection(store: &dyn Store, id: u64, d: &DetectionResult) {
    store
        .hset(
            &keys::detections(id),
            &d.name,
            &serde_json::to_vec(d).unwrap(),
        )
        .await
        .unwrap();
}

async fn put_json(store: &dyn Store, key: &str, value: &impl serde::Serialize) {
    store
        .set(key, &serde_json::to_vec(value).unwrap())
        .await
        .unwrap();
}

async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");
    let input = write_input(tmp.path());
    let opts = IngestOptions {
        shard_rows: Some(3),
        ..IngestOptions::new(PROJECT, DATASET)
    };
    let manifest = ingest(&input, &datasets.join(PROJECT).join(DATASET), &opts).unwrap();
    assert_eq!(manifest.shards.len(), 4);
    write_predictions(
        &datasets.join(predictions_file(LINEAR)),
        &Predictions {
            instance_ids: ROWS.iter().map(|r| r.0).collect(),
            idents: ROWS.iter().map(|r| format!("host-{}", r.0)).collect(),
            scores: ROWS.iter().map(|r| r.6).collect(),
            values: ROWS.iter().map(|r| r.6).collect(),
            threshold: 0.5,
            labels: ROWS.iter().map(|r| Some(r.1)).collect(),
            families: ROWS
                .iter()
                .map(|r| (!r.2.is_empty()).then(|| r.2.to_string()))
                .collect(),
            predicted_families: None,
        },
    )
    .unwrap();

    let store = support::fresh_store();
    for (id, name) in [(LINEAR, "linear"), (FOREST, "forest"), (FOLDS, "folds")] {
        support::put_record(store.as_ref(), id, "Diadem", PROJECT, DATASET, name).await;
    }
    let mut test = support::detection("test", DATASET, 3);
    test.predictions_file = Some(predictions_file(LINEAR));
    put_detection(store.as_ref(), LINEAR, &test).await;
    put_detection(store.as_ref(), FOREST, &test).await;
    let mut train = support::detection("train", DATASET, 4);
    train.predictions_file = None;
    put_detection(store.as_ref(), LINEAR, &train).await;
    let hyper = Hyper::LogisticRegression {
        c: 1.0,
        penalty: Penalty::L2,
        optim_algo: Default::default(),
    };
    let n = Encoder::fit(&manifest).columns().len();
    let coefficients = (0..n).map(|j| [0.8, -1.5, 0.3, 2.0, -0.7][j % 5]).collect();
    let linear = model(&manifest, hyper, Some(coefficients));
    put_json(store.as_ref(), &keys::model_of(LINEAR, None), &linear).await;
    let forest = model(&manifest, Hyper::RandomForest(Default::default()), None);
    put_json(store.as_ref(), &keys::model_of(FOREST, None), &forest).await;

    for fold in 0..3u32 {
        for side in ["train", "test"] {
            let d = support::detection(
                &format!("{side}-fold-{fold}"),
                DATASET,
                10 + u64::from(fold),
            );
            put_detection(store.as_ref(), FOLDS, &d).await;
        }
        let mut summary = support::train_summary(&["x", "flag"]);
        summary.n_train = 100 + u64::from(fold);
        put_json(
            store.as_ref(),
            &keys::fold_train_summary(FOLDS, fold),
            &summary,
        )
        .await;
    }
    Fixture {
        _tmp: tmp,
        datasets,
        store,
        manifest,
    }
}

fn ids(page: &Value) -> Vec<i64> {
    page["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instance_id"].as_i64().unwrap())
        .collect()
}

/// The ids of the rows `keep` selects, highest value first.
fn expected(keep: impl Fn(&Row) -> bool) -> Vec<i64> {
    let mut rows: Vec<_> = ROWS.iter().filter(|r| keep(r)).collect();
    rows.sort_by(|a, b| b.6.total_cmp(&a.6));
    rows.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn confusion_cells_list_their_instances_at_the_threshold_highest_score_first() {
    let f = fixture().await;
    let base = format!("/api/experiments/{LINEAR}/detections/test/predictions");
    let t = 0.35;
    let cases: [(&str, &str, Vec<i64>); 4] = [
        ("tp", "True Positives", expected(|r| r.1 && r.6 > t)),
        ("fp", "False Positives", expected(|r| !r.1 && r.6 > t)),
        ("fn", "Undetected", expected(|r| r.1 && r.6 <= t)),
        ("tn", "True Negatives", expected(|r| !r.1 && r.6 <= t)),
    ];
    let mut seen = 0;
    for (cell, title, want) in cases {
        let (status, page) = f
            .get_json(&format!("{base}?cell={cell}&threshold={t}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["title"], title);
        assert_eq!(page["cell"], cell);
        assert_eq!(page["threshold"], t);
        assert_eq!(ids(&page), want, "{cell}");
        assert_eq!(page["total"], want.len());
        assert_eq!(page["limit"], 100, "the default page is SecuML's 100");
        seen += want.len();
    }
    assert_eq!(seen, ROWS.len(), "every labelled row is in one cell");
    // 107 has a value of exactly 0.35: not above the threshold, so undetected.
    let (_, undetected) = f.get_json(&format!("{base}?cell=fn&threshold=0.35")).await;
    assert!(ids(&undetected).contains(&107));

    let (_, first) = f
        .get_json(&format!("{base}?cell=tp&threshold=0&limit=2"))
        .await;
    assert_eq!(ids(&first), vec![109, 101]);
    let (_, second) = f
        .get_json(&format!("{base}?cell=tp&threshold=0&limit=2&offset=2"))
        .await;
    assert_eq!(ids(&second), vec![105, 107]);
    assert_eq!(second["instances"][0]["rank"], 2);
    let row = &second["instances"][0];
    assert_eq!(row["ident"], "host-105");
    assert_eq!(row["score"], 0.77);
    assert_eq!(
        row["alert"], true,
        "0.77 is above the detection threshold 0.5"
    );
    assert_eq!(row["label"], "malicious");
    assert_eq!(row["family"], "dos");
}

#[tokio::test]
async fn histogram_bins_list_the_predictions_between_their_edges() {
    let f = fixture().await;
    let base = format!("/api/experiments/{LINEAR}/detections/test/predictions");
    let (status, page) = f.get_json(&format!("{base}?bin=3")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["title"], "Predictions between 0.30 and 0.40");
    assert_eq!(page["low"], 0.3);
    assert_eq!(page["high"], 0.4);
    assert_eq!(ids(&page), expected(|r| (0.3..0.4).contains(&r.6)));
    assert_eq!(
        ids(&page),
        vec![107, 103, 108],
        "0.30 is in the bin from 0.30"
    );
    let (_, last) = f.get_json(&format!("{base}?bin=9")).await;
    assert_eq!(ids(&last), vec![109, 101]);
    let total: u64 = bins_total(&f, &base).await;
    assert_eq!(total, ROWS.len() as u64);
}

async fn bins_total(f: &Fixture, base: &str) -> u64 {
    let mut total = 0;
    for bin in 0..10 {
        let (_, page) = f.get_json(&format!("{base}?bin={bin}")).await;
        total += page["total"].as_u64().unwrap();
    }
    total
}

#[tokio::test]
async fn bad_lists_are_refused_with_what_was_expected() {
    let f = fixture().await;
    let base = format!("/api/experiments/{LINEAR}/detections/test/predictions");
    let bad = [
        (
            "",
            "give `cell` (tp, fp, fn or tn) with `threshold`, or `bin`",
        ),
        (
            "cell=xx&threshold=0.5",
            "`cell` must be tp, fp, fn or tn, got `xx`",
        ),
        ("cell=fp", "`cell` needs a `threshold`"),
        (
            "cell=fp&threshold=1.5",
            "`threshold` must be a number from 0 to 1, got `1.5`",
        ),
        (
            "cell=fp&threshold=abc",
            "`threshold` must be a number from 0 to 1, got `abc`",
        ),
        (
            "cell=fp&threshold=0.5&bin=2",
            "give `cell` or `bin`, not both",
        ),
        ("bin=10", "`bin` must be from 0 to 9, got `10`"),
        ("bin=-1", "`bin` must be a bin number, got `-1`"),
        (
            "bin=1&limit=0",
            "`limit` must be a whole number from 1 to 100, got `0`",
        ),
        (
            "bin=1&limit=101",
            "`limit` must be a whole number from 1 to 100, got `101`",
        ),
        (
            "bin=1&offset=-3",
            "`offset` must be a whole number of instances, got `-3`",
        ),
    ];
    for (query, message) in bad {
        let (status, body) = f.get_json(&format!("{base}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], "bad_request");
        assert_eq!(
            body["message"],
            format!("bad request: {message}"),
            "{query}"
        );
    }
    let not_found = [
        (
            format!("/api/experiments/{LINEAR}/detections/nope/predictions?bin=1"),
            format!("detection nope of experiment {LINEAR} not found"),
        ),
        (
            "/api/experiments/404/detections/test/predictions?bin=1".to_string(),
            "experiment 404 not found".to_string(),
        ),
        (
            format!("/api/experiments/{LINEAR}/detections/train/predictions?bin=1"),
            format!("predictions of detection train of experiment {LINEAR} not found"),
        ),
    ];
    for (path, message) in not_found {
        let (status, body) = f.get_json(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["code"], "not_found");
        assert_eq!(body["message"], message, "{path}");
    }
}

#[tokio::test]
async fn an_instance_shows_its_prediction_and_every_feature_value() {
    let f = fixture().await;
    let (status, d) = f
        .get_json(&format!(
            "/api/experiments/{LINEAR}/detections/test/instances/106"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["dataset"], DATASET);
    assert_eq!(d["row"], 6);
    assert_eq!(d["prediction"]["ident"], "host-106");
    assert_eq!(d["prediction"]["value"], 0.66);
    assert_eq!(d["prediction"]["label"], "benign");
    let features: Vec<(String, Value)> = d["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap().to_string(), v["value"].clone()))
        .collect();
    assert_eq!(
        features,
        vec![
            ("x".to_string(), serde_json::json!(-1.0)),
            ("flag".to_string(), serde_json::json!(1.0)),
            ("proto".to_string(), serde_json::json!("icmp")),
        ]
    );
    assert_eq!(d["features"][2]["kind"], "categorical");

    for (path, message) in [
        (
            format!("/api/experiments/{LINEAR}/detections/test/instances/999"),
            format!("instance 999 of detection test of experiment {LINEAR} not found"),
        ),
        (
            format!("/api/experiments/{LINEAR}/detections/test/instances/999/weighted-features"),
            format!("instance 999 of detection test of experiment {LINEAR} not found"),
        ),
        (
            format!("/api/experiments/{LINEAR}/detections/test/instances/abc"),
            "api route not found".to_string(),
        ),
        (
            format!("/api/experiments/{LINEAR}/detections/test/instances/..%2F..%2F100"),
            "api route not found".to_string(),
        ),
    ] {
        let (status, body) = f.get_json(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["message"], message, "{path}");
    }
}

#[tokio::test]
async fn weighted_features_are_standardised_values_times_coefficients() {
    let f = fixture().await;
    let (status, w) = f
        .get_json(&format!(
            "/api/experiments/{LINEAR}/detections/test/instances/103/weighted-features?limit=100"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w["available"], true);
    assert_eq!(w["model_class"], "LogisticRegression");
    // Encoded columns: x, flag, then proto=icmp, proto=tcp, proto=udp (instance 103: 4, 1, icmp).
    let encoded = [4.0, 1.0, 1.0, 0.0, 0.0];
    let names = ["x", "flag", "proto=icmp", "proto=tcp", "proto=udp"];
    let coefficients = [0.8, -1.5, 0.3, 2.0, -0.7];
    let mut want: Vec<(String, f64)> = (0..5)
        .map(|j| {
            let z = (encoded[j] - 0.5 * j as f64) / (1.0 + j as f64);
            (names[j].to_string(), z * coefficients[j])
        })
        .collect();
    want.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let got: Vec<(String, f64)> = w["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["feature"].as_str().unwrap().to_string(),
                v["product"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 5);
    for ((gn, gp), (wn, wp)) in got.iter().zip(&want) {
        assert_eq!(gn, wn);
        assert!((gp - wp).abs() < 1e-12, "{gn}: {gp} vs {wp}");
    }
    let x = w["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["feature"] == "x")
        .unwrap();
    assert_eq!(x["value"], 4.0);
    assert_eq!(x["coefficient"], 0.8);
    assert_eq!(x["standardised"], 4.0);
    assert_eq!(f.manifest.features.len(), 3);

    let (_, top) = f
        .get_json(&format!(
            "/api/experiments/{LINEAR}/detections/test/instances/103/weighted-features?limit=2"
        ))
        .await;
    assert_eq!(top["features"].as_array().unwrap().len(), 2);
    assert_eq!(top["num_columns"], 5);

    let (status, forest) = f
        .get_json(&format!(
            "/api/experiments/{FOREST}/detections/test/instances/103/weighted-features"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{forest}");
    assert_eq!(forest["available"], false);
    assert_eq!(forest["model_class"], "RandomForest");
    assert_eq!(forest["features"], serde_json::json!([]));

    let (status, body) = f
        .get_json(&format!(
            "/api/experiments/{LINEAR}/detections/test/instances/103/weighted-features?limit=0"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn stored_paths_outside_the_experiments_dataset_are_refused() {
    let f = fixture().await;
    let cases = [
        (
            Some("../outside.parquet".to_string()),
            DATASET,
            "predictions file `../outside.parquet` is not a relative path of plain names under Toy/",
        ),
        (
            Some(format!("{PROJECT}/{DATASET}/manifest.json")),
            DATASET,
            "predictions file `Toy/set/manifest.json` is not a .parquet file",
        ),
        (
            Some(predictions_file(LINEAR)),
            "../set",
            "dataset `../set` is not a plain dataset name",
        ),
    ];
    for (file, dataset, why) in cases {
        let mut d = support::detection("test", dataset, 3);
        d.predictions_file = file;
        put_detection(f.store.as_ref(), LINEAR, &d).await;
        let (status, body) = f
            .get_json(&format!(
                "/api/experiments/{LINEAR}/detections/test/instances/103"
            ))
            .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["code"], "bad_data");
        assert_eq!(
            body["message"],
            format!(
                "stored record at {} is unreadable: {why}",
                keys::detections(LINEAR)
            )
        );
    }
}

#[tokio::test]
async fn folds_have_their_training_summary_and_statistics_across_folds() {
    let f = fixture().await;
    let (status, fold) = f
        .get_json(&format!("/api/experiments/{FOLDS}/folds/2/train"))
        .await;
    assert_eq!(status, StatusCode::OK, "{fold}");
    assert_eq!(fold["n_train"], 102);
    let (status, body) = f
        .get_json(&format!("/api/experiments/{FOLDS}/folds/3/train"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["message"],
        format!("training summary of fold 3 of experiment {FOLDS} not found")
    );

    let (status, stats) = f
        .get_json(&format!("/api/experiments/{FOLDS}/fold-statistics"))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["num_folds"], 3);
    let detections: Vec<DetectionResult> = (0..3)
        .flat_map(|k| {
            ["train", "test"].map(|s| support::detection(&format!("{s}-fold-{k}"), DATASET, 10 + k))
        })
        .collect();
    let want = fold_statistics(&detections, 3);
    assert_eq!(stats["statistics"], serde_json::to_value(&want).unwrap());
    let rates: Vec<f64> = (0..3)
        .map(|k| {
            detections[2 * k + 1]
                .indicators
                .as_ref()
                .unwrap()
                .detection_rate
        })
        .collect();
    let mean = rates.iter().sum::<f64>() / 3.0;
    let got = stats["statistics"]["test"]["detection_rate"]["mean"]
        .as_f64()
        .unwrap();
    assert!((got - mean).abs() < 1e-12, "{got} vs {mean}");

    let (_, none) = f
        .get_json(&format!("/api/experiments/{LINEAR}/fold-statistics"))
        .await;
    assert_eq!(none["num_folds"], 0);
    assert_eq!(none["statistics"], serde_json::json!({}));
    let (status, _) = f.get_json("/api/experiments/404/fold-statistics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
