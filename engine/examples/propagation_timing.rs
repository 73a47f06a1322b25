//! Times label propagation (rbf and knn kernels) on NSL-KDD on the rows of its parity test:
//! fit on every 10th train20 row (2,520 rows; every 4th of them labelled), score every 5th test
//! row (4,509 rows), on one thread.
//!
//! `cargo run --release -p secuml-engine --example propagation_timing`; scikit-learn beside it:
//! `OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 tests/bench/sklearn_label_propagation.py --time`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use secuml_engine::metrics::roc_auc;
use secuml_engine::model::Detector;
use secuml_engine::propagation;
use secuml_engine::sample;
use secuml_proto::hyper::{LabelPropagationHyper, PropagationKernel};

fn main() {
    let data = sample::repository_nsl_kdd().expect("NSL-KDD sample");
    let (train, test) = data.standardised();
    let (train, test) = (sample::every(&train, 10), sample::every(&test, 5));
    let labels: Vec<Option<bool>> = data
        .train
        .y
        .iter()
        .step_by(10)
        .enumerate()
        .map(|(i, &l)| (i % 4 == 0).then_some(l))
        .collect();
    let y: Vec<bool> = data.test.y.iter().step_by(5).copied().collect();
    for (kernel, name) in [
        (PropagationKernel::Rbf, "rbf"),
        (PropagationKernel::Knn, "knn"),
    ] {
        let hyper = LabelPropagationHyper {
            kernel,
            ..LabelPropagationHyper::default()
        };
        let t0 = Instant::now();
        let model = propagation::fit(&hyper, train.view(), &labels, 0).expect("fit");
        let fit_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let p = model.scores(test.view());
        let score_s = t1.elapsed().as_secs_f64();
        let json = serde_json::json!({
            "kernel": name, "test_auc": roc_auc(&y, &p), "iterations": model.iterations,
            "fit_s": fit_s, "score_s": score_s, "total_s": fit_s + score_s,
        });
        println!("{json}");
    }
}
