//! The NSL-KDD sample the repository ships (`data/NSL-KDD/{train20,test}`), encoded as the
//! DIADEM pipeline encodes it: one-hot vocabulary fixed on train20 (a test-only category
//! encodes as all zeros), columns in the encoder's order. The engine's tests, its timing
//! examples and the scikit-learn scripts of `tests/bench/` (`sklearn_nslkdd.py`) all read it
//! this way.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Axis};
use thiserror::Error;

use crate::dataset::{
    ingest, read_frame, DatasetError, Encoder, Frame, IngestError, IngestOptions,
};
use crate::preprocess::StandardScaler;

/// One encoded dataset.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// Rows × encoded columns, raw (not standardised).
    pub x: Array2<f64>,
    /// Ground truth, `true` for malicious.
    pub y: Vec<bool>,
    /// Ground-truth families (`"other"` where absent).
    pub families: Vec<String>,
}

/// NSL-KDD train20 (25,192 rows) and test (22,544 rows), both encoded with train20's encoder.
#[derive(Debug, Clone)]
pub struct NslKdd {
    /// Training set.
    pub train: Encoded,
    /// Test set.
    pub test: Encoded,
    /// Encoded column names.
    pub columns: Vec<String>,
}

/// Why the sample could not be read.
#[derive(Debug, Error)]
pub enum SampleError {
    /// The CSV input could not be ingested.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The ingested dataset could not be read or encoded.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// A row has no label.
    #[error("{dataset} set: row {row} has no label; every row must be labelled")]
    Unlabelled {
        /// `train` or `test`.
        dataset: &'static str,
        /// Row index.
        row: usize,
    },
}

impl NslKdd {
    /// Both sets standardised with the scaler fitted on train20 (SecuML's pipelines).
    pub fn standardised(&self) -> (Array2<f64>, Array2<f64>) {
        let scaler = StandardScaler::fit(self.train.x.view());
        (
            scaler.transform(self.train.x.view()),
            scaler.transform(self.test.x.view()),
        )
    }

    /// train20's families, sorted, and the index among them of each train20 row's family.
    pub fn train_classes(&self) -> (Vec<String>, Vec<usize>) {
        let mut classes = self.train.families.clone();
        classes.sort();
        classes.dedup();
        let y = self
            .train
            .families
            .iter()
            .map(|f| classes.binary_search(f).expect("a train family"))
            .collect();
        (classes, y)
    }
}

/// The repository's copy of the sample: `data/NSL-KDD` beside the engine crate.
pub fn repository_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/NSL-KDD")
}

/// Reads `<dir>/train20` and `<dir>/test` (SecuML's layout), ingesting them into `work_dir`
/// (created if needed; the caller removes it), and encodes both with train20's encoder.
pub fn nsl_kdd(dir: &Path, work_dir: &Path) -> Result<NslKdd, SampleError> {
    read_pair(&dir.join("train20"), &dir.join("test"), work_dir)
}

/// Reads a training and a test dataset in SecuML's layout (every row labelled), ingesting
/// them into `work_dir/{train,test}`, and encodes both with the training set's encoder.
pub fn read_pair(train: &Path, test: &Path, work_dir: &Path) -> Result<NslKdd, SampleError> {
    let load = |input: &Path, name: &'static str| -> Result<_, SampleError> {
        let out = work_dir.join(name);
        let manifest = ingest(input, &out, &IngestOptions::new("NSL-KDD", name))?;
        let frame = read_frame(&out, &manifest)?;
        Ok((labelled(name, &frame)?, manifest, frame))
    };
    let (mut train, train_manifest, train_frame) = load(train, "train")?;
    let (mut test, test_manifest, test_frame) = load(test, "test")?;
    let encoder = Encoder::fit(&train_manifest);
    train.x = encoder.transform(&train_manifest, &train_frame, None)?;
    test.x = encoder.transform(&test_manifest, &test_frame, None)?;
    Ok(NslKdd {
        train,
        test,
        columns: encoder.names(),
    })
}

/// Labels and families of a frame (features left empty).
fn labelled(dataset: &'static str, frame: &Frame) -> Result<Encoded, SampleError> {
    let labels = frame.labels.as_deref().unwrap_or_default();
    let y = (0..frame.rows())
        .map(|row| {
            labels
                .get(row)
                .copied()
                .flatten()
                .ok_or(SampleError::Unlabelled { dataset, row })
        })
        .collect::<Result<_, _>>()?;
    let families = match &frame.families {
        Some(f) => f
            .iter()
            .map(|v| v.clone().unwrap_or_else(|| "other".into()))
            .collect(),
        None => vec!["other".into(); frame.rows()],
    };
    Ok(Encoded {
        x: Array2::zeros((0, 0)),
        y,
        families,
    })
}

/// Every `step`-th row of `x` (rows 0, step, 2 step, …), as numpy's `x[::step]`.
pub fn every(x: &Array2<f64>, step: usize) -> Array2<f64> {
    let rows: Vec<usize> = (0..x.nrows()).step_by(step).collect();
    x.select(Axis(0), &rows)
}

/// [`nsl_kdd`] of the repository's copy ([`repository_dir`]), ingested into a temporary
/// folder that is removed afterwards.
pub fn repository_nsl_kdd() -> Result<NslKdd, SampleError> {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let work = std::env::temp_dir().join(format!("secuml-nsl-kdd-{}-{call}", std::process::id()));
    let data = nsl_kdd(&repository_dir(), &work);
    // A leftover temporary folder is harmless; the data is what matters.
    let _ = std::fs::remove_dir_all(&work);
    data
}

/// CPU time of the calling thread so far, in seconds (Linux: `/proc/thread-self/schedstat`;
/// NaN elsewhere), for the timing examples: beside the wall time, which other work on the
/// machine inflates.
pub fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns * 1e-9)
}
