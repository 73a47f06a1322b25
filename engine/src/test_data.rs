//! Real data for the engine's unit tests: the NSL-KDD sample the repository ships
//! ([`crate::sample`]), ingested once per test process.

use std::sync::OnceLock;

pub use crate::sample::NslKdd;

/// The shared, lazily ingested NSL-KDD sample.
pub fn nsl_kdd() -> &'static NslKdd {
    static DATA: OnceLock<NslKdd> = OnceLock::new();
    DATA.get_or_init(|| {
        crate::sample::repository_nsl_kdd().unwrap_or_else(|e| panic!("NSL-KDD sample: {e}"))
    })
}

#[test]
fn nsl_kdd_shapes() {
    let data = nsl_kdd();
    assert_eq!(data.train.x.dim(), (25_192, 118));
    assert_eq!(data.test.x.dim(), (22_544, 118));
    assert_eq!(data.columns.len(), 118);
    assert_eq!(data.train.y.len(), 25_192);
    assert_eq!(data.test.families.len(), 22_544);
}
