//! Unit tests of the SVMs: scikit-learn's parity on NSL-KDD, the solvers' optimality on
//! hand-made sets, Platt's sigmoid, bad input, determinism, serde.

use approx::assert_abs_diff_eq;
use ndarray::{array, Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use secuml_proto::hyper::{Gamma, OneClassSvmHyper, SvcHyper};

use super::kernel::Rows;
use super::*;
use crate::metrics::roc_auc;
use crate::model::{Detector, ModelError, Output};
use crate::test_data::nsl_kdd;

/// The fixture's lines (one JSON object a line).
fn fixture(name: &str) -> Vec<serde_json::Value> {
    let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .expect("fixture")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn svc_reference(c: f64) -> serde_json::Value {
    fixture("sklearn_svc.json")
        .into_iter()
        .find(|r| r["C"].as_f64() == Some(c))
        .expect("a line for this C")
}

fn signs(y: &[bool]) -> Vec<f64> {
    y.iter().map(|&l| if l { 1.0 } else { -1.0 }).collect()
}

/// ½‖w‖² + C Σ max(0, 1 − yᵢ(w · xᵢ − ρ)).
fn primal(x: &Array2<f64>, y: &[bool], c: f64, w: &[f64], rho: f64) -> f64 {
    let w = ndarray::Array1::from(w.to_vec());
    let f = x.dot(&w) - rho;
    let hinge: f64 = f
        .iter()
        .zip(signs(y))
        .map(|(f, s)| (1.0 - s * f).max(0.0))
        .sum();
    0.5 * w.dot(&w) + c * hinge
}

#[test]
fn svc_matches_sklearn_for_c_0_01() {
    let data = nsl_kdd();
    let (train, test) = data.standardised();
    let reference = svc_reference(0.01);
    let model = svc::fit(&SvcHyper { c: 0.01 }, train.view(), &data.train.y, 0).unwrap();
    assert!(model.converged);
    let decision = roc_auc(&data.test.y, &model.decision_function(test.view())).unwrap();
    let expected = reference["decision_test_auc"].as_f64().unwrap();
    // The decision function is deterministic: the project's tolerance is 0.005.
    assert!(
        (decision - expected).abs() <= 0.005,
        "ours {decision}, scikit-learn {expected}"
    );
    // Platt's cross-validation folds are random: 0.01.
    let proba = roc_auc(&data.test.y, &model.scores(test.view())).unwrap();
    let expected = reference["proba_test_auc"].as_f64().unwrap();
    assert!(
        (proba - expected).abs() <= 0.01,
        "ours {proba}, scikit-learn {expected}"
    );
    assert_abs_diff_eq!(
        model.intercept,
        reference["intercept"].as_f64().unwrap(),
        epsilon = 0.01
    );
    // libsvm's A is fitted with the benign class as +1; the sigmoid is symmetric in the class.
    assert_abs_diff_eq!(
        model.prob_a,
        reference["prob_a"].as_f64().unwrap(),
        epsilon = 0.2
    );
}

#[test]
fn svc_dual_matches_sklearn_for_c_1() {
    let data = nsl_kdd();
    let (train, test) = data.standardised();
    let reference = svc_reference(1.0);
    let rows = Rows::new(train.view());
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let solution = linear::solve_linear(&rows, &signs(&data.train.y), 1.0, 1e-3, &mut rng);
    assert!(solution.converged);
    // Feasible: yᵀα = 0 and 0 ≤ α ≤ C.
    let balance: f64 = solution
        .alpha
        .iter()
        .zip(signs(&data.train.y))
        .map(|(a, s)| a * s)
        .sum();
    assert!(balance.abs() < 1e-9);
    assert!(solution.alpha.iter().all(|&a| (0.0..=1.0).contains(&a)));
    // At least as close to the optimum as libsvm at the same tolerance.
    let ours = primal(&train, &data.train.y, 1.0, &solution.w, solution.rho);
    let theirs = reference["primal_objective"].as_f64().unwrap();
    assert!(
        ours <= theirs * (1.0 + 1e-5),
        "ours {ours}, libsvm {theirs}"
    );
    let w = ndarray::Array1::from(solution.w.clone());
    let decision: Vec<f64> = (test.dot(&w) - solution.rho).to_vec();
    let auc = roc_auc(&data.test.y, &decision).unwrap();
    let expected = reference["decision_test_auc"].as_f64().unwrap();
    // Deterministic: 0.005.
    assert!(
        (auc - expected).abs() <= 0.005,
        "ours {auc}, scikit-learn {expected}"
    );
}

#[test]
fn one_class_svm_matches_sklearn_on_every_tenth_row() {
    let data = nsl_kdd();
    let (train, test) = data.standardised();
    let every_tenth: Vec<usize> = (0..train.nrows()).step_by(10).collect();
    let sub = train.select(Axis(0), &every_tenth);
    let reference = &fixture("sklearn_one_class_svm.json")[0];
    // Unsupervised: the labels and families are only for the evaluation.
    assert_eq!(data.test.families.len(), test.nrows());
    let model = one_class::fit(&OneClassSvmHyper::default(), sub.view(), 0).unwrap();
    assert!(model.converged);
    assert_abs_diff_eq!(
        model.gamma,
        reference["gamma"].as_f64().unwrap(),
        epsilon = 1e-12
    );
    let rho = reference["rho"].as_f64().unwrap();
    assert_abs_diff_eq!(model.rho, rho, epsilon = 1e-3 * rho.abs());
    let scores = model.scores(test.view());
    let auc = roc_auc(&data.test.y, &scores).unwrap();
    let expected = reference["test_auc"].as_f64().unwrap();
    // Deterministic: 0.005.
    assert!(
        (auc - expected).abs() <= 0.005,
        "ours {auc}, scikit-learn {expected}"
    );
    for (s, d) in scores
        .iter()
        .zip(reference["first_test_decision"].as_array().unwrap())
    {
        assert_abs_diff_eq!(-s, d.as_f64().unwrap(), epsilon = 0.05);
    }
}

/// Two separable clouds: the SVC's KKT conditions hold and the sides are right.
#[test]
fn svc_on_separable_points() {
    let x = array![
        [2.0, 2.0],
        [3.0, 1.0],
        [2.5, 3.0],
        [4.0, 4.0],
        [-2.0, -1.0],
        [-1.0, -3.0],
        [-3.0, -2.0],
        [-4.0, -1.0],
        [1.0, 0.5],
        [-0.5, -0.5]
    ];
    let y = [
        true, true, true, true, false, false, false, false, true, false,
    ];
    let rows = Rows::new(x.view());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let c = 10.0;
    let s = linear::solve_linear(&rows, &signs(&y), c, 1e-6, &mut rng);
    assert!(s.converged);
    let grad: Vec<f64> = (0..x.nrows())
        .map(|i| signs(&y)[i] * kernel::dot(rows.row(i), &s.w) - 1.0)
        .collect();
    assert!(smo::max_violation(&signs(&y), &s.alpha, &grad, c) < 1e-6);
    // Separable with room: every margin is at least 1 (up to the tolerance).
    for i in 0..x.nrows() {
        let f = kernel::dot(rows.row(i), &s.w) - s.rho;
        assert!(signs(&y)[i] * f > 1.0 - 1e-5, "row {i}: {f}");
    }
    let model = svc::fit(&SvcHyper { c }, x.view(), &y, 3).unwrap();
    let p = model.scores(array![[5.0, 5.0], [-5.0, -5.0]].view());
    assert!(p[0] > 0.5 && p[1] < 0.5, "{p:?}");
    assert_eq!(model.output(), Output::Probability);
}

#[test]
fn smo_reaches_kkt_on_a_small_one_class_problem() {
    let x = array![
        [0.0, 0.0],
        [0.1, 0.0],
        [0.0, 0.2],
        [3.0, 3.0],
        [0.2, 0.1],
        [-0.1, 0.1]
    ];
    let model = one_class::fit(
        &OneClassSvmHyper {
            nu: 0.5,
            gamma: Gamma::Value(0.5),
        },
        x.view(),
        0,
    )
    .unwrap();
    assert!(model.converged);
    // Σα = νn, each in (0, 1].
    assert_abs_diff_eq!(model.alpha.iter().sum::<f64>(), 3.0, epsilon = 1e-9);
    assert!(model.alpha.iter().all(|&a| a > 0.0 && a <= 1.0));
    // The far point is the most anomalous.
    let s = model.scores(x.view());
    let top = (0..s.len()).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
    assert_eq!(top, 3);
    assert_eq!(model.output(), Output::Score);
}

#[test]
fn platt_sigmoid_fits_a_noisy_threshold() {
    // Decision values with P(y = 1 | f) = 1 / (1 + exp(-2f)): the fit finds A near -2, B near 0.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let f: Vec<f64> = (0..4000).map(|i| (i as f64 / 1000.0) - 2.0).collect();
    let y: Vec<bool> = f
        .iter()
        .map(|&v| rand::Rng::gen::<f64>(&mut rng) < 1.0 / (1.0 + (-2.0 * v).exp()))
        .collect();
    let (a, b) = platt::fit_sigmoid(&f, &y);
    assert!((a + 2.0).abs() < 0.3, "A = {a}");
    assert!(b.abs() < 0.2, "B = {b}");
    assert_abs_diff_eq!(
        platt::probability(0.0, a, b),
        1.0 / (1.0 + b.exp()),
        epsilon = 1e-12
    );
    assert_eq!(platt::probability(1e6, -1.0, 0.0), 1.0 - 1e-7);
}

#[test]
fn scale_gamma_is_one_over_d_times_the_variance() {
    let x = array![[0.0, 2.0], [4.0, 2.0]];
    // Entries 0, 2, 4, 2: mean 2, variance 2; d = 2.
    assert_abs_diff_eq!(one_class::scale_gamma(&Rows::new(x.view())), 0.25);
    let constant = array![[1.0, 1.0]];
    assert_eq!(one_class::scale_gamma(&Rows::new(constant.view())), 1.0);
}

#[test]
fn rejects_bad_hyperparameters_and_data() {
    let x = array![[0.0, 1.0], [1.0, 0.0]];
    let y = [true, false];
    for c in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let bad = svc::fit(&SvcHyper { c }, x.view(), &y, 0);
        assert!(
            matches!(bad, Err(ModelError::Param { param: "c", .. })),
            "{c}"
        );
    }
    let hyper = SvcHyper { c: 1.0 };
    assert!(matches!(
        svc::fit(&hyper, x.view(), &[true, true], 0),
        Err(ModelError::Data(_))
    ));
    assert!(matches!(
        svc::fit(&hyper, x.view(), &[true], 0),
        Err(ModelError::Data(_))
    ));
    let empty = Array2::<f64>::zeros((0, 2));
    assert!(matches!(
        svc::fit(&hyper, empty.view(), &[], 0),
        Err(ModelError::Data(_))
    ));
    let nan = array![[0.0, f64::NAN], [1.0, 0.0]];
    assert!(matches!(
        svc::fit(&hyper, nan.view(), &y, 0),
        Err(ModelError::Data(_))
    ));
    for nu in [0.0, -0.5, 1.5, f64::NAN] {
        let bad = one_class::fit(
            &OneClassSvmHyper {
                nu,
                gamma: Gamma::Scale,
            },
            x.view(),
            0,
        );
        assert!(
            matches!(bad, Err(ModelError::Param { param: "nu", .. })),
            "{nu}"
        );
    }
    for g in [0.0, -1.0, f64::NAN] {
        let bad = one_class::fit(
            &OneClassSvmHyper {
                nu: 0.5,
                gamma: Gamma::Value(g),
            },
            x.view(),
            0,
        );
        assert!(
            matches!(bad, Err(ModelError::Param { param: "gamma", .. })),
            "{g}"
        );
    }
    let ocsvm = OneClassSvmHyper::default();
    assert!(matches!(
        one_class::fit(&ocsvm, empty.view(), 0),
        Err(ModelError::Data(_))
    ));
    assert!(matches!(
        one_class::fit(&ocsvm, nan.view(), 0),
        Err(ModelError::Data(_))
    ));
}

#[test]
fn same_seed_same_models_and_serde_round_trip() {
    let data = nsl_kdd();
    let (train, _) = data.standardised();
    let rows: Vec<usize> = (0..train.nrows()).step_by(25).collect();
    let x = train.select(Axis(0), &rows);
    let y: Vec<bool> = rows.iter().map(|&i| data.train.y[i]).collect();
    let hyper = SvcHyper { c: 0.1 };
    let a = svc::fit(&hyper, x.view(), &y, 11).unwrap();
    let b = svc::fit(&hyper, x.view(), &y, 11).unwrap();
    assert_eq!(a, b);
    let back: Svc = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(back, a);
    let ocsvm = one_class::fit(&OneClassSvmHyper::default(), x.view(), 0).unwrap();
    assert_eq!(
        ocsvm,
        one_class::fit(&OneClassSvmHyper::default(), x.view(), 9).unwrap()
    );
    let back: OneClassSvm = serde_json::from_str(&serde_json::to_string(&ocsvm).unwrap()).unwrap();
    assert_eq!(back, ocsvm);
    assert_eq!(a.importances(), None);
}
