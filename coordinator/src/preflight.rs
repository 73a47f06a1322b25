//! Checks a job's data before any task or experiment exists: what would otherwise fail
//! inside every task fails once, with a clear message.

use secuml_proto::{DiademSpec, OuterSplit, RowSelection, Side, ValidationSpec};
use secuml_worker::data::select_rows;
use secuml_worker::DataCache;

use crate::diadem::DiademData;

/// Checks, before any task or experiment exists, what would otherwise fail inside every task:
/// labels to train on, enough of each class for the folds, validation datasets with the
/// training features. Loads the training data into `cache`, which the workers then reuse.
pub fn diadem(cache: &DataCache, spec: &DiademSpec, data: &DiademData) -> anyhow::Result<()> {
    let loaded = cache
        .load(&data.train, None)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    let labels = cache
        .labels(&data.train, &loaded, &spec.annotations)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    let rows = RowSelection {
        outer: match &spec.validation {
            ValidationSpec::RandomSplit { test_size } => OuterSplit::RandomSplit {
                test_size: *test_size,
                seed: spec.seed,
            },
            ValidationSpec::ValidationDatasets { .. } => OuterSplit::Whole,
        },
        side: Side::Train,
    };
    let train = select_rows(&labels, &rows).map_err(|f| anyhow::anyhow!(f.message))?;
    for (class, name) in [(false, "benign (label 0)"), (true, "malicious (label 1)")] {
        let count = train.labels.iter().filter(|l| **l == class).count();
        anyhow::ensure!(
            count >= spec.num_folds as usize,
            "the training rows of {}/{} hold {count} {name} instance(s), fewer than the {} folds of the search",
            spec.project,
            spec.dataset,
            spec.num_folds
        );
    }
    let features: Vec<&str> = loaded
        .encoder
        .columns()
        .iter()
        .map(|(f, _)| f.as_str())
        .collect();
    for v in &data.validation {
        let (manifest, _) = cache.manifest(v).map_err(|f| anyhow::anyhow!(f.message))?;
        if let Some(missing) = features.iter().find(|f| manifest.feature(f).is_none()) {
            anyhow::bail!(
                "validation dataset {}/{} has no feature `{missing}`, which {}/{} trains on",
                v.project,
                v.dataset,
                spec.project,
                spec.dataset
            );
        }
    }
    Ok(())
}
