//! Unit tests of multiclass gradient boosting: scikit-learn's raw scores on a small problem,
//! the parts on hand-made data, bad input, determinism, serde, the multiclass model's wiring.
//! Parity on NSL-KDD families is in `crate::model::multiclass::nsl_kdd_tests`.

use ndarray::{array, Array2};
use secuml_proto::hyper::{GradientBoostingHyper, TreeLimits};
use secuml_proto::Hyper;
use serde_json::Value;

use super::columns::RankedColumns;
use super::*;
use crate::model::multiclass::{self, MulticlassFit, MulticlassModel};
use crate::model::FittedModel;

/// `small_exact` of tests/bench/sklearn_multiclass_boosting.py's output.
fn small_fixture() -> Value {
    let all: Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/sklearn_multiclass_boosting.json"
    ))
    .expect("fixture");
    all["small_exact"].clone()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        })
        .collect()
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("values")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn hyper(n_estimators: u32, max_depth: u32, subsample: f64) -> GradientBoostingHyper {
    GradientBoostingHyper {
        n_estimators,
        limits: TreeLimits {
            max_depth: Some(max_depth),
            ..GradientBoostingHyper::default().limits
        },
        subsample,
        ..GradientBoostingHyper::default()
    }
}

/// Three classes of 40, 30 and 20 rows around three centres, 3 features (the fixture's data).
fn small_data() -> (Array2<f64>, Vec<usize>, Value) {
    let fx = small_fixture();
    let rows = matrix(&fx["x"]);
    let d = rows[0].len();
    let x = Array2::from_shape_vec((rows.len(), d), rows.concat()).expect("shape");
    let y: Vec<usize> = fx["y"]
        .as_array()
        .expect("y")
        .iter()
        .map(|c| c.as_u64().expect("class") as usize)
        .collect();
    (x, y, fx)
}

/// Every row at every stage (subsample 1): the trees are scikit-learn's, so the raw scores and
/// probabilities of the training rows agree to rounding (1e-9), and so do the importances.
/// (Two features can split a small node into the same two sets, a tie resolved by the
/// features' random order, which differs from scikit-learn's; such ties change no training
/// row's leaf, nor, here, any importance.)
#[test]
fn subsample_one_gives_sklearn_raw_scores() {
    let (x, y, fx) = small_data();
    let h = hyper(
        fx["n_estimators"].as_u64().unwrap() as u32,
        fx["max_depth"].as_u64().unwrap() as u32,
        fx["subsample"].as_f64().unwrap(),
    );
    let model = fit_classes(&h, x.view(), &y, 3, 0).unwrap();
    for (ours, theirs) in model.init.iter().zip(vector(&fx["init_raw"])) {
        assert!((ours - theirs).abs() < 1e-12, "init {ours} vs {theirs}");
    }
    let close = |ours: &[Vec<f64>], theirs: &[Vec<f64>], what: &str| {
        assert_eq!(ours.len(), theirs.len());
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            for (u, v) in a.iter().zip(b) {
                assert!((u - v).abs() < 1e-9, "{what} row {i}: {a:?} vs {b:?}");
            }
        }
    };
    close(
        &model.decision_function(x.view()),
        &matrix(&fx["decision_function"]),
        "raw score",
    );
    close(
        &model.predict_proba(x.view()),
        &matrix(&fx["predict_proba"]),
        "probability",
    );
    for (ours, theirs) in model.importances.iter().zip(vector(&fx["importances"])) {
        assert!(
            (ours - theirs).abs() < 1e-9,
            "importance {ours} vs {theirs}"
        );
    }
}

/// The index of the largest value, the first of ties.
fn argmax(p: &[f64]) -> usize {
    (0..p.len()).fold(0, |b, i| if p[i] > p[b] { i } else { b })
}

