//! Unit tests of the dataset module: round trips, shards, inference, folders, gzip, encoding.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;

/// Writes files under `root/in` and returns the input folder.
fn write_input(root: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let input = root.join("in");
    for (name, content) in files {
        let path = input.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    input
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

const IDENTS: &str = "instance_id,ident,timestamp,label,family\n\
    10,a,2020-01-01 00:00:00,0,normal\n11,b,2020-01-01T00:00:01,1,dos\n12,c,,,\n13,d,2020-01-02 00:00:00,1,\n14,e,2020-01-03 00:00:00,0,normal\n";
const FEATURES: &str =
    "instance_id,n,flag,cat\n10,1.5,0,tcp\n11,-2,1,udp\n12,3e2,0,tcp\n13,4,1,icmp\n14,0.25,0,tcp\n";

#[test]
fn round_trip_with_several_shards_and_inferred_kinds() {
    let root = tempfile::tempdir().unwrap();
    let input = write_input(
        root.path(),
        &[
            ("idents.csv", IDENTS.as_bytes()),
            ("features/features.csv", FEATURES.as_bytes()),
        ],
    );
    let output = root.path().join("data/p/d");
    let opts = IngestOptions {
        shard_rows: Some(2),
        ..IngestOptions::new("p", "d")
    };
    let manifest = ingest(&input, &output, &opts).unwrap();
    assert_eq!(manifest.rows, 5);
    assert!(manifest.has_timestamp && manifest.has_label && manifest.has_family);
    let kinds: Vec<_> = manifest.features.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![
            FeatureKind::Numeric,
            FeatureKind::Binary,
            FeatureKind::Categorical
        ]
    );
    assert_eq!(manifest.features[2].categories, vec!["icmp", "tcp", "udp"]);
    let ranges: Vec<_> = manifest
        .shards
        .iter()
        .map(|s| (s.row_start, s.row_end, s.rows))
        .collect();
    assert_eq!(ranges, vec![(0, 2, 2), (2, 4, 2), (4, 5, 1)]);
    assert_eq!(manifest.sources.len(), 2);

    let (read, sha) = read_manifest(&output).unwrap();
    assert_eq!(read, manifest);
    assert_eq!(
        sha,
        manifest::sha256_hex(&std::fs::read(output.join(MANIFEST_FILE)).unwrap())
    );
    let frame = read_frame(&output, &manifest).unwrap();
    assert_eq!(frame.instance_ids, vec![10, 11, 12, 13, 14]);
    assert_eq!(frame.idents, vec!["a", "b", "c", "d", "e"]);
    assert_eq!(
        frame.timestamps.as_ref().unwrap()[..3],
        [Some(1_577_836_800), Some(1_577_836_801), None]
    );
    assert_eq!(
        frame.labels.unwrap(),
        vec![Some(false), Some(true), None, Some(true), Some(false)]
    );
    assert_eq!(frame.families.unwrap()[2..4], [None, None]);
    assert_eq!(
        frame.columns[0],
        FrameColumn::Numeric(vec![1.5, -2.0, 300.0, 4.0, 0.25])
    );
    let shard = read_shard(&output, &manifest, 1).unwrap();
    assert_eq!(shard.instance_ids, vec![12, 13]);
    assert!(matches!(
        read_shard(&output, &manifest, 3),
        Err(DatasetError::OutOfRange { .. })
    ));
    // Locating reads footers and the id column: instance 13 is row 1 of shard 1, row 3 overall.
    assert_eq!(
        locate_instance(&output, &manifest, 13).unwrap(),
        Some(InstanceLocation {
            shard: 1,
            row_in_shard: 1,
            row: 3
        })
    );
    assert_eq!(
        locate_instance(&output, &manifest, 14)
            .unwrap()
            .unwrap()
            .row,
        4
    );
    assert_eq!(
        locate_instance(&output, &manifest, 10)
            .unwrap()
            .unwrap()
            .row,
        0
    );
    for absent in [9, 15, -1] {
        assert_eq!(locate_instance(&output, &manifest, absent).unwrap(), None);
    }
    let left: Vec<_> = std::fs::read_dir(root.path().join("data/p"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec!["d"]);
}

#[test]
fn a_changed_shard_fails_its_checksum() {
    let root = tempfile::tempdir().unwrap();
    let input = write_input(
        root.path(),
        &[
            ("idents.csv", IDENTS.as_bytes()),
            ("features/features.csv", FEATURES.as_bytes()),
        ],
    );
    let output = root.path().join("out");
    let manifest = ingest(&input, &output, &IngestOptions::new("p", "d")).unwrap();
    let shard = output.join(&manifest.shards[0].file);
    let mut bytes = std::fs::read(&shard).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&shard, bytes).unwrap();
    assert!(matches!(
        read_frame(&output, &manifest),
        Err(DatasetError::Checksum { .. })
    ));
}

#[test]
fn gzip_folders_of_features_and_annotations() {
    let root = tempfile::tempdir().unwrap();
    let idents = "instance_id,ident\n0,a\n1,b\n2,c\n";
    let input = write_input(
        root.path(),
        &[
            ("idents.csv.gz", &gzip(idents)),
            (
                "features/set/b.csv.gz",
                &gzip("instance_id,y\n0,x\n1,y\n2,x\n"),
            ),
            ("features/set/a.csv", b"instance_id,x\n0,1\n1,2\n2,3\n"),
            (
                "features/set/a_description.csv",
                b"id,name,description,type\nx,the x,an x,numeric\n",
            ),
            ("annotations/some.csv", b"instance_id,label\n2,1\n0,0\n"),
        ],
    );
    let output = root.path().join("out");
    let opts = IngestOptions {
        features: "set".into(),
        ..IngestOptions::new("p", "d")
    };
    let manifest = ingest(&input, &output, &opts).unwrap();
    assert!(!manifest.has_label && !manifest.has_family && !manifest.has_timestamp);
    let ids: Vec<_> = manifest
        .features
        .iter()
        .map(|f| (f.id.as_str(), f.name.as_str(), f.kind))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("x", "the x", FeatureKind::Numeric),
            ("y", "y", FeatureKind::Categorical)
        ]
    );
    assert_eq!(manifest.features[0].description.as_deref(), Some("an x"));
    let annotations = read_annotations(&output, &manifest, "some").unwrap();
    assert_eq!(
        annotations,
        vec![
            Annotation {
                row: 2,
                instance_id: 2,
                label: true,
                family: None
            },
            Annotation {
                row: 0,
                instance_id: 0,
                label: false,
                family: None
            },
        ]
    );
    assert!(matches!(
        read_annotations(&output, &manifest, "none"),
        Err(DatasetError::UnknownAnnotations { .. })
    ));
}

