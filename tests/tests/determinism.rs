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
        },
        annotations: AnnotationsSource::GroundTruth,
        validation: ValidationSpec::RandomSplit { test_size: 0.2 },
        num_folds: 3,
        objective: Objective::RocAuc,
        seed,
        shuffle_folds: true,
        detection_threshold: 0.5,
        no_training_detection: false,
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
