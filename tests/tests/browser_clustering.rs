//! A real k-means clustering of NSL-KDD, served by the dashboard and read in headless Chromium: the page,
//! reached from its dataset's experiments menu, shows the stored cluster sizes, and clicking a cluster
//! (its row, the next page, another cluster's bar) shows the instances the assignments Parquet files give
//! for it (read with `read_assignments`), closest to the centre first.
//!
//! Runs with `cargo test -p secuml-tests --features browser-tests`; it needs Node, Debian's Chromium and
//! `tests/browser/node_modules` (`npm ci`), and fails with what to install when one is missing.
#![cfg(feature = "browser-tests")]

use secuml_coordinator::embedded::open_store;
use secuml_engine::cluster::Assignments;
use secuml_proto::{keys, ClusteringAlgo, ClusteringResult, ClusteringSpec};
use secuml_tests::browser::{serve_dashboard, BrowserTools, InstanceReading, InstancesReading};
use secuml_tests::{paths_in, read_all_assignments, run_clustering};

const PROJECT: &str = "NSL-KDD";
const DATASET: &str = "train20";
const ROWS: u64 = 25_192;
const CLUSTERS: u32 = 4;

/// k-means with 4 clusters and 2 runs on train20: seconds, with clusters of very different sizes.
fn spec() -> ClusteringSpec {
    let mut spec = ClusteringSpec::kmeans(PROJECT, DATASET, CLUSTERS);
    spec.algo = ClusteringAlgo::Kmeans {
        num_clusters: CLUSTERS,
        n_init: 2,
        max_iter: 300,
        tol: 1e-4,
    };
    spec.seed = 7;
    spec
}

/// The rows of `cluster` as the page shows them, closest to its centre first, ties in dataset order (a
/// stable sort of the assignments, which are in dataset order).
fn closest_first(all: &Assignments, cluster: u32) -> Vec<InstanceReading> {
    let mut rows: Vec<usize> = (0..all.clusters.len())
        .filter(|i| all.clusters[*i] == cluster)
        .collect();
    rows.sort_by(|a, b| all.distances[*a].total_cmp(&all.distances[*b]));
    rows.into_iter()
        .map(|i| InstanceReading {
            instance_id: all.instance_ids[i],
            ident: all.idents[i].clone(),
            distance: all.distances[i],
            label: all.labels[i].map(|l| if l { "malicious" } else { "benign" }.to_string()),
            family: all.families[i].clone(),
        })
        .collect()
}

