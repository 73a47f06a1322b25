//! Every validation mode and search objective of DIADEM end to end, on small synthetic
//! datasets with and without timestamps (see `secuml_tests::write_gaussians`).

use secuml_coordinator::config::Paths;
use secuml_coordinator::embedded::{run_diadem, DiademOutcome};
use secuml_coordinator::jobs::diadem_metrics;
use secuml_proto::{keys, DiademSpec, ModelSpec, Objective, Penalty, ValidationSpec};
use secuml_runtime::{FileStore, Store};
use secuml_tests::{write_gaussians, GaussiansLayout};

const PROJECT: &str = "Gaussians";
/// Instances of the generated datasets: 20 days of hourly instances.
const ROWS: usize = 480;

/// Input and data folders in `tmp`, with three datasets: `timed` (timestamps), `untimed` (the
/// same without), `partial` (timestamps, every 5th instance unlabelled).
fn setup(tmp: &std::path::Path) -> Paths {
    let input = tmp.join("input");
    for (dataset, timestamps, unlabeled_every) in [
        ("timed", true, 0),
        ("untimed", false, 0),
        ("partial", true, 5),
    ] {
        let layout = GaussiansLayout {
            rows: ROWS,
            seed: 11,
            timestamps,
            unlabeled_every,
        };
        write_gaussians(&input, PROJECT, dataset, layout).unwrap();
    }
    Paths {
        input_dir: input,
        data_dir: tmp.join("data"),
    }
}

fn spec(dataset: &str, validation: ValidationSpec) -> DiademSpec {
    let mut spec = DiademSpec::with_defaults(
        PROJECT,
        dataset,
        ModelSpec::LogisticRegression {
            c: vec![0.1, 1.0],
            penalty: vec![Penalty::L2],
            optim_algo: Default::default(),
        },
        validation,
    );
    spec.num_folds = 2;
    spec
}

/// Runs `validation` on `dataset` with 2 worker slots.
async fn run(paths: &Paths, dataset: &str, validation: ValidationSpec) -> DiademOutcome {
    run_diadem(paths, spec(dataset, validation), 2)
        .await
        .unwrap()
}

/// The error of a run refused before it started.
async fn refused(paths: &Paths, dataset: &str, validation: ValidationSpec) -> String {
    run_diadem(paths, spec(dataset, validation), 1)
        .await
        .unwrap_err()
        .to_string()
}

fn detection<'a>(o: &'a DiademOutcome, name: &str) -> &'a secuml_proto::DetectionResult {
    o.results
        .detections
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no detection {name}"))
}

