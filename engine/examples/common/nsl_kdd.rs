//! NSL-KDD train20 and test for the timing examples, encoded and standardised as the engine's
//! tests see them (`crate::test_data`): one-hot vocabulary of train20, scaler fitted on train20.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Axis};
use secuml_engine::dataset::{self, Encoder, IngestOptions};
use secuml_engine::preprocess::StandardScaler;

/// Standardised features and labels of train20 and test.
#[allow(dead_code)]
pub struct Data {
    pub train: Array2<f64>,
    pub train_y: Vec<bool>,
    pub test: Array2<f64>,
    pub test_y: Vec<bool>,
}

/// Reads `data/NSL-KDD/{train20,test}` of the repository.
pub fn load() -> Data {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/NSL-KDD");
    let tmp = std::env::temp_dir().join(format!("secuml-timing-{}", std::process::id()));
    let ingest = |name: &str| {
        let out = tmp.join(name);
        let manifest =
            dataset::ingest(&root.join(name), &out, &IngestOptions::new("NSL-KDD", name))
                .expect("ingest");
        let frame = dataset::read_frame(Path::new(&out), &manifest).expect("read shards");
        (manifest, frame)
    };
    let (train_manifest, train_frame) = ingest("train20");
    let (test_manifest, test_frame) = ingest("test");
    let encoder = Encoder::fit(&train_manifest);
    let train = encoder
        .transform(&train_manifest, &train_frame, None)
        .expect("encode");
    let test = encoder
        .transform(&test_manifest, &test_frame, None)
        .expect("encode");
    let labels = |f: &dataset::Frame| -> Vec<bool> {
        f.labels
            .as_ref()
            .expect("labels")
            .iter()
            .map(|l| l.expect("labelled"))
            .collect()
    };
    let (train_y, test_y) = (labels(&train_frame), labels(&test_frame));
    let _ = std::fs::remove_dir_all(&tmp);
    let scaler = StandardScaler::fit(train.view());
    Data {
        train: scaler.transform(train.view()),
        train_y,
        test: scaler.transform(test.view()),
        test_y,
    }
}

/// Every `step`-th row (0, step, 2 step, ...).
#[allow(dead_code)]
pub fn every(x: &Array2<f64>, step: usize) -> Array2<f64> {
    let rows: Vec<usize> = (0..x.nrows()).step_by(step).collect();
    x.select(Axis(0), &rows)
}
