//! Fit and predict wall times of gradient boosting on NSL-KDD train20 → test, beside
//! scikit-learn's.
//!
//! ```text
//! cargo build --release -p secuml-engine --examples
//! target/release/examples/boosting_timing [REPEATS] [SUBSAMPLE]
//! OMP_NUM_THREADS=1 python3 tests/bench/sklearn_gradient_boosting.py --time
//! target/release/examples/boosting_timing families [REPEATS]
//! OMP_NUM_THREADS=1 python3 tests/bench/sklearn_multiclass_boosting.py --time
//! ```
//! Reads both sets (`secuml_engine::sample`), standardises them with train20's scaler (SecuML's
//! pipeline), then for
//! SecuML's grid (learning rate 0.1, 100 stages, subsample 0.1 unless given, max_depth 3 and
//! 5) prints the best of `REPEATS` (default 3) fit and predict times and the test ROC AUC.
//! With `families`: multiclass boosting of train20's families (SecuML's defaults, max_depth 3,
//! subsample 0.1), the best of `REPEATS` (default 1) fit and predict times, the test accuracy
//! and F1 macro over test's families.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use secuml_engine::metrics::{multiclass_indicators, roc_auc};
use secuml_engine::model::Detector;
use secuml_engine::{boosting, sample};
use secuml_proto::hyper::{GradientBoostingHyper, TreeLimits};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("families") {
        families(args.get(1).map_or(1, |s| s.parse().expect("REPEATS")));
        return;
    }
    let repeats: usize = args.first().map_or(3, |s| s.parse().expect("REPEATS"));
    let subsample: f64 = args.get(1).map_or(0.1, |s| s.parse().expect("SUBSAMPLE"));

    let data = sample::repository_nsl_kdd().expect("NSL-KDD sample");
    let (x_train, x_test) = data.standardised();
    let (y_train, y_test) = (data.train.y, data.test.y);

    for depth in [3, 5] {
        let hyper = GradientBoostingHyper {
            limits: TreeLimits {
                max_depth: Some(depth),
                ..GradientBoostingHyper::default().limits
            },
            subsample,
            ..GradientBoostingHyper::default()
        };
        let (mut fit_s, mut predict_s, mut auc) = (f64::INFINITY, f64::INFINITY, 0.0);
        for _ in 0..repeats {
            let t = Instant::now();
            let model = boosting::fit(&hyper, x_train.view(), &y_train, 0).expect("fit");
            fit_s = fit_s.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let scores = model.scores(x_test.view());
            predict_s = predict_s.min(t.elapsed().as_secs_f64());
            auc = roc_auc(&y_test, &scores).expect("both classes");
        }
        println!(
            "max_depth {depth} subsample {subsample}: fit {fit_s:.3} s, predict {predict_s:.3} s, \
             test AUC {auc:.4}"
        );
    }
}

/// Multiclass boosting of train20's families, predicting test's.
fn families(repeats: usize) {
    let data = sample::repository_nsl_kdd().expect("NSL-KDD sample");
    let (x_train, x_test) = data.standardised();
    let (classes, y) = data.train_classes();
    let hyper = GradientBoostingHyper::default();
    let (mut fit_s, mut predict_s) = (f64::INFINITY, f64::INFINITY);
    let mut predicted = Vec::new();
    for _ in 0..repeats {
        let t = Instant::now();
        let model =
            boosting::fit_classes(&hyper, x_train.view(), &y, classes.len(), 0).expect("fit");
        fit_s = fit_s.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let proba = model.predict_proba(x_test.view());
        predicted = proba
            .iter()
            .map(|p| (0..p.len()).fold(0, |b, k| if p[k] > p[b] { k } else { b }))
            .collect();
        predict_s = predict_s.min(t.elapsed().as_secs_f64());
    }
    let predicted: Vec<&str> = predicted.iter().map(|&k| classes[k].as_str()).collect();
    let truth: Vec<&str> = data.test.families.iter().map(String::as_str).collect();
    let m = multiclass_indicators(&truth, &predicted).expect("rows");
    println!(
        "families ({} classes), max_depth 3 subsample 0.1: fit {fit_s:.3} s, predict \
         {predict_s:.3} s, test accuracy {:.4}, F1 macro {:.4}",
        classes.len(),
        m.accuracy,
        m.f1_macro
    );
}
