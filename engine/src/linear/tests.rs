//! Unit tests of the logistic regression: scikit-learn's coefficients, optimality, class
//! orientation, both solver families, bad input.

use approx::assert_abs_diff_eq;
use linfa::dataset::DatasetBase;
use linfa::traits::{Fit, Predict};
use ndarray::{array, Array1, Array2};

use super::objective::{log_loss, sigmoid};
use super::*;

/// The 40 × 4 problem of tests/bench/make_logreg_fixture.py.
#[rustfmt::skip]
fn fixture() -> (Array2<f64>, Vec<bool>) {
    let rows: Vec<[f64; 4]> = vec![[0.5, -0.14, 0.65, 1.52], [-0.23, -0.23, 1.58, 0.77], [-0.47, 0.54, -0.46, -0.47], [0.24, -1.91, -1.72, -0.56], [-1.01, 0.31, -0.91, -1.41], [1.47, -0.23, 0.07, -1.42], [-0.54, 0.11, -1.15, 0.38], [-0.6, -0.29, -0.6, 1.85], [-0.01, -1.06, 0.82, -1.22], [0.21, -1.96, -1.33, 0.2], [0.74, 0.17, -0.12, -0.3], [-1.48, -0.72, -0.46, 1.06], [0.34, -1.76, 0.32, -0.39], [-0.68, 0.61, 1.03, 0.93], [-0.84, -0.31, 0.33, 0.98], [-0.48, -0.19, -1.11, -1.2], [0.81, 1.36, -0.07, 1.0], [0.36, -0.65, 0.36, 1.54], [-0.04, 1.56, -2.62, 0.82], [0.09, -0.3, 0.09, -1.99], [-0.22, 0.36, 1.48, -0.52], [-0.81, -0.5, 0.92, 0.33], [-0.53, 0.51, 0.1, 0.97], [-0.7, -0.33, -0.39, -1.46], [0.3, 0.26, 0.01, -0.23], [-1.42, -0.42, -0.34, -0.8], [-0.16, 0.4, 1.89, 0.17], [0.26, -0.07, -1.92, -0.03], [0.06, 2.46, -0.19, 0.3], [-0.03, -1.17, 1.14, 0.75], [0.79, -0.91, 1.4, -1.4], [0.59, 2.19, -0.99, -0.57], [0.1, -0.5, -1.55, 0.07], [-1.06, 0.47, -0.92, 1.55], [-0.78, -0.32, 0.81, -1.23], [0.23, 1.31, -1.61, 0.18], [0.26, 0.78, -1.24, -1.32], [0.52, 0.3, 0.25, 0.35], [-0.68, 0.23, 0.29, -0.71], [1.87, 0.47, -1.19, 0.66]];
    let x = Array2::from_shape_fn((rows.len(), 4), |(i, j)| rows[i][j]);
    (x, vec![true, true, false, true, false, true, true, true, true, true, false, false, true, false, true, false, false, true, false, true, false, false, false, false, false, false, false, true, false, true, true, false, true, false, false, false, false, true, false, true])
}

/// scikit-learn liblinear (tol 1e-10, no intercept) coefficients on [`fixture`].
#[rustfmt::skip]
fn sklearn_coefficients() -> Vec<(Penalty, f64, [f64; 4])> {
    vec![
        (Penalty::L1, 0.1, [0.0, -0.09282932843028267, 0.0, 0.0]),
        (Penalty::L1, 1.0, [1.7685797456629107, -2.539347944347941, -0.04794716610849596, 0.5805576993560174]),
        (Penalty::L1, 10.0, [3.133681783544639, -4.711084077984481, -0.48810499011500896, 1.1527450080904051]),
        (Penalty::L2, 0.1, [0.4334725830123114, -0.6200269235513284, 0.01409741116590805, 0.17502774318529193]),
        (Penalty::L2, 1.0, [1.4520042711492795, -1.940137624884842, -0.1452011257273955, 0.5654614930683372]),
        (Penalty::L2, 10.0, [2.654640448257924, -3.8488349272422018, -0.4206650285808694, 1.0203194194138245]),
    ]
}

