//! Tests of the local outlier factor: a hand-made case, hyperparameters, serde, and parity
//! with scikit-learn on NSL-KDD.

use ndarray::{array, Array2};
use secuml_proto::hyper::LofHyper;

use super::*;
use crate::metrics::roc_auc;
use crate::neighbours::parity::{every, every_label, fixture, number};

#[test]
fn an_isolated_point_has_a_high_factor() {
    // A 3 x 3 grid and one far point.
    let mut rows: Vec<[f64; 2]> = (0..9).map(|i| [(i % 3) as f64, (i / 3) as f64]).collect();
    rows.push([10.0, 10.0]);
    let x = Array2::from_shape_fn((rows.len(), 2), |(i, j)| rows[i][j]);
    let hyper = LofHyper {
        n_neighbors: 3,
        contamination: 0.1,
    };
    let model = fit(&hyper, x.view(), 0).unwrap();
    let s = model.scores(array![[1.0, 1.0], [10.0, 10.0], [30.0, 30.0]].view());
    assert!(s[0] < 1.2, "{s:?}");
    assert!(s[2] > s[1] && s[2] > 5.0, "{s:?}");
    // A grid point's own neighbours: lrd of the centre from distances 1, 1, 1.
    assert!(model
        .k_distances
        .iter()
        .take(9)
        .all(|&d| d <= 2f64.sqrt() + 1e-12));
}

#[test]
fn bad_hyperparameters_and_data_are_refused() {
    let x = array![[0.0], [1.0], [2.0]];
    let bad_k = LofHyper {
        n_neighbors: 0,
        contamination: 0.1,
    };
    assert!(matches!(
        fit(&bad_k, x.view(), 0),
        Err(ModelError::Param {
            param: "n-neighbors",
            ..
        })
    ));
    let bad_c = LofHyper {
        n_neighbors: 2,
        contamination: 0.7,
    };
    assert!(matches!(
        fit(&bad_c, x.view(), 0),
        Err(ModelError::Param {
            param: "contamination",
            ..
        })
    ));
    let ok = LofHyper::default();
    assert!(matches!(
        fit(&ok, array![[1.0]].view(), 0),
        Err(ModelError::Data(_))
    ));
    assert!(matches!(
        fit(&ok, array![[1.0], [f64::NAN]].view(), 0),
        Err(ModelError::Data(_))
    ));
    // More neighbours than rows: capped at rows - 1, as scikit-learn does.
    assert_eq!(fit(&ok, x.view(), 0).unwrap().n_neighbors, 2);
}

#[test]
fn serde_round_trip() {
    let x = array![[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [0.5, 0.5]];
    let model = fit(
        &LofHyper {
            n_neighbors: 2,
            contamination: 0.1,
        },
        x.view(),
        0,
    )
    .unwrap();
    let back: Lof = serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    assert_eq!(back, model);
    assert_eq!(back.scores(x.view()), model.scores(x.view()));
}

/// Parity with `tests/bench/sklearn_lof.py` (fixture `sklearn_lof.json`): fitted on every 10th
/// train20 row, scored on every 5th test row. LOF is deterministic: ROC AUC within 0.005.
#[test]
fn parity_with_scikit_learn_on_nsl_kdd() {
    let reference = fixture("sklearn_lof.json");
    let data = crate::test_data::nsl_kdd();
    let (train, test) = data.standardised();
    let (train, test) = (every(&train, 10), every(&test, 5));
    let y = every_label(&data.test.y, 5);
    let model = fit(&LofHyper::default(), train.view(), 0).unwrap();
    let scores = model.scores(test.view());
    let auc = roc_auc(&y, &scores).unwrap();
    let expected = number(&reference, "/subsample/test_auc");
    assert!(
        (auc - expected).abs() <= 0.005,
        "test AUC {auc} vs scikit-learn {expected}"
    );
    let offset = number(&reference, "/subsample/offset");
    assert!(
        (model.threshold + offset).abs() < 1e-3 * offset.abs(),
        "{} vs {}",
        model.threshold,
        -offset
    );
    for (i, got) in scores.iter().take(5).enumerate() {
        let want = number(&reference, &format!("/subsample/first_scores/{i}"));
        assert!((got - want).abs() < 1e-6 * want, "row {i}: {got} vs {want}");
    }
}
