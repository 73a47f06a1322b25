//! placeholder

pub mod browser;
