//! [`check_hyper`]: every class's domains refused by name before any data, SecuML's defaults
//! accepted, and the same verdict as the fit's.

use ndarray::Array2;
use secuml_proto::hyper::{
    Criterion, DecisionTreeHyper, EllipticEnvelopeHyper, Gamma, GaussianNbHyper,
    GradientBoostingHyper, IsolationForestHyper, LabelPropagationHyper, LofHyper, MaxFeatures,
    MaxSamples, OneClassSvmHyper, OptimAlgo, RandomForestHyper, Splitter, SssvddHyper, SvcHyper,
    TreeLimits, WeightedIsolationForestHyper,
};
use secuml_proto::{Hyper, ModelSpec, Penalty};

use super::{check_hyper, fit, ModelError};

fn tree(limits: TreeLimits) -> Hyper {
    Hyper::DecisionTree(DecisionTreeHyper {
        criterion: Criterion::Gini,
        splitter: Splitter::Best,
        limits,
    })
}

/// The tree limits of scikit-learn's defaults with one field changed.
fn limits(change: impl FnOnce(&mut TreeLimits)) -> TreeLimits {
    let mut l = TreeLimits::unlimited(MaxFeatures::All);
    change(&mut l);
    l
}

/// A bad value of every checked hyperparameter, with the name it must be refused by.
fn bad_values() -> Vec<(Hyper, &'static str)> {
    let rf = RandomForestHyper::default();
    let gb = GradientBoostingHyper::default();
    let iso = IsolationForestHyper::default();
    let weighted = WeightedIsolationForestHyper::default();
    let lof = LofHyper::default();
    let svm = OneClassSvmHyper::default();
    let prop = LabelPropagationHyper::default();
    let svdd = SssvddHyper::default();
    let lr = |c, penalty, optim_algo| Hyper::LogisticRegression {
        c,
        penalty,
        optim_algo,
    };
    vec![
        (lr(0.0, Penalty::L2, OptimAlgo::Liblinear), "regularization"),
        (lr(f64::NAN, Penalty::L1, OptimAlgo::Saga), "regularization"),
        (lr(1.0, Penalty::L1, OptimAlgo::Lbfgs), "optim-algo"),
        (Hyper::Svc(SvcHyper { c: -1.0 }), "c"),
        (
            Hyper::GaussianNaiveBayes(GaussianNbHyper {
                var_smoothing: -1e-9,
            }),
            "var-smoothing",
        ),
        (tree(limits(|l| l.max_depth = Some(0))), "max-depth"),
        (
            tree(limits(|l| l.min_samples_split = 1)),
            "min-samples-split",
        ),
        (tree(limits(|l| l.min_samples_leaf = 0)), "min-samples-leaf"),
        (
            tree(limits(|l| l.max_features = MaxFeatures::Fraction(1.5))),
            "max-features",
        ),
        (
            tree(limits(|l| l.max_leaf_nodes = Some(1))),
            "max-leaf-nodes",
        ),
        (
            tree(limits(|l| l.min_impurity_decrease = -0.1)),
            "min-impurity-decrease",
        ),
        (
            Hyper::RandomForest(RandomForestHyper {
                n_estimators: 0,
                ..rf
            }),
            "n-estimators",
        ),
        (
            Hyper::RandomForest(RandomForestHyper {
                limits: limits(|l| l.max_depth = Some(0)),
                ..rf
            }),
            "max-depth",
        ),
        (
            Hyper::GradientBoosting(GradientBoostingHyper {
                learning_rate: 0.0,
                ..gb
            }),
            "learning-rate",
        ),
        (
            Hyper::GradientBoosting(GradientBoostingHyper {
                n_estimators: 0,
                ..gb
            }),
            "n-estimators",
        ),
        (
            Hyper::GradientBoosting(GradientBoostingHyper {
                subsample: 1.5,
                ..gb
            }),
            "subsample",
        ),
        (
            Hyper::GradientBoosting(GradientBoostingHyper {
                limits: limits(|l| l.min_samples_leaf = 0),
                ..gb
            }),
            "min-samples-leaf",
        ),
        (
            Hyper::LabelPropagation(LabelPropagationHyper { gamma: 0.0, ..prop }),
            "gamma",
        ),
        (
            Hyper::LabelPropagation(LabelPropagationHyper {
                n_neighbors: 0,
                ..prop
            }),
            "n-neighbors",
        ),
        (Hyper::Sssvdd(SssvddHyper { nu_l: -1.0, ..svdd }), "nu-l"),
        (
            Hyper::Sssvdd(SssvddHyper {
                nu_u: f64::INFINITY,
                ..svdd
            }),
            "nu-u",
        ),
        (
            Hyper::Sssvdd(SssvddHyper {
                kappa: -0.5,
                ..svdd
            }),
            "kappa",
        ),
        (
            Hyper::WeightedIsolationForest(WeightedIsolationForestHyper {
                eta: 0.0,
                ..weighted
            }),
            "eta",
        ),
        (
            Hyper::WeightedIsolationForest(WeightedIsolationForestHyper {
                forest: IsolationForestHyper {
                    n_estimators: 0,
                    ..iso
                },
                ..weighted
            }),
            "n-estimators",
        ),
        (
            Hyper::IsolationForest(IsolationForestHyper {
                n_estimators: 0,
                ..iso
            }),
            "n-estimators",
        ),
        (
            Hyper::IsolationForest(IsolationForestHyper {
                max_samples: MaxSamples::Count(0),
                ..iso
            }),
            "max-samples",
        ),
        (
            Hyper::IsolationForest(IsolationForestHyper {
                max_samples: MaxSamples::Fraction(2.0),
                ..iso
            }),
            "max-samples",
        ),
        (
            Hyper::IsolationForest(IsolationForestHyper {
                max_features: 0.0,
                ..iso
            }),
            "max-features",
        ),
        (
            Hyper::Lof(LofHyper {
                n_neighbors: 0,
                ..lof
            }),
            "n-neighbors",
        ),
        (
            Hyper::Lof(LofHyper {
                contamination: 0.6,
                ..lof
            }),
            "contamination",
        ),
        (
            Hyper::OneClassSvm(OneClassSvmHyper { nu: 0.0, ..svm }),
            "nu",
        ),
        (
            Hyper::OneClassSvm(OneClassSvmHyper {
                gamma: Gamma::Value(-1.0),
                ..svm
            }),
            "gamma",
        ),
        (
            Hyper::EllipticEnvelope(EllipticEnvelopeHyper { contamination: 0.0 }),
            "contamination",
        ),
    ]
}

