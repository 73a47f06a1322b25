//! Datasets on first use: ingest from the input folder, or reuse the ingested copy if it is current.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use secuml_engine::dataset::{self, IngestOptions, Manifest};
use secuml_proto::DataRef;
use sha2::{Digest, Sha256};
use tracing::info;

use crate::config::Paths;

/// Folder of a dataset in SecuML's layout under the input folder.
pub fn input_dataset_dir(paths: &Paths, project: &str, dataset: &str) -> PathBuf {
    paths.input_dir.join(project).join(dataset)
}

/// Folder of an ingested dataset.
pub fn ingested_dataset_dir(paths: &Paths, project: &str, dataset: &str) -> PathBuf {
    paths.datasets_dir().join(project).join(dataset)
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Whether every source file the manifest records still has the same content, and no
/// annotations file was added since.
fn is_current(input: &Path, manifest: &Manifest) -> anyhow::Result<bool> {
    let annotations = input.join("annotations");
    if annotations.is_dir() {
        for entry in std::fs::read_dir(&annotations)
            .with_context(|| format!("listing {}", annotations.display()))?
        {
            let name = entry?.file_name().to_string_lossy().into_owned();
            let is_csv = name.ends_with(".csv") || name.ends_with(".csv.gz");
            let path = format!("annotations/{name}");
            if is_csv && !manifest.sources.iter().any(|s| s.path == path) {
                return Ok(false);
            }
        }
    }
    for source in &manifest.sources {
        let path = input.join(&source.path);
        if !path.is_file() || sha256_file(&path)? != source.sha256 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Ingests `input` into the data folder (always, replacing any previous copy atomically).
pub fn ingest(
    paths: &Paths,
    input: &Path,
    project: &str,
    dataset: &str,
    features: Option<&str>,
    shard_rows: Option<usize>,
) -> anyhow::Result<Manifest> {
    let output = ingested_dataset_dir(paths, project, dataset);
    let mut options = IngestOptions::new(project, dataset);
    options.shard_rows = shard_rows;
    if let Some(features) = features {
        options.features = features.to_string();
    }
    let started = std::time::Instant::now();
    let manifest = dataset::ingest(input, &output, &options)
        .with_context(|| format!("ingesting {}", input.display()))?;
    info!(
        project,
        dataset,
        rows = manifest.rows,
        seconds = started.elapsed().as_secs_f64(),
        "dataset ingested"
    );
    Ok(manifest)
}

/// The ingested dataset `project/dataset`, ingesting it first if needed.
///
/// The input folder wins when it holds the dataset and differs from what was ingested;
/// an ingested dataset with no input folder is used as it is.
pub fn ensure(paths: &Paths, project: &str, dataset: &str) -> anyhow::Result<DataRef> {
    let input = input_dataset_dir(paths, project, dataset);
    let output = ingested_dataset_dir(paths, project, dataset);
    let has_input = input.join("idents.csv").is_file();
    let ingested = output.join(dataset::MANIFEST_FILE).is_file();
    let needs_ingest = match (has_input, ingested) {
        (_, false) if !has_input => bail!(
            "dataset {project}/{dataset} not found: expected {} (set --input-dir, the config file's input_data_dir or SECUML_INPUT_DIR to the folder holding {project}/{dataset}/)",
            input.join("idents.csv").display()
        ),
        (true, false) => true,
        (false, true) => false,
        (true, true) => {
            let (manifest, _) = dataset::read_manifest(&output)?;
            !is_current(&input, &manifest)?
        }
        (false, false) => unreachable!("handled by the first arm"),
    };
    if needs_ingest {
        ingest(paths, &input, project, dataset, None, None)?;
    }
    let (_, sha) = dataset::read_manifest(&output)
        .with_context(|| format!("reading the manifest of {project}/{dataset}"))?;
    Ok(DataRef {
        project: project.into(),
        dataset: dataset.into(),
        manifest_sha256: sha,
    })
}
