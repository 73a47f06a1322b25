//! The alert analysis through the whole DIADEM pipeline on NSL-KDD: the alerts stage after the
//! detections, its Top N and random sample against the predictions file, and the clusters of
//! `--alerts-clustering` Kmeans, GaussianMixture and Dbscan.

use std::collections::BTreeSet;

use secuml_coordinator::config::Paths;
use secuml_coordinator::embedded::{run_diadem, DiademOutcome};
use secuml_engine::predictions::{read_predictions, ReadPredictions};
use secuml_proto::result::MAX_ALERTS_LISTED;
use secuml_proto::{
    keys, AlertsAnalysis, AlertsClusteringAlgo, AlertsResult, DiademSpec, ModelSpec, Penalty,
    ValidationSpec,
};
use secuml_runtime::{FileStore, Store};
use secuml_tests::paths_in;

/// SecuML's logistic regression reduced to one candidate, so the run is quick.
fn spec(validation: ValidationSpec, alerts: Option<AlertsAnalysis>) -> DiademSpec {
    let mut spec = DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::LogisticRegression {
            c: vec![1.0],
            penalty: vec![Penalty::L2],
            optim_algo: Default::default(),
        },
        validation,
    );
    spec.num_folds = 2;
    spec.seed = 5;
    spec.alerts = alerts;
    spec
}

async fn stored_alerts(paths: &Paths, experiment_id: u64) -> Vec<(String, AlertsResult)> {
    let store = FileStore::open(paths.store_dir()).unwrap();
    store
        .hgetall(&keys::alerts(experiment_id))
        .await
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, serde_json::from_slice(&v).unwrap()))
        .collect()
}

fn predictions(paths: &Paths, outcome: &DiademOutcome, detection: &str) -> ReadPredictions {
    let d = outcome
        .results
        .detections
        .iter()
        .find(|d| d.name == detection)
        .unwrap();
    let file = d.predictions_file.as_ref().unwrap();
    let bytes = std::fs::read(paths.data_dir.join("datasets").join(file)).unwrap();
    read_predictions(bytes, file).unwrap()
}

/// The alerts of a detection's predictions file: (instance id, score, row), in file order.
fn alerts_of(p: &ReadPredictions) -> Vec<(i64, f64)> {
    (0..p.alerts.len())
        .filter(|&i| p.alerts[i])
        .map(|i| (p.rows.instance_ids[i], p.rows.scores[i]))
        .collect()
}