/// Two separated groups on feature 0 (rows 0-2 class 0, rows 3-5 classes 1, 1, 2), one stump
/// per class: each leaf is (K − 1) / K · Σ g / Σ p (1 − p) over its rows.
#[test]
fn stumps_have_scaled_newton_leaves() {
    let x = array![[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]];
    let y = vec![0, 0, 0, 1, 1, 2];
    let mut h = hyper(1, 1, 1.0);
    h.learning_rate = 1.0;
    let model = fit_classes(&h, x.view(), &y, 3, 0).unwrap();
    // Priors 1/2, 1/3, 1/6: init log p_k − mean log p, so every row starts at the priors.
    let logs = [0.5f64.ln(), (1.0f64 / 3.0).ln(), (1.0f64 / 6.0).ln()];
    let mean = logs.iter().sum::<f64>() / 3.0;
    for (a, l) in model.init.iter().zip(logs) {
        assert!((a - (l - mean)).abs() < 1e-12);
    }
    let trees = &model.stages[0];
    assert_eq!(trees.len(), 3);
    let leaves = |t: &RegressionTree| (t.value[t.left[0] as usize], t.value[t.right[0] as usize]);
    let near = |a: f64, b: f64| (a - b).abs() < 1e-12;
    // Class 0: g = ±1/2, h = 1/4 on either side of 6: 2/3 · (±3/2) / (3/4).
    assert_eq!((trees[0].feature[0], trees[0].threshold[0]), (0, 6.0));
    let (l, r) = leaves(&trees[0]);
    assert!(near(l, 4.0 / 3.0) && near(r, -4.0 / 3.0), "{l} {r}");
    // Class 1: left g = −1/3 each, right 2/3, 2/3, −1/3, h = 2/9: 2/3 · (∓1) / (2/3).
    assert_eq!((trees[1].feature[0], trees[1].threshold[0]), (0, 6.0));
    let (l, r) = leaves(&trees[1]);
    assert!(near(l, -1.0) && near(r, 1.0), "{l} {r}");
    // Class 2: its one row alone (g = 5/6, h = 5/36) against five of g = −1/6.
    assert_eq!((trees[2].feature[0], trees[2].threshold[0]), (0, 11.5));
    let (l, r) = leaves(&trees[2]);
    assert!(near(l, 2.0 / 3.0 * (-5.0 / 6.0) / (25.0 / 36.0)), "{l}");
    assert!(near(r, 4.0), "{r}");
    assert_eq!(model.importances, vec![1.0]);
    let raw = model.decision_function(array![[11.0]].view());
    for (c, delta) in [-4.0 / 3.0, 1.0, -0.8].into_iter().enumerate() {
        assert!(near(raw[0][c], model.init[c] + delta));
    }
    let p = model.predict_proba(x.view());
    for row in &p {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    let predicted: Vec<usize> = p.iter().map(|r| argmax(r)).collect();
    assert_eq!(predicted, vec![0, 0, 0, 1, 1, 2]);
}

/// A leaf whose hessian sum is below 1e-150 (probabilities saturated at 0) gets the value 0
/// (scikit-learn's safe division), not Σ g / Σ h; the others (K − 1) / K · Σ g / Σ h.
#[test]
fn saturated_leaves_are_zero() {
    let x = array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]];
    let columns = RankedColumns::new(&crate::rows::Rows::all(x.view()));
    let limits = resolve(&hyper(1, 1, 1.0), 1).unwrap();
    let mut grower = grow::Grower::new(limits, &columns.values, 6);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    // Rows 3-5 of probability p: g = −p, h = p (1 − p) ≈ p; rows 0-2 of probability 1/2.
    for (p, right) in [(1e-160, 0.0), (1e-145, -2.0 / 3.0)] {
        let g = [0.5, 0.5, 0.5, -p, -p, -p];
        let h = [0.25, 0.25, 0.25, p, p, p];
        let bag = grow::Bag {
            m: 6,
            codes: &columns.codes,
            g: &g,
            h: &h,
            scale: 2.0 / 3.0,
        };
        let mut importances = vec![0.0];
        let tree = grower.grow(&bag, &mut rng, &mut importances).tree;
        assert_eq!(tree.threshold[0], 2.5);
        let (l, r) = (
            tree.value[tree.left[0] as usize],
            tree.value[tree.right[0] as usize],
        );
        assert!((l - 4.0 / 3.0).abs() < 1e-12, "{l}");
        assert!((r - right).abs() < 1e-12, "p = {p}: {r}");
    }
}