#[test]
fn both_solver_families_match_sklearn() {
    let (x, y) = fixture();
    for (penalty, c, expected) in sklearn_coefficients() {
        let params = LogisticRegressionParams {
            tol: 1e-10,
            ..LogisticRegressionParams::new(c, penalty)
        }
        .check()
        .unwrap();
        for solver in [Solver::DenseHessian, Solver::HessianFree] {
            let model = params.fit_with(x.view(), &y, solver).unwrap();
            assert!(model.converged, "{penalty:?} C={c} {solver:?}");
            // liblinear's own solution is exact to about 1e-7 at tol 1e-10.
            assert_abs_diff_eq!(
                model.coefficients,
                Array1::from(expected.to_vec()),
                epsilon = 1e-5
            );
        }
    }
}

#[test]
fn l2_gradient_vanishes_and_l1_subgradient_conditions_hold() {
    let (x, y) = fixture();
    let c = 1.0;
    let loss = objective::LogLoss::new(x.view(), &y, c);
    let l2 = LogisticRegressionParams {
        tol: 1e-12,
        ..LogisticRegressionParams::new(c, Penalty::L2)
    }
    .fit(x.view(), &y)
    .unwrap();
    let eval = loss.evaluate(&loss.scores(l2.coefficients.view()));
    let gradient = &eval.gradient + &l2.coefficients;
    assert!(norm(&gradient) < 1e-8);
    let l1 = LogisticRegressionParams {
        tol: 1e-12,
        ..LogisticRegressionParams::new(c, Penalty::L1)
    }
    .fit(x.view(), &y)
    .unwrap();
    let eval = loss.evaluate(&loss.scores(l1.coefficients.view()));
    assert!(l1_optimality(&l1.coefficients, &eval.gradient) < 1e-8);
}

#[test]
fn probability_is_that_of_the_positive_class() {
    // The positive class is the minority and lies on the positive side of feature 0: a
    // majority-class probability would be high on the left.
    let x = array![[-2.0], [-1.5], [-1.0], [-0.5], [-0.2], [0.4], [1.0], [2.0]];
    let y = [false, false, false, false, true, false, true, true];
    let model = LogisticRegressionParams::new(1.0, Penalty::L2)
        .fit(x.view(), &y)
        .unwrap();
    assert!(model.coefficients[0] > 0.0);
    let p = model.predict_proba(array![[-3.0], [3.0]].view());
    assert!(p[0] < 0.1 && p[1] > 0.9, "{p}");
    assert_abs_diff_eq!(
        p[1],
        sigmoid(model.decision_function(array![[3.0]].view())[0]),
        epsilon = 1e-15
    );
    let predicted: Array1<bool> = model.predict(&array![[-3.0], [3.0]]);
    assert_eq!(predicted, array![false, true]);
}

#[test]
fn linfa_fit_trait_gives_the_same_model() {
    let (x, y) = fixture();
    let params = LogisticRegressionParams::new(1.0, Penalty::L1)
        .check()
        .unwrap();
    let direct = params.fit(x.view(), &y).unwrap();
    let dataset = DatasetBase::new(x, Array1::from(y));
    let via_trait = Fit::fit(&params, &dataset).unwrap();
    assert_eq!(direct, via_trait);
}

#[test]
fn bad_params_name_the_parameter() {
    let base = LogisticRegressionParams::new(1.0, Penalty::L2);
    assert_eq!(
        LogisticRegressionParams { c: 0.0, ..base }.check(),
        Err(ParamsError::C(0.0))
    );
    assert!(matches!(
        LogisticRegressionParams {
            c: f64::NAN,
            ..base
        }
        .check(),
        Err(ParamsError::C(_))
    ));
    assert_eq!(
        LogisticRegressionParams { tol: 1.5, ..base }.check(),
        Err(ParamsError::Tol(1.5))
    );
    assert_eq!(
        LogisticRegressionParams {
            max_iter: 0,
            ..base
        }
        .check(),
        Err(ParamsError::MaxIter)
    );
    assert!(ParamsError::C(-1.0).to_string().starts_with("c must be"));
}

