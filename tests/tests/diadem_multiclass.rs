//! DIADEM `--multiclass` end to end on NSL-KDD families: the search by accuracy on families,
//! the stored model's classes, the detections' accuracy and F1 scores (against scikit-learn's
//! for the same model), the predicted family of every instance in the predictions file, the
//! statistics across outer folds; and the errors of a dataset without families and of a class
//! that cannot learn families.

use arrow_array::{Array, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use secuml_coordinator::config::Paths;
use secuml_coordinator::embedded::run_diadem;
use secuml_coordinator::report::diadem_json;
use secuml_proto::{
    keys, DetectionResult, DiademSpec, ModelSpec, Objective, Penalty, StoredModel, ValidationSpec,
};
use secuml_runtime::{FileStore, Store};
use secuml_tests::{paths_in, repo_root};

/// Tolerance on the test accuracy and F1 macro of a deterministic model against scikit-learn's.
const TOLERANCE: f64 = 0.005;

fn multiclass_spec(model: ModelSpec, validation: ValidationSpec) -> DiademSpec {
    let mut spec = DiademSpec::with_defaults("NSL-KDD", "train20", model, validation);
    spec.multiclass = true;
    spec.objective = Objective::Accuracy;
    spec.num_folds = 2;
    spec
}

async fn stored_model(paths: &Paths, experiment_id: u64, fold: Option<u32>) -> StoredModel {
    let store = FileStore::open(paths.store_dir()).unwrap();
    let bytes = store
        .get(&keys::model_of(experiment_id, fold))
        .await
        .unwrap()
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// (family, predicted family) of every row of a detection's predictions file.
fn predicted_families(paths: &Paths, d: &DetectionResult) -> Vec<(Option<String>, String)> {
    let file = paths
        .datasets_dir()
        .join(d.predictions_file.as_ref().expect("predictions file"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"))
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone()
        };
        let (family, predicted) = (column("family"), column("predicted_family"));
        for i in 0..batch.num_rows() {
            out.push((
                family.is_valid(i).then(|| family.value(i).to_string()),
                predicted.value(i).to_string(),
            ));
        }
    }
    out
}

fn sklearn(name: &str) -> serde_json::Value {
    let path = repo_root().join("tests/fixtures/sklearn_multiclass.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v[name].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logistic_regression_on_families_matches_sklearn_on_the_test_set() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let spec = multiclass_spec(
        ModelSpec::LogisticRegression {
            c: vec![1.0],
            penalty: vec![Penalty::L2],
            optim_algo: Default::default(),
        },
        ValidationSpec::ValidationDatasets {
            datasets: vec!["test".into()],
        },
    );
    let outcome = run_diadem(&paths, spec, 2).await.unwrap();
    let model = stored_model(&paths, outcome.experiment_id, None).await;
    let classes = model
        .classes
        .as_ref()
        .expect("a multiclass model has classes");
    assert_eq!(classes.len(), 22, "train20's families");
    assert!(classes.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert_eq!(outcome.results.train.objective, Objective::Accuracy);
    let search = &outcome.results.train.candidates[0];
    assert!(
        search.mean > 0.9,
        "accuracy on train20's families: {}",
        search.mean
    );

    let test = outcome
        .results
        .detections
        .iter()
        .find(|d| d.name == "validation:test")
        .unwrap();
    let m = test.multiclass.as_ref().expect("multiclass indicators");
    let reference = sklearn("logistic_regression_c1.0_l2");
    let (accuracy, f1_macro) = (
        reference["accuracy"].as_f64().unwrap(),
        reference["f1_macro"].as_f64().unwrap(),
    );
    eprintln!(
        "test accuracy {:.4} (scikit-learn {accuracy:.4}), F1 macro {:.4} (scikit-learn {f1_macro:.4})",
        m.accuracy, m.f1_macro
    );
    assert!((m.accuracy - accuracy).abs() <= TOLERANCE);
    assert!((m.f1_macro - f1_macro).abs() <= TOLERANCE);
    assert_eq!(m.n, 22_544);
    // The binary indicators are not a multiclass model's.
    assert!(test.auc.is_none() && test.thresholds.is_empty() && test.indicators.is_none());
    // The confusion matrix and the predictions file agree with the indicators.
    let k = m.labels.len();
    assert_eq!(m.confusion.len(), k);
    let diagonal: u64 = (0..k).map(|i| m.confusion[i][i]).sum();
    assert!((diagonal as f64 / m.n as f64 - m.accuracy).abs() < 1e-12);
    let rows = predicted_families(&paths, test);
    assert_eq!(rows.len(), 22_544);
    let correct = rows
        .iter()
        .filter(|(f, p)| f.as_deref() == Some(p.as_str()))
        .count();
    assert!((correct as f64 / rows.len() as f64 - m.accuracy).abs() < 1e-12);
    assert!(rows.iter().all(|(_, p)| classes.contains(p)));

    // One coefficient vector per family (22 one-vs-rest models), named and sorted in the
    // training summary.
    let per_family = model
        .family_coefficients
        .as_ref()
        .expect("a multiclass linear model has coefficients per family");
    assert_eq!(
        per_family.iter().map(|f| &f.family).collect::<Vec<_>>(),
        classes.iter().collect::<Vec<_>>()
    );
    assert!(per_family
        .iter()
        .all(|f| f.coefficients.len() == model.columns.len()));
    assert!(model.coefficients.is_none());
    let summary = &outcome.results.train.family_coefficients;
    assert_eq!(summary.len(), 22);
    for (named, raw) in summary.iter().zip(per_family) {
        assert_eq!(named.family, raw.family);
        assert_eq!(named.coefficients.len(), raw.coefficients.len());
        assert!(named
            .coefficients
            .windows(2)
            .all(|w| w[0].value.abs() >= w[1].value.abs()));
        let j = model
            .columns
            .iter()
            .position(|c| c.name() == named.coefficients[0].feature)
            .unwrap();
        assert_eq!(named.coefficients[0].value, raw.coefficients[j]);
    }

    // The dashboard's weighted features of an instance, for each family: their sum is that
    // family's decision value w·z, and one-vs-rest predicts the family of the largest one.
    let reader = secuml_dashboard::Reader::new(
        std::sync::Arc::new(FileStore::open(paths.store_dir()).unwrap()),
        paths.datasets_dir(),
    );
    let all = secuml_dashboard::clustering::PageRequest {
        offset: 0,
        limit: secuml_dashboard::instance::MAX_WEIGHTED_LIMIT,
    };
    for instance_id in [
        rows_instance_id(&paths, test, 0),
        rows_instance_id(&paths, test, 777),
    ] {
        let mut best: Option<(f64, String)> = None;
        for family in classes {
            let w = reader
                .weighted_features(
                    outcome.experiment_id,
                    "validation:test",
                    instance_id,
                    Some(family.clone()),
                    all,
                )
                .await
                .unwrap();
            assert!(w.available && w.family.as_ref() == Some(family));
            assert_eq!(w.features.len(), model.columns.len());
            let value: f64 = w.features.iter().map(|f| f.product).sum();
            if best.as_ref().is_none_or(|(b, _)| value > *b) {
                best = Some((value, family.clone()));
            }
        }
        let by_default = reader
            .weighted_features(
                outcome.experiment_id,
                "validation:test",
                instance_id,
                None,
                all,
            )
            .await
            .unwrap();
        let predicted = by_default
            .family
            .expect("the predicted family's coefficients");
        assert_eq!(best.unwrap().1, predicted, "instance {instance_id}");
    }
    let unknown = reader
        .weighted_features(
            outcome.experiment_id,
            "validation:test",
            rows_instance_id(&paths, test, 0),
            Some("no-such-family".into()),
            all,
        )
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("no-such-family"), "{unknown}");
}

/// The instance id of row `i` of a detection's predictions file.
fn rows_instance_id(paths: &Paths, d: &DetectionResult, i: usize) -> i64 {
    let file = paths
        .datasets_dir()
        .join(d.predictions_file.as_ref().expect("predictions file"));
    secuml_engine::predictions::read_predictions_file(&file)
        .unwrap()
        .rows
        .instance_ids[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_validation_reports_the_mean_and_std_of_the_multiclass_indicators() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let spec = multiclass_spec(
        ModelSpec::secuml_default("GaussianNaiveBayes").unwrap(),
        ValidationSpec::Cv { num_folds: 2 },
    );
    let outcome = run_diadem(&paths, spec, 2).await.unwrap();
    let per_fold: Vec<&DetectionResult> = (0..2)
        .map(|f| {
            outcome
                .results
                .detections
                .iter()
                .find(|d| d.name == format!("test-fold-{f}"))
                .unwrap()
        })
        .collect();
    for (f, d) in per_fold.iter().enumerate() {
        let m = d.multiclass.as_ref().expect("multiclass indicators");
        assert!(
            m.accuracy > 0.5 && m.f1_macro > 0.0 && m.f1_macro <= 1.0,
            "fold {f}: {m:?}"
        );
        assert!((m.f1_micro - m.accuracy).abs() < 1e-12);
        let model = stored_model(&paths, outcome.experiment_id, Some(f as u32)).await;
        assert!(model.classes.is_some());
    }
    let report = diadem_json(&outcome, "http://x/");
    for metric in ["accuracy", "f1_micro", "f1_macro"] {
        let values: Vec<f64> = per_fold
            .iter()
            .map(|d| {
                let m = d.multiclass.as_ref().unwrap();
                match metric {
                    "accuracy" => m.accuracy,
                    "f1_micro" => m.f1_micro,
                    _ => m.f1_macro,
                }
            })
            .collect();
        let mean = (values[0] + values[1]) / 2.0;
        let std = (values[0] - values[1]).abs() / 2.0;
        let stat = &report["fold_statistics"]["test"][metric];
        assert!(
            (stat["mean"].as_f64().unwrap() - mean).abs() < 1e-12,
            "{metric}: {stat}"
        );
        assert!(
            (stat["std"].as_f64().unwrap() - std).abs() < 1e-12,
            "{metric}: {stat}"
        );
    }
    assert!(report["fold_statistics"]["test"].get("auc").is_none());
}

/// `<input>/Flat/<dataset>/`: 60 rows of two features, labels and no family column.
fn write_without_families(input: &std::path::Path) {
    let dir = input.join("Flat").join("plain");
    std::fs::create_dir_all(dir.join("features")).unwrap();
    let mut idents = String::from("instance_id,ident,label\n");
    let mut features = String::from("instance_id,a,b\n");
    for i in 0..60 {
        idents.push_str(&format!("{i},row-{i},{}\n", i % 2));
        features.push_str(&format!("{i},{},{}\n", i % 2, (i * 7 % 11) as f64 / 3.0));
    }
    std::fs::write(dir.join("idents.csv"), idents).unwrap();
    std::fs::write(dir.join("features/features.csv"), features).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataset_without_families_and_an_unsupervised_class_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = Paths {
        input_dir: tmp.path().join("input"),
        data_dir: tmp.path().join("data"),
    };
    write_without_families(&paths.input_dir);
    let mut spec = multiclass_spec(
        ModelSpec::secuml_default("GaussianNaiveBayes").unwrap(),
        ValidationSpec::RandomSplit { test_size: 0.2 },
    );
    spec.project = "Flat".into();
    spec.dataset = "plain".into();
    let error = format!(
        "{:#}",
        run_diadem(&paths, spec.clone(), 1).await.unwrap_err()
    );
    assert!(
        error.contains("Flat/plain") && error.contains("idents.csv") && error.contains("family"),
        "{error}"
    );

    spec.model = ModelSpec::secuml_default("IsolationForest").unwrap();
    let error = spec.validate().unwrap_err().to_string();
    assert!(
        error.contains("multiclass") && error.contains("IsolationForest"),
        "{error}"
    );
    spec.model = ModelSpec::secuml_default("LabelPropagation").unwrap();
    spec.validate().unwrap();
    spec.objective = Objective::RocAuc;
    let error = spec.validate().unwrap_err().to_string();
    assert!(
        error.contains("objective-func") && error.contains("Accuracy"),
        "{error}"
    );
}
