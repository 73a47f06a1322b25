//! Bad inputs to ingest: each error names its file, line and column, and nothing is written.

use std::path::{Path, PathBuf};

use secuml_engine::dataset::{
    ingest, read_frame, read_manifest, FrameColumn, IngestError, IngestOptions,
};

const IDENTS: &str = "instance_id,ident,label,family\n0,a,0,normal\n1,b,1,dos\n2,c,,\n";
const FEATURES: &str = "instance_id,x,proto\n0,1.5,tcp\n1,2,udp\n2,3,tcp\n";
const DESCRIPTION: &str = "id,name,type\nx,the x,numeric\nproto,protocol,categorical\n";

/// Writes an input dataset made of the default files, with `changes` replacing or adding some.
fn input_with(changes: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<(&str, &[u8])> = vec![
        ("idents.csv", IDENTS.as_bytes()),
        ("features/features.csv", FEATURES.as_bytes()),
        ("features/features_description.csv", DESCRIPTION.as_bytes()),
    ];
    for (name, content) in changes {
        files.retain(|(n, _)| n != name);
        files.push((name, content));
    }
    for (name, content) in files {
        let path = dir.path().join("in").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

fn output(dir: &Path) -> PathBuf {
    dir.join("out").join("proj").join("ds")
}

/// Ingests and expects an error; checks that nothing at all was written.
fn ingest_error(changes: &[(&str, &[u8])]) -> IngestError {
    let dir = input_with(changes);
    let error = ingest(
        &dir.path().join("in"),
        &output(dir.path()),
        &IngestOptions::new("proj", "ds"),
    )
    .expect_err("ingest should fail");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec!["in"], "ingest left files behind after: {error}");
    error
}

/// Checks where an error points.
fn assert_at(error: &IngestError, file: &str, line: Option<u64>, column: Option<&str>) {
    let path = error
        .file()
        .unwrap_or_else(|| panic!("no file in: {error}"));
    assert!(path.ends_with(file), "file {} in: {error}", path.display());
    assert_eq!(error.line(), line, "line in: {error}");
    assert_eq!(error.column(), column, "column in: {error}");
    let message = error.to_string();
    assert!(message.contains(file), "{message}");
    if let Some(line) = line {
        assert!(message.contains(&format!("line {line}")), "{message}");
    }
    if let Some(column) = column {
        assert!(message.contains(&format!("`{column}`")), "{message}");
    }
}

/// Ingests successfully and returns the frame.
fn ingest_ok(changes: &[(&str, &[u8])]) -> secuml_engine::dataset::Frame {
    let dir = input_with(changes);
    let out = output(dir.path());
    ingest(
        &dir.path().join("in"),
        &out,
        &IngestOptions::new("proj", "ds"),
    )
    .unwrap();
    let (manifest, _) = read_manifest(&out).unwrap();
    read_frame(&out, &manifest).unwrap()
}

#[test]
fn non_numeric_value_in_a_numeric_column() {
    let error = ingest_error(&[(
        "features/features.csv",
        b"instance_id,x,proto\n0,1.5,tcp\n1,abc,udp\n2,3,tcp\n",
    )]);
    assert_at(&error, "features/features.csv", Some(3), Some("x"));
    assert!(error.expected().unwrap().contains("a number"), "{error}");
    assert!(error.to_string().contains("found `abc`"), "{error}");
}

#[test]
fn missing_field_names_the_first_missing_column() {
    let error = ingest_error(&[(
        "features/features.csv",
        b"instance_id,x,proto\n0,1.5,tcp\n1,2\n2,3,tcp\n",
    )]);
    assert_at(&error, "features/features.csv", Some(3), Some("proto"));
    assert!(error.expected().unwrap().contains("3 fields"), "{error}");
}

#[test]
fn extra_field_is_refused() {
    let error = ingest_error(&[(
        "features/features.csv",
        b"instance_id,x,proto\n0,1.5,tcp\n1,2,udp\n2,3,tcp,9\n",
    )]);
    assert_at(&error, "features/features.csv", Some(4), None);
    assert!(error.expected().unwrap().contains("found 4"), "{error}");
}

#[test]
fn instance_ids_disagreeing_with_idents() {
    let error = ingest_error(&[(
        "features/features.csv",
        b"instance_id,x,proto\n0,1.5,tcp\n2,2,udp\n1,3,tcp\n",
    )]);
    assert_at(
        &error,
        "features/features.csv",
        Some(3),
        Some("instance_id"),
    );
    assert!(
        error.expected().unwrap().contains("instance id 1"),
        "{error}"
    );
}

#[test]
fn duplicated_instance_id() {
    let error = ingest_error(&[(
        "idents.csv",
        b"instance_id,ident,label,family\n0,a,0,normal\n1,b,1,dos\n1,c,,\n",
    )]);
    assert_at(&error, "idents.csv", Some(4), Some("instance_id"));
    assert!(
        error.expected().unwrap().contains("already on line 3"),
        "{error}"
    );
}

#[test]
fn empty_file() {
    let error = ingest_error(&[("features/features.csv", b"")]);
    assert_at(&error, "features/features.csv", Some(1), None);
    assert!(error.expected().unwrap().contains("header"), "{error}");
}

#[test]
fn header_only() {
    let error = ingest_error(&[("idents.csv", b"instance_id,ident,label,family\n")]);
    assert_at(&error, "idents.csv", Some(2), None);
    assert!(
        error.expected().unwrap().contains("at least one data row"),
        "{error}"
    );
}

#[test]
fn fewer_feature_rows_than_idents() {
    let error = ingest_error(&[(
        "features/features.csv",
        b"instance_id,x,proto\n0,1.5,tcp\n1,2,udp\n",
    )]);
    assert_at(&error, "features/features.csv", Some(4), None);
    assert!(error.expected().unwrap().contains("3 rows"), "{error}");
}

#[test]
fn crlf_line_endings_are_accepted() {
    let frame = ingest_ok(&[
        (
            "idents.csv",
            b"instance_id,ident,label,family\r\n0,a,0,normal\r\n1,b,1,dos\r\n2,c,,\r\n",
        ),
        (
            "features/features.csv",
            b"instance_id,x,proto\r\n0,1.5,tcp\r\n1,2,udp\r\n2,3,tcp\r\n",
        ),
    ]);
    assert_eq!(
        frame.families.unwrap(),
        vec![Some("normal".into()), Some("dos".into()), None]
    );
    assert_eq!(
        frame.columns[1],
        FrameColumn::Categorical(vec!["tcp".into(), "udp".into(), "tcp".into()])
    );
}

#[test]
fn utf8_bom_is_accepted() {
    let frame = ingest_ok(&[(
        "features/features.csv",
        b"\xEF\xBB\xBFinstance_id,x,proto\n0,1.5,tcp\n1,2,udp\n2,3,tcp\n",
    )]);
    assert_eq!(frame.columns[0], FrameColumn::Numeric(vec![1.5, 2.0, 3.0]));
}

#[test]
fn quoted_fields_are_accepted() {
    let frame = ingest_ok(&[
        (
            "idents.csv",
            b"instance_id,ident,label,family\n0,\"a, the first\",0,normal\n1,b,1,\"dos\"\n2,c,,\n",
        ),
        (
            "features/features.csv",
            b"instance_id,x,proto\n0,\"1.5\",\"tcp,v4\"\n1,2,\"say \"\"hi\"\"\"\n2,3,tcp\n",
        ),
    ]);
    assert_eq!(frame.idents[0], "a, the first");
    let expected = vec!["tcp,v4".to_string(), "say \"hi\"".into(), "tcp".into()];
    assert_eq!(frame.columns[1], FrameColumn::Categorical(expected));
}

#[test]
fn nan_is_refused_with_its_position() {
    // NaN and infinities are refused: they would spread silently through standardisation and
    // the solvers into every score, so the error belongs at ingest, where the value sits.
    let error = ingest_error(&[(
        "features/features.csv",
        b"instance_id,x,proto\n0,1.5,tcp\n1,NaN,udp\n2,3,tcp\n",
    )]);
    assert_at(&error, "features/features.csv", Some(3), Some("x"));
    assert!(error.expected().unwrap().contains("finite"), "{error}");
}

#[test]
fn infinity_is_refused_with_its_position_even_when_inferred() {
    let error = ingest_error(&[
        (
            "features/features.csv",
            b"instance_id,x,proto\n0,1.5,tcp\n1,2,udp\n2,-inf,tcp\n",
        ),
        (
            "features/features_description.csv",
            b"id,name\nx,the x\nproto,protocol\n",
        ),
    ]);
    assert_at(&error, "features/features.csv", Some(4), Some("x"));
    assert!(error.expected().unwrap().contains("finite"), "{error}");
}

#[test]
fn label_other_than_0_or_1() {
    let error = ingest_error(&[(
        "idents.csv",
        b"instance_id,ident,label,family\n0,a,0,normal\n1,b,2,dos\n2,c,,\n",
    )]);
    assert_at(&error, "idents.csv", Some(3), Some("label"));
}

#[test]
fn annotation_for_an_unknown_instance() {
    let error = ingest_error(&[(
        "annotations/partial.csv",
        b"instance_id,label,family\n0,0,normal\n7,1,dos\n",
    )]);
    assert_at(
        &error,
        "annotations/partial.csv",
        Some(3),
        Some("instance_id"),
    );
    assert!(error.expected().unwrap().contains("idents.csv"), "{error}");
}

#[test]
fn description_naming_an_absent_feature() {
    let error = ingest_error(&[(
        "features/features_description.csv",
        b"feature_id,name,type\nx,the x,numeric\nproto,protocol,categorical\nghost,a ghost,numeric\n",
    )]);
    assert_at(
        &error,
        "features/features_description.csv",
        Some(4),
        Some("feature_id"),
    );
    assert!(error.to_string().contains("ghost"), "{error}");
}

#[test]
fn description_with_an_unknown_type() {
    let error = ingest_error(&[(
        "features/features_description.csv",
        b"id,name,type\nx,the x,float\nproto,protocol,categorical\n",
    )]);
    assert_at(
        &error,
        "features/features_description.csv",
        Some(2),
        Some("type"),
    );
    assert!(error.to_string().contains("found `float`"), "{error}");
}

#[test]
fn binary_feature_with_another_value() {
    let error = ingest_error(&[
        (
            "features/features.csv",
            b"instance_id,x,proto\n0,1,tcp\n1,0,udp\n2,2,tcp\n",
        ),
        (
            "features/features_description.csv",
            b"id,name,type\nx,the x,binary\nproto,protocol,categorical\n",
        ),
    ]);
    assert_at(&error, "features/features.csv", Some(4), Some("x"));
}

#[test]
fn bad_timestamp() {
    let error = ingest_error(&[(
        "idents.csv",
        b"instance_id,ident,timestamp\n0,a,2020-01-01 00:00:00\n1,b,2020-02-30 00:00:00\n2,c,\n",
    )]);
    assert_at(&error, "idents.csv", Some(3), Some("timestamp"));
}