#[test]
fn degenerate_training_sets_are_errors() {
    let params = LogisticRegressionParams::new(1.0, Penalty::L1);
    let x = array![[1.0], [2.0]];
    assert!(matches!(
        params.fit(x.view(), &[true, true]),
        Err(LinearError::SingleClass("malicious"))
    ));
    assert!(matches!(
        params.fit(x.view(), &[false, false]),
        Err(LinearError::SingleClass("benign"))
    ));
    assert!(matches!(
        params.fit(Array2::zeros((0, 3)).view(), &[]),
        Err(LinearError::NoRows)
    ));
    assert!(matches!(
        params.fit(x.view(), &[true]),
        Err(LinearError::LengthMismatch { rows: 2, labels: 1 })
    ));
    let bad = array![[1.0], [f64::INFINITY]];
    assert!(matches!(
        params.fit(bad.view(), &[true, false]),
        Err(LinearError::NonFinite)
    ));
}

#[test]
fn strong_l1_penalty_gives_zero_weights_and_separable_data_stays_finite() {
    let (x, y) = fixture();
    let model = LogisticRegressionParams::new(1e-4, Penalty::L1)
        .fit(x.view(), &y)
        .unwrap();
    assert_eq!(model.coefficients, Array1::<f64>::zeros(4));
    assert!(model.converged);
    // Separable data: the L2 optimum is finite and the solver gets there.
    let x = array![[-2.0], [-1.0], [1.0], [2.0]];
    let model = LogisticRegressionParams::new(1e3, Penalty::L2)
        .fit(x.view(), &[false, false, true, true])
        .unwrap();
    assert!(model.converged && model.coefficients[0].is_finite() && model.coefficients[0] > 0.0);
}

#[test]
fn loss_and_sigmoid_are_stable() {
    assert_abs_diff_eq!(log_loss(0.0), 2f64.ln(), epsilon = 1e-15);
    assert_abs_diff_eq!(log_loss(-800.0), 800.0, epsilon = 1e-12);
    assert!(log_loss(800.0) >= 0.0 && log_loss(800.0) < 1e-300);
    assert_abs_diff_eq!(log_loss(40.0), (-40f64).exp(), epsilon = 1e-30);
    assert_eq!(sigmoid(-800.0), 0.0);
    assert_eq!(sigmoid(800.0), 1.0);
    assert_abs_diff_eq!(sigmoid(1.0) + sigmoid(-1.0), 1.0, epsilon = 1e-15);
}

#[test]
fn shifted_sparse_hessian_equals_the_dense_product() {
    // Mostly-constant columns (so the sparse form is used) with a few departures.
    let x = Array2::from_shape_fn((60, 5), |(i, j)| {
        if (i * 7 + j * 3) % 11 == 0 {
            1.0 + j as f64 * 0.5
        } else {
            -0.25 * j as f64
        }
    });
    let y: Vec<bool> = (0..60).map(|i| i % 3 == 0).collect();
    let loss = objective::LogLoss::new(x.view(), &y, 2.0);
    let eval = loss.evaluate(&loss.scores(Array1::from(vec![0.3, -0.2, 0.5, 0.1, -0.4]).view()));
    let sparse = loss.hessian(&eval.curvature, 0.5);
    let dense = (0..5).map(|j| {
        let mut e = Array1::zeros(5);
        e[j] = 1.0;
        loss.hessian_times(&eval.curvature, e.view())
    });
    for (j, column) in dense.enumerate() {
        for i in 0..5 {
            let expected = column[i] + if i == j { 0.5 } else { 0.0 };
            assert_abs_diff_eq!(sparse[[i, j]], expected, epsilon = 1e-12);
        }
    }
}

#[test]
fn lbfgs_sag_and_saga_reach_the_liblinear_optimum() {
    // Run to tight tolerances, every solver minimises the same objective: scikit-learn's
    // liblinear coefficients (to 1e-5 at tol 1e-10) within 1e-4.
    let (x, y) = fixture();
    for (penalty, c, expected) in sklearn_coefficients() {
        for solver in [OptimAlgo::Lbfgs, OptimAlgo::Sag, OptimAlgo::Saga] {
            if !solver.supports(penalty) {
                continue;
            }
            let params = LogisticRegressionParams {
                tol: 1e-10,
                max_iter: 100_000,
                ..LogisticRegressionParams::with_solver(c, penalty, solver)
            };
            let model = params.fit(x.view(), &y).unwrap();
            assert!(model.converged, "{solver:?} {penalty:?} C={c}");
            let expected = Array1::from(expected.to_vec());
            let gap = (&model.coefficients - &expected)
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(gap < 1e-4, "{solver:?} {penalty:?} C={c}: {gap}");
        }
    }
}

