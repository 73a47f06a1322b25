//! Real data for the engine's unit tests: the NSL-KDD sample the repository ships, ingested once
//! per test process, encoded as the DIADEM pipeline encodes it (one-hot vocabulary fixed on
//! train20, unseen test categories all zeros).

use std::path::PathBuf;
use std::sync::OnceLock;

use ndarray::Array2;

use crate::dataset::{ingest, read_frame, Encoder, IngestOptions};
use crate::preprocess::StandardScaler;

/// One encoded dataset.
pub struct Encoded {
    /// Rows × encoded columns, raw (not standardised).
    pub x: Array2<f64>,
    /// Ground truth, `true` for malicious.
    pub y: Vec<bool>,
    /// Ground-truth families (`"other"` where absent).
    #[allow(dead_code)] // for the tests that look at families
    pub families: Vec<String>,
}

/// NSL-KDD train20 (25,192 rows) and test (22,544 rows), both encoded with train20's encoder.
pub struct NslKdd {
    /// Training set.
    pub train: Encoded,
    /// Test set.
    pub test: Encoded,
    /// Encoded column names.
    pub columns: Vec<String>,
}

impl NslKdd {
    /// Both sets standardised with the scaler fitted on train20 (SecuML's pipelines).
    #[allow(dead_code)] // for the tests of the classes that standardise
    pub fn standardised(&self) -> (Array2<f64>, Array2<f64>) {
        let scaler = StandardScaler::fit(self.train.x.view());
        (
            scaler.transform(self.train.x.view()),
            scaler.transform(self.test.x.view()),
        )
    }
}

fn repo_data(dataset: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/NSL-KDD")
        .join(dataset)
}

/// The shared, lazily ingested NSL-KDD sample.
pub fn nsl_kdd() -> &'static NslKdd {
    static DATA: OnceLock<NslKdd> = OnceLock::new();
    DATA.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("temporary folder");
        let load = |name: &str| {
            let out = tmp.path().join(name);
            let manifest = ingest(&repo_data(name), &out, &IngestOptions::new("NSL-KDD", name))
                .unwrap_or_else(|e| panic!("ingest of NSL-KDD/{name}: {e}"));
            let frame = read_frame(&out, &manifest).expect("frame");
            (manifest, frame)
        };
        let (train_manifest, train_frame) = load("train20");
        let (test_manifest, test_frame) = load("test");
        let encoder = Encoder::fit(&train_manifest);
        let encode = |manifest, frame: &crate::dataset::Frame| Encoded {
            x: encoder.transform(manifest, frame, None).expect("encode"),
            y: frame
                .labels
                .as_ref()
                .expect("labels")
                .iter()
                .map(|l| l.expect("every NSL-KDD row is labelled"))
                .collect(),
            families: frame
                .families
                .as_ref()
                .map(|f| {
                    f.iter()
                        .map(|v| v.clone().unwrap_or_else(|| "other".into()))
                        .collect()
                })
                .unwrap_or_else(|| vec!["other".into(); frame.rows()]),
        };
        NslKdd {
            train: encode(&train_manifest, &train_frame),
            test: encode(&test_manifest, &test_frame),
            columns: encoder.names(),
        }
    })
}

#[test]
fn nsl_kdd_shapes() {
    let data = nsl_kdd();
    assert_eq!(data.train.x.dim(), (25_192, 118));
    assert_eq!(data.test.x.dim(), (22_544, 118));
    assert_eq!(data.columns.len(), 118);
}
