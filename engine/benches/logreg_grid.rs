//! Times SecuML's logistic regression grid search (C ∈ {0.01, 0.1, 1, 10} × {l1, l2},
//! unshuffled stratified 4-fold CV scored by ROC AUC, then the refit) on one core.
//!
//! `cargo bench -p secuml-engine --bench logreg_grid -- TRAIN.bin [TEST.bin]` reads matrices
//! written by `tests/bench/dump_nslkdd_matrices.py` (little-endian u64 rows, u64 columns, the
//! row-major f64 features, then one f64 label per row); without a file it times a seeded
//! synthetic problem of NSL-KDD's shape.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use secuml_engine::linear::{LogisticRegressionParams, Penalty};
use secuml_engine::metrics::roc_auc;
use secuml_engine::preprocess::StandardScaler;
use secuml_engine::split::stratified_kfold;

fn read_matrix(path: &str) -> (Array2<f64>, Vec<bool>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    let (n, d) = (word(0) as usize, word(1) as usize);
    let float = |i: usize| f64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    let x = Array2::from_shape_fn((n, d), |(i, j)| float(2 + i * d + j));
    let y = (0..n).map(|i| float(2 + n * d + i) > 0.5).collect();
    (x, y)
}

fn synthetic(n: usize, d: usize, seed: u64) -> (Array2<f64>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w: Vec<f64> = (0..d)
        .map(|j| {
            if j % 3 == 0 {
                rng.gen_range(-2.0..2.0)
            } else {
                0.0
            }
        })
        .collect();
    let x = Array2::from_shape_fn((n, d), |_| rng.gen_range(-1.0..1.0));
    let y = x
        .rows()
        .into_iter()
        .map(|r| r.dot(&ndarray::ArrayView1::from(&w)) + rng.gen_range(-1.0..1.0) > 0.0)
        .collect();
    (x, y)
}

fn select(x: &Array2<f64>, y: &[bool], rows: &[usize]) -> (Array2<f64>, Vec<bool>) {
    (
        x.select(Axis(0), rows),
        rows.iter().map(|&i| y[i]).collect(),
    )
}

fn main() {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (x, y) = match files.first() {
        Some(path) => read_matrix(path),
        None => synthetic(25_192, 118, 0),
    };
    println!("train: {} x {}", x.nrows(), x.ncols());
    let folds = stratified_kfold(&y, 4, None).expect("both classes present");
    let start = Instant::now();
    let mut best = (f64::NEG_INFINITY, 0.0, Penalty::L2);
    for c in [0.01, 0.1, 1.0, 10.0] {
        for penalty in [Penalty::L1, Penalty::L2] {
            let t = Instant::now();
            let params = LogisticRegressionParams::new(c, penalty)
                .check()
                .expect("valid");
            let mut aucs = Vec::new();
            let mut iterations = Vec::new();
            for k in 0..4 {
                let train: Vec<usize> = (0..y.len()).filter(|&i| folds[i] != k).collect();
                let valid: Vec<usize> = (0..y.len()).filter(|&i| folds[i] == k).collect();
                let (mut xt, yt) = select(&x, &y, &train);
                let (mut xv, yv) = select(&x, &y, &valid);
                let scaler = StandardScaler::fit(xt.view());
                scaler.transform_inplace(&mut xt);
                scaler.transform_inplace(&mut xv);
                let model = params.fit(xt.view(), &yt).expect("fit");
                iterations.push((model.iterations, model.converged));
                aucs.push(
                    roc_auc(
                        &yv,
                        model
                            .predict_proba(xv.view())
                            .as_slice()
                            .expect("contiguous"),
                    )
                    .expect("auc"),
                );
            }
            let mean = aucs.iter().sum::<f64>() / 4.0;
            println!(
                "C={c:<5} {penalty:?}: mean CV AUC {mean:.6}  {:.2} s  iterations {iterations:?}",
                t.elapsed().as_secs_f64()
            );
            if mean > best.0 {
                best = (mean, c, penalty);
            }
        }
    }
    let t = Instant::now();
    let scaler = StandardScaler::fit(x.view());
    let xs = scaler.transform(x.view());
    let model = LogisticRegressionParams::new(best.1, best.2)
        .fit(xs.view(), &y)
        .expect("refit");
    println!(
        "refit C={} {:?}: {:.2} s, {} iterations, converged {}",
        best.1,
        best.2,
        t.elapsed().as_secs_f64(),
        model.iterations,
        model.converged
    );
    let margins = xs.dot(&model.coefficients);
    let data_term: f64 = margins
        .iter()
        .zip(&y)
        .map(|(&m, &l)| {
            let t = if l { -m } else { m };
            t.max(0.0) + (-t.abs()).exp().ln_1p()
        })
        .sum();
    let regulariser = match best.2 {
        Penalty::L1 => model.coefficients.iter().map(|w| w.abs()).sum::<f64>(),
        Penalty::L2 => 0.5 * model.coefficients.dot(&model.coefficients),
    };
    println!("refit objective: {:.6}", regulariser + best.1 * data_term);
    println!(
        "grid + refit wall time: {:.2} s",
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = files.get(1) {
        let (xt, yt) = read_matrix(path);
        let proba = model.predict_proba(scaler.transform(xt.view()).view());
        println!(
            "test ROC AUC: {:.6}",
            roc_auc(&yt, proba.as_slice().expect("contiguous")).expect("auc")
        );
    }
}
