//! Parity with scikit-learn on NSL-KDD families: train20's 22 families → test's 38
//! (`tests/fixtures/sklearn_multiclass.json`, from `tests/bench/sklearn_multiclass.py`, and
//! `tests/fixtures/sklearn_multiclass_trees.json`, from
//! `tests/bench/sklearn_multiclass_trees.py`). Test accuracy and F1 macro within 0.005 of
//! scikit-learn's for the deterministic models (logistic regression one-vs-rest, Gaussian
//! naive Bayes, label propagation), within 0.01 of scikit-learn's mean over its seeds for the
//! randomised ones (native K-class trees and forests, ours averaged over seeds too). Our logistic regression solver converges; liblinear's default
//! `max_iter=100` stops some rare families' fits early (C=1, l2: F1 macro 0.1782 there, 0.1728
//! converged as ours), so the reference is liblinear run to convergence.

use secuml_proto::hyper::{
    Criterion, DecisionTreeHyper, GaussianNbHyper, GradientBoostingHyper, LabelPropagationHyper,
    MaxFeatures, PropagationKernel, RandomForestHyper, Splitter, TreeLimits,
};
use secuml_proto::{Hyper, Penalty};

use super::fit;
use crate::metrics::multiclass_indicators;
use crate::test_data::nsl_kdd;

fn fixture() -> serde_json::Value {
    read_fixture("sklearn_multiclass.json")
}

fn read_fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

/// Test (accuracy, F1 macro) of `hyper` fitted on train20's families with `seed`.
fn test_scores(hyper: &Hyper, seed: u64) -> (f64, f64) {
    let data = nsl_kdd();
    let (x_train, x_test) = data.standardised();
    let families: Vec<Option<&str>> = data
        .train
        .families
        .iter()
        .map(|f| Some(f.as_str()))
        .collect();
    subset_scores(
        hyper,
        seed,
        x_train.view(),
        &families,
        x_test.view(),
        data.test.families.len(),
    )
}

/// Test (accuracy, F1 macro) of `hyper` fitted on `x_train` and its families (`None`:
/// unlabelled), predicting the first `n_test` rows of `x_test`.
fn subset_scores(
    hyper: &Hyper,
    seed: u64,
    x_train: ndarray::ArrayView2<f64>,
    families: &[Option<&str>],
    x_test: ndarray::ArrayView2<f64>,
    n_test: usize,
) -> (f64, f64) {
    let data = nsl_kdd();
    let mut classes: Vec<String> = families.iter().flatten().map(|f| f.to_string()).collect();
    classes.sort();
    classes.dedup();
    let y: Vec<Option<usize>> = families
        .iter()
        .map(|f| f.and_then(|f| classes.iter().position(|c| c == f)))
        .collect();
    let model = fit(hyper, x_train, &y, classes, seed).expect("fit");
    let predicted: Vec<&str> = model
        .predict(x_test.slice_axis(ndarray::Axis(0), ndarray::Slice::from(..n_test)))
        .into_iter()
        .map(|k| model.classes[k].as_str())
        .collect();
    let truth: Vec<&str> = data.test.families[..n_test]
        .iter()
        .map(String::as_str)
        .collect();
    let m = multiclass_indicators(&truth, &predicted).expect("rows");
    (m.accuracy, m.f1_macro)
}

fn mean_scores(hyper: &Hyper, seeds: u64) -> (f64, f64) {
    let runs: Vec<(f64, f64)> = (0..seeds).map(|s| test_scores(hyper, s)).collect();
    let n = runs.len() as f64;
    (
        runs.iter().map(|r| r.0).sum::<f64>() / n,
        runs.iter().map(|r| r.1).sum::<f64>() / n,
    )
}

fn check(name: &str, ours: (f64, f64), tolerance: f64) {
    check_against(&fixture()[name], name, ours, tolerance);
}

fn check_against(reference: &serde_json::Value, name: &str, ours: (f64, f64), tolerance: f64) {
    let (accuracy, f1_macro) = (
        reference["accuracy"].as_f64().expect("accuracy"),
        reference["f1_macro"].as_f64().expect("f1_macro"),
    );
    eprintln!(
        "{name}: accuracy {:.4} (scikit-learn {accuracy:.4}), F1 macro {:.4} (scikit-learn {f1_macro:.4})",
        ours.0, ours.1
    );
    assert!(
        (ours.0 - accuracy).abs() <= tolerance,
        "{name}: accuracy {} against {accuracy}",
        ours.0
    );
    assert!(
        (ours.1 - f1_macro).abs() <= tolerance,
        "{name}: F1 macro {} against {f1_macro}",
        ours.1
    );
}

#[test]
fn fixture_has_every_family() {
    let data = nsl_kdd();
    let f = fixture();
    let distinct = |v: &[String]| v.iter().collect::<std::collections::BTreeSet<_>>().len();
    assert_eq!(f["train_families"], distinct(&data.train.families));
    assert_eq!(f["test_families"], distinct(&data.test.families));
    let trees = read_fixture("sklearn_multiclass_trees.json");
    assert_eq!(trees["train_families"], distinct(&data.train.families));
    assert_eq!(trees["test_families"], distinct(&data.test.families));
}

#[test]
fn logistic_regression_one_vs_rest_matches_sklearn() {
    // The l1 case (C = 0.1) has no converged reference in the fixture yet.
    let hyper = Hyper::LogisticRegression {
        c: 1.0,
        penalty: Penalty::L2,
        optim_algo: Default::default(),
    };
    check(
        "logistic_regression_c1.0_l2_converged",
        test_scores(&hyper, 0),
        0.005,
    );
}

