//! ValidationDatasets with streaming (`--streaming --stream-batch`): the validation dataset is read
//! shard by shard and predicted a batch of rows at a time, and the detection is the one of the
//! in-memory path, indicator for indicator and prediction for prediction.

use secuml_coordinator::datasets;
use secuml_coordinator::embedded::run_diadem;
use secuml_proto::{DiademSpec, ModelSpec, ValidationSpec};
use secuml_runtime::DataRoot;
use secuml_tests::{detection_fingerprint, paths_in};

fn spec(stream_batch: Option<u32>) -> DiademSpec {
    let mut spec = DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::secuml_default("GaussianNaiveBayes").unwrap(),
        ValidationSpec::ValidationDatasets {
            datasets: vec!["test".into()],
        },
    );
    spec.stream_batch = stream_batch;
    spec
}

fn predictions(paths: &secuml_coordinator::config::Paths, file: &str) -> Vec<(i64, f64, bool)> {
    use arrow_array::{Array, BooleanArray, Float64Array, Int64Array};
    let path = paths.datasets_dir().join(file);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&path).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let ids = column("instance_id");
        let ids = ids.as_any().downcast_ref::<Int64Array>().unwrap();
        let scores = column("score");
        let scores = scores.as_any().downcast_ref::<Float64Array>().unwrap();
        let alerts = column("alert");
        let alerts = alerts.as_any().downcast_ref::<BooleanArray>().unwrap();
        for i in 0..batch.num_rows() {
            rows.push((ids.value(i), scores.value(i), alerts.value(i)));
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_validation_equals_the_in_memory_detection() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    // The validation dataset in shards of 5,000 rows (22,544 rows: 5 shards), so the stream crosses
    // shard boundaries, with batches of 777 rows that do not divide the shards.
    let root = DataRoot::local(&paths.data_dir);
    let input = paths.input_dir.join("NSL-KDD").join("test");
    let manifest =
        datasets::ingest(&paths, &root, &input, "NSL-KDD", "test", None, Some(5000)).unwrap();
    assert_eq!(manifest.shards.len(), 5);

    let in_memory = run_diadem(&paths, spec(None), 2).await.unwrap();
    let streamed = run_diadem(&paths, spec(Some(777)), 2).await.unwrap();
    assert_ne!(in_memory.experiment_id, streamed.experiment_id);

    let validation = |o: &secuml_coordinator::embedded::DiademOutcome| {
        o.results
            .detections
            .iter()
            .find(|d| d.name == "validation:test")
            .cloned()
            .expect("a validation detection")
    };
    let (a, b) = (validation(&in_memory), validation(&streamed));
    assert_eq!(a.n_instances, 22_544);
    assert_eq!(
        (a.n_instances, a.n_labeled, a.n_malicious),
        (b.n_instances, b.n_labeled, b.n_malicious)
    );
    assert_eq!(
        detection_fingerprint(std::slice::from_ref(&a)),
        detection_fingerprint(std::slice::from_ref(&b)),
        "same AUC, indicators at every threshold and histogram"
    );
    assert_eq!(a.family_detection, b.family_detection);
    assert_eq!(a.roc, b.roc);
    assert!(a.auc.unwrap() > 0.75, "NSL-KDD test AUC {:?}", a.auc);

    let (pa, pb) = (
        predictions(&paths, a.predictions_file.as_deref().unwrap()),
        predictions(&paths, b.predictions_file.as_deref().unwrap()),
    );
    assert_eq!(pa.len(), 22_544);
    assert_eq!(pa, pb, "every prediction, in dataset order");
}

#[test]
fn streaming_is_refused_outside_validation_datasets() {
    let mut s = spec(Some(1000));
    s.validation = ValidationSpec::RandomSplit { test_size: 0.1 };
    let e = s.validate().unwrap_err();
    assert_eq!(e.param, "streaming");
    assert!(e.to_string().contains("ValidationDatasets"), "{e}");
    let e = spec(Some(0)).validate().unwrap_err();
    assert_eq!(e.param, "stream-batch");
    spec(Some(1)).validate().unwrap();
}
