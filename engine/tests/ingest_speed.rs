//! Times the whole ingest of NSL-KDD train20 (run with `--release --nocapture` to see it).
//!
//! The bound is loose on purpose, to catch an accidental slowdown by an order of magnitude
//! without failing on a busy machine; the comparison with the pandas + pyarrow reference
//! (`bench/reference/ingest.py`) is done by hand from the printed timings.

use std::path::Path;
use std::time::{Duration, Instant};

use secuml_engine::dataset::{ingest, IngestOptions};

#[test]
fn train20_ingest_time() {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/NSL-KDD/train20");
    let out = tempfile::tempdir().unwrap();
    let opts = IngestOptions::new("NSL-KDD", "train20");
    let mut times: Vec<Duration> = (0..7)
        .map(|i| {
            let started = Instant::now();
            ingest(&input, &out.path().join(format!("run-{i}")), &opts).unwrap();
            started.elapsed()
        })
        .collect();
    let first = times[0];
    times.sort();
    eprintln!(
        "train20 ingest: first {:.1} ms, min {:.1} ms, median {:.1} ms",
        first.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3
    );
    assert!(
        times[times.len() / 2] < Duration::from_secs(3),
        "ingest took {times:?}"
    );
}
