//! Every model class through the whole DIADEM pipeline (plan, search or not, refit, stored
//! model, detections), and AlreadyTrained applying a stored model to new data.
//!
//! The parity of each class with scikit-learn is checked in the engine, on NSL-KDD; here the
//! question is whether the pipeline carries every class end to end.

use secuml_coordinator::config::Paths;
use secuml_coordinator::embedded::{run_diadem, DiademOutcome};
use secuml_proto::{
    keys, AnnotationsSource, DiademSpec, ModelOutput, ModelSpec, StoredModel, Supervision,
    ValidationSpec, MODEL_FORMAT_VERSION,
};
use secuml_runtime::{FileStore, Store};

/// Writes `<input>/Gaussians/<dataset>/` in SecuML's layout: 400 rows of three features,
/// benign rows around 0 and 3 % malicious rows, rare and away from them (around 3), as an
/// anomaly detector expects; every `unlabeled_every`-th row unlabelled (0: none).
fn write_rare_anomalies(input: &std::path::Path, dataset: &str, seed: u64, unlabeled_every: usize) {
    let dir = input.join("Gaussians").join(dataset);
    std::fs::create_dir_all(dir.join("features")).unwrap();
    let mut state = seed;
    let mut uniform = move || {
        // SplitMix64.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut idents = String::from("instance_id,ident,label,family\n");
    let mut features = String::from("instance_id,f0,f1,f2\n");
    for i in 0..400 {
        let malicious = i % 33 == 3;
        let shift = if malicious { 3.0 } else { 0.0 };
        let mut normal = || {
            let (u, v) = (uniform().max(1e-300), uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        };
        let f: Vec<f64> = (0..3).map(|_| shift + normal()).collect();
        let label = if unlabeled_every > 0 && i % unlabeled_every == 0 {
            String::new()
        } else {
            u8::from(malicious).to_string()
        };
        let family = if malicious { "attack" } else { "normal" };
        idents.push_str(&format!("{},host-{},{label},{family}\n", i + 1, i + 1));
        features.push_str(&format!("{},{},{},{}\n", i + 1, f[0], f[1], f[2]));
    }
    std::fs::write(dir.join("idents.csv"), idents).unwrap();
    std::fs::write(dir.join("features/features.csv"), features).unwrap();
}

/// Two datasets of one project, `train` (every 4th row unlabelled) and `valid`.
fn gaussians(tmp: &std::path::Path) -> Paths {
    let input = tmp.join("input");
    write_rare_anomalies(&input, "train", 11, 4);
    write_rare_anomalies(&input, "valid", 12, 0);
    Paths {
        input_dir: input,
        data_dir: tmp.join("data"),
    }
}

fn spec(model: ModelSpec, validation: ValidationSpec) -> DiademSpec {
    let mut spec = DiademSpec::with_defaults("Gaussians", "train", model, validation);
    spec.num_folds = 3;
    spec.seed = 3;
    spec
}

fn detection<'a>(o: &'a DiademOutcome, name: &str) -> &'a secuml_proto::DetectionResult {
    o.results
        .detections
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no detection {name}"))
}

