//! Checks a job's data before any task or experiment exists: what would otherwise fail
//! inside every task fails once, with a clear message.

use secuml_proto::{DiademSpec, RowSelection, Side, ValidationSpec};
use secuml_worker::data::select_rows;
use secuml_worker::DataCache;

use crate::diadem::{outer_splits, DiademData};

/// The warning given when a random validation mode runs on a dataset with timestamps.
pub fn random_mode_warning(spec: &DiademSpec) -> String {
    format!(
        "dataset {}/{} has timestamps: a temporal validation mode (TemporalSplit, CutoffTime, TemporalCv, SlidingWindow) reflects a deployment better than {}, which trains on instances more recent than some it is validated on",
        spec.project,
        spec.dataset,
        spec.validation.mode_name()
    )
}

/// Checks, before any task or experiment exists, what would otherwise fail inside every task:
/// timestamps for the temporal modes, labels (and families for a multiclass model) to train
/// on, enough of each class for the folds
/// of every outer split, instances to validate on, validation datasets with the training
/// features. Loads the training data into `cache`, which the workers then reuse.
pub fn diadem(cache: &DataCache, spec: &DiademSpec, data: &DiademData) -> anyhow::Result<()> {
    let loaded = cache
        .load(&data.train, None)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    let mode = spec.validation.mode_name();
    if spec.validation.is_temporal() && loaded.timestamps.is_none() {
        anyhow::bail!(
            "validation mode {mode} needs timestamps, and dataset {}/{} has none: idents.csv has no `timestamp` column (use RandomSplit, Cv or ValidationDatasets)",
            spec.project,
            spec.dataset
        );
    }
    if spec.validation.is_random() && loaded.timestamps.is_some() {
        let warning = random_mode_warning(spec);
        tracing::warn!(project = %spec.project, dataset = %spec.dataset, mode, "{warning}");
        eprintln!("warning: {warning}");
    }
    let labels = cache
        .labels(&data.train, &loaded, &spec.annotations)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    let families = match spec.multiclass {
        true => Some(
            cache
                .required_families(&data.train, &loaded, &spec.annotations)
                .map_err(|f| anyhow::anyhow!(f.message))?,
        ),
        false => None,
    };
    let timestamps = loaded.timestamps.as_deref();
    let name = format!("{}/{}", spec.project, spec.dataset);
    for outer in outer_splits(spec) {
        let which = match outer.fold {
            Some(f) => format!("outer fold {f} of {mode}"),
            None => format!("the training side of {mode}"),
        };
        let side = |side| {
            select_rows(
                &labels,
                timestamps,
                &RowSelection {
                    outer: outer.split.clone(),
                    side,
                },
            )
            .map_err(|f| anyhow::anyhow!("{name}, {mode}: {}", f.message))
        };
        let train = side(Side::Train)?;
        for (class, label) in [(false, "benign (label 0)"), (true, "malicious (label 1)")] {
            let count = train.labels.iter().filter(|l| **l == class).count();
            anyhow::ensure!(
                count >= spec.num_folds as usize,
                "{which} trains on {count} {label} instance(s) of {name}, fewer than the {} folds of the search",
                spec.num_folds
            );
        }
        if let Some(families) = &families {
            let distinct: std::collections::BTreeSet<&str> = train
                .rows
                .iter()
                .filter_map(|&r| families[r].as_deref())
                .collect();
            anyhow::ensure!(
                distinct.len() >= 2,
                "{which} trains on {} famil{} of {name}: a multiclass model needs at least 2",
                distinct.len(),
                if distinct.len() == 1 { "y" } else { "ies" }
            );
        }
        match &spec.validation {
            ValidationSpec::ValidationDatasets { .. } => {}
            ValidationSpec::UnlabeledLabeled => {
                anyhow::ensure!(
                    labels.iter().any(Option::is_none),
                    "validation mode UnlabeledLabeled predicts the unlabelled instances, and every instance of {name} is labelled by {}",
                    match &spec.annotations {
                        secuml_proto::AnnotationsSource::GroundTruth => "the ground truth".to_string(),
                        secuml_proto::AnnotationsSource::File(f) => format!("`{f}`"),
                    }
                );
            }
            _ => {
                let test = side(Side::Test)?;
                anyhow::ensure!(
                    !test.rows.is_empty(),
                    "{which} holds out no labelled instance of {name} to validate on"
                );
            }
        }
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
