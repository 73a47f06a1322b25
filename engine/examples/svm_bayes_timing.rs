//! Fit and predict wall times of Gaussian naive Bayes, the linear SVC and the one-class SVM on
//! NSL-KDD, for the side-by-side comparison with scikit-learn.
//!
//! `cargo run --release -p secuml-engine --example svm_bayes_timing -- [MODEL] [C...]`, from the
//! repository root, MODEL one of `nb`, `svc`, `ocsvm` (all by default; C defaults to 0.01 1).
//! Encodes train20 and test as the unit tests do, standardises both with train20's scaler, then
//! prints one JSON line per fit: seconds to fit, to score test, and the test ROC AUC.
//! Beside it, one thread each:
//! `OMP_NUM_THREADS=1 python3 tests/bench/sklearn_gaussian_nb.py --time`,
//! `OMP_NUM_THREADS=1 python3 tests/bench/sklearn_svc.py --c C`,
//! `OMP_NUM_THREADS=1 python3 tests/bench/sklearn_one_class_svm.py --time`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use ndarray::{Array2, Axis};
use secuml_engine::metrics::roc_auc;
use secuml_engine::model::Detector;
use secuml_engine::{bayes, sample, svm};
use secuml_proto::hyper::{GaussianNbHyper, OneClassSvmHyper, SvcHyper};

/// Standardised rows and their labels (true = malicious).
type Labelled = (Array2<f64>, Vec<bool>);

fn load() -> (Labelled, Labelled) {
    let data = sample::repository_nsl_kdd().expect("NSL-KDD sample");
    let (train, test) = data.standardised();
    ((train, data.train.y), (test, data.test.y))
}

fn report(model: &str, fit_seconds: f64, detector: &dyn Detector, test: &Labelled) {
    let start = Instant::now();
    let scores = detector.scores(test.0.view());
    let predict_seconds = start.elapsed().as_secs_f64();
    let auc = roc_auc(&test.1, &scores).unwrap_or(f64::NAN);
    println!(
        "{{\"model\": \"{model}\", \"fit_seconds\": {fit_seconds:.3}, \"predict_seconds\": {predict_seconds:.3}, \"test_auc\": {auc:.6}}}"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("all", String::as_str);
    let cs: Vec<f64> = if args.len() > 1 {
        args[1..]
            .iter()
            .map(|s| s.parse().expect("C is a number"))
            .collect()
    } else {
        vec![0.01, 1.0]
    };
    let (train, test) = load();
    if which == "all" || which == "nb" {
        let start = Instant::now();
        let model =
            bayes::fit(&GaussianNbHyper::default(), train.0.view(), &train.1, 0).expect("fit");
        report("GaussianNb", start.elapsed().as_secs_f64(), &model, &test);
    }
    if which == "all" || which == "svc" {
        for &c in &cs {
            let start = Instant::now();
            let model = svm::svc::fit(&SvcHyper { c }, train.0.view(), &train.1, 0).expect("fit");
            let fit_seconds = start.elapsed().as_secs_f64();
            report(&format!("Svc C={c}"), fit_seconds, &model, &test);
            let decision = model.decision_function(test.0.view());
            println!(
                "{{\"model\": \"Svc C={c} decision\", \"test_auc\": {:.6}, \"intercept\": {:.6}}}",
                roc_auc(&test.1, &decision).unwrap_or(f64::NAN),
                model.intercept
            );
        }
    }
    if which == "all" || which == "ocsvm" {
        let every_tenth: Vec<usize> = (0..train.0.nrows()).step_by(10).collect();
        let sub = train.0.select(Axis(0), &every_tenth);
        let (start, cpu) = (Instant::now(), sample::cpu_seconds());
        let model = svm::one_class::fit(&OneClassSvmHyper::default(), sub.view(), 0).expect("fit");
        let fit_cpu = sample::cpu_seconds() - cpu;
        let cpu = sample::cpu_seconds();
        let scores = model.scores(test.0.view());
        println!(
            "{{\"model\": \"OneClassSvm every 10th row\", \"fit_cpu_seconds\": {fit_cpu:.3}, \"predict_cpu_seconds\": {:.3}, \"test_auc\": {:.6}}}",
            sample::cpu_seconds() - cpu,
            roc_auc(&test.1, &scores).unwrap_or(f64::NAN)
        );
        report(
            "OneClassSvm every 10th row",
            start.elapsed().as_secs_f64(),
            &model,
            &test,
        );
    }
}