/// Checks the Top N and the random sample of `result` against the predictions file.
fn check_lists(result: &AlertsResult, p: &ReadPredictions) {
    let alerts = alerts_of(p);
    assert_eq!(result.n_alerts, alerts.len() as u64);
    assert!(alerts.len() > MAX_ALERTS_LISTED, "enough alerts to list");
    let mut by_score = alerts.clone();
    by_score.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<(i64, f64)> = result
        .top
        .iter()
        .map(|r| (r.instance_id, r.score))
        .collect();
    assert_eq!(
        top,
        by_score[..MAX_ALERTS_LISTED].to_vec(),
        "the 100 highest scores"
    );
    let ids: Vec<i64> = alerts.iter().map(|a| a.0).collect();
    assert_eq!(result.random.len(), MAX_ALERTS_LISTED);
    let positions: Vec<usize> = result
        .random
        .iter()
        .map(|r| {
            ids.iter()
                .position(|i| *i == r.instance_id)
                .expect("an alert")
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "distinct alerts in dataset order"
    );
    assert!(
        result.random.iter().zip(&result.top).any(|(a, b)| a != b),
        "a sample, not the top"
    );
    for r in result.top.iter().chain(&result.random) {
        assert!(r.score > result.detection_threshold);
        assert!(!r.ident.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_listed_and_clustered_by_each_algorithm() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    for algo in [
        AlertsClusteringAlgo::Kmeans,
        AlertsClusteringAlgo::GaussianMixture,
        AlertsClusteringAlgo::Dbscan,
    ] {
        let analysis = AlertsAnalysis::Clustering {
            algo,
            num_clusters: 3,
        };
        let outcome = run_diadem(
            &paths,
            spec(
                ValidationSpec::RandomSplit { test_size: 0.1 },
                Some(analysis),
            ),
            2,
        )
        .await
        .unwrap_or_else(|e| panic!("{algo:?}: {e:#}"));
        let stored = stored_alerts(&paths, outcome.experiment_id).await;
        let names: Vec<&str> = stored.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            vec!["test"],
            "the training detection is not analysed"
        );
        let result = &stored[0].1;
        let p = predictions(&paths, &outcome, "test");
        check_lists(result, &p);
        assert_eq!(result.algo.as_deref(), Some(algo.name()));
        let sizes: u64 = result.clusters.iter().map(|c| c.mix.size).sum();
        assert_eq!(sizes, result.n_alerts, "{algo:?}: every alert in one group");
        let mut seen = BTreeSet::new();
        for c in &result.clusters {
            let m = &c.mix;
            assert_eq!(m.malicious + m.benign + m.unlabeled, m.size);
            assert_eq!(c.alerts.len() as u64, m.size.min(MAX_ALERTS_LISTED as u64));
            assert!(c.alerts.windows(2).all(|w| w[0].score >= w[1].score));
            for a in &c.alerts {
                assert!(seen.insert(a.instance_id), "an alert in two clusters");
            }
        }
        match algo {
            AlertsClusteringAlgo::Dbscan => {
                assert!(result.clusters.len() > 1, "{:?}", result.clusters.len());
                for (i, c) in result.clusters.iter().enumerate() {
                    if c.name != "noise" {
                        assert_eq!(c.name, i.to_string());
                    } else {
                        assert_eq!(i, result.clusters.len() - 1, "noise comes last");
                    }
                }
            }
            _ => {
                let names: Vec<&str> = result.clusters.iter().map(|c| c.name.as_str()).collect();
                assert_eq!(names, vec!["0", "1", "2"]);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_alerts_are_listed_without_clustering_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let validation = ValidationSpec::ValidationDatasets {
        datasets: vec!["test".into()],
    };
    let outcome = run_diadem(&paths, spec(validation.clone(), None), 2)
        .await
        .unwrap();
    let stored = stored_alerts(&paths, outcome.experiment_id).await;
    assert_eq!(stored.len(), 1);
    let (name, result) = &stored[0];
    assert_eq!(name, "validation:test");
    let p = predictions(&paths, &outcome, "validation:test");
    check_lists(result, &p);
    assert_eq!((result.algo.as_ref(), result.clusters.len()), (None, 0));
    let detection = &outcome.results.detections[1];
    assert_eq!(detection.n_alerts, result.n_alerts);

    // The same detection, its alerts clustered: the same lists, and the clusters.
    let analysis = AlertsAnalysis::Clustering {
        algo: AlertsClusteringAlgo::Kmeans,
        num_clusters: 4,
    };
    let clustered = run_diadem(&paths, spec(validation, Some(analysis)), 2)
        .await
        .unwrap();
    let again = stored_alerts(&paths, clustered.experiment_id).await;
    let with = &again[0].1;
    assert_eq!((&with.top, &with.random), (&result.top, &result.random));
    assert_eq!(with.clusters.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_classification_names_the_training_families() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let analysis = AlertsAnalysis::Classification {
        model: Box::new(ModelSpec::secuml_default("GaussianNaiveBayes").unwrap()),
        num_folds: 2,
    };
    let outcome = run_diadem(
        &paths,
        spec(
            ValidationSpec::RandomSplit { test_size: 0.1 },
            Some(analysis),
        ),
        2,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let stored = stored_alerts(&paths, outcome.experiment_id).await;
    assert_eq!(stored.len(), 1);
    let result = &stored[0].1;
    check_lists(result, &predictions(&paths, &outcome, "test"));
    assert!(result.classified && result.skipped.is_none(), "{result:?}");
    assert_eq!(result.algo.as_deref(), Some("GaussianNaiveBayes"));
    let sizes: u64 = result.clusters.iter().map(|c| c.mix.size).sum();
    assert_eq!(sizes, result.n_alerts, "every alert named once");
    let names: Vec<&str> = result.clusters.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "families sorted: {names:?}"
    );
    assert!(names.len() >= 2, "{names:?}");
    assert!(
        !names.contains(&"normal"),
        "only malicious families are learnt: {names:?}"
    );
    // The named family is the true one for most truly malicious alerts: far above the share
    // of the commonest family among them.
    let (mut agree, mut malicious) = (0, 0);
    let mut commonest = std::collections::BTreeMap::<&str, u64>::new();
    for c in &result.clusters {
        for (family, n) in &c.mix.families {
            if family != "normal" {
                malicious += n;
                *commonest.entry(family.as_str()).or_default() += n;
                if *family == c.name {
                    agree += n;
                }
            }
        }
    }
    let baseline = *commonest.values().max().unwrap() as f64 / malicious as f64;
    let rate = agree as f64 / malicious as f64;
    assert!(
        rate > baseline.max(0.5),
        "families named right for {rate:.3} of the malicious alerts (commonest family {baseline:.3})"
    );
}
