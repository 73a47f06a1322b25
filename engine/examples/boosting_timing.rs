//! Fit and predict wall times of gradient boosting on NSL-KDD train20 → test, beside
//! scikit-learn's.
//!
//! ```text
//! cargo build --release -p secuml-engine --examples
//! target/release/examples/boosting_timing [REPEATS] [SUBSAMPLE]
//! OMP_NUM_THREADS=1 python3 tests/bench/sklearn_gradient_boosting.py --time
//! ```
//! Reads both sets (`secuml_engine::sample`), standardises them with train20's scaler (SecuML's
//! pipeline), then for
//! SecuML's grid (learning rate 0.1, 100 stages, subsample 0.1 unless given, max_depth 3 and
//! 5) prints the best of `REPEATS` (default 3) fit and predict times and the test ROC AUC.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use secuml_engine::metrics::roc_auc;
use secuml_engine::model::Detector;
use secuml_engine::{boosting, sample};
use secuml_proto::hyper::{GradientBoostingHyper, TreeLimits};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
