//! Times the semi-supervised SVDD on NSL-KDD, on the rows of its parity test (fit on every 10th
//! train20 row, every 10th of them labelled; score every 5th test row) and, with `--full`, on
//! the whole of train20 (every 10th row labelled) and test; one thread.
//!
//! `cargo run --release -p secuml-engine --example svdd_timing [--full]`; SecuML beside it
//! (subsample only: its objective loops over rows in Python):
//! `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 tests/bench/sklearn_sssvdd.py /tmp/sssvdd.py --time`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use secuml_engine::metrics::roc_auc;
use secuml_engine::model::Detector;
use secuml_engine::sample;
use secuml_engine::svdd;
use secuml_proto::hyper::SssvddHyper;

fn main() {
    let full = std::env::args().any(|a| a == "--full");
    let data = sample::repository_nsl_kdd().expect("NSL-KDD sample");
    let (train, test) = data.standardised();
    let (step_train, step_test) = if full { (1, 1) } else { (10, 5) };
    let (train, test) = (
        sample::every(&train, step_train),
        sample::every(&test, step_test),
    );
    let truth: Vec<bool> = data.train.y.iter().step_by(step_train).copied().collect();
    let y: Vec<bool> = data.test.y.iter().step_by(step_test).copied().collect();
    let semi: Vec<Option<bool>> = truth
        .iter()
        .enumerate()
        .map(|(i, &l)| (i % 10 == 0).then_some(l))
        .collect();
    let none = vec![None; truth.len()];
    for (name, labels) in [("semi_supervised", &semi), ("unsupervised", &none)] {
        let t0 = Instant::now();
        let model = svdd::fit(&SssvddHyper::default(), train.view(), labels, 0).expect("fit");
        let fit_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let s = model.scores(test.view());
        let score_s = t1.elapsed().as_secs_f64();
        let json = serde_json::json!({
            "variant": name, "rows": train.nrows(), "test_auc": roc_auc(&y, &s),
            "iterations": model.iterations, "converged": model.converged,
            "fit_s": fit_s, "score_s": score_s, "total_s": fit_s + score_s,
        });
        println!("{json}");
    }
}
