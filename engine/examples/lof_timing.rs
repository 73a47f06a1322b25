//! Times the local outlier factor on NSL-KDD: fit on the whole of train20 (25,192 rows),
//! score the whole test set (22,544 rows), on one thread.
//!
//! `cargo run --release -p secuml-engine --example lof_timing`; scikit-learn beside it:
//! `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 tests/bench/sklearn_lof.py --time`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use secuml_engine::lof;
use secuml_engine::metrics::roc_auc;
use secuml_engine::model::Detector;
use secuml_engine::sample;
use secuml_proto::hyper::LofHyper;

fn main() {
    let data = sample::repository_nsl_kdd().expect("NSL-KDD sample");
    let (train, test) = data.standardised();
    let (t0, c0) = (Instant::now(), sample::cpu_seconds());
    let model = lof::fit(&LofHyper::default(), train.view(), 0).expect("fit");
    let (fit_s, fit_cpu_s) = (t0.elapsed().as_secs_f64(), sample::cpu_seconds() - c0);
    let (t1, c1) = (Instant::now(), sample::cpu_seconds());
    let scores = model.scores(test.view());
    let (score_s, score_cpu_s) = (t1.elapsed().as_secs_f64(), sample::cpu_seconds() - c1);
    let json = serde_json::json!({
        "test_auc": roc_auc(&data.test.y, &scores),
        "fit_s": fit_s, "score_s": score_s, "fit_cpu_s": fit_cpu_s, "score_cpu_s": score_cpu_s, "total_s": fit_s + score_s,
    });
    println!("{json}");
}