/// Checks that a page the browser showed is `expected[offset..offset + limit]` of `cluster`.
fn check_page(shown: &InstancesReading, cluster: u32, offset: u64, expected: &[InstanceReading]) {
    assert_eq!(shown.cluster, cluster, "{shown:?}");
    assert_eq!(shown.offset, offset, "{shown:?}");
    assert_eq!(
        shown.selected,
        vec![cluster],
        "the clicked cluster's row is selected"
    );
    assert_eq!(
        shown.total,
        expected.len() as u64,
        "instances of cluster {cluster}"
    );
    let want: Vec<InstanceReading> = expected
        .iter()
        .skip(offset as usize)
        .take(shown.limit as usize)
        .cloned()
        .collect();
    assert!(!want.is_empty(), "cluster {cluster} has rows at {offset}");
    assert_eq!(
        shown.rows, want,
        "cluster {cluster} from {offset}: the page's rows are the assignments' closest ones"
    );
    let first = offset + 1;
    let last = offset + want.len() as u64;
    assert_eq!(
        shown.summary,
        format!(
            "Cluster {cluster}: instances {first}\u{2013}{last} of {}, closest to the centre first",
            expected.len()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clustering_page_shows_the_stored_clusters_and_their_closest_instances() {
    // Checked first, so a machine without the tools fails in a second with what to install.
    let tools = BrowserTools::find().unwrap_or_else(|e| panic!("{e:#}"));

    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    run_clustering(&paths, &spec(), 2)
        .await
        .expect("the clustering runs");
    let store = open_store(&paths).unwrap();
    let records = secuml_dashboard::Reader::new(store.clone(), paths.datasets_dir())
        .dataset_experiments(PROJECT, DATASET)
        .await
        .unwrap();
    let [record] = records.as_slice() else {
        panic!("one experiment on {PROJECT}/{DATASET}: {records:?}");
    };
    assert_eq!(record.kind, "Clustering");
    let id = record.id;
    let bytes = store
        .get(&keys::clustering(id))
        .await
        .unwrap()
        .expect("the clustering result is stored");
    let result: ClusteringResult = serde_json::from_slice(&bytes).unwrap();
    let sizes: Vec<u64> = result.clusters.iter().map(|c| c.mix.size).collect();
    assert_eq!(sizes.len(), CLUSTERS as usize);
    assert_eq!(sizes.iter().sum::<u64>(), ROWS, "the sizes sum to the rows");
    assert!(result.has_labels && result.has_families);

    let all = read_all_assignments(&paths.datasets_dir(), &result);
    assert_eq!(all.clusters.len() as u64, ROWS);
    // The row click shows the largest cluster (it has a second page), the bar click the smallest one.
    let by_size = |c: &u32| sizes[*c as usize];
    let largest = (0..CLUSTERS).max_by_key(by_size).unwrap();
    let smallest = (0..CLUSTERS)
        .filter(|c| *c != largest && sizes[*c as usize] > 0)
        .min_by_key(by_size)
        .unwrap();

    let (addr, server) = serve_dashboard(store.clone(), &paths).await;
    let menu = format!("http://{addr}/SecuML/{PROJECT}/{DATASET}/menu/");
    let screenshot =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser_clustering.png");
    let reading = tools
        .read_clustering_page(&menu, id, largest, smallest, &screenshot)
        .await;
    server.abort();
    let reading = reading.unwrap_or_else(|e| panic!("{e:#}"));

    assert_eq!(
        reading.title,
        format!("Clustering \u{2013} {}", record.name)
    );
    let shown: Vec<(u32, u64)> = reading
        .clusters
        .iter()
        .map(|c| (c.cluster, c.size))
        .collect();
    let stored: Vec<(u32, u64)> = result
        .clusters
        .iter()
        .map(|c| (c.cluster, c.mix.size))
        .collect();
    assert_eq!(shown, stored, "the table shows the stored sizes");
    for (row, cluster) in reading.clusters.iter().zip(&result.clusters) {
        assert_eq!(row.size_text, cluster.mix.size.to_string());
        let labelled = cluster.mix.malicious + cluster.mix.benign;
        let rate = (labelled > 0).then(|| cluster.mix.malicious as f64 / labelled as f64);
        assert_eq!(
            row.malicious, rate,
            "% malicious of cluster {}",
            cluster.cluster
        );
        // The most frequent family first, ties by name (the families map is sorted by name).
        let top = cluster
            .mix
            .families
            .iter()
            .rev()
            .max_by_key(|(_, n)| **n)
            .map(|(f, n)| format!("{f} ({n})"));
        let families = row.families.as_deref().unwrap_or_default();
        assert!(
            top.as_deref().is_some_and(|t| families.starts_with(t)),
            "cluster {}: top families {families:?}, most frequent {top:?}",
            cluster.cluster
        );
    }
    assert_eq!(reading.charts, vec!["label-mix-chart", "family-mix-chart"]);

    let largest_rows = closest_first(&all, largest);
    check_page(&reading.by_row, largest, 0, &largest_rows);
    check_page(&reading.next, largest, reading.by_row.limit, &largest_rows);
    check_page(&reading.by_bar, smallest, 0, &closest_first(&all, smallest));
    assert!(
        screenshot.is_file(),
        "screenshot at {}",
        screenshot.display()
    );
}