#[test]
fn gaussian_nb_matches_sklearn() {
    let hyper = Hyper::GaussianNaiveBayes(GaussianNbHyper::default());
    check("gaussian_nb", test_scores(&hyper, 0), 0.005);
}

/// SecuML's default tree (gini, best, no limit, all features), native K-class: our mean over
/// seeds 0..20 within 0.01 of scikit-learn's mean over random_state 0..20 (their standard
/// deviations over seeds: 0.006 in accuracy, 0.008 in F1 macro).
#[test]
fn native_decision_tree_matches_sklearn_over_seeds() {
    let hyper = Hyper::DecisionTree(DecisionTreeHyper {
        criterion: Criterion::Gini,
        splitter: Splitter::Best,
        limits: TreeLimits::unlimited(MaxFeatures::All),
    });
    let reference = &read_fixture("sklearn_multiclass_trees.json")["decision_tree_native"];
    let seeds = reference["seeds"].as_u64().expect("seeds");
    let name = "decision_tree_native";
    check_against(reference, name, mean_scores(&hyper, seeds), 0.01);
}

/// SecuML's default forest (100 trees, gini, sqrt, no bootstrap), native K-class: our mean over
/// seeds 0..3 within 0.01 of scikit-learn's mean over random_state 0..5 (their standard
/// deviations over seeds: 0.0002 in accuracy, 0.003 in F1 macro).
#[test]
fn native_random_forest_matches_sklearn_over_seeds() {
    let hyper = Hyper::RandomForest(RandomForestHyper::default());
    let reference = &read_fixture("sklearn_multiclass_trees.json")["random_forest_native"];
    let name = "random_forest_native";
    check_against(reference, name, mean_scores(&hyper, 3), 0.01);
}

#[test]
fn label_propagation_matches_sklearn_on_a_subset() {
    // train20's first 3,000 rows, every other one unlabelled; test's first 3,000 predicted.
    let hyper = Hyper::LabelPropagation(LabelPropagationHyper {
        kernel: PropagationKernel::Knn,
        n_neighbors: 7,
        gamma: 20.0,
    });
    let data = nsl_kdd();
    let (x_train, x_test) = data.standardised();
    let reference = &fixture()["label_propagation_knn"];
    let n = reference["train_rows"].as_u64().expect("rows") as usize;
    let families: Vec<Option<&str>> = data.train.families[..n]
        .iter()
        .enumerate()
        .map(|(i, f)| (i % 2 == 0).then_some(f.as_str()))
        .collect();
    let labelled: std::collections::BTreeSet<_> = families.iter().flatten().collect();
    assert_eq!(reference["classes"], labelled.len());
    let ours = subset_scores(
        &hyper,
        0,
        x_train.slice_axis(ndarray::Axis(0), ndarray::Slice::from(..n)),
        &families,
        x_test.view(),
        reference["test_rows"].as_u64().expect("rows") as usize,
    );
    // Deterministic: the same neighbours and the same iterations as scikit-learn's.
    check("label_propagation_knn", ours, 0.005);
}

/// Native multiclass gradient boosting with SecuML's defaults (100 stages, max_depth 3,
/// subsample 0.1: 22 trees per stage) against scikit-learn's native
/// `GradientBoostingClassifier` (`tests/fixtures/sklearn_multiclass_boosting.json`, from
/// `tests/bench/sklearn_multiclass_boosting.py`): test accuracy and F1 macro, our median over
/// the fixture's seeds within 0.01 of scikit-learn's median over as many seeds. Not the mean:
/// in both implementations some seeds' fits blow up (a rare family's row alone in a leaf gets
/// a Newton step of thousands, its probabilities saturate, later leaves' hessian sums fall to
/// 1e-147 and their values rise to 1e97 or more; scikit-learn: 1 seed of 10 at accuracy
/// 0.0003, ours: 2 near 0 and one at 0.46), and how many of the 10 do moves the mean by far
/// more than 0.01. The subsamples differ (our random stream is not
/// numpy's) and move a sound fit's accuracy by about 0.02.
#[test]
fn gradient_boosting_native_matches_sklearn_over_seeds() {
    let all = read_fixture("sklearn_multiclass_boosting.json");
    let reference = &all["nsl_kdd_d3_sub0.1"];
    let defaults = GradientBoostingHyper::default();
    assert_eq!(
        defaults.limits.max_depth,
        reference["max_depth"].as_u64().map(|v| v as u32)
    );
    assert_eq!(defaults.subsample, reference["subsample"].as_f64().unwrap());
    let hyper = Hyper::GradientBoosting(defaults);
    let seeds = reference["seeds"].as_u64().expect("seeds");
    let runs: Vec<(f64, f64)> = (0..seeds).map(|s| test_scores(&hyper, s)).collect();
    eprintln!("gradient boosting (accuracy, F1 macro) per seed: {runs:?}");
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        (v[(n - 1) / 2] + v[n / 2]) / 2.0
    };
    let ours = (
        median(runs.iter().map(|r| r.0).collect()),
        median(runs.iter().map(|r| r.1).collect()),
    );
    let theirs = serde_json::json!({
        "accuracy": reference["accuracy_median"],
        "f1_macro": reference["f1_macro_median"],
    });
    check_against(&theirs, "gradient_boosting_native (medians)", ours, 0.01);
}