fn refused_param(result: Result<(), ModelError>) -> Option<&'static str> {
    match result {
        Err(ModelError::Param { param, .. }) => Some(param),
        _ => None,
    }
}

#[test]
fn a_bad_value_of_every_checked_parameter_is_refused_by_its_name_without_data() {
    let bad = bad_values();
    let classes: std::collections::BTreeSet<&str> =
        bad.iter().map(|(h, _)| h.class_name()).collect();
    assert_eq!(
        classes.len(),
        ModelSpec::CLASS_NAMES.len(),
        "every class has a bad value here"
    );
    for (hyper, param) in bad {
        for d in [None, Some(1), Some(41)] {
            assert_eq!(
                refused_param(check_hyper(&hyper, d)),
                Some(param),
                "{hyper:?} with {d:?} features"
            );
        }
        let message = check_hyper(&hyper, None).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("invalid hyperparameter `{param}`: ")),
            "{message}"
        );
    }
}

#[test]
fn secuml_default_grids_are_accepted() {
    for class in ModelSpec::CLASS_NAMES {
        let spec = ModelSpec::secuml_default(class).unwrap();
        let candidates = spec.candidates().unwrap();
        assert!(!candidates.is_empty(), "{class}");
        for hyper in &candidates {
            assert_eq!(hyper.class_name(), class);
            for d in [None, Some(1), Some(41)] {
                assert_eq!(
                    check_hyper(hyper, d),
                    Ok(()),
                    "{hyper:?} with {d:?} features"
                );
            }
        }
    }
}

#[test]
fn the_fit_refuses_what_check_hyper_refuses_with_the_same_error() {
    // Two labelled rows of each class: enough data for every class to reach its checks.
    let x = Array2::from_shape_vec((4, 2), vec![0.0, 1.0, 1.0, 0.0, 5.0, 6.0, 6.0, 5.0]).unwrap();
    let y = [Some(false), Some(false), Some(true), Some(true)];
    for (hyper, _) in bad_values() {
        let checked = check_hyper(&hyper, Some(x.ncols())).unwrap_err();
        let fitted = fit(&hyper, x.view(), &y, 0).unwrap_err();
        assert_eq!(fitted, checked, "{hyper:?}");
    }
}
