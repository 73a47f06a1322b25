//! Tests of the elliptic envelope: a Gaussian cloud with outliers, singular data, the
//! hyperparameters, determinism, serde, and parity with scikit-learn on NSL-KDD.

use ndarray::{array, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::EllipticEnvelopeHyper;

use super::*;
use crate::metrics::roc_auc;

/// `n` correlated 3-d points (a, a + noise, c) and, after them, `outliers` points off the
/// correlation (a, 3 − a, c).
fn cloud(n: usize, outliers: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n + outliers, 3));
    for (i, mut row) in x.outer_iter_mut().enumerate() {
        let a: f64 = rng.gen_range(-1.0..1.0);
        let b: f64 = rng.gen_range(-0.1..0.1);
        let c: f64 = rng.gen_range(-1.0..1.0);
        let second = if i < n { a + b } else { 3.0 - a };
        row.assign(&ndarray::arr1(&[a, second, c]));
    }
    x
}

#[test]
fn outliers_off_the_correlation_score_high() {
    for n in [400, 2000] {
        let x = cloud(n, 20, 1);
        let model = fit(&EllipticEnvelopeHyper::default(), x.view(), 0).unwrap();
        let s = model.scores(x.view());
        let labels: Vec<bool> = (0..x.nrows()).map(|i| i >= n).collect();
        assert!(roc_auc(&labels, &s).unwrap() > 0.999, "{n} rows");
        assert!(s[n..].iter().all(|&v| v > model.threshold), "{n} rows");
        // The reweighted support holds the inliers, not the outliers.
        assert!(
            model.support_size >= n * 9 / 10 && model.support_size <= n,
            "{}",
            model.support_size
        );
    }
}

#[test]
fn singular_data_uses_the_pseudo_inverse() {
    // A constant column and a duplicated one: every covariance is singular.
    let mut x = cloud(600, 10, 2);
    x.column_mut(2).fill(0.0);
    let model = fit(&EllipticEnvelopeHyper::default(), x.view(), 0).unwrap();
    assert!(model.inverse_eigenvalues.len() < 3);
    let s = model.scores(x.view());
    assert!(s.iter().all(|v| v.is_finite()));
    let labels: Vec<bool> = (0..x.nrows()).map(|i| i >= 600).collect();
    assert!(roc_auc(&labels, &s).unwrap() > 0.99);
}

#[test]
fn same_seed_same_model() {
    let x = cloud(800, 10, 3);
    let h = EllipticEnvelopeHyper::default();
    let a = fit(&h, x.view(), 7).unwrap();
    assert_eq!(a, fit(&h, x.view(), 7).unwrap());
    let back: EllipticEnvelope = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(back, a);
}

#[test]
fn bad_hyperparameters_and_data_are_refused() {
    let x = cloud(50, 0, 4);
    let bad = EllipticEnvelopeHyper { contamination: 0.0 };
    assert!(matches!(
        fit(&bad, x.view(), 0),
        Err(ModelError::Param {
            param: "contamination",
            ..
        })
    ));
    let ok = EllipticEnvelopeHyper::default();
    assert!(matches!(
        fit(&ok, array![[1.0, 2.0]].view(), 0),
        Err(ModelError::Data(_))
    ));
    let constant = Array2::from_elem((20, 2), 1.0);
    assert!(matches!(
        fit(&ok, constant.view(), 0),
        Err(ModelError::Data(_))
    ));
}

#[test]
fn one_column_takes_the_shortest_half() {
    let x = Array2::from_shape_fn(
        (11, 1),
        |(i, _)| if i < 8 { i as f64 } else { 100.0 + i as f64 },
    );
    let model = fit(&EllipticEnvelopeHyper::default(), x.view(), 0).unwrap();
    let s = model.scores(array![[3.5], [100.0]].view());
    assert!(s[0] < 1.0 && s[1] > 100.0, "{s:?}");
}

/// scikit-learn's `EllipticEnvelope(contamination=0.1, random_state=seed)` fitted on every 10th
/// row of the standardised train20 and scored on every 5th test row, for seeds 0..99
/// (`tests/fixtures/sklearn_elliptic_envelope.json`, `tests/bench/sklearn_elliptic_envelope.py`).
/// FastMCD's result depends on its random subsets (the test AUC is bimodal, standard deviation
/// 0.03 across seeds) and our subsets come from another random stream, so the means over the
/// same seeds are compared: test ROC AUC within 0.01, the reweighted support size within 2 %,
/// the norm of the robust location within 5 %. The determinant is 0 for every candidate here
/// (singular covariances), so it is not compared.
#[test]
fn mean_over_seeds_matches_sklearn_on_nsl_kdd() {
    use crate::neighbours::parity::{every, every_label, fixture, number};
    let data = crate::test_data::nsl_kdd();
    let (train, test) = data.standardised();
    let (train, test) = (every(&train, 10), every(&test, 5));
    let y = every_label(&data.test.y, 5);
    let reference = fixture("sklearn_elliptic_envelope.json");
    let seeds = reference["subsample"]["test_auc"]
        .as_array()
        .expect("test_auc")
        .len();
    let (mut auc, mut support, mut location) = (0.0, 0.0, 0.0);
    for seed in 0..seeds {
        let model = fit(&EllipticEnvelopeHyper::default(), train.view(), seed as u64).unwrap();
        auc += roc_auc(&y, &model.scores(test.view())).unwrap();
        support += model.support_size as f64;
        location += model.location.dot(&model.location).sqrt();
    }
    let n = seeds as f64;
    let (auc, support, location) = (auc / n, support / n, location / n);
    let their_auc = number(&reference, "/subsample/mean");
    let their_support = number(&reference, "/subsample/support_size_mean");
    let their_location = number(&reference, "/subsample/location_norm_mean");
    assert!(
        (auc - their_auc).abs() <= 0.01,
        "mean test AUC over {seeds} seeds: ours {auc}, scikit-learn's {their_auc}"
    );
    assert!(
        (support / their_support - 1.0).abs() <= 0.02,
        "mean support size: ours {support}, scikit-learn's {their_support}"
    );
    assert!(
        (location / their_location - 1.0).abs() <= 0.05,
        "mean location norm: ours {location}, scikit-learn's {their_location}"
    );
}
