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
use secuml_tests::{write_gaussians, GaussiansLayout};

/// Two Gaussian datasets of one project, `train` (every 4th row unlabelled) and `valid`.
fn gaussians(tmp: &std::path::Path) -> Paths {
    let input = tmp.join("input");
    for (dataset, seed, unlabeled_every) in [("train", 11, 4), ("valid", 12, 0)] {
        let layout = GaussiansLayout {
            rows: 400,
            seed,
            timestamps: false,
            unlabeled_every,
        };
        write_gaussians(&input, "Gaussians", dataset, layout).unwrap();
    }
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

/// The classes the engine implements, each with a small configuration.
fn classes() -> Vec<ModelSpec> {
    let mut lr = ModelSpec::default_logistic_regression();
    if let ModelSpec::LogisticRegression { c, .. } = &mut lr {
        c.truncate(2);
    }
    vec![lr]
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
        // The malicious Gaussian (30 % of the rows) is shifted by about 1.8 standard
        // deviations: supervised classes separate it well; anomaly detectors, which see its
        // rows as the less typical ones, less well but clearly above chance.
        let floor = if searched { 0.8 } else { 0.6 };
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

    // An experiment with no model: the job fails and says so.
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
        format!("{missing:#}").contains("experiment 999 has no model"),
        "{missing:#}"
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