#[test]
fn l2_only_solvers_refuse_l1_by_name() {
    for solver in [OptimAlgo::Lbfgs, OptimAlgo::Sag] {
        let err = LogisticRegressionParams::with_solver(1.0, Penalty::L1, solver)
            .check()
            .unwrap_err();
        assert_eq!(
            err,
            ParamsError::Unsupported {
                solver,
                penalty: Penalty::L1
            }
        );
        assert!(err.to_string().contains(solver.name()), "{err}");
    }
    for solver in [OptimAlgo::Liblinear, OptimAlgo::Saga] {
        LogisticRegressionParams::with_solver(1.0, Penalty::L1, solver)
            .check()
            .unwrap();
    }
    // Parameters serialised before the solver existed read as liblinear.
    let old: LogisticRegressionParams =
        serde_json::from_str(r#"{"c":1.0,"penalty":"l1","tol":1e-8,"max_iter":100}"#).unwrap();
    assert_eq!(old.solver, OptimAlgo::Liblinear);
}

/// scikit-learn's lbfgs, sag and saga on NSL-KDD train20 → test
/// (`tests/fixtures/sklearn_logreg_solvers.json`, from `tests/bench/sklearn_logreg_solvers.py`),
/// with scikit-learn's defaults (tol 1e-4, max_iter 100) on both sides: test ROC AUC within
/// 0.005 of scikit-learn's for every solver, penalty and C of SecuML's grid. Only lbfgs at
/// C = 0.01 and 0.1 converges within 100 iterations; the other runs stop at the cap on both
/// sides, where the same algorithm with the same step sizes leaves both at nearly the same
/// objective (checked within 0.5 %), so their AUCs agree too.
#[test]
fn solvers_match_sklearn_on_nsl_kdd() {
    let data = crate::test_data::nsl_kdd();
    let (train, test) = data.standardised();
    let fixture = crate::neighbours::parity::fixture("sklearn_logreg_solvers.json");
    let fits = fixture["fits"].as_array().expect("fits");
    assert_eq!(fits.len(), 16, "4 solver and penalty pairs x 4 values of C");
    for fit in fits {
        let solver = match fit["solver"].as_str().unwrap() {
            "lbfgs" => OptimAlgo::Lbfgs,
            "sag" => OptimAlgo::Sag,
            "saga" => OptimAlgo::Saga,
            other => panic!("solver {other}"),
        };
        let penalty = match fit["penalty"].as_str().unwrap() {
            "l1" => Penalty::L1,
            _ => Penalty::L2,
        };
        let c = fit["C"].as_f64().unwrap();
        let model = LogisticRegressionParams::with_solver(c, penalty, solver)
            .fit(train.view(), &data.train.y)
            .unwrap();
        let scores = model.decision_function(test.view()).to_vec();
        let auc = crate::metrics::roc_auc(&data.test.y, &scores).unwrap();
        let theirs = fit["test_auc"].as_f64().unwrap();
        let loss = objective::LogLoss::new(train.view(), &data.train.y, c);
        let z = loss.scores(model.coefficients.view());
        let regulariser = match penalty {
            Penalty::L1 => model.coefficients.iter().map(|v| v.abs()).sum::<f64>(),
            Penalty::L2 => 0.5 * model.coefficients.dot(&model.coefficients),
        };
        let value = regulariser + loss.value_along(&z, &z, 0.0);
        let their_value = fit["objective"].as_f64().unwrap();
        let case = format!("{solver:?} {penalty:?} C={c}");
        assert!(
            (auc - theirs).abs() <= 0.005,
            "{case}: test AUC {auc} vs {theirs}"
        );
        assert!(
            (value / their_value - 1.0).abs() <= 0.005,
            "{case}: objective {value} vs {their_value}"
        );
        assert_eq!(
            model.converged,
            fit["converged"].as_bool().unwrap(),
            "{case}: converged"
        );
    }
}
