//! Wall time of the isolation forests on NSL-KDD, for the side-by-side comparison with
//! scikit-learn.
//!
//! `cargo run --release -p secuml-engine --example iforest_timing -- [TRAIN_DIR TEST_DIR] [REPEAT]`
//! (default: the repository's `data/NSL-KDD/train20` and `data/NSL-KDD/test`, 5 repeats)
//! ingests both datasets, encodes them with train20's encoder, then times, single-threaded,
//! the isolation forest's fit on train20 and its scores of train20 and test (SecuML's
//! defaults: 100 trees, max_samples auto, max_features 1.0), and the same for the weighted
//! isolation forest with every 84th train20 row labelled (300 rows). Prints one JSON line with
//! the best time of each phase over the repeats and the test ROC AUC.
//!
//! scikit-learn's time, beside it (from the shared folder holding bench/ and data/):
//! `OMP_NUM_THREADS=1 python3 tests/bench/sklearn_iforest.py --time`
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use secuml_engine::iforest::{self, weighted};
use secuml_engine::metrics::roc_auc;
use secuml_engine::model::Detector;
use secuml_engine::sample;
use secuml_proto::hyper::{IsolationForestHyper, WeightedIsolationForestHyper};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = sample::repository_dir();
    let (train_dir, test_dir) = match args.as_slice() {
        [a, b, ..] => (PathBuf::from(a), PathBuf::from(b)),
        _ => (data.join("train20"), data.join("test")),
    };
    let repeat: usize = args
        .get(2)
        .map_or(5, |r| r.parse().expect("REPEAT is a number"));

    let tmp = std::env::temp_dir().join(format!("secuml-iforest-bench-{}", std::process::id()));
    let data = sample::read_pair(&train_dir, &test_dir, &tmp).expect("read both datasets");
    let _ = std::fs::remove_dir_all(&tmp);
    // Isolation forests do not standardise.
    let (x_train, y_train) = (data.train.x, data.train.y);
    let (x_test, y_test) = (data.test.x, data.test.y);

    let hyper = IsolationForestHyper::default();
    let mut plain = Phases::default();
    let mut auc = 0.0;
    for _ in 0..repeat {
        let t0 = Instant::now();
        let model = iforest::fit(&hyper, x_train.view(), 0).expect("fit");
        let t1 = Instant::now();
        std::hint::black_box(model.scores(x_train.view()));
        let t2 = Instant::now();
        let scores = model.scores(x_test.view());
        let t3 = Instant::now();
        plain.record(t0, t1, t2, t3);
        auc = roc_auc(&y_test, &scores).expect("both classes");
    }

    let feedback: Vec<Option<bool>> = y_train
        .iter()
        .enumerate()
        .map(|(i, &y)| (i % 84 == 0).then_some(y))
        .collect();
    let weighted_hyper = WeightedIsolationForestHyper::default();
    let mut weighted_phases = Phases::default();
    let mut weighted_auc = 0.0;
    for _ in 0..repeat {
        let t0 = Instant::now();
        let model = weighted::fit(&weighted_hyper, x_train.view(), &feedback, 0).expect("fit");
        let t1 = Instant::now();
        std::hint::black_box(model.scores(x_train.view()));
        let t2 = Instant::now();
        let scores = model.scores(x_test.view());
        let t3 = Instant::now();
        weighted_phases.record(t0, t1, t2, t3);
        weighted_auc = roc_auc(&y_test, &scores).expect("both classes");
    }

    let json = serde_json::json!({
        "model": "IsolationForest",
        "repeat": repeat,
        "train_rows": x_train.nrows(),
        "test_rows": x_test.nrows(),
        "roc_auc_test": auc,
        "best": plain.json(),
        "weighted": {
            "labelled_rows": feedback.iter().filter(|l| l.is_some()).count(),
            "roc_auc_test": weighted_auc,
            "best": weighted_phases.json(),
        },
    });
    println!("{json}");
}

/// The best time of each phase over the repeats.
struct Phases {
    fit: f64,
    score_train: f64,
    score_test: f64,
    total: f64,
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            fit: f64::INFINITY,
            score_train: f64::INFINITY,
            score_test: f64::INFINITY,
            total: f64::INFINITY,
        }
    }
}

impl Phases {
    fn record(&mut self, t0: Instant, t1: Instant, t2: Instant, t3: Instant) {
        self.fit = self.fit.min((t1 - t0).as_secs_f64());
        self.score_train = self.score_train.min((t2 - t1).as_secs_f64());
        self.score_test = self.score_test.min((t3 - t2).as_secs_f64());
        self.total = self.total.min((t3 - t0).as_secs_f64());
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "fit_s": self.fit,
            "score_train_s": self.score_train,
            "score_test_s": self.score_test,
            "total_s": self.total,
        })
    }
}
