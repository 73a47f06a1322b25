//! Ingest: reads a SecuML dataset folder, validates all of it, then writes the shards atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::csv_input::{csv_stem, CsvSource};
use super::error::IngestError;
use super::features::{
    check_instance_ids, read_description, read_features, DescriptionFile, FeatureColumn,
    ParsedFeatures,
};
use super::idents::{read_annotations, read_idents, AnnotationSet};
use super::manifest::{Manifest, FORMAT_VERSION, MANIFEST_FILE};
use super::shard::{
    dataset_batch, default_shard_rows, split_features, write_annotations, write_file, write_shards,
};

/// What to ingest and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// The SecuML project name, recorded in the manifest.
    pub project: String,
    /// The dataset name, recorded in the manifest.
    pub dataset: String,
    /// A file under `features/` (`.csv` or `.csv.gz`), or a folder of them concatenated column-wise.
    pub features: String,
    /// The rows per shard; `None` sizes shards for about 64 MiB in memory.
    pub shard_rows: Option<usize>,
}

impl IngestOptions {
    /// Returns the options for `features/features.csv` with default shard sizes.
    pub fn new(project: impl Into<String>, dataset: impl Into<String>) -> IngestOptions {
        IngestOptions {
            project: project.into(),
            dataset: dataset.into(),
            features: "features.csv".to_string(),
            shard_rows: None,
        }
    }
}

/// One features CSV to read, with its description file if there is one.
struct FeatureInput {
    data: PathBuf,
    description: Option<PathBuf>,
}

/// Ingests the SecuML dataset folder `input` into the dataset folder `output`.
///
/// Every input file is parsed and checked before anything is written. The output is built in a
/// temporary folder beside `output` and renamed into place, replacing an existing dataset only
/// once the new one is complete; on error nothing is left behind.
pub fn ingest(input: &Path, output: &Path, opts: &IngestOptions) -> Result<Manifest, IngestError> {
    let started = Instant::now();
    check_options(input, opts)?;
    // The output is replaced by renames beside it: a `.` or `..` in it would put them elsewhere.
    if output.components().any(|c| {
        matches!(
            c,
            std::path::Component::ParentDir | std::path::Component::CurDir
        )
    }) {
        return Err(IngestError::Options(format!(
            "output folder {} must not contain `.` or `..` components",
            output.display()
        )));
    }
    let load = |path: &Path| CsvSource::load(path, relative(input, path));
    let feature_files = feature_inputs(input, &opts.features)?;
    // idents.csv and the features are independent until their instance ids are compared, so
    // they are parsed on two threads.
    let (idents, features) = std::thread::scope(|scope| {
        let features = scope.spawn(|| {
            feature_files
                .iter()
                .map(|file| read_feature_input(file, &load))
                .collect::<Result<Vec<_>, IngestError>>()
        });
        let idents = find_csv(input, "idents")
            .and_then(|path| load(&path))
            .and_then(|source| Ok((read_idents(&source)?, source.meta)));
        (
            idents,
            features.join().expect("features reader thread panicked"),
        )
    });
    let (idents, idents_meta) = idents?;
    let mut sources = vec![idents_meta];
    let mut columns: Vec<FeatureColumn> = Vec::new();
    let mut origin: HashMap<String, String> = HashMap::new();
    for (source, description, parsed) in features? {
        check_instance_ids(&source, &parsed, &idents)?;
        for column in &parsed.columns {
            if let Some(first) = origin.insert(column.meta.id.clone(), source.meta.path.clone()) {
                let expected = format!("a feature id not already in {first}");
                return Err(source.invalid(Some(1), Some(&column.meta.id), &expected, None));
            }
        }
        sources.push(source.meta.clone());
        sources.extend(description.map(|d| d.source.meta));
        columns.extend(parsed.columns);
    }

    let mut annotation_sets: Vec<AnnotationSet> = Vec::new();
    for (name, path) in annotation_inputs(input)? {
        let source = load(&path)?;
        annotation_sets.push(read_annotations(&source, &name, &idents)?);
        sources.push(source.meta);
    }
    let parsed = started.elapsed();

    let (features, values) = split_features(columns);
    let ids: Vec<String> = features.iter().map(|f| f.id.clone()).collect();
    let batch = dataset_batch(&idents, values, &ids)?;
    let shard_rows = opts
        .shard_rows
        .unwrap_or_else(|| default_shard_rows(&batch));
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        project: opts.project.clone(),
        dataset: opts.dataset.clone(),
        rows: batch.num_rows(),
        has_timestamp: idents.timestamps.is_some(),
        has_label: idents.labels.is_some(),
        has_family: idents.families.is_some(),
        features,
        shards: Vec::new(),
        annotations: Vec::new(),
        sources,
    };
    write_atomically(output, |dir| {
        manifest.shards = write_shards(dir, &batch, shard_rows)?;
        for set in &annotation_sets {
            manifest.annotations.push(write_annotations(dir, set)?);
        }
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| IngestError::Encode {
            file: dir.join(MANIFEST_FILE),
            message: e.to_string(),
        })?;
        write_file(&dir.join(MANIFEST_FILE), &json)
    })?;
    tracing::info!(
        project = %manifest.project,
        dataset = %manifest.dataset,
        rows = manifest.rows,
        features = manifest.features.len(),
        shards = manifest.shards.len(),
        parse_ms = parsed.as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        "ingested dataset"
    );
    Ok(manifest)
}

