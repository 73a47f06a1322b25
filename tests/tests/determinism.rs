//! Same seed, same results, whatever the number of workers.

use secuml_coordinator::embedded::run_diadem;
use secuml_proto::{AnnotationsSource, DiademSpec, ModelSpec, Objective, Penalty, ValidationSpec};
use secuml_tests::{detection_fingerprint, paths_in};

fn spec(seed: u64) -> DiademSpec {
    DiademSpec {
        project: "NSL-KDD".into(),
        dataset: "train20".into(),
        exp_name: Some(format!("determinism-{seed}")),
        model: ModelSpec::LogisticRegression {
            c: vec![0.1, 1.0],
            penalty: vec![Penalty::L1, Penalty::L2],
            optim_algo: Default::default(),
        },
        annotations: AnnotationsSource::GroundTruth,
        validation: ValidationSpec::RandomSplit { test_size: 0.2 },
        num_folds: 3,
        objective: Objective::RocAuc,
        far: secuml_proto::job::DEFAULT_FAR,
        seed,
        shuffle_folds: true,
        detection_threshold: 0.5,
        no_training_detection: false,
        stream_batch: None,
        multiclass: false,
        alerts: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_do_not_depend_on_the_number_of_workers() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let one = run_diadem(&paths, spec(7), 1).await.unwrap();
    let three = run_diadem(&paths, spec(7), 3).await.unwrap();
    assert_ne!(one.experiment_id, three.experiment_id);
    assert_eq!(one.results.train.candidates, three.results.train.candidates);
    assert_eq!(
        one.results.train.coefficients,
        three.results.train.coefficients
    );
    assert_eq!(
        detection_fingerprint(&one.results.detections),
        detection_fingerprint(&three.results.detections)
    );

    // Another seed gives another split: the held-out side differs.
    let other = run_diadem(&paths, spec(8), 2).await.unwrap();
    let test = |o: &secuml_coordinator::embedded::DiademOutcome| {
        o.results
            .detections
            .iter()
            .find(|d| d.name == "test")
            .unwrap()
            .histogram
            .clone()
    };
    assert_ne!(test(&one), test(&other), "the seed drives the split");
}

/// Each cross-validation mode, on a synthetic timestamped dataset: every fold's search,
/// model and detections are the same whatever the number of workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_validation_folds_do_not_depend_on_the_number_of_workers() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input");
    let layout = secuml_tests::GaussiansLayout {
        rows: 360,
        seed: 5,
        timestamps: true,
        unlabeled_every: 0,
    };
    secuml_tests::write_gaussians(&input, "Gaussians", "timed", layout).unwrap();
    let paths = secuml_coordinator::config::Paths {
        input_dir: input,
        data_dir: tmp.path().join("data"),
    };
    for validation in [
        ValidationSpec::Cv { num_folds: 3 },
        ValidationSpec::TemporalCv { num_folds: 2 },
        ValidationSpec::SlidingWindow {
            num_buckets: 5,
            num_train_buckets: 2,
            num_test_buckets: 1,
        },
    ] {
        let mut spec = DiademSpec::with_defaults(
            "Gaussians",
            "timed",
            ModelSpec::LogisticRegression {
                c: vec![0.1, 1.0],
                penalty: vec![Penalty::L1, Penalty::L2],
                optim_algo: Default::default(),
            },
            validation.clone(),
        );
        spec.num_folds = 2;
        spec.shuffle_folds = true;
        spec.seed = 3;
        let one = run_diadem(&paths, spec.clone(), 1).await.unwrap();
        let three = run_diadem(&paths, spec, 3).await.unwrap();
        assert!(!one.results.folds.is_empty(), "{validation:?}");
        assert_eq!(one.results.folds.len(), three.results.folds.len());
        for (a, b) in one.results.folds.iter().zip(&three.results.folds) {
            assert_eq!(a.candidates, b.candidates, "{validation:?}");
            assert_eq!(a.coefficients, b.coefficients, "{validation:?}");
        }
        assert_eq!(
            detection_fingerprint(&one.results.detections),
            detection_fingerprint(&three.results.detections),
            "{validation:?}"
        );
    }
}
