//! Support vector machines as SecuML configures them: the linear C-SVC with probabilities
//! ([`Svc`], scikit-learn's `SVC(kernel='linear', probability=True)`) and the ν one-class SVM
//! with an RBF kernel ([`OneClassSvm`], scikit-learn's `OneClassSVM(kernel='rbf')`), both
//! scikit-learn wrappers of libsvm.
//!
#![doc = include_str!("README.md")]

mod kernel;
mod linear;
pub mod one_class;
mod platt;
mod smo;
pub mod svc;
#[cfg(test)]
mod tests;

pub use one_class::OneClassSvm;
pub use svc::Svc;

use ndarray::ArrayView2;

use crate::model::ModelError;

/// libsvm's (and scikit-learn's `tol`) stopping tolerance on the maximal violation.
const EPS: f64 = 1e-3;

/// Memory for the RBF kernel's columns (a column is 8 bytes a training row).
const KERNEL_CACHE_BYTES: usize = 512 << 20;

/// Rejects an empty `x` or one with a non-finite value.
fn check_rows(x: ArrayView2<f64>) -> Result<(), ModelError> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(ModelError::Data(
            "the training set has no row or no column".into(),
        ));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(ModelError::Data(
            "the training set has a non-finite value".into(),
        ));
    }
    Ok(())
}