fn names(o: &DiademOutcome) -> Vec<String> {
    o.results
        .detections
        .iter()
        .map(|d| d.name.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_split_modes_hold_out_what_secuml_holds_out() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = setup(tmp.path());

    // TemporalSplit: the most recent 10% (48 of 480) are held out.
    let o = run(
        &paths,
        "timed",
        ValidationSpec::TemporalSplit { test_size: 0.1 },
    )
    .await;
    assert_eq!(names(&o), ["train", "test"]);
    assert_eq!(detection(&o, "test").n_instances, 48);
    assert_eq!(detection(&o, "train").n_instances, 432);
    assert!(o.results.folds.is_empty());

    // CutoffTime at day 15: 14 days (336 hours) train, 6 days validate.
    let cutoff = secuml_engine::dataset::parse_timestamp(b"2020-01-15 00:00:00").unwrap();
    let o = run(
        &paths,
        "timed",
        ValidationSpec::CutoffTime {
            cutoff_time: cutoff,
        },
    )
    .await;
    assert_eq!(detection(&o, "train").n_instances, 336);
    assert_eq!(detection(&o, "test").n_instances, 144);
    assert!(
        detection(&o, "test").auc.unwrap() > 0.7,
        "the features separate the classes"
    );

    // UnlabeledLabeled: train on the 384 labelled instances, predict the 96 unlabelled ones.
    let o = run(&paths, "partial", ValidationSpec::UnlabeledLabeled).await;
    assert_eq!(detection(&o, "train").n_instances, 384);
    let unlabeled = detection(&o, "test");
    assert_eq!((unlabeled.n_instances, unlabeled.n_labeled), (96, 0));
    assert!(unlabeled.auc.is_none() && unlabeled.indicators.is_none());
    assert_eq!(unlabeled.histogram.unlabeled.iter().sum::<u64>(), 96);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_validation_modes_train_each_fold_and_average_the_indicators() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = setup(tmp.path());

    // Cv: every labelled instance is validated exactly once.
    let o = run(&paths, "untimed", ValidationSpec::Cv { num_folds: 3 }).await;
    assert_eq!(
        names(&o),
        [
            "train-fold-0",
            "test-fold-0",
            "train-fold-1",
            "test-fold-1",
            "train-fold-2",
            "test-fold-2"
        ]
    );
    assert_eq!(o.results.folds.len(), 3);
    let held: u64 = (0..3)
        .map(|f| detection(&o, &format!("test-fold-{f}")).n_instances)
        .sum();
    assert_eq!(held, ROWS as u64);
    for f in 0..3 {
        let (train, test) = (
            detection(&o, &format!("train-fold-{f}")),
            detection(&o, &format!("test-fold-{f}")),
        );
        assert_eq!(train.n_instances + test.n_instances, ROWS as u64);
        assert_eq!(o.results.folds[f].n_train, train.n_instances);
        assert_eq!(o.results.folds[f].num_fits, 2 * 2 + 1);
    }
    let aucs: Vec<f64> = (0..3)
        .map(|f| detection(&o, &format!("test-fold-{f}")).auc.unwrap())
        .collect();
    let mean = aucs.iter().sum::<f64>() / 3.0;
    let std = (aucs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    let metrics = diadem_metrics(&o.results);
    assert!((metrics["test.auc"] - mean).abs() < 1e-12);
    assert!((metrics["validation.auc"] - mean).abs() < 1e-12);
    assert!((metrics["test.auc_std"] - std).abs() < 1e-12);
    assert!(metrics.contains_key("train.false_alarm_rate_std"));
    let json = secuml_coordinator::report::diadem_json(&o, "http://x/");
    assert_eq!(json["folds"].as_array().unwrap().len(), 3);
    assert_eq!(
        json["num_fits"],
        3 * (2 * 2 + 1),
        "every fold's search and refit"
    );
    let stats = &json["fold_statistics"]["test"]["auc"];
    assert!((stats["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert_eq!(stats["per_fold"].as_array().unwrap().len(), 3);
    assert!((json["validation"]["auc"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert_eq!(json["validation"]["folds"], 3);

    // Each fold's model and training summary are stored on their own.
    let store = FileStore::open(paths.store_dir()).unwrap();
    for f in 0..3 {
        for key in [
            keys::model_of(o.experiment_id, Some(f)),
            keys::fold_train_summary(o.experiment_id, f),
        ] {
            assert!(store.get(&key).await.unwrap().is_some(), "{key}");
        }
    }
    let loaded = secuml_coordinator::diadem::load_results(
        &store,
        o.experiment_id,
        &spec("untimed", ValidationSpec::Cv { num_folds: 3 }),
    )
    .await
    .unwrap();
    assert_eq!(loaded.folds, o.results.folds);

    // TemporalCv with 3 folds: 4 buckets of 5 days; fold k trains on buckets 0..=k.
    let o = run(&paths, "timed", ValidationSpec::TemporalCv { num_folds: 3 }).await;
    for f in 0..3u64 {
        let train = detection(&o, &format!("train-fold-{f}")).n_instances;
        let test = detection(&o, &format!("test-fold-{f}")).n_instances;
        assert_eq!((train, test), (120 * (f + 1), 120), "fold {f}");
    }

    // SlidingWindow with SecuML's defaults: 10 buckets of 2 days, 4 train + 1 test, 6 folds.
    let o = run(
        &paths,
        "timed",
        ValidationSpec::SlidingWindow {
            num_buckets: 10,
            num_train_buckets: 4,
            num_test_buckets: 1,
        },
    )
    .await;
    assert_eq!(o.results.folds.len(), 6);
    for f in 0..6 {
        assert_eq!(
            detection(&o, &format!("train-fold-{f}")).n_instances,
            4 * 48
        );
        assert_eq!(detection(&o, &format!("test-fold-{f}")).n_instances, 48);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_objective_drives_the_search() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = setup(tmp.path());
    let mut scores = Vec::new();
    for objective in [
        Objective::RocAuc,
        Objective::Accuracy,
        Objective::Ndcg,
        Objective::DrAtFar,
    ] {
        let mut s = spec("untimed", ValidationSpec::RandomSplit { test_size: 0.2 });
        s.objective = objective;
        s.far = 0.1;
        let o = run_diadem(&paths, s, 2).await.unwrap();
        assert_eq!(o.results.train.objective, objective);
        let per_fold: Vec<f64> = o.results.train.candidates[0].per_fold.clone();
        assert!(
            per_fold.iter().all(|v| (0.0..=1.0).contains(v)),
            "{objective:?}: {per_fold:?}"
        );
        scores.push(per_fold);
    }
    // Four objectives, four different measures of the same folds.
    for i in 0..scores.len() {
        for j in 0..i {
            assert_ne!(scores[i], scores[j], "objectives {i} and {j}");
        }
    }
}

/// The number of experiments the store has allocated.
async fn experiments(paths: &Paths) -> usize {
    let store = FileStore::open(paths.store_dir()).unwrap();
    store.hgetall(&keys::experiments()).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_before_any_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = setup(tmp.path());
    for validation in [
        ValidationSpec::TemporalSplit { test_size: 0.1 },
        ValidationSpec::CutoffTime { cutoff_time: 0 },
        ValidationSpec::TemporalCv { num_folds: 4 },
        ValidationSpec::SlidingWindow {
            num_buckets: 10,
            num_train_buckets: 4,
            num_test_buckets: 1,
        },
    ] {
        let mode = validation.mode_name();
        let error = refused(&paths, "untimed", validation).await;
        assert!(
            error.contains(mode)
                && error.contains("Gaussians/untimed")
                && error.contains("timestamp"),
            "{error}"
        );
    }
    // A cutoff before every instance leaves nothing to train on.
    let error = refused(
        &paths,
        "timed",
        ValidationSpec::CutoffTime { cutoff_time: 0 },
    )
    .await;
    assert!(error.contains("trains on 0"), "{error}");
    // A cutoff after every instance leaves nothing to validate on.
    let error = refused(
        &paths,
        "timed",
        ValidationSpec::CutoffTime {
            cutoff_time: i64::MAX,
        },
    )
    .await;
    assert!(error.contains("no labelled instance"), "{error}");
    let error = refused(&paths, "timed", ValidationSpec::UnlabeledLabeled).await;
    assert!(
        error.contains("UnlabeledLabeled") && error.contains("every instance"),
        "{error}"
    );
    let mut bad_far = spec("timed", ValidationSpec::TemporalSplit { test_size: 0.1 });
    bad_far.objective = Objective::DrAtFar;
    bad_far.far = 2.0;
    let error = run_diadem(&paths, bad_far, 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("`far`"), "{error}");
    let error = refused(&paths, "timed", ValidationSpec::Cv { num_folds: 1 }).await;
    assert!(error.contains("`validation-folds`"), "{error}");
    assert_eq!(experiments(&paths).await, 0, "no experiment was created");
}