/// Loads and parses one features CSV and its description file.
fn read_feature_input(
    file: &FeatureInput,
    load: &(dyn Fn(&Path) -> Result<CsvSource, IngestError> + Sync),
) -> Result<(CsvSource, Option<DescriptionFile>, ParsedFeatures), IngestError> {
    let description = match &file.description {
        Some(path) => Some(read_description(load(path)?)?),
        None => None,
    };
    let source = load(&file.data)?;
    let parsed = read_features(&source, description.as_ref(), 0)?;
    Ok((source, description, parsed))
}

/// Checks the options and that the input folder exists.
fn check_options(input: &Path, opts: &IngestOptions) -> Result<(), IngestError> {
    if opts.project.is_empty() || opts.dataset.is_empty() {
        return Err(IngestError::Options(
            "project and dataset names must not be empty".into(),
        ));
    }
    if opts.shard_rows == Some(0) {
        return Err(IngestError::Options("shard_rows must be at least 1".into()));
    }
    if opts.features.is_empty() || opts.features.contains("..") {
        return Err(IngestError::Options(format!(
            "bad features name `{}`",
            opts.features
        )));
    }
    if !input.is_dir() {
        return Err(IngestError::Options(format!(
            "input folder {} does not exist",
            input.display()
        )));
    }
    Ok(())
}

/// Finds `<dir>/<stem>.csv`, or else `<dir>/<stem>.csv.gz`.
fn find_csv(dir: &Path, stem: &str) -> Result<PathBuf, IngestError> {
    optional_csv(dir, stem).ok_or_else(|| IngestError::InvalidInput {
        file: dir.join(format!("{stem}.csv")),
        line: None,
        column: None,
        expected: "an existing file (.csv or .csv.gz)".into(),
        found: None,
    })
}

/// Returns `<dir>/<stem>.csv` or `<dir>/<stem>.csv.gz` if one exists.
fn optional_csv(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.csv"), format!("{stem}.csv.gz")]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// Lists the features CSVs named by `features`: one file, or every CSV of a folder by name.
fn feature_inputs(input: &Path, features: &str) -> Result<Vec<FeatureInput>, IngestError> {
    let features_dir = input.join("features");
    let path = features_dir.join(features);
    if path.is_dir() {
        let mut inputs = Vec::new();
        for (stem, data) in csv_files(&path)? {
            if stem.ends_with("_description") {
                continue;
            }
            let description = optional_csv(&path, &format!("{stem}_description"));
            inputs.push(FeatureInput { data, description });
        }
        if inputs.is_empty() {
            return Err(IngestError::InvalidInput {
                file: path,
                line: None,
                column: None,
                expected: "a folder holding at least one features CSV".into(),
                found: None,
            });
        }
        return Ok(inputs);
    }
    let stem = csv_stem(features).unwrap_or(features).to_string();
    let data = if path.is_file() {
        path
    } else {
        find_csv(&features_dir, &stem)?
    };
    let description = optional_csv(&features_dir, &format!("{stem}_description"));
    Ok(vec![FeatureInput { data, description }])
}

/// Lists `annotations/*.csv` and `annotations/*.csv.gz` as (name, path), by name.
fn annotation_inputs(input: &Path) -> Result<Vec<(String, PathBuf)>, IngestError> {
    let dir = input.join("annotations");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    csv_files(&dir)
}

/// Lists the `.csv` and `.csv.gz` files of a folder as (stem, path), sorted by name.
fn csv_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, IngestError> {
    let read_error = |source| IngestError::Read {
        file: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(stem) = csv_stem(name) {
            if path.is_file() {
                files.push((stem.to_string(), path.clone()));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Returns `path` relative to `base` with `/` separators.
fn relative(base: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Runs `fill` on a new temporary folder beside `output`, then renames it to `output`.
fn write_atomically(
    output: &Path,
    fill: impl FnOnce(&Path) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let write_error = |file: &Path| {
        let file = file.to_path_buf();
        move |source| IngestError::Write { file, source }
    };
    let name = output
        .file_name()
        .ok_or_else(|| IngestError::Options(format!("bad output folder {}", output.display())))?
        .to_string_lossy()
        .into_owned();
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let first_created = parent
        .ancestors()
        .take_while(|a| !a.exists())
        .last()
        .map(Path::to_path_buf);
    std::fs::create_dir_all(parent).map_err(write_error(parent))?;
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let temporary = parent.join(format!(".{name}.ingest-{unique}"));
    let result = std::fs::create_dir(&temporary)
        .map_err(write_error(&temporary))
        .and_then(|()| fill(&temporary))
        .and_then(|()| {
            replace_dir(
                &temporary,
                output,
                &parent.join(format!(".{name}.old-{unique}")),
            )
        });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&temporary);
        if let Some(created) = first_created {
            let _ = std::fs::remove_dir_all(created);
        }
    }
    result
}

/// Renames `new` to `output`, moving an existing `output` aside first and removing it after.
fn replace_dir(new: &Path, output: &Path, aside: &Path) -> Result<(), IngestError> {
    let write_error = |file: &Path| {
        let file = file.to_path_buf();
        move |source| IngestError::Write { file, source }
    };
    if !output.exists() {
        return std::fs::rename(new, output).map_err(write_error(output));
    }
    std::fs::rename(output, aside).map_err(write_error(output))?;
    if let Err(source) = std::fs::rename(new, output) {
        let _ = std::fs::rename(aside, output);
        return Err(IngestError::Write {
            file: output.to_path_buf(),
            source,
        });
    }
    std::fs::remove_dir_all(aside).map_err(write_error(aside))
}
