//! Clustering tasks: column moments, k-means++ runs, Lloyd partial steps, final assignments.
//!
//! Every task reads its rows from the [`DataCache`] (the dataset is loaded once per manifest
//! checksum and shared by the tasks of a worker), standardises them with the scaling the task
//! carries, and writes its result under its task id, so a redelivered task overwrites it.

use ndarray::{Array2, ArrayView2, Axis};
use secuml_engine::cluster::{self, Assignments, ColumnMoments};
use secuml_engine::preprocess::StandardScaler;
use secuml_proto::{
    AnnotationsSource, ClusterMix, ClusterStatsResult, ColumnMomentsResult, DataRef, ErrorCode,
    KmeansAssignResult, KmeansCentroidSets, KmeansInitResult, KmeansPartial, KmeansStepResult,
    RowRange, StandardScaling, TaskFailure,
};
use secuml_runtime::data_root::DATASETS;

use crate::data::{DataCache, LoadedData};

fn bad_request(message: String) -> TaskFailure {
    TaskFailure::permanent(ErrorCode::BadRequest, message)
}

fn block_of<'a>(
    loaded: &'a LoadedData,
    rows: &RowRange,
) -> Result<ArrayView2<'a, f64>, TaskFailure> {
    let n = loaded.x.nrows() as u64;
    if rows.start > rows.end || rows.end > n {
        return Err(bad_request(format!(
            "rows {}..{} are outside the dataset's {n} rows",
            rows.start, rows.end
        )));
    }
    Ok(loaded
        .x
        .slice_axis(Axis(0), (rows.start as usize..rows.end as usize).into()))
}

fn scaler_of(
    scaling: &StandardScaling,
    loaded: &LoadedData,
) -> Result<StandardScaler, TaskFailure> {
    let d = loaded.x.ncols();
    if scaling.mean.len() != d || scaling.scale.len() != d {
        return Err(bad_request(format!(
            "the scaling has {} columns, the dataset {d}",
            scaling.mean.len()
        )));
    }
    Ok(StandardScaler::from_parts(
        scaling.mean.clone().into(),
        scaling.scale.clone().into(),
    ))
}

fn standardised(x: ArrayView2<f64>, scaler: &StandardScaler) -> Array2<f64> {
    let mut out = x.as_standard_layout().into_owned();
    scaler.transform_inplace(&mut out);
    out
}

/// Centroids as rows of a matrix; every row must have `d` values.
pub fn to_matrix(rows: &[Vec<f64>], d: usize) -> Result<Array2<f64>, TaskFailure> {
    if rows.iter().any(|r| r.len() != d) {
        return Err(bad_request(format!(
            "centroids do not all have {d} columns"
        )));
    }
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Array2::from_shape_vec((rows.len(), d), flat)
        .map_err(|e| bad_request(format!("bad centroids: {e}")))
}

/// Rows of a matrix as vectors.
pub fn to_rows(m: &Array2<f64>) -> Vec<Vec<f64>> {
    m.rows().into_iter().map(|r| r.to_vec()).collect()
}

/// The dataset's shape and the column moments of each block of `block_rows` rows.
pub fn stats(
    cache: &DataCache,
    data: &DataRef,
    block_rows: u64,
) -> Result<ClusterStatsResult, TaskFailure> {
    let loaded = cache.load(data, None)?;
    let n = loaded.x.nrows();
    let blocks = cluster::row_blocks(n, block_rows.max(1) as usize)
        .into_iter()
        .map(|(a, b)| {
            let m = ColumnMoments::of_block(loaded.x.slice_axis(Axis(0), (a..b).into()));
            ColumnMomentsResult {
                count: m.count,
                mean: m.mean,
                m2: m.m2,
            }
        })
        .collect();
    Ok(ClusterStatsResult {
        n_rows: n as u64,
        columns: loaded.encoder.names(),
        blocks,
    })
}

/// Greedy k-means++ of one run on the whole standardised dataset.
pub fn init(
    cache: &DataCache,
    data: &DataRef,
    scaling: &StandardScaling,
    num_clusters: u32,
    run: u32,
    seed: u64,
) -> Result<KmeansInitResult, TaskFailure> {
    let loaded = cache.load(data, None)?;
    if loaded.x.nrows() < num_clusters as usize {
        return Err(bad_request(format!(
            "{} rows cannot make {num_clusters} clusters",
            loaded.x.nrows()
        )));
    }
    let x = standardised(loaded.x.view(), &scaler_of(scaling, &loaded)?);
    let centroids = cluster::kmeans_plus_plus(x.view(), num_clusters as usize, seed);
    Ok(KmeansInitResult {
        run,
        centroids: to_rows(&centroids),
    })
}

