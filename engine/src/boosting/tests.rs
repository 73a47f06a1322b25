//! Unit tests of gradient boosting: scikit-learn parity on NSL-KDD, the parts on hand-made
//! data, bad input, determinism, serde.

use ndarray::{array, Array2};
use secuml_proto::hyper::{GradientBoostingHyper, MaxFeatures, TreeLimits};
use serde_json::Value;

use super::*;
use crate::metrics::roc_auc;
use crate::test_data::nsl_kdd;

/// The output of tests/bench/sklearn_gradient_boosting.py.
fn fixture() -> Value {
    serde_json::from_str(include_str!(
        "../../../tests/fixtures/sklearn_gradient_boosting.json"
    ))
    .expect("fixture")
}

fn hyper(max_depth: u32, subsample: f64) -> GradientBoostingHyper {
    GradientBoostingHyper {
        limits: TreeLimits {
            max_depth: Some(max_depth),
            ..GradientBoostingHyper::default().limits
        },
        subsample,
        ..GradientBoostingHyper::default()
    }
}

/// Test ROC AUC of a fit on standardised NSL-KDD train20, and the model.
fn nsl_kdd_fit(hyper: &GradientBoostingHyper, seed: u64) -> (f64, GradientBoosting) {
    let data = nsl_kdd();
    let (train, test) = data.standardised();
    let model = fit(hyper, train.view(), &data.train.y, seed).unwrap();
    let auc = roc_auc(&data.test.y, &model.scores(test.view())).unwrap();
    (auc, model)
}

/// The `k` most important features, by name, most important first.
fn top_features(model: &GradientBoosting, k: usize) -> Vec<(String, f64)> {
    let names = &nsl_kdd().columns;
    let mut order: Vec<usize> = (0..model.importances.len()).collect();
    order.sort_by(|&a, &b| model.importances[b].total_cmp(&model.importances[a]));
    order
        .into_iter()
        .take(k)
        .map(|j| (names[j].clone(), model.importances[j]))
        .collect()
}

fn sklearn_top(config: &Value) -> Vec<(String, f64)> {
    config["top_importances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_f64().unwrap()))
        .collect()
}

#[test]
fn explore_parity() {
    let fx = fixture();
    for (key, depth, subsample) in [("d3_sub1.0", 3, 1.0), ("d3_sub0.1", 3, 0.1), ("d5_sub0.1", 5, 0.1)] {
        let start = std::time::Instant::now();
        let (auc, model) = nsl_kdd_fit(&hyper(depth, subsample), 0);
        let nodes: usize = model.trees.iter().map(|t| t.node_count()).sum();
        eprintln!("{key}: ours {auc:.4} sklearn {:.4} nodes {nodes} vs {} in {:?}", fx[key]["test_auc"].as_f64().unwrap(), fx[key]["nodes"], start.elapsed());
        let (_, test) = nsl_kdd().standardised();
        eprintln!("  head {:?} vs {}", &model.decision_function(test.view())[..5], fx[key]["decision_function_head"]);
        if subsample < 1.0 {
            let aucs: Vec<f64> = (1..8).map(|s| nsl_kdd_fit(&hyper(depth, subsample), s).0).collect();
            let mean = (auc + aucs.iter().sum::<f64>()) / 8.0;
            eprintln!("  seeds {aucs:?} mean {mean:.4} vs {}", fx[key]["seed_auc_mean"]);
        }
    }
}
