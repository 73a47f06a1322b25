//! k-means in process on a dataset in SecuML's layout, for the side-by-side benchmark.
//!
//! `cargo run --release -p secuml-engine --example kmeans -- INPUT_DATASET_DIR K N_INIT [SEED]`
//! ingests the dataset into a temporary folder, one-hot encodes it, standardises every column
//! (moments merged by block, as the coordinator does), runs [`cluster::fit`] with blocks of
//! 8192 rows and prints one JSON line: inertia, iterations, sizes and timings.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::Instant;

use ndarray::Axis;
use secuml_engine::cluster::{self, ColumnMoments, KmeansParams};
use secuml_engine::dataset::{self, Encoder, IngestOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: kmeans INPUT_DATASET_DIR K N_INIT [SEED]";
    let input = Path::new(args.first().expect(usage));
    let k: usize = args.get(1).expect(usage).parse().expect("K is a number");
    let n_init: u32 = args
        .get(2)
        .expect(usage)
        .parse()
        .expect("N_INIT is a number");
    let seed: u64 = args
        .get(3)
        .map_or(0, |s| s.parse().expect("SEED is a number"));

    let t0 = Instant::now();
    let tmp = std::env::temp_dir().join(format!("secuml-kmeans-bench-{}", std::process::id()));
    let out = tmp.join("dataset");
    let manifest =
        dataset::ingest(input, &out, &IngestOptions::new("bench", "dataset")).expect("ingest");
    let t_ingest = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let frame = dataset::read_frame(&out, &manifest).expect("read shards");
    let encoder = Encoder::fit(&manifest);
    let mut x = encoder.transform(&manifest, &frame, None).expect("encode");
    let _ = std::fs::remove_dir_all(&tmp);
    let t_load = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    let params = KmeansParams {
        n_init,
        seed,
        ..KmeansParams::new(k)
    };
    let mut moments = ColumnMoments::empty(x.ncols());
    for (a, b) in cluster::row_blocks(x.nrows(), params.block_rows) {
        moments.merge(&ColumnMoments::of_block(
            x.slice_axis(Axis(0), (a..b).into()),
        ));
    }
    let scaler = moments.scaler();
    scaler.transform_inplace(&mut x);
    let mean_variance = moments.mean_standardised_variance(&scaler);
    let t_scale = t2.elapsed().as_secs_f64();

    let t3 = Instant::now();
    let fit = cluster::fit(x.view(), &params, mean_variance);
    let t_fit = t3.elapsed().as_secs_f64();
    let mut sizes = vec![0u64; k];
    for l in &fit.labels {
        sizes[*l as usize] += 1;
    }
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let json = serde_json::json!({
        "script": "secuml_kmeans",
        "n_rows": x.nrows(),
        "n_features_encoded": x.ncols(),
        "k": k, "n_init": n_init, "seed": seed,
        "inertia": fit.inertia,
        "n_iter": fit.iterations[fit.best_init],
        "best_init": fit.best_init,
        "run_inertias": fit.inertias,
        "cluster_sizes_sorted": sizes,
        "timings": {
            "ingest_s": t_ingest, "load_s": t_load, "scale_s": t_scale, "fit_s": t_fit,
            "total_s": t0.elapsed().as_secs_f64(),
        },
    });
    println!("{json}");
}
