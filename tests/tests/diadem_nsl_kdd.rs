//! DIADEM LogisticRegression on NSL-KDD end to end, compared with scikit-learn on the same grid.

use secuml_coordinator::cli::demo_spec;
use secuml_coordinator::embedded::run_diadem;
use secuml_proto::{Hyper, Penalty};
use secuml_tests::{paths_in, sklearn_logreg_reference};

/// Tolerance on each candidate's mean cross-validation ROC AUC (the folds are the same as
/// scikit-learn's; only the solvers' stopping points differ).
const CV_AUC_TOLERANCE: f64 = 0.002;
/// Tolerance on the validation ROC AUC on NSL-KDD test.
const TEST_AUC_TOLERANCE: f64 = 0.005;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logistic_regression_matches_scikit_learn_on_nsl_kdd() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let outcome = run_diadem(&paths, demo_spec(), 2)
        .await
        .expect("the job succeeds");
    let reference = sklearn_logreg_reference();

    let train = &outcome.results.train;
    assert_eq!(train.num_fits, 33, "8 candidates x 4 folds + the refit");
    assert_eq!(train.candidates.len(), 8);
    for (ours, theirs) in train
        .candidates
        .iter()
        .zip(reference["cv_results"].as_array().unwrap())
    {
        let Hyper::LogisticRegression { c, penalty } = ours.hyper;
        assert_eq!(c, theirs["C"].as_f64().unwrap(), "grid order");
        assert_eq!(
            penalty.to_string(),
            theirs["penalty"].as_str().unwrap(),
            "grid order"
        );
        let expected = theirs["mean_auc"].as_f64().unwrap();
        assert!(
            (ours.mean - expected).abs() <= CV_AUC_TOLERANCE,
            "CV AUC of C={c} {penalty}: ours {:.5}, scikit-learn {expected:.5}",
            ours.mean
        );
    }
    assert_eq!(
        train.best,
        Hyper::LogisticRegression {
            c: 10.0,
            penalty: Penalty::L1
        },
        "best candidate"
    );
    assert_eq!(
        train.coefficients.len(),
        118,
        "one coefficient per encoded column"
    );

    let validation = outcome
        .results
        .detections
        .iter()
        .find(|d| d.name == "validation:test")
        .expect("validation");
    let expected = reference["test_metrics"]["roc_auc"].as_f64().unwrap();
    let auc = validation.auc.expect("test has labels");
    assert!(
        (auc - expected).abs() <= TEST_AUC_TOLERANCE,
        "test AUC: ours {auc:.5}, scikit-learn {expected:.5}"
    );
    assert_eq!(validation.n_instances, 22_544);
    assert_eq!(validation.thresholds.len(), 101);
    let at_half = validation.indicators.as_ref().unwrap();
    let dr = reference["test_metrics"]["detection_rate_tpr"]
        .as_f64()
        .unwrap();
    assert!(
        (at_half.detection_rate - dr).abs() < 0.02,
        "detection rate {} vs {dr}",
        at_half.detection_rate
    );
    let train_detection = outcome
        .results
        .detections
        .iter()
        .find(|d| d.name == "train")
        .expect("train detection");
    assert_eq!(train_detection.n_instances, 25_192);
}
