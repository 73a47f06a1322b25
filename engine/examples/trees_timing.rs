//! Fit and predict times of our decision tree and random forest on NSL-KDD train20 → test,
//! standardised as SecuML's pipelines do, beside scikit-learn's.
//!
//! `cargo run --release -p secuml-engine --example trees_timing [-- forest|grid|all]` prints
//! one JSON line: for the forest (SecuML's defaults, seed 0) the fit (wall and CPU) and predict
//! times
//! and the test ROC AUC; for the grid (SecuML's 60 decision-tree points, one fit each, seed 0)
//! the total fit time and each point's fit time, test ROC AUC and node count. One thread.
//! scikit-learn's times, on the same machine, from the repository root:
//! `OMP_NUM_THREADS=1 python3 tests/bench/sklearn_random_forest.py --time` and
//! `OMP_NUM_THREADS=1 python3 tests/bench/sklearn_decision_tree.py --time`.
//! With `multiclass` (not part of `all`): the fit times of the native K-class tree and forest
//! (SecuML's defaults, seed 0) on train20's 22 families, beside scikit-learn's
//! `OMP_NUM_THREADS=1 python3 tests/bench/sklearn_multiclass_trees.py --time`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use ndarray::Array2;
use secuml_engine::metrics::roc_auc;
use secuml_engine::{forest, sample, tree};
use secuml_proto::hyper::{
    Criterion, DecisionTreeHyper, MaxFeatures, RandomForestHyper, Splitter, TreeLimits,
};

/// NSL-KDD train20 and test, encoded with train20's encoder, standardised on train20.
fn nsl_kdd() -> (Array2<f64>, Vec<bool>, Array2<f64>, Vec<bool>) {
    let data = sample::repository_nsl_kdd().expect("NSL-KDD sample");
    let (train, test) = data.standardised();
    (train, data.train.y, test, data.test.y)
}

/// SecuML's decision-tree grid, in scikit-learn's `ParameterGrid` order of the reference.
fn grid() -> Vec<DecisionTreeHyper> {
    let mut points = Vec::new();
    for criterion in [Criterion::Gini, Criterion::Entropy] {
        for splitter in [Splitter::Best, Splitter::Random] {
            for max_depth in [Some(5), Some(10), Some(15), Some(20), None] {
                for max_features in [MaxFeatures::Sqrt, MaxFeatures::Log2, MaxFeatures::All] {
                    points.push(DecisionTreeHyper {
                        criterion,
                        splitter,
                        limits: TreeLimits {
                            max_depth,
                            ..TreeLimits::unlimited(max_features)
                        },
                    });
                }
            }
        }
    }
    points
}

fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if what == "multiclass" {
        multiclass();
        return;
    }
    let (x_train, y_train, x_test, y_test) = nsl_kdd();
    let mut out = serde_json::Map::new();
    if what == "forest" || what == "all" {
        let hyper = RandomForestHyper::default();
        let (t, c) = (Instant::now(), sample::cpu_seconds());
        let model = forest::fit(&hyper, x_train.view(), &y_train, 0).expect("forest fit");
        let (fit_s, fit_cpu_s) = (t.elapsed().as_secs_f64(), sample::cpu_seconds() - c);
        let t = Instant::now();
        let proba = model.predict_proba(x_test.view());
        let predict_s = t.elapsed().as_secs_f64();
        let nodes = model.trees.iter().map(|t| t.len()).sum::<usize>() as f64 / 100.0;
        out.insert(
            "forest".into(),
            serde_json::json!({
                "fit_s": fit_s, "fit_cpu_s": fit_cpu_s, "predict_s": predict_s,
                "test_auc": roc_auc(&y_test, &proba), "mean_tree_nodes": nodes,
            }),
        );
    }
    if what == "grid" || what == "all" {
        let mut points = Vec::new();
        let (mut total, mut total_cpu) = (0.0, 0.0);
        for hyper in grid() {
            let (t, c) = (Instant::now(), sample::cpu_seconds());
            let model = tree::fit(&hyper, x_train.view(), &y_train, 0).expect("tree fit");
            let (fit_s, fit_cpu_s) = (t.elapsed().as_secs_f64(), sample::cpu_seconds() - c);
            total += fit_s;
            total_cpu += fit_cpu_s;
            let auc = roc_auc(&y_test, &model.predict_proba(x_test.view()));
            points.push(serde_json::json!({
                "hyper": hyper, "fit_s": fit_s, "fit_cpu_s": fit_cpu_s, "test_auc": auc,
                "node_count": model.tree.len(), "depth": model.tree.depth(),
            }));
        }
        out.insert(
            "grid".into(),
            serde_json::json!({"grid_fit_s": total, "grid_fit_cpu_s": total_cpu, "per_point": points}),
        );
    }
    println!("{}", serde_json::Value::Object(out));
}

/// Fit times of the native K-class tree and forest on train20's families.
fn multiclass() {
    let data = sample::repository_nsl_kdd().expect("NSL-KDD sample");
    let (x_train, _) = data.standardised();
    let (classes, y) = data.train_classes();
    let k = classes.len();
    let mut out = serde_json::Map::new();
    out.insert("train_families".into(), k.into());
    let tree_hyper = DecisionTreeHyper {
        criterion: Criterion::Gini,
        splitter: Splitter::Best,
        limits: TreeLimits::unlimited(MaxFeatures::All),
    };
    let (t, c) = (Instant::now(), sample::cpu_seconds());
    let model = tree::fit_classes(&tree_hyper, x_train.view(), &y, k, 0).expect("tree fit");
    out.insert(
        "decision_tree".into(),
        serde_json::json!({
            "fit_s": t.elapsed().as_secs_f64(), "fit_cpu_s": sample::cpu_seconds() - c,
            "node_count": model.tree.tree.len(),
        }),
    );
    let (t, c) = (Instant::now(), sample::cpu_seconds());
    let model = forest::fit_classes(&RandomForestHyper::default(), x_train.view(), &y, k, 0)
        .expect("forest fit");
    let nodes = model.trees.iter().map(|t| t.tree.len()).sum::<usize>() as f64 / 100.0;
    out.insert(
        "random_forest".into(),
        serde_json::json!({
            "fit_s": t.elapsed().as_secs_f64(), "fit_cpu_s": sample::cpu_seconds() - c,
            "mean_tree_nodes": nodes,
        }),
    );
    println!("{}", serde_json::Value::Object(out));
}
