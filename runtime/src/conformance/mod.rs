//! Conformance suites that every [`Store`](crate::Store) and [`TaskQueue`](crate::TaskQueue)
//! implementation runs unchanged, through [`store_conformance!`](crate::store_conformance)
//! and [`queue_conformance!`](crate::queue_conformance).
//!
//! Each check is a plain async function taking a fresh instance; the macros wrap each one in
//! a `#[tokio::test]`, so the calling crate needs `tokio` (with `macros` and `rt-multi-thread`).
//! Checks panic on failure, like any test. Outside this crate, enable the `conformance` feature.

pub mod queue;
pub mod store;

/// A name unique to this call, so that checks sharing one broker or server do not meet.
pub fn unique_name(base: &str) -> String {
    format!("{base}-{:016x}", rand::random::<u64>())
}
