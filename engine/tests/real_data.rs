//! Ingest of the project's real datasets (NSL-KDD, Gaussians) and one-hot encoding checked
//! against the pandas + scikit-learn reference in `testdata/onehot_reference.json`.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use secuml_engine::dataset::{
    ingest, read_annotations, read_frame, read_manifest, Encoder, FeatureKind, Frame,
    IngestOptions, Manifest,
};
use sha2::{Digest, Sha256};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data")
        .join(path)
}

fn ingest_and_read(project: &str, dataset: &str, out: &Path) -> (Manifest, Frame) {
    let output = out.join(project).join(dataset);
    let manifest = ingest(
        &data(&format!("{project}/{dataset}")),
        &output,
        &IngestOptions::new(project, dataset),
    )
    .unwrap();
    let (read, _) = read_manifest(&output).unwrap();
    assert_eq!(read, manifest);
    let frame = read_frame(&output, &manifest).unwrap();
    (manifest, frame)
}

fn kinds(manifest: &Manifest) -> [usize; 3] {
    let count = |kind| manifest.features.iter().filter(|f| f.kind == kind).count();
    [
        count(FeatureKind::Numeric),
        count(FeatureKind::Binary),
        count(FeatureKind::Categorical),
    ]
}

fn matrix_sha256(matrix: &Array2<f64>) -> String {
    let mut hasher = Sha256::new();
    for value in matrix.iter() {
        hasher.update(value.to_le_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Compares a matrix with the reference's shape, checksum and sample rows.
fn assert_like_reference(matrix: &Array2<f64>, reference: &serde_json::Value) {
    let shape: Vec<usize> = serde_json::from_value(reference["shape"].clone()).unwrap();
    assert_eq!(matrix.shape(), &shape[..]);
    for (row, values) in reference["rows"].as_object().unwrap() {
        let values: Vec<f64> = serde_json::from_value(values.clone()).unwrap();
        let row: usize = row.parse().unwrap();
        assert_eq!(matrix.row(row).to_vec(), values, "row {row}");
    }
    assert_eq!(matrix_sha256(matrix), reference["sha256"].as_str().unwrap());
}

#[test]
fn nsl_kdd_train20_and_test_encode_like_scikit_learn() {
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("../testdata/onehot_reference.json")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (train, train_frame) = ingest_and_read("NSL-KDD", "train20", out.path());
    assert_eq!(train.rows, 25_192);
    assert_eq!(train.features.len(), 41);
    assert_eq!(kinds(&train), [33, 5, 3]);
    assert!(train.has_label && train.has_family && !train.has_timestamp);
    let service = train.feature("service").unwrap();
    assert_eq!(service.categories.len(), 66);
    assert_eq!(
        train.feature("protocol_type").unwrap().categories,
        vec!["icmp", "tcp", "udp"]
    );
    assert_eq!(train.feature("flag").unwrap().categories.len(), 11);
    assert_eq!(train.annotations.len(), 1);
    let annotations = read_annotations(
        &out.path().join("NSL-KDD/train20"),
        &train,
        "init_annotations",
    )
    .unwrap();
    assert_eq!(annotations.len(), 20);
    assert_eq!(annotations.iter().filter(|a| a.label).count(), 10);
    let labels = train_frame.labels.as_ref().unwrap();
    assert_eq!(labels.iter().filter(|l| **l == Some(true)).count(), 11_743);
    for a in &annotations {
        assert_eq!(train_frame.instance_ids[a.row], a.instance_id);
        assert_eq!(labels[a.row], Some(a.label));
    }

    let encoder = Encoder::fit(&train);
    let names: Vec<String> = serde_json::from_value(reference["names"].clone()).unwrap();
    assert_eq!(encoder.names(), names);
    assert_eq!(names.len(), 118);
    assert_like_reference(
        &encoder.transform(&train, &train_frame, None).unwrap(),
        &reference["train20"],
    );

    let (test, test_frame) = ingest_and_read("NSL-KDD", "test", out.path());
    assert_eq!(test.rows, 22_544);
    assert_eq!(kinds(&test), [33, 5, 3]);
    assert_eq!(test.feature("service").unwrap().categories.len(), 64);
    assert!(test.annotations.is_empty());
    let encoded_test = encoder.transform(&test, &test_frame, None).unwrap();
    assert_like_reference(&encoded_test, &reference["test"]);
    // `tftp_u` appears only in test: its rows have no service column set.
    let service_columns: Vec<usize> = (0..names.len())
        .filter(|&j| names[j].starts_with("service="))
        .collect();
    let services = categorical(&test, &test_frame, "service");
    let row = services.iter().position(|s| s == "tftp_u").unwrap();
    assert!(service_columns
        .iter()
        .all(|&j| encoded_test[[row, j]] == 0.0));
}

fn categorical(manifest: &Manifest, frame: &Frame, id: &str) -> Vec<String> {
    let index = manifest.features.iter().position(|f| f.id == id).unwrap();
    match &frame.columns[index] {
        secuml_engine::dataset::FrameColumn::Categorical(values) => values.clone(),
        _ => panic!("{id} is not categorical"),
    }
}

#[test]
fn gaussians_with_timestamps_and_a_feature_id_header() {
    let out = tempfile::tempdir().unwrap();
    let (manifest, frame) = ingest_and_read("Gaussians", "test", out.path());
    assert_eq!(manifest.rows, 260);
    assert_eq!(kinds(&manifest), [2, 0, 0]);
    let ids: Vec<_> = manifest
        .features
        .iter()
        .map(|f| (f.id.as_str(), f.name.as_str()))
        .collect();
    assert_eq!(ids, vec![("0", "f_0_name"), ("1", "f_1_name")]);
    assert!(manifest.has_timestamp && manifest.has_label && manifest.has_family);
    // 2009-09-22T01:41:11 UTC.
    assert_eq!(frame.timestamps.as_ref().unwrap()[0], Some(1_253_583_671));
    let malicious = frame
        .labels
        .as_ref()
        .unwrap()
        .iter()
        .filter(|l| **l == Some(true))
        .count();
    assert_eq!(malicious, 60);
    assert_eq!(manifest.annotations[0].rows, 8);
    let encoded = Encoder::fit(&manifest)
        .transform(&manifest, &frame, None)
        .unwrap();
    assert_eq!(encoded.shape(), &[260, 2]);
    assert_eq!(encoded[[0, 0]], 9.431303287553279);
}