async fn stored_model(paths: &Paths, experiment_id: u64) -> StoredModel {
    let store = FileStore::open(paths.store_dir()).unwrap();
    let bytes = store
        .get(&keys::model(experiment_id))
        .await
        .unwrap()
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Every class the engine implements, each with a small configuration (the same grids as
/// SecuML's where they are cheap on 400 rows).
fn classes() -> Vec<ModelSpec> {
    use secuml_proto::hyper::*;
    let mut specs = Vec::new();
    // LabelPropagation is added below with another kernel.
    for class in ModelSpec::CLASS_NAMES
        .into_iter()
        .filter(|c| *c != "LabelPropagation")
    {
        let mut spec = ModelSpec::secuml_default(class).unwrap();
        match &mut spec {
            ModelSpec::LogisticRegression { c, .. } | ModelSpec::Svc { c } => c.truncate(2),
            ModelSpec::DecisionTree { limits, .. } => limits.max_depth.truncate(2),
            ModelSpec::RandomForest { n_estimators, .. } => *n_estimators = vec![20],
            ModelSpec::GradientBoosting {
                n_estimators,
                subsample,
                ..
            } => {
                *n_estimators = vec![30];
                *subsample = vec![0.5];
            }
            _ => {}
        }
        specs.push(spec);
    }
    // The rbf kernel of SecuML (gamma 20) connects few of 400 standardised rows: knn here.
    specs.push(ModelSpec::LabelPropagation(LabelPropagationHyper {
        kernel: PropagationKernel::Knn,
        ..Default::default()
    }));
    specs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_class_runs_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = gaussians(tmp.path());
    for model in classes() {
        let class = model.class_name();
        let candidates = model.candidates().unwrap();
        let supervision = candidates[0].supervision();
        let outcome = run_diadem(
            &paths,
            spec(
                model.clone(),
                ValidationSpec::ValidationDatasets {
                    datasets: vec!["valid".into()],
                },
            ),
            2,
        )
        .await
        .unwrap_or_else(|e| panic!("{class}: {e:#}"));
        let train = &outcome.results.train;
        let searched = supervision == Supervision::Supervised;
        assert_eq!(
            train.candidates.len(),
            if searched { candidates.len() } else { 0 }
        );
        assert_eq!(
            train.num_fits,
            if searched {
                candidates.len() as u32 * 3 + 1
            } else {
                1
            },
            "{class}"
        );
        // The stored records read back, a class without a search (its best score NaN) included:
        // the dashboard's training summary and the job record.
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(FileStore::open(paths.store_dir()).unwrap());
        let reader = secuml_dashboard::Reader::new(store.clone(), paths.datasets_dir());
        let summary = reader
            .train_summary(outcome.experiment_id)
            .await
            .unwrap_or_else(|e| panic!("{class}: {e}"));
        assert_eq!(summary.best_score.is_nan(), !searched, "{class}");
        let job = secuml_coordinator::jobs::load_job(&*store, &outcome.job_id)
            .await
            .unwrap_or_else(|e| panic!("{class}: {e:#}"))
            .expect("the job record");
        assert_eq!(
            job.metrics.contains_key("cv.best_score"),
            searched,
            "{class}"
        );
        let model = stored_model(&paths, outcome.experiment_id).await;
        assert_eq!(model.format_version, MODEL_FORMAT_VERSION);
        assert_eq!(model.hyper.class_name(), class);
        assert_eq!(
            model.scaling.is_some(),
            model.hyper.standardises(),
            "{class}"
        );
        // Semi- and unsupervised classes train on every row of `train`, labelled or not.
        let expected_rows = if searched { 300 } else { 400 };
        assert_eq!(model.n_train, expected_rows, "{class}");
        let valid = detection(&outcome, "validation:valid");
        let auc = valid.auc.expect("labelled validation set");
        // The malicious rows are rare and about 5 standard deviations away: every class, with
        // labels or without, ranks them first.
        let floor = 0.9;
        assert!(auc > floor, "{class}: validation AUC {auc}");
        assert_eq!(valid.thresholds.len(), 101, "{class}");
        if model.output == ModelOutput::Score {
            let q = model
                .score_quantiles
                .as_ref()
                .expect("quantiles of a score model");
            assert_eq!(q.len(), 101);
            assert!(q.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_trained_applies_a_stored_model_to_new_data() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = gaussians(tmp.path());
    let validation = ValidationSpec::ValidationDatasets {
        datasets: vec!["valid".into()],
    };
    let mut lr = ModelSpec::default_logistic_regression();
    if let ModelSpec::LogisticRegression { c, .. } = &mut lr {
        c.truncate(1);
    }
    let trained = run_diadem(&paths, spec(lr, validation.clone()), 2)
        .await
        .unwrap();
    let applied = run_diadem(
        &paths,
        spec(
            ModelSpec::AlreadyTrained {
                model_exp_id: trained.experiment_id,
            },
            validation.clone(),
        ),
        2,
    )
    .await
    .unwrap();
    assert_ne!(applied.experiment_id, trained.experiment_id);
    assert_eq!(applied.results.train.num_fits, 0, "no training");
    let (a, b) = (
        detection(&trained, "validation:valid"),
        detection(&applied, "validation:valid"),
    );
    assert_eq!(a.auc, b.auc);
    assert_eq!(a.thresholds, b.thresholds);
    assert_eq!(a.histogram, b.histogram);
    assert_eq!(
        applied.results.train.coefficients,
        trained.results.train.coefficients
    );

    // An experiment with no model: refused before any task or experiment, saying so.
    let experiments = |paths: &Paths| {
        let store = FileStore::open(paths.store_dir()).unwrap();
        async move { store.hgetall(&keys::experiments()).await.unwrap().len() }
    };
    let before = experiments(&paths).await;
    let missing = run_diadem(
        &paths,
        spec(
            ModelSpec::AlreadyTrained { model_exp_id: 999 },
            validation.clone(),
        ),
        1,
    )
    .await
    .unwrap_err();
    assert!(
        format!("{missing:#}").contains("experiment 999 has no stored model"),
        "{missing:#}"
    );
    assert_eq!(
        experiments(&paths).await,
        before,
        "no experiment for a refusal"
    );

    // A validation dataset without the model's features: refused before any task, by name.
    write_rare_anomalies(&paths.input_dir, "other", 13, 0);
    let features = paths
        .input_dir
        .join("Gaussians/other/features/features.csv");
    let text = std::fs::read_to_string(&features).unwrap();
    std::fs::write(&features, text.replacen("f0,f1,f2", "g0,g1,g2", 1)).unwrap();
    let mut on_other = spec(
        ModelSpec::AlreadyTrained {
            model_exp_id: trained.experiment_id,
        },
        ValidationSpec::ValidationDatasets {
            datasets: vec!["other".into()],
        },
    );
    on_other.dataset = "other".into();
    let unfit = run_diadem(&paths, on_other, 1).await.unwrap_err();
    assert!(
        format!("{unfit:#}").contains(&format!(
            "validation dataset Gaussians/other has no feature `f0`, which the model of experiment {}",
            trained.experiment_id
        )),
        "{unfit:#}"
    );
    assert_eq!(
        experiments(&paths).await,
        before,
        "no experiment for a refusal"
    );

    // A model of another format version is refused with both versions named.
    let store = FileStore::open(paths.store_dir()).unwrap();
    let key = keys::model(trained.experiment_id);
    let mut value: serde_json::Value =
        serde_json::from_slice(&store.get(&key).await.unwrap().unwrap()).unwrap();
    value["format_version"] = serde_json::json!(MODEL_FORMAT_VERSION + 1);
    store
        .set(&key, &serde_json::to_vec(&value).unwrap())
        .await
        .unwrap();
    let refused = run_diadem(
        &paths,
        spec(
            ModelSpec::AlreadyTrained {
                model_exp_id: trained.experiment_id,
            },
            validation,
        ),
        1,
    )
    .await
    .unwrap_err();
    let text = format!("{refused:#}");
    assert!(
        text.contains(&format!("format version {}", MODEL_FORMAT_VERSION + 1))
            && text.contains(&format!("reads version {MODEL_FORMAT_VERSION}")),
        "{text}"
    );

    // Outside ValidationDatasets there is nothing new to apply the model to.
    let mut bad = spec(
        ModelSpec::AlreadyTrained {
            model_exp_id: trained.experiment_id,
        },
        ValidationSpec::RandomSplit { test_size: 0.1 },
    );
    bad.annotations = AnnotationsSource::GroundTruth;
    assert_eq!(bad.validate().unwrap_err().param, "validation-mode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anomaly_detector_trains_on_benign_rows_only() {
    // Novelty detection: the training rows are all benign, the validation rows are not.
    let tmp = tempfile::tempdir().unwrap();
    let paths = gaussians(tmp.path());
    let idents = paths.input_dir.join("Gaussians/train/idents.csv");
    let benign: String = std::fs::read_to_string(&idents)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, line)| match i {
            0 => format!("{line}\n"),
            _ => {
                let f: Vec<&str> = line.split(',').collect();
                format!("{},{},0,normal\n", f[0], f[1])
            }
        })
        .collect();
    std::fs::write(&idents, benign).unwrap();
    let validation = ValidationSpec::ValidationDatasets {
        datasets: vec!["valid".into()],
    };
    for class in ["IsolationForest", "Lof", "OneClassSvm", "EllipticEnvelope"] {
        let model = ModelSpec::secuml_default(class).unwrap();
        let outcome = run_diadem(&paths, spec(model, validation.clone()), 2)
            .await
            .unwrap_or_else(|e| panic!("{class} on benign rows: {e:#}"));
        let auc = detection(&outcome, "validation:valid").auc.unwrap();
        assert!(auc > 0.9, "{class}: validation AUC {auc}");
        assert_eq!(detection(&outcome, "train").auc, None, "{class}: one class");
    }
    // A supervised class still needs both classes in every fold of its search.
    let err = run_diadem(
        &paths,
        spec(ModelSpec::default_logistic_regression(), validation),
        2,
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").contains(
            "0 malicious (label 1) instance(s) of Gaussians/train, fewer than the 3 folds"
        ),
        "{err:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anomaly_detector_trains_on_a_dataset_without_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = gaussians(tmp.path());
    let idents = paths.input_dir.join("Gaussians/train/idents.csv");
    let unlabelled: String = std::fs::read_to_string(&idents)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            format!("{},{}\n", f[0], f[1])
        })
        .collect();
    std::fs::write(&idents, unlabelled).unwrap();
    for validation in [
        ValidationSpec::ValidationDatasets {
            datasets: vec!["valid".into()],
        },
        ValidationSpec::UnlabeledLabeled,
    ] {
        let model = ModelSpec::secuml_default("IsolationForest").unwrap();
        let outcome = run_diadem(&paths, spec(model, validation.clone()), 2)
            .await
            .unwrap_or_else(|e| panic!("{validation:?}: {e:#}"));
        match validation {
            // Every row is unlabelled: every row is predicted.
            ValidationSpec::UnlabeledLabeled => {
                assert_eq!(detection(&outcome, "test").n_instances, 400);
            }
            _ => {
                let valid = detection(&outcome, "validation:valid");
                assert_eq!(valid.n_instances, 400);
                assert!(valid.auc.unwrap() > 0.9, "validation AUC {:?}", valid.auc);
            }
        }
    }
    // A supervised class still needs the labels, and says where to get them.
    let err = run_diadem(
        &paths,
        spec(
            ModelSpec::default_logistic_regression(),
            ValidationSpec::ValidationDatasets {
                datasets: vec!["valid".into()],
            },
        ),
        2,
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("has no label column in idents.csv"),
        "{err:#}"
    );
}
