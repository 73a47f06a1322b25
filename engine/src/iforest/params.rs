//! Checks of the isolation forests' hyperparameters and training data, and the sizes they
//! resolve to on a given dataset.

use ndarray::ArrayView2;
use secuml_proto::hyper::{IsolationForestHyper, MaxSamples};

use crate::model::ModelError;

/// What an [`IsolationForestHyper`] means on an n × d dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Resolved {
    /// Trees.
    pub n_estimators: usize,
    /// Rows each tree is grown on (ψ), in [1, n].
    pub max_samples: usize,
    /// Features each tree draws from, in [1, d].
    pub max_features: usize,
    /// Deepest level of a tree (root at 0): ceil(log2(max(ψ, 2))).
    pub max_depth: u32,
}

/// Checks the hyperparameters alone (no data needed).
pub(crate) fn check_hyper(hyper: &IsolationForestHyper) -> Result<(), ModelError> {
    if hyper.n_estimators == 0 {
        return Err(ModelError::param("n-estimators", "an integer >= 1"));
    }
    match hyper.max_samples {
        MaxSamples::Auto => {}
        MaxSamples::Count(0) => {
            return Err(ModelError::param(
                "max-samples",
                "`auto`, a count >= 1 or a fraction in (0, 1]",
            ))
        }
        MaxSamples::Count(_) => {}
        MaxSamples::Fraction(f) => {
            if !(f > 0.0 && f <= 1.0) {
                return Err(ModelError::param(
                    "max-samples",
                    format!("a fraction in (0, 1], got {f}"),
                ));
            }
        }
    }
    let f = hyper.max_features;
    if !(f > 0.0 && f <= 1.0) {
        return Err(ModelError::param(
            "max-features",
            format!("a fraction in (0, 1], got {f}"),
        ));
    }
    Ok(())
}

/// Checks the hyperparameters and the training data, and resolves the sizes.
pub(crate) fn resolve(
    hyper: &IsolationForestHyper,
    x: ArrayView2<f64>,
) -> Result<Resolved, ModelError> {
    check_hyper(hyper)?;
    let (n, d) = x.dim();
    if n == 0 {
        return Err(ModelError::Data("no training row".into()));
    }
    if d == 0 {
        return Err(ModelError::Data("no feature column".into()));
    }
    check_finite(x)?;
    let max_samples = match hyper.max_samples {
        MaxSamples::Auto => n.min(256),
        MaxSamples::Count(c) => (c as usize).min(n),
        // As scikit-learn: int(fraction * n), here never below one row.
        MaxSamples::Fraction(f) => ((f * n as f64) as usize).clamp(1, n),
    };
    // As scikit-learn's bagging: max(1, int(fraction * d)).
    let max_features = ((hyper.max_features * d as f64) as usize).clamp(1, d);
    let max_depth = (max_samples.max(2) as f64).log2().ceil() as u32;
    Ok(Resolved {
        n_estimators: hyper.n_estimators as usize,
        max_samples,
        max_features,
        max_depth,
    })
}

/// Fails on the first NaN or infinite value, naming its row and column.
fn check_finite(x: ArrayView2<f64>) -> Result<(), ModelError> {
    for (i, row) in x.outer_iter().enumerate() {
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::Data(format!(
                "non-finite value {} at row {i}, column {j}",
                row[j]
            )));
        }
    }
    Ok(())
}