#[test]
fn a_feature_in_two_files_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let input = write_input(
        root.path(),
        &[
            ("idents.csv", b"instance_id,ident\n0,a\n"),
            ("features/set/a.csv", b"instance_id,x\n0,1\n"),
            ("features/set/b.csv", b"instance_id,x\n0,2\n"),
        ],
    );
    let opts = IngestOptions {
        features: "set".into(),
        ..IngestOptions::new("p", "d")
    };
    let error = ingest(&input, &root.path().join("out"), &opts).unwrap_err();
    assert_eq!(
        (error.line(), error.column()),
        (Some(1), Some("x")),
        "{error}"
    );
    assert!(error.file().unwrap().ends_with("b.csv"));
}

#[test]
fn reingest_replaces_and_a_failed_one_keeps_the_old_dataset() {
    let root = tempfile::tempdir().unwrap();
    let input = write_input(
        root.path(),
        &[
            ("idents.csv", IDENTS.as_bytes()),
            ("features/features.csv", FEATURES.as_bytes()),
        ],
    );
    let output = root.path().join("out");
    let opts = IngestOptions::new("p", "d");
    ingest(&input, &output, &opts).unwrap();
    let second = ingest(
        &input,
        &output,
        &IngestOptions {
            shard_rows: Some(1),
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(read_manifest(&output).unwrap().0.shards.len(), 5);
    std::fs::write(input.join("idents.csv"), "instance_id,ident\n").unwrap();
    assert!(ingest(&input, &output, &opts).is_err());
    assert_eq!(read_manifest(&output).unwrap().0, second);
    let left: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn options_are_checked() {
    let root = tempfile::tempdir().unwrap();
    let opts = IngestOptions {
        shard_rows: Some(0),
        ..IngestOptions::new("p", "d")
    };
    assert!(matches!(
        ingest(root.path(), &root.path().join("o"), &opts),
        Err(IngestError::Options(_))
    ));
    let missing = ingest(
        &root.path().join("nope"),
        &root.path().join("o"),
        &IngestOptions::new("p", "d"),
    );
    assert!(matches!(missing, Err(IngestError::Options(_))));
}

fn manifest_of(features: Vec<FeatureMeta>) -> Manifest {
    Manifest {
        format_version: FORMAT_VERSION,
        project: "p".into(),
        dataset: "d".into(),
        rows: 0,
        has_timestamp: false,
        has_label: false,
        has_family: false,
        features,
        shards: Vec::new(),
        annotations: Vec::new(),
        sources: Vec::new(),
    }
}

fn feature(id: &str, kind: FeatureKind, categories: &[&str]) -> FeatureMeta {
    FeatureMeta {
        id: id.into(),
        name: id.into(),
        description: None,
        kind,
        categories: categories.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn encoder_orders_columns_and_ignores_unseen_categories() {
    let train = manifest_of(vec![
        feature("c", FeatureKind::Categorical, &["b", "a"]),
        feature("x", FeatureKind::Numeric, &[]),
        feature("f", FeatureKind::Binary, &[]),
    ]);
    let encoder = Encoder::fit(&train);
    assert_eq!(encoder.names(), vec!["x", "f", "c=a", "c=b"]);
    assert_eq!(Encoder::from_columns(encoder.columns().to_vec()), encoder);
    let frame = Frame {
        instance_ids: vec![0, 1, 2],
        idents: vec!["0".into(), "1".into(), "2".into()],
        columns: vec![
            FrameColumn::Categorical(vec!["b".into(), "z".into(), "a".into()]),
            FrameColumn::Numeric(vec![0.5, 1.5, 2.5]),
            FrameColumn::Numeric(vec![1.0, 0.0, 1.0]),
        ],
        ..Frame::default()
    };
    let all = encoder.transform(&train, &frame, None).unwrap();
    assert_eq!(
        all,
        ndarray::array![
            [0.5, 1.0, 0.0, 1.0],
            [1.5, 0.0, 0.0, 0.0],
            [2.5, 1.0, 1.0, 0.0]
        ]
    );
    let some = encoder.transform(&train, &frame, Some(&[2, 0])).unwrap();
    assert_eq!(
        some,
        ndarray::array![[2.5, 1.0, 1.0, 0.0], [0.5, 1.0, 0.0, 1.0]]
    );
    assert!(matches!(
        encoder.transform(&train, &frame, Some(&[3])),
        Err(DatasetError::OutOfRange { .. })
    ));
}

#[test]
fn encoder_names_a_missing_or_mismatched_feature() {
    let train = manifest_of(vec![
        feature("x", FeatureKind::Numeric, &[]),
        feature("c", FeatureKind::Categorical, &["a"]),
    ]);
    let encoder = Encoder::fit(&train);
    let other = manifest_of(vec![feature("x", FeatureKind::Numeric, &[])]);
    let frame = Frame {
        instance_ids: vec![0],
        idents: vec!["0".into()],
        columns: vec![FrameColumn::Numeric(vec![1.0])],
        ..Frame::default()
    };
    match encoder.transform(&other, &frame, None) {
        Err(DatasetError::Feature { column, .. }) => assert_eq!(column, "c"),
        other => panic!("expected a missing feature error, got {other:?}"),
    }
    let swapped = manifest_of(vec![
        feature("c", FeatureKind::Numeric, &[]),
        feature("x", FeatureKind::Numeric, &[]),
    ]);
    let frame = Frame {
        columns: vec![
            FrameColumn::Numeric(vec![1.0]),
            FrameColumn::Numeric(vec![2.0]),
        ],
        ..frame
    };
    let error = encoder.transform(&swapped, &frame, None).unwrap_err();
    assert!(error.to_string().contains("`c`"), "{error}");
}

#[test]
fn encoding_while_reading_equals_encoding_the_whole_frame() {
    // More rows than one batch of `read_encoded_at`, in shards that batches do not divide.
    let root = tempfile::tempdir().unwrap();
    let (mut idents, mut features) = (
        String::from("instance_id,ident,label,family\n"),
        String::from("instance_id,n,flag,cat\n"),
    );
    for i in 0..10_000u32 {
        let label = i % 7 == 0;
        let family = if label { "dos" } else { "" };
        idents.push_str(&format!("{i},i{i},{},{family}\n", label as u8));
        let cat = ["tcp", "udp", "icmp"][(i % 3) as usize];
        features.push_str(&format!("{i},{},{},{cat}\n", (i as f64).sqrt(), i % 2));
    }
    let input = write_input(
        root.path(),
        &[
            ("idents.csv", idents.as_bytes()),
            ("features/features.csv", features.as_bytes()),
        ],
    );
    let output = root.path().join("data/p/d");
    let opts = IngestOptions {
        shard_rows: Some(4_500),
        ..IngestOptions::new("p", "d")
    };
    let manifest = ingest(&input, &output, &opts).unwrap();
    assert_eq!(manifest.shards.len(), 3);
    let frame = read_frame(&output, &manifest).unwrap();
    // The encoder of the dataset, and one knowing a category it lacks and missing one.
    let fitted = Encoder::fit(&manifest);
    let other = Encoder::from_columns(vec![
        ("cat".into(), Some("udp".into())),
        ("cat".into(), Some("gre".into())),
        ("n".into(), None),
    ]);
    for encoder in [&fitted, &other] {
        let whole = encoder.transform(&manifest, &frame, None).unwrap();
        let (read, x) = read_encoded_at(&manifest, encoder, &|f| output.join(f)).unwrap();
        assert_eq!(x, whole);
        assert!(read.columns.is_empty());
        assert_eq!(read.instance_ids, frame.instance_ids);
        assert_eq!(read.idents, frame.idents);
        assert_eq!(read.labels, frame.labels);
        assert_eq!(read.families, frame.families);
        assert_eq!(read.timestamps, frame.timestamps);
    }
    let missing = Encoder::from_columns(vec![("absent".into(), None)]);
    assert!(matches!(
        read_encoded_at(&manifest, &missing, &|f| output.join(f)),
        Err(DatasetError::Feature { .. })
    ));
}
