//! Our Parquet shards as pyarrow and pandas read them (feature `python-tests`).
//!
//! With the feature on, a missing python3, pyarrow or pandas fails the test rather than skipping it.
#![cfg(feature = "python-tests")]

use std::process::Command;

use secuml_engine::dataset::{ingest, read_frame, FrameColumn, IngestOptions};

const READER: &str = r#"
import json, sys
import pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
frame = pq.read_table(sys.argv[1]).to_pandas()
out = {
    "rows": table.num_rows,
    "names": table.column_names,
    "types": [str(t) for t in table.schema.types],
    "pandas_rows": int(frame.shape[0]),
    "pandas_names": [str(c) for c in frame.columns],
    "columns": {name: [None if v != v else v for v in frame[name].tolist()] for name in frame.columns},
}
print(json.dumps(out))
"#;

#[test]
fn pyarrow_and_pandas_read_our_shards() {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in");
    std::fs::create_dir_all(input.join("features")).unwrap();
    let mut idents = String::from("instance_id,ident,timestamp,label,family\n");
    let mut features = String::from("instance_id,size,proto,flag\n");
    for i in 0..10 {
        let label = if i == 3 {
            String::new()
        } else {
            (i % 2).to_string()
        };
        let family = if i % 2 == 1 { "attack" } else { "" };
        idents.push_str(&format!(
            "{i},host-{i},2021-03-0{} 10:00:0{i},{label},{family}\n",
            1 + i % 9
        ));
        features.push_str(&format!(
            "{i},{}.5,{},{}\n",
            i * 10,
            ["tcp", "udp", "icmp"][i % 3],
            i % 2
        ));
    }
    std::fs::write(input.join("idents.csv"), idents).unwrap();
    std::fs::write(input.join("features/features.csv"), features).unwrap();
    let output = root.path().join("out");
    let opts = IngestOptions {
        shard_rows: Some(4),
        ..IngestOptions::new("p", "d")
    };
    let manifest = ingest(&input, &output, &opts).unwrap();
    assert_eq!(manifest.shards.len(), 3);
    let frame = read_frame(&output, &manifest).unwrap();

    let shard = &manifest.shards[1];
    let result = Command::new("python3")
        .arg("-c")
        .arg(READER)
        .arg(output.join(&shard.file))
        .output()
        .expect("python3 is needed by the python-tests feature");
    assert!(
        result.status.success(),
        "python3 failed (pyarrow and pandas are needed): {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();

    let names = [
        "instance_id",
        "ident",
        "timestamp",
        "label",
        "family",
        "size",
        "proto",
        "flag",
    ];
    assert_eq!(read["rows"], 4);
    assert_eq!(read["pandas_rows"], 4);
    assert_eq!(read["names"], serde_json::json!(names));
    assert_eq!(read["pandas_names"], serde_json::json!(names));
    let types = [
        "int64", "string", "int64", "int8", "string", "double", "string", "double",
    ];
    assert_eq!(read["types"], serde_json::json!(types));

    let rows = shard.row_start..shard.row_end;
    let columns = &read["columns"];
    assert_eq!(
        columns["instance_id"],
        serde_json::json!(frame.instance_ids[rows.clone()])
    );
    assert_eq!(
        columns["ident"],
        serde_json::json!(frame.idents[rows.clone()])
    );
    assert_eq!(
        columns["timestamp"],
        serde_json::json!(frame.timestamps.as_ref().unwrap()[rows.clone()])
    );
    let labels: Vec<Option<i64>> = frame.labels.as_ref().unwrap()[rows.clone()]
        .iter()
        .map(|l| l.map(i64::from))
        .collect();
    assert_eq!(columns["label"], serde_json::json!(labels));
    assert_eq!(
        columns["family"],
        serde_json::json!(frame.families.as_ref().unwrap()[rows.clone()])
    );
    let (FrameColumn::Numeric(size), FrameColumn::Categorical(proto)) =
        (&frame.columns[0], &frame.columns[1])
    else {
        panic!("unexpected kinds");
    };
    assert_eq!(columns["size"], serde_json::json!(size[rows.clone()]));
    assert_eq!(columns["proto"], serde_json::json!(proto[rows.clone()]));
    assert_eq!(
        columns["proto"],
        serde_json::json!(["udp", "icmp", "tcp", "udp"])
    );
    assert_eq!(columns["flag"], serde_json::json!([0.0, 1.0, 0.0, 1.0]));
}
