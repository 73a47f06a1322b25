//! Plans a clustering job (k-means) as stages of tasks and reduces their results.
//!
//! Stages (each waits for the previous one):
//! 1. one statistics task: the dataset's shape and the column moments of every block of
//!    `block_rows` rows, merged here in block order into the standardisation;
//! 2. one k-means++ task per run (`n_init`), seeded with [`cluster::derive_seed`]`(seed, run)`;
//! 3. one Lloyd step task per block per iteration, for every run still going: the centroid
//!    sets are stored under [`keys::job_centroids`], the partial sums are reduced here in
//!    block order and the [`LloydRuns`] state machine (the one [`cluster::fit`] uses) updates
//!    the runs, until each converged or reached `max_iter` and was evaluated on its final
//!    centres;
//! 4. one assignment task per block with the best run's centres (lowest inertia, first on
//!    ties), writing the block's assignments Parquet and its clusters' label and family mix.
//!
//! The blocks are fixed by the spec and every reduction reads results by task id in block
//! order, so the number of workers and the order tasks finish in change nothing.

use std::time::Instant;

use anyhow::Context;
use ndarray::Array2;
use secuml_engine::cluster::{self, ColumnMoments, LloydRuns, Partial};
use secuml_proto::{
    keys, ClusterMix, ClusterStatsResult, ClusterSummary, ClusteringAlgo, ClusteringResult,
    ClusteringSpec, DataRef, KmeansAssignResult, KmeansCentroidSets, KmeansInitResult,
    KmeansStepResult, RowRange, StandardScaling, TaskKind,
};
use secuml_worker::cluster::{to_matrix, to_rows};
use tracing::info;

use crate::driver::{JobDriver, JobError};

/// What a clustering job gives back (also stored under [`keys::clustering`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusteringResults {
    /// The stored result.
    pub result: ClusteringResult,
    /// Tasks run.
    pub tasks: usize,
}

async fn read_result<T: serde::de::DeserializeOwned>(
    driver: &JobDriver,
    task_id: &str,
) -> Result<T, JobError> {
    let bytes = driver
        .store()
        .hget(
            &keys::task_results(driver.job_id()),
            &keys::task_result(task_id),
        )
        .await
        .map_err(anyhow::Error::from)?
        .with_context(|| format!("task {task_id} is done but has no result"))?;
    Ok(serde_json::from_slice(&bytes)
        .with_context(|| format!("result of task {task_id} does not parse"))?)
}

async fn store_sets(
    driver: &JobDriver,
    key: &str,
    sets: &KmeansCentroidSets,
) -> Result<(), JobError> {
    let bytes = serde_json::to_vec(sets).context("serialising centroids")?;
    driver
        .store()
        .set(key, &bytes)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(())
}

