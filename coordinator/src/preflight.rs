//! Checks a job's data before any task or experiment exists: what would otherwise fail
//! inside every task fails once, with a clear message.

use secuml_proto::{
    AlertsAnalysis, AnnotationsSource, ClusteringAlgo, ClusteringSpec, DataRef, DiademSpec,
    JobSpec, RowSelection, Side, ValidationSpec,
};
use secuml_worker::data::{annotation_file, select_rows};
use secuml_worker::DataCache;

use crate::connect::BadRequest;
use crate::diadem::{outer_splits, DiademData};

/// Checks a request before any job or experiment exists: the spec's parameters, then, for a
/// DIADEM job, every candidate of its grid (and of the alerts' classification model) against
/// its class's domains, as the fit checks them. A bad one is a [`BadRequest`] naming the
/// parameter.
pub fn request(job: &JobSpec) -> Result<(), BadRequest> {
    job.validate().map_err(|e| BadRequest(e.to_string()))?;
    if let JobSpec::Diadem(spec) = job {
        hyperparameters(spec, None).map_err(BadRequest)?;
    }
    Ok(())
}

/// Every candidate of `spec`'s grids checked by [`secuml_engine::model::check_hyper`], with
/// the number of encoded columns when known; the error names the parameter and the candidate.
fn hyperparameters(spec: &DiademSpec, num_features: Option<usize>) -> Result<(), String> {
    let mut models = vec![&spec.model];
    if let Some(AlertsAnalysis::Classification { model, .. }) = &spec.alerts {
        models.push(model);
    }
    for model in models {
        let candidates = model.candidates().map_err(|e| e.to_string())?;
        for hyper in &candidates {
            secuml_engine::model::check_hyper(hyper, num_features).map_err(|e| {
                let of = match num_features {
                    Some(d) => format!(" on {d} encoded feature column(s)"),
                    None => String::new(),
                };
                format!("{e} (candidate {} {hyper}{of})", hyper.class_name())
            })?;
        }
    }
    Ok(())
}

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
/// the hyperparameters of every candidate on the training features, timestamps for the
/// temporal modes, labels (and families for a multiclass model) to train
/// on, enough of each class for the folds of a supervised class's search
/// in every outer split, instances to validate on, validation datasets with the training
/// features. Loads the training data into `cache`, which the workers then reuse.
pub fn diadem(cache: &DataCache, spec: &DiademSpec, data: &DiademData) -> anyhow::Result<()> {
    let loaded = cache
        .load(&data.train, None)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    hyperparameters(spec, Some(loaded.encoder.columns().len())).map_err(anyhow::Error::msg)?;
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
    // An unsupervised class trained on every row needs no label (a dataset without any is
    // predicted with no performance); the other classes and splits need them.
    let unsupervised_on_all = spec.model.supervision()
        == Some(secuml_proto::Supervision::Unsupervised)
        && matches!(
            spec.validation,
            ValidationSpec::ValidationDatasets { .. } | ValidationSpec::UnlabeledLabeled
        );
    let labels = match unsupervised_on_all {
        true => cache.labels_or_none(&data.train, &loaded, &spec.annotations),
        false => cache.labels(&data.train, &loaded, &spec.annotations),
    }
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
    // Only a supervised class searches its grid over folds of the labelled rows: the others
    // (an isolation forest on benign rows only, say) need no class in them.
    let searched = spec.model.supervision() == Some(secuml_proto::Supervision::Supervised);
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
            if !searched {
                break;
            }
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

/// Checks a clustering job's data before any task or experiment exists: an instance per
/// cluster at least, and the annotations file shown per cluster.
pub fn clustering(cache: &DataCache, spec: &ClusteringSpec, data: &DataRef) -> anyhow::Result<()> {
    let (manifest, _) = cache
        .manifest(data)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    let ClusteringAlgo::Kmeans { num_clusters, .. } = spec.algo;
    num_clusters_fit(data, num_clusters, manifest.rows).map_err(anyhow::Error::msg)?;
    if let Some(AnnotationsSource::File(name)) = &spec.annotations {
        annotation_file(data, &manifest, name).map_err(|f| anyhow::anyhow!(f.message))?;
    }
    Ok(())
}

/// Whether `data`'s `rows` instances can be split into `num_clusters` clusters; the refusal
/// names the parameter, its value and the instances.
pub fn num_clusters_fit(data: &DataRef, num_clusters: u32, rows: usize) -> Result<(), String> {
    if (num_clusters as usize) <= rows {
        return Ok(());
    }
    Err(format!(
        "invalid parameter `num-clusters`: {num_clusters} clusters asked for, but dataset {}/{} \
         has {rows} instance(s) (at most one cluster per instance)",
        data.project, data.dataset
    ))
}

/// Checks, before any task or experiment exists, the stored model an AlreadyTrained job
/// applies (`bytes`, the model of experiment `model_exp_id`, if there is one): that it exists,
/// is of this format version, and that every validation dataset has the features it was
/// trained on.
pub fn already_trained(
    cache: &DataCache,
    data: &DiademData,
    model_exp_id: u64,
    bytes: Option<&[u8]>,
) -> anyhow::Result<()> {
    let bytes = bytes.ok_or_else(|| {
        anyhow::anyhow!(
            "experiment {model_exp_id} has no stored model: --model-exp-id names a DIADEM experiment that trained one (see `secuml jobs` or the dashboard's menus)"
        )
    })?;
    let (model, _) = secuml_worker::execute::decode_model(model_exp_id, bytes)
        .map_err(|f| anyhow::anyhow!(f.message))?;
    for v in &data.validation {
        let (manifest, _) = cache.manifest(v).map_err(|f| anyhow::anyhow!(f.message))?;
        if let Some(column) = model
            .columns
            .iter()
            .find(|c| manifest.feature(&c.feature).is_none())
        {
            anyhow::bail!(
                "validation dataset {}/{} has no feature `{}`, which the model of experiment {model_exp_id} was trained on",
                v.project,
                v.dataset,
                column.feature
            );
        }
    }
    Ok(())
}
