//! Unit tests of Gaussian naive Bayes: scikit-learn's parity on NSL-KDD, a hand-made set,
//! bad input, serde.

use approx::assert_abs_diff_eq;
use ndarray::{array, Array2};
use secuml_proto::hyper::GaussianNbHyper;

use super::*;
use crate::metrics::roc_auc;
use crate::test_data::nsl_kdd;

fn fixture() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/sklearn_gaussian_nb.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

#[test]
fn matches_sklearn_on_nsl_kdd() {
    let data = nsl_kdd();
    let (train, test) = data.standardised();
    let model = fit(&GaussianNbHyper::default(), train.view(), &data.train.y, 0).unwrap();
    let reference = fixture();
    let proba = model.scores(test.view());
    let auc = roc_auc(&data.test.y, &proba).unwrap();
    let expected = reference["test_auc"].as_f64().unwrap();
    // Deterministic model: the project's tolerance is 0.005 of ROC AUC.
    assert!(
        (auc - expected).abs() <= 0.005,
        "ours {auc}, scikit-learn {expected}"
    );
    let prior = reference["class_prior"].as_array().unwrap();
    assert_abs_diff_eq!(
        model.class_prior[0],
        prior[0].as_f64().unwrap(),
        epsilon = 1e-12
    );
    let epsilon = reference["epsilon"].as_f64().unwrap();
    assert_abs_diff_eq!(model.epsilon, epsilon, epsilon = 1e-12 * epsilon);
    // The first test rows' probabilities are tiny: compare their logarithms.
    for (ours, theirs) in proba
        .iter()
        .zip(reference["first_test_proba"].as_array().unwrap())
    {
        let theirs = theirs.as_f64().unwrap();
        assert!(
            (ours.ln() - theirs.ln()).abs() < 1e-6 * theirs.ln().abs(),
            "{ours} {theirs}"
        );
    }
}

#[test]
fn hand_made_two_gaussians() {
    // Class 0 around 0, class 1 around 10, both with variance 1 on the first feature.
    let x = array![
        [-1.0, 0.0],
        [1.0, 2.0],
        [9.0, 0.0],
        [11.0, 2.0],
        [10.0, 4.0],
        [10.0, -2.0]
    ];
    let y = [false, false, true, true, true, true];
    let model = fit(&GaussianNbHyper { var_smoothing: 0.0 }, x.view(), &y, 0).unwrap();
    assert_eq!(model.class_prior, [2.0 / 6.0, 4.0 / 6.0]);
    assert_eq!(model.means[0], vec![0.0, 1.0]);
    assert_eq!(model.means[1], vec![10.0, 1.0]);
    assert_eq!(model.variances[0], vec![1.0, 1.0]);
    assert_eq!(model.variances[1], vec![0.5, 5.0]);
    let p = model.scores(array![[0.0, 1.0], [10.0, 1.0], [5.0, 1.0]].view());
    assert!(p[0] < 1e-10 && p[1] > 1.0 - 1e-10);
    // At x = 5 by hand: log N(5; 0, 1) + log N(1; 1, 1) + log 1/3 against class 1's terms.
    let ln_n = |v: f64, m: f64, s2: f64| {
        -0.5 * (2.0 * std::f64::consts::PI * s2).ln() - (v - m) * (v - m) / (2.0 * s2)
    };
    let j0 = (1.0f64 / 3.0).ln() + ln_n(5.0, 0.0, 1.0) + ln_n(1.0, 1.0, 1.0);
    let j1 = (2.0f64 / 3.0).ln() + ln_n(5.0, 10.0, 0.5) + ln_n(1.0, 1.0, 5.0);
    assert_abs_diff_eq!(p[2], 1.0 / (1.0 + (j0 - j1).exp()), epsilon = 1e-12);
}

#[test]
fn smoothing_is_a_share_of_the_largest_variance() {
    let x = array![[0.0, 1.0], [0.0, 3.0], [0.0, 5.0], [0.0, 7.0]];
    let y = [false, true, false, true];
    let model = fit(&GaussianNbHyper { var_smoothing: 0.1 }, x.view(), &y, 0).unwrap();
    // The second column's variance over the whole set is 5; the first is constant.
    assert_abs_diff_eq!(model.epsilon, 0.5, epsilon = 1e-12);
    assert_abs_diff_eq!(model.variances[0][0], 0.5, epsilon = 1e-12);
    assert!(model.scores(x.view()).iter().all(|p| p.is_finite()));
}

#[test]
fn rejects_bad_hyperparameters_and_data() {
    let x = array![[0.0, 1.0], [1.0, 0.0]];
    let bad = fit(
        &GaussianNbHyper {
            var_smoothing: -1.0,
        },
        x.view(),
        &[true, false],
        0,
    );
    assert!(matches!(
        bad,
        Err(ModelError::Param {
            param: "var-smoothing",
            ..
        })
    ));
    let bad = fit(
        &GaussianNbHyper {
            var_smoothing: f64::NAN,
        },
        x.view(),
        &[true, false],
        0,
    );
    assert!(matches!(bad, Err(ModelError::Param { .. })));
    let hyper = GaussianNbHyper::default();
    assert!(matches!(
        fit(&hyper, x.view(), &[true, true], 0),
        Err(ModelError::Data(_))
    ));
    assert!(matches!(
        fit(&hyper, x.view(), &[true], 0),
        Err(ModelError::Data(_))
    ));
    let empty = Array2::<f64>::zeros((0, 2));
    assert!(matches!(
        fit(&hyper, empty.view(), &[], 0),
        Err(ModelError::Data(_))
    ));
    let nan = array![[0.0, f64::NAN], [1.0, 0.0]];
    assert!(matches!(
        fit(&hyper, nan.view(), &[true, false], 0),
        Err(ModelError::Data(_))
    ));
    // A feature constant within a class and no smoothing leaves a zero variance.
    let constant = array![[0.0, 1.0], [0.0, 2.0], [1.0, 3.0], [1.0, 5.0]];
    let zero = GaussianNbHyper { var_smoothing: 0.0 };
    assert!(matches!(
        fit(&zero, constant.view(), &[false, false, true, true], 0),
        Err(ModelError::Data(_))
    ));
}

#[test]
fn serde_round_trip_and_output() {
    let x = array![[-1.0, 0.0], [1.0, 2.0], [9.0, 0.0], [11.0, 2.0]];
    let model = fit(
        &GaussianNbHyper::default(),
        x.view(),
        &[false, false, true, true],
        7,
    )
    .unwrap();
    let back: GaussianNb = serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    assert_eq!(back, model);
    assert_eq!(model.output(), Output::Probability);
    assert_eq!(model.importances(), None);
}