/// One Lloyd partial step of a block for every centroid set.
pub fn step(
    cache: &DataCache,
    data: &DataRef,
    block: u32,
    rows: &RowRange,
    scaling: &StandardScaling,
    sets: &KmeansCentroidSets,
) -> Result<KmeansStepResult, TaskFailure> {
    let loaded = cache.load(data, None)?;
    let d = loaded.x.ncols();
    let x = standardised(block_of(&loaded, rows)?, &scaler_of(scaling, &loaded)?);
    let matrices = sets
        .sets
        .iter()
        .map(|c| to_matrix(c, d))
        .collect::<Result<Vec<_>, _>>()?;
    let partials = cluster::partial_step(x.view(), &matrices)
        .into_iter()
        .map(|p| KmeansPartial {
            sums: to_rows(&p.sums),
            counts: p.counts,
            inertia: p.inertia,
        })
        .collect();
    Ok(KmeansStepResult {
        iteration: sets.iteration,
        block,
        partials,
    })
}

/// Where the assignments of a block go, relative to the data root's datasets folder
/// ([`DATASETS`]).
pub fn assignments_file(data: &DataRef, experiment_id: u64, block: u32) -> String {
    format!(
        "{}/{}/clusterings/{experiment_id}/part-{block:05}.parquet",
        data.project, data.dataset
    )
}

/// Label and family of every row.
type RowAnnotations = (Vec<Option<bool>>, Vec<Option<String>>);

/// Labels and families of every row from `source`.
fn annotations_of(
    cache: &DataCache,
    data: &DataRef,
    loaded: &LoadedData,
    source: &AnnotationsSource,
) -> Result<RowAnnotations, TaskFailure> {
    // Ground truth is optional for a clustering: a dataset without labels shows none.
    let labels = cache.labels_or_none(data, loaded, source)?;
    let families = cache
        .families(data, loaded, source)?
        .unwrap_or_else(|| vec![None; labels.len()]);
    Ok((labels, families))
}

/// Final assignment of a block: writes its Parquet file and counts each cluster's mix.
#[allow(clippy::too_many_arguments)]
pub fn assign(
    cache: &DataCache,
    experiment_id: u64,
    data: &DataRef,
    block: u32,
    rows: &RowRange,
    scaling: &StandardScaling,
    sets: &KmeansCentroidSets,
    annotations: Option<&AnnotationsSource>,
) -> Result<KmeansAssignResult, TaskFailure> {
    let loaded = cache.load(data, None)?;
    let d = loaded.x.ncols();
    let [centroids] = sets.sets.as_slice() else {
        return Err(bad_request(format!(
            "the final assignment needs one centroid set, got {}",
            sets.sets.len()
        )));
    };
    let centroids = to_matrix(centroids, d)?;
    let x = standardised(block_of(&loaded, rows)?, &scaler_of(scaling, &loaded)?);
    let (clusters, sq) = cluster::assign(x.view(), &centroids);
    let range = rows.start as usize..rows.end as usize;
    let (labels, families) = match annotations {
        Some(source) => {
            let (l, f) = annotations_of(cache, data, &loaded, source)?;
            (l[range.clone()].to_vec(), f[range.clone()].to_vec())
        }
        None => (vec![None; range.len()], vec![None; range.len()]),
    };
    let mut mix = vec![ClusterMix::default(); centroids.nrows()];
    for ((c, l), f) in clusters.iter().zip(&labels).zip(&families) {
        let m = &mut mix[*c as usize];
        m.size += 1;
        match l {
            Some(true) => m.malicious += 1,
            Some(false) => m.benign += 1,
            None => m.unlabeled += 1,
        }
        if let Some(f) = f {
            *m.families.entry(f.clone()).or_default() += 1;
        }
    }
    let file = assignments_file(data, experiment_id, block);
    let out = Assignments {
        instance_ids: loaded.instance_ids[range.clone()].to_vec(),
        idents: loaded.idents[range].to_vec(),
        clusters,
        distances: sq.iter().map(|v| v.sqrt()).collect(),
        labels,
        families,
    };
    cache
        .root()
        .write_file(&format!("{DATASETS}/{file}"), |path| {
            cluster::write_assignments(path, &out)
        })
        .map_err(|e| TaskFailure::transient(format!("cannot write the assignments: {e}")))?;
    Ok(KmeansAssignResult {
        block,
        clusters: mix,
        inertia: sq.iter().sum(),
        file,
    })
}
