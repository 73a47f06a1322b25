//! A k-means job gives the same result whatever the number of workers, and, with another
//! block size, the same result within float noise.

use secuml_engine::cluster::Assignments;
use secuml_proto::{ClusteringResult, ClusteringSpec};
use secuml_tests::{paths_in, read_all_assignments, run_clustering, train20_kmeans};

fn spec(block_rows: u64) -> ClusteringSpec {
    train20_kmeans(6, 3, 11, block_rows)
}

fn assignments(paths: &secuml_coordinator::config::Paths, r: &ClusteringResult) -> Assignments {
    read_all_assignments(&paths.datasets_dir(), r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kmeans_does_not_depend_on_the_number_of_workers() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = paths_in(tmp.path());
    let one = run_clustering(&paths, &spec(4096), 1).await.unwrap().result;
    let one_rows = assignments(&paths, &one);
    let three = run_clustering(&paths, &spec(4096), 3).await.unwrap().result;
    let three_rows = assignments(&paths, &three);
    assert_eq!(one.clusters, three.clusters, "centroids and mixes");
    assert_eq!(one.inertia, three.inertia);
    assert_eq!(one.run_inertias, three.run_inertias);
    assert_eq!(one.run_iterations, three.run_iterations);
    assert_eq!(one_rows, three_rows);
    assert_eq!(one_rows.clusters.len(), 25192);
    assert!(one.has_labels && one.has_families);
    let sizes: u64 = one.clusters.iter().map(|c| c.mix.size).sum();
    assert_eq!(sizes, 25192);
    let sq: f64 = one_rows.distances.iter().map(|d| d * d).sum();
    assert!((sq - one.inertia).abs() <= 1e-9 * one.inertia);

    // Other blocks: other rounding, the same clustering.
    let other = run_clustering(&paths, &spec(10_000), 2)
        .await
        .unwrap()
        .result;
    assert_eq!(other.assignments_files.len(), 3);
    let rel = (other.inertia - one.inertia).abs() / one.inertia;
    assert!(rel < 1e-9, "inertia {} vs {}", other.inertia, one.inertia);
    assert_eq!(
        other
            .clusters
            .iter()
            .map(|c| c.mix.size)
            .collect::<Vec<_>>(),
        one.clusters.iter().map(|c| c.mix.size).collect::<Vec<_>>()
    );
    for (a, b) in other.clusters.iter().zip(&one.clusters) {
        for (x, y) in a.centroid.iter().zip(&b.centroid) {
            assert!((x - y).abs() < 1e-9, "centroid {x} vs {y}");
        }
    }
}