#[test]
fn the_subsample_and_the_seed_decide_the_model() {
    let (x, y, _) = small_data();
    let h = hyper(20, 3, 0.5);
    let a = fit_classes(&h, x.view(), &y, 3, 1).unwrap();
    assert_eq!(a, fit_classes(&h, x.view(), &y, 3, 1).unwrap());
    assert_ne!(a, fit_classes(&h, x.view(), &y, 3, 2).unwrap());
    assert_eq!(a.stages.len(), 20);
    assert!(a.stages.iter().all(|s| s.len() == 3));
    let back: GradientBoostingClasses =
        serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
    assert_eq!(back, a);
}

#[test]
fn bad_input_is_refused() {
    let (x, y, _) = small_data();
    let h = hyper(2, 2, 1.0);
    let two: Vec<usize> = y.iter().map(|&c| c.min(1)).collect();
    let e = fit_classes(&h, x.view(), &two, 2, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least 3 classes"), "{e}");
    let mut out_of_range = y.clone();
    out_of_range[5] = 3;
    let e = fit_classes(&h, x.view(), &out_of_range, 3, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 5"), "{e}");
    let e = fit_classes(&h, x.view(), &y[1..], 3, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("labels"), "{e}");
    let e = fit_classes(&hyper(2, 2, 0.0), x.view(), &y, 3, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("subsample"), "{e}");
}

fn names(k: usize) -> Vec<String> {
    (0..k).map(|c| format!("family{c}")).collect()
}

/// `Hyper::GradientBoosting` with three families or more is native; with two, one binary
/// model (scikit-learn's binomial deviance, one tree per stage).
#[test]
fn the_multiclass_model_is_native_from_three_families() {
    let (x, y, _) = small_data();
    let hy = Hyper::GradientBoosting(hyper(10, 2, 1.0));
    let labelled: Vec<Option<usize>> = y.iter().map(|&c| Some(c)).collect();
    let m = multiclass::fit(&hy, x.view(), &labelled, names(3), 0).unwrap();
    let MulticlassFit::GradientBoosting(native) = &m.fit else {
        panic!("native multiclass boosting expected");
    };
    assert_eq!(m.predict_proba(x.view()), native.predict_proba(x.view()));
    let stored = FittedModel::Multiclass(m.clone());
    let back: FittedModel = serde_json::from_value(serde_json::to_value(&stored).unwrap()).unwrap();
    assert_eq!(back, stored);

    let two: Vec<Option<usize>> = y.iter().map(|&c| Some(c.min(1))).collect();
    let m = multiclass::fit(&hy, x.view(), &two, names(2), 0).unwrap();
    assert!(matches!(&m.fit, MulticlassFit::OneVsRest { models } if models.len() == 1));

    let mut unlabelled = labelled;
    unlabelled[4] = None;
    let e = multiclass::fit(&hy, x.view(), &unlabelled, names(3), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 4"), "{e}");
}

/// Models stored before the native fit (one-vs-rest binary boosting per family) still read
/// back and predict.
#[test]
fn a_stored_one_vs_rest_boosting_model_still_reads() {
    let (x, y, _) = small_data();
    let h = hyper(5, 2, 1.0);
    let models: Vec<FittedModel> = (0..3)
        .map(|c| {
            let binary: Vec<bool> = y.iter().map(|&v| v == c).collect();
            FittedModel::GradientBoosting(super::fit(&h, x.view(), &binary, 0).unwrap())
        })
        .collect();
    let stored = serde_json::json!({
        "classes": names(3),
        "fit": {"strategy": "OneVsRest", "models": serde_json::to_value(&models).unwrap()},
    });
    let m: MulticlassModel = serde_json::from_value(stored).unwrap();
    assert!(matches!(&m.fit, MulticlassFit::OneVsRest { models } if models.len() == 3));
    for p in m.predict_proba(x.view()) {
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
