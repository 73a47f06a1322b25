//! Datasets on first use: ingest from the input folder, or reuse the ingested copy if it is current.
//!
//! The ingested copy is in the data root. A local data root is written in place (atomically, by
//! the engine); an object-store one gets the dataset written to the data folder first, then
//! uploaded, manifest last.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use secuml_engine::dataset::{self, IngestOptions, Manifest};
use secuml_proto::DataRef;
use secuml_runtime::data_root::{DataRoot, DATASETS};
use sha2::{Digest, Sha256};
use tracing::info;

use crate::config::Paths;

/// Folder of a dataset in SecuML's layout under the input folder.
pub fn input_dataset_dir(paths: &Paths, project: &str, dataset: &str) -> PathBuf {
    paths.input_dir.join(project).join(dataset)
}

/// Key of an ingested dataset's folder in the data root: `datasets/<project>/<dataset>`.
pub fn dataset_key(project: &str, dataset: &str) -> String {
    format!("{DATASETS}/{project}/{dataset}")
}

/// Local folder an ingest writes: the dataset's folder in a local data root, else its folder
/// in the data folder, uploaded from there.
pub fn ingested_dataset_dir(
    paths: &Paths,
    root: &DataRoot,
    project: &str,
    dataset: &str,
) -> PathBuf {
    root.local_dir()
        .unwrap_or(&paths.data_dir)
        .join(dataset_key(project, dataset))
}

/// The manifest of the ingested `project/dataset` in the data root and its sha256, if any.
fn read_manifest(
    root: &DataRoot,
    project: &str,
    dataset: &str,
) -> anyhow::Result<Option<(Manifest, String)>> {
    let key = format!(
        "{}/{}",
        dataset_key(project, dataset),
        dataset::MANIFEST_FILE
    );
    let Some(bytes) = root.get(&key)? else {
        return Ok(None);
    };
    Ok(Some(dataset::parse_manifest(
        &bytes,
        Path::new(&root.describe(&key)),
    )?))
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

/// Ingests `input` into the data root, always: a local copy is replaced atomically; an object
/// store gets the new files first and the manifest last.
pub fn ingest(
    paths: &Paths,
    root: &DataRoot,
    input: &Path,
    project: &str,
    dataset: &str,
    features: Option<&str>,
    shard_rows: Option<usize>,
) -> anyhow::Result<Manifest> {
    let output = ingested_dataset_dir(paths, root, project, dataset);
    let mut options = IngestOptions::new(project, dataset);
    options.shard_rows = shard_rows;
    if let Some(features) = features {
        options.features = features.to_string();
    }
    let started = std::time::Instant::now();
    let manifest = dataset::ingest(input, &output, &options)
        .with_context(|| format!("ingesting {}", input.display()))?;
    if let Some(objects) = root.objects() {
        let key = dataset_key(project, dataset);
        let files: Vec<String> = manifest
            .shards
            .iter()
            .map(|s| s.file.clone())
            .chain(manifest.annotations.iter().map(|a| a.file.clone()))
            .collect();
        objects
            .publish(
                &key,
                &output,
                &files,
                dataset::MANIFEST_FILE,
                &["shards", "annotations"],
            )
            .with_context(|| {
                format!("uploading {} to {}", output.display(), root.describe(&key))
            })?;
    }
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
pub fn ensure(
    paths: &Paths,
    root: &DataRoot,
    project: &str,
    dataset: &str,
) -> anyhow::Result<DataRef> {
    let input = input_dataset_dir(paths, project, dataset);
    let has_input = input.join("idents.csv").is_file();
    let ingested = read_manifest(root, project, dataset)
        .with_context(|| format!("reading the manifest of {project}/{dataset}"))?;
    let needs_ingest = match (has_input, &ingested) {
        (false, None) => bail!(
            "dataset {project}/{dataset} not found: expected {} (set --input-dir, the config file's input_data_dir or SECUML_INPUT_DIR to the folder holding {project}/{dataset}/)",
            input.join("idents.csv").display()
        ),
        (true, None) => true,
        (false, Some(_)) => false,
        (true, Some((manifest, _))) => !is_current(&input, manifest)?,
    };
    let sha = match ingested {
        Some((_, sha)) if !needs_ingest => sha,
        _ => {
            ingest(paths, root, &input, project, dataset, None, None)?;
            read_manifest(root, project, dataset)?
                .with_context(|| {
                    format!("the manifest of {project}/{dataset} is missing after its ingest")
                })?
                .1
        }
    };
    Ok(DataRef {
        project: project.into(),
        dataset: dataset.into(),
        manifest_sha256: sha,
    })
}
