//! Tests of label propagation: two clusters, hyperparameters, serde, and parity with
//! scikit-learn on NSL-KDD.

use ndarray::{array, Array2};
use secuml_proto::hyper::{LabelPropagationHyper, PropagationKernel};

use super::*;
use crate::metrics::roc_auc;
use crate::neighbours::parity::{every, every_label, fixture, number};

fn hyper(kernel: PropagationKernel) -> LabelPropagationHyper {
    LabelPropagationHyper {
        kernel,
        ..LabelPropagationHyper::default()
    }
}

/// Two clusters of 6 rows on a line, one labelled row each.
fn clusters() -> (Array2<f64>, Vec<Option<bool>>) {
    let x = Array2::from_shape_fn((12, 1), |(i, _)| {
        if i < 6 {
            i as f64 * 0.1
        } else {
            5.0 + i as f64 * 0.1
        }
    });
    let mut y = vec![None; 12];
    y[0] = Some(false);
    y[11] = Some(true);
    (x, y)
}

#[test]
fn labels_spread_within_clusters() {
    let (x, y) = clusters();
    for kernel in [PropagationKernel::Rbf, PropagationKernel::Knn] {
        let h = LabelPropagationHyper {
            kernel,
            gamma: 1.0,
            n_neighbors: 3,
        };
        let model = fit(&h, x.view(), &y, 0).unwrap();
        assert!(model.converged);
        let p = model.scores(array![[0.25], [5.9], [100.0]].view());
        assert!(p[0] < 0.01 && p[1] > 0.99, "{kernel:?}: {p:?}");
        if kernel == PropagationKernel::Rbf {
            // Far from every training row: every weight underflows, no information.
            assert_eq!(p[2], 0.5);
        }
    }
}

#[test]
fn bad_hyperparameters_and_data_are_refused() {
    let (x, y) = clusters();
    let bad_gamma = LabelPropagationHyper {
        gamma: 0.0,
        ..LabelPropagationHyper::default()
    };
    assert!(matches!(
        fit(&bad_gamma, x.view(), &y, 0),
        Err(ModelError::Param { param: "gamma", .. })
    ));
    let bad_k = LabelPropagationHyper {
        n_neighbors: 0,
        ..LabelPropagationHyper::default()
    };
    assert!(matches!(
        fit(&bad_k, x.view(), &y, 0),
        Err(ModelError::Param {
            param: "n-neighbors",
            ..
        })
    ));
    let one_class = vec![Some(true); 12];
    assert!(matches!(
        fit(&LabelPropagationHyper::default(), x.view(), &one_class, 0),
        Err(ModelError::Data(_))
    ));
    assert!(matches!(
        fit(&LabelPropagationHyper::default(), x.view(), &y[..3], 0),
        Err(ModelError::Data(_))
    ));
}

#[test]
fn serde_round_trip() {
    let (x, y) = clusters();
    let model = fit(&hyper(PropagationKernel::Knn), x.view(), &y, 0).unwrap();
    let back: LabelPropagation =
        serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    assert_eq!(back, model);
}

/// Parity with `tests/bench/sklearn_label_propagation.py` (fixture
/// `sklearn_label_propagation.json`): fitted on every 10th train20 row, of which every 4th keeps
/// its label, scored on every 5th test row. Deterministic: ROC AUC within 0.005, both kernels.
#[test]
fn parity_with_scikit_learn_on_nsl_kdd() {
    let reference = fixture("sklearn_label_propagation.json");
    let data = crate::test_data::nsl_kdd();
    let (train, test) = data.standardised();
    let (train, test) = (every(&train, 10), every(&test, 5));
    let labels: Vec<Option<bool>> = every_label(&data.train.y, 10)
        .into_iter()
        .enumerate()
        .map(|(i, l)| (i % 4 == 0).then_some(l))
        .collect();
    let y = every_label(&data.test.y, 5);
    for (kernel, name) in [
        (PropagationKernel::Rbf, "rbf"),
        (PropagationKernel::Knn, "knn"),
    ] {
        let model = fit(&hyper(kernel), train.view(), &labels, 0).unwrap();
        let p = model.scores(test.view());
        let auc = roc_auc(&y, &p).unwrap();
        let expected = number(&reference, &format!("/{name}/test_auc"));
        assert!(
            (auc - expected).abs() <= 0.005,
            "{name}: test AUC {auc} vs scikit-learn {expected}"
        );
        let no_information = p.iter().filter(|&&v| v == 0.5).count() as f64;
        let nan_rows = number(&reference, &format!("/{name}/nan_rows"));
        assert!(
            (no_information - nan_rows).abs() <= 0.01 * nan_rows + 2.0,
            "{name}: {no_information} vs {nan_rows}"
        );
    }
}
