use approx::assert_abs_diff_eq;
use ndarray::{array, Array2, Axis};

use super::*;

/// Two tight groups far apart: {(0,0), (0,1), (1,0)} and {(10,10), (10,11)}.
fn two_groups() -> Array2<f64> {
    array![
        [0.0, 0.0],
        [10.0, 10.0],
        [0.0, 1.0],
        [10.0, 11.0],
        [1.0, 0.0]
    ]
}

#[test]
fn partial_step_sums_counts_and_inertia_by_hand() {
    let x = two_groups();
    let c = array![[0.0, 0.0], [10.0, 10.0]];
    let p = &partial_step(x.view(), std::slice::from_ref(&c))[0];
    assert_eq!(p.counts, vec![3, 2]);
    assert_abs_diff_eq!(p.sums, array![[1.0, 1.0], [20.0, 21.0]], epsilon = 0.0);
    // Distances: 0, 0, 1, 1, 1.
    assert_abs_diff_eq!(p.inertia, 3.0, epsilon = 1e-12);
    let (new, shift) = update(c.view(), p);
    assert_abs_diff_eq!(
        new,
        array![[1.0 / 3.0, 1.0 / 3.0], [10.0, 10.5]],
        epsilon = 1e-15
    );
    assert_abs_diff_eq!(shift, 2.0 / 9.0 + 0.25, epsilon = 1e-15);
}

#[test]
fn blocks_reduced_in_order_equal_one_pass() {
    let x = two_groups();
    let c = array![[0.0, 0.0], [10.0, 10.0]];
    let sets = [c.clone(), array![[1.0, 1.0], [0.0, 0.0]]];
    let whole = partial_step(x.view(), &sets);
    let a = partial_step(x.slice_axis(Axis(0), (0..2).into()), &sets);
    let b = partial_step(x.slice_axis(Axis(0), (2..5).into()), &sets);
    for set in 0..2 {
        let r = reduce(2, 2, [&a[set], &b[set]]);
        assert_eq!(r.counts, whole[set].counts);
        assert_abs_diff_eq!(r.sums, whole[set].sums, epsilon = 1e-12);
        assert_abs_diff_eq!(r.inertia, whole[set].inertia, epsilon = 1e-12);
    }
}

#[test]
fn an_empty_cluster_keeps_its_centre() {
    let x = two_groups();
    let c = array![[0.0, 0.0], [10.0, 10.0], [100.0, 100.0]];
    let p = &partial_step(x.view(), std::slice::from_ref(&c))[0];
    assert_eq!(p.counts[2], 0);
    let (new, _) = update(c.view(), p);
    assert_eq!(new.row(2), c.row(2));
}

#[test]
fn kmeans_plus_plus_is_seeded_and_picks_distinct_groups() {
    let x = two_groups();
    let a = kmeans_plus_plus(x.view(), 2, 3);
    assert_eq!(a, kmeans_plus_plus(x.view(), 2, 3));
    // The second centre is drawn by squared distance: it lies in the other group.
    let group = |r: ndarray::ArrayView1<f64>| r[0] > 5.0;
    assert_ne!(group(a.row(0)), group(a.row(1)));
    for seed in 0..20 {
        let c = kmeans_plus_plus(x.view(), 2, seed);
        assert_ne!(group(c.row(0)), group(c.row(1)), "seed {seed}");
        // Every centre is a row of x.
        for r in c.rows() {
            assert!(x.rows().into_iter().any(|xr| xr == r));
        }
    }
}

#[test]
fn fit_finds_the_two_groups_whatever_the_blocks() {
    let x = two_groups();
    let mut params = KmeansParams::new(2);
    params.n_init = 3;
    params.block_rows = 2;
    let fit2 = fit(x.view(), &params, 1.0);
    params.block_rows = 8192;
    let fit_all = fit(x.view(), &params, 1.0);
    assert_abs_diff_eq!(fit2.inertia, 4.0 / 3.0 + 0.5, epsilon = 1e-9);
    assert_abs_diff_eq!(fit2.inertia, fit_all.inertia, epsilon = 1e-12);
    assert_eq!(fit2.labels, fit_all.labels);
    assert_eq!(fit2.labels[0], fit2.labels[2]);
    assert_eq!(fit2.labels[1], fit2.labels[3]);
    assert_ne!(fit2.labels[0], fit2.labels[1]);
    let total: f64 = fit2.sq_distances.iter().sum();
    assert_abs_diff_eq!(total, fit2.inertia, epsilon = 1e-12);
}

#[test]
fn runs_stop_at_max_iter_and_the_best_is_the_lowest_inertia() {
    let x = two_groups();
    let bad = array![[0.0, 0.0], [0.0, 0.5]];
    let good = array![[0.0, 0.0], [10.0, 10.0]];
    let mut runs = LloydRuns::new(vec![bad, good], 1, 0.0);
    while !runs.done() {
        let sets: Vec<_> = runs
            .pending()
            .iter()
            .map(|&i| runs.centroids(i).clone())
            .collect();
        let p = partial_step(x.view(), &sets);
        runs.advance(&p);
    }
    assert_eq!(runs.iterations(), &[1, 1]);
    assert_eq!(runs.best(), Some(1));
}

#[test]
fn moments_merged_by_block_equal_the_whole() {
    let x = array![[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [10.0, 5.0]];
    let whole = ColumnMoments::of_block(x.view());
    let mut merged = ColumnMoments::of_block(x.slice_axis(Axis(0), (0..1).into()));
    merged.merge(&ColumnMoments::of_block(
        x.slice_axis(Axis(0), (1..4).into()),
    ));
    assert_eq!(merged.count, 4);
    assert_abs_diff_eq!(merged.mean[0], 4.0, epsilon = 1e-15);
    assert_abs_diff_eq!(merged.m2[0], whole.m2[0], epsilon = 1e-12);
    // Deviations -3, -2, -1, 6: m2 = 50.
    assert_abs_diff_eq!(merged.m2[0], 50.0, epsilon = 1e-12);
    let scaler = merged.scaler();
    assert_abs_diff_eq!(scaler.scale[0], 12.5f64.sqrt(), epsilon = 1e-12);
    assert_eq!(scaler.scale[1], 1.0, "a constant column keeps scale 1");
    assert_abs_diff_eq!(
        merged.mean_standardised_variance(&scaler),
        0.5,
        epsilon = 1e-12
    );
}

#[test]
fn derived_seeds_differ() {
    let seeds: std::collections::BTreeSet<u64> = (0..100).map(|i| derive_seed(0, i)).collect();
    assert_eq!(seeds.len(), 100);
}

#[test]
fn assignments_round_trip_through_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clusterings/7/part-00000.parquet");
    let rows = Assignments {
        instance_ids: vec![1, 2],
        idents: vec!["a".into(), "<b>".into()],
        clusters: vec![0, 3],
        distances: vec![0.5, 1.5],
        labels: vec![Some(true), None],
        families: vec![None, Some("dos".into())],
    };
    write_assignments(&path, &rows).unwrap();
    assert_eq!(read_assignments(&path).unwrap(), rows);
    let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file left");
}