/// Runs a k-means job on `data` and stores its [`ClusteringResult`] under
/// [`keys::clustering`]`(experiment_id)`.
pub async fn run(
    driver: &mut JobDriver,
    experiment_id: u64,
    spec: &ClusteringSpec,
    data: &DataRef,
) -> Result<ClusteringResults, JobError> {
    let started = Instant::now();
    let ClusteringAlgo::Kmeans {
        num_clusters,
        n_init,
        max_iter,
        tol,
    } = spec.algo.clone();
    let k = num_clusters as usize;
    let block_rows = spec.block_rows.max(1);

    // 1. Shape and standardisation.
    driver
        .run_stage(vec![(
            "stats".to_string(),
            TaskKind::ClusterStats {
                data: data.clone(),
                block_rows,
            },
        )])
        .await?;
    let stats: ClusterStatsResult = read_result(driver, "stats").await?;
    let n = stats.n_rows as usize;
    let d = stats.columns.len();
    // The preflight checked the manifest's rows; the statistics read the shards themselves.
    crate::preflight::num_clusters_fit(data, num_clusters, n).map_err(JobError::Refused)?;
    let mut moments = ColumnMoments::empty(d);
    for b in &stats.blocks {
        moments.merge(&ColumnMoments {
            count: b.count,
            mean: b.mean.clone(),
            m2: b.m2.clone(),
        });
    }
    let scaler = moments.scaler();
    let abs_tol = cluster::absolute_tolerance(tol, moments.mean_standardised_variance(&scaler));
    let scaling = StandardScaling {
        mean: scaler.mean.to_vec(),
        scale: scaler.scale.to_vec(),
    };
    let blocks: Vec<RowRange> = cluster::row_blocks(n, block_rows as usize)
        .into_iter()
        .map(|(a, b)| RowRange {
            start: a as u64,
            end: b as u64,
        })
        .collect();

    // 2. k-means++ for every run.
    let init_tasks = (0..n_init)
        .map(|run| {
            (
                format!("init-{run}"),
                TaskKind::KmeansInit {
                    data: data.clone(),
                    scaling: scaling.clone(),
                    num_clusters,
                    run,
                    seed: cluster::derive_seed(spec.seed, run),
                },
            )
        })
        .collect();
    driver.run_stage(init_tasks).await?;
    let mut inits = Vec::with_capacity(n_init as usize);
    for run in 0..n_init {
        let r: KmeansInitResult = read_result(driver, &format!("init-{run}")).await?;
        inits.push(to_matrix(&r.centroids, d).map_err(|f| anyhow::anyhow!(f.message))?);
    }
    let init_seconds = started.elapsed().as_secs_f64();

    // 3. Lloyd iterations, every pending run in one pass per iteration.
    let mut runs = LloydRuns::new(inits, max_iter, abs_tol);
    let mut iteration = 0u32;
    while !runs.done() {
        let pending = runs.pending();
        let sets = KmeansCentroidSets {
            iteration,
            runs: pending.iter().map(|&i| i as u32).collect(),
            sets: pending
                .iter()
                .map(|&i| to_rows(runs.centroids(i)))
                .collect(),
        };
        let key = keys::job_centroids(driver.job_id(), &iteration.to_string());
        store_sets(driver, &key, &sets).await?;
        let tasks = blocks
            .iter()
            .enumerate()
            .map(|(b, rows)| {
                (
                    format!("step-{iteration}-{b}"),
                    TaskKind::KmeansStep {
                        data: data.clone(),
                        block: b as u32,
                        rows: *rows,
                        scaling: scaling.clone(),
                        centroids_key: key.clone(),
                        iteration,
                    },
                )
            })
            .collect();
        driver.run_stage(tasks).await?;
        let mut totals: Vec<Partial> = (0..pending.len()).map(|_| Partial::zeros(k, d)).collect();
        for b in 0..blocks.len() {
            let step: KmeansStepResult =
                read_result(driver, &format!("step-{iteration}-{b}")).await?;
            if step.partials.len() != pending.len() {
                return Err(JobError::Infrastructure(anyhow::anyhow!(
                    "step {iteration} block {b} returned {} partials for {} runs",
                    step.partials.len(),
                    pending.len()
                )));
            }
            for (total, p) in totals.iter_mut().zip(&step.partials) {
                let sums: Array2<f64> =
                    to_matrix(&p.sums, d).map_err(|f| anyhow::anyhow!(f.message))?;
                let block = Partial {
                    sums,
                    counts: p.counts.clone(),
                    inertia: p.inertia,
                };
                *total = cluster::reduce(k, d, [&*total, &block]);
            }
        }
        runs.advance(&totals);
        let _ = driver.store().delete(&key).await;
        iteration += 1;
    }
    let best = runs.best().context("no k-means run finished")?;
    let inertias: Vec<f64> = runs.inertias().into_iter().flatten().collect();
    let centroids = runs.centroids(best).clone();
    info!(
        job_id = %driver.job_id(),
        best_run = best,
        inertia = inertias[best],
        passes = iteration,
        init_seconds,
        "k-means runs finished"
    );

    // 4. Final assignment.
    let key = keys::job_centroids(driver.job_id(), "final");
    store_sets(
        driver,
        &key,
        &KmeansCentroidSets {
            iteration,
            runs: vec![best as u32],
            sets: vec![to_rows(&centroids)],
        },
    )
    .await?;
    let tasks = blocks
        .iter()
        .enumerate()
        .map(|(b, rows)| {
            (
                format!("assign-{b}"),
                TaskKind::KmeansAssign {
                    experiment_id,
                    data: data.clone(),
                    block: b as u32,
                    rows: *rows,
                    scaling: scaling.clone(),
                    centroids_key: key.clone(),
                    annotations: spec.annotations.clone(),
                },
            )
        })
        .collect();
    driver.run_stage(tasks).await?;
    let mut mix = vec![ClusterMix::default(); k];
    let mut files = Vec::with_capacity(blocks.len());
    for b in 0..blocks.len() {
        let a: KmeansAssignResult = read_result(driver, &format!("assign-{b}")).await?;
        for (m, block) in mix.iter_mut().zip(&a.clusters) {
            m.add(block);
        }
        files.push(a.file);
    }
    let _ = driver.store().delete(&key).await;
    let has_labels = mix.iter().any(|m| m.malicious + m.benign > 0);
    let has_families = mix.iter().any(|m| !m.families.is_empty());
    let result = ClusteringResult {
        algo: spec.algo.name().to_string(),
        num_clusters,
        n_rows: n as u64,
        columns: stats.columns,
        clusters: mix
            .into_iter()
            .enumerate()
            .map(|(c, mix)| ClusterSummary {
                cluster: c as u32,
                centroid: centroids.row(c).to_vec(),
                mix,
            })
            .collect(),
        inertia: inertias[best],
        iterations: runs.iterations()[best],
        best_run: best as u32,
        run_inertias: inertias,
        run_iterations: runs.iterations().to_vec(),
        has_labels,
        has_families,
        assignments_files: files,
        seconds: started.elapsed().as_secs_f64(),
    };
    driver
        .store()
        .set(
            &keys::clustering(experiment_id),
            &serde_json::to_vec(&result).context("serialising the clustering result")?,
        )
        .await
        .map_err(anyhow::Error::from)?;
    Ok(ClusteringResults {
        result,
        tasks: driver.done,
    })
}
