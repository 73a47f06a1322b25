//! The folds of a hyperparameter search, prepared once per fold and shared by its candidates.
//!
//! Every (candidate, fold) of a search is its own task, and the candidates of a fold fit on the
//! same rows with the same preprocessing: the labelled rows of the outer split's training
//! side, cut into stratified folds, the fold's fitting rows copied out and, for the classes
//! that standardise, a standard scaler fitted on them and applied to both sides. A worker
//! keeps the last [`crate::data::FOLD_CACHE_ENTRIES`] folds it prepared
//! ([`DataCache::fold`]), so the candidates after the first reuse them; the search plans its
//! tasks fold by fold, so consecutive tasks share a fold.

use std::sync::{Arc, OnceLock};

use ndarray::Array2;
use secuml_engine::model::{self as engine_model, Coded, FittedModel, ModelError};
use secuml_engine::preprocess::StandardScaler;
use secuml_engine::rows::Rows;
use secuml_engine::split;
use secuml_proto::{AnnotationsSource, DataRef, ErrorCode, FoldSpec, RowSelection, TaskFailure};

use crate::data::{dataset_key, select_rows, take_rows, DataCache, LoadedData};

/// One fold of a search, ready to fit and score.
pub struct Fold {
    /// The fitting and scored rows.
    pub x: FoldRows,
    /// The fitting rows' labels.
    pub y_fit: Vec<Option<bool>>,
    /// The scored rows' labels.
    pub y_score: Vec<bool>,
    /// The fitting rows rank-coded, once, by the first tree or forest fitted on the fold.
    coded: OnceLock<Result<Coded, ModelError>>,
}

/// Where a fold's rows are.
pub enum FoldRows {
    /// Copied out: the fitting rows (every other fold) and the scored rows (this fold),
    /// standardised (with the fitting rows' scaler) when the class standardises.
    Copied {
        /// The fitting rows.
        x_fit: Array2<f64>,
        /// The scored rows.
        x_score: Array2<f64>,
    },
    /// Left in the dataset, for the classes that read their rows where they are
    /// ([`secuml_engine::model::fits_rows`]): no copy of most of the dataset per fold.
    Selected {
        /// The dataset.
        loaded: Arc<LoadedData>,
        /// The fitting rows, in dataset order.
        fit_rows: Vec<usize>,
        /// The scored rows.
        score_rows: Vec<usize>,
        /// The fitting rows' scaler, when the class standardises.
        scaler: Option<StandardScaler>,
    },
}

impl Fold {
    /// The fitting rows rank-coded for [`engine_model::fit_coded`]: coded by the first task
    /// that asks (the others of the fold wait for it), then shared.
    pub fn coded(&self) -> Result<&Coded, ModelError> {
        self.coded
            .get_or_init(|| engine_model::code(&self.fit_rows(), &self.y_fit))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The fitting rows, standardised when the class standardises.
    pub fn fit_rows(&self) -> Rows<'_> {
        match &self.x {
            FoldRows::Copied { x_fit, .. } => Rows::all(x_fit.view()),
            FoldRows::Selected {
                loaded,
                fit_rows,
                scaler,
                ..
            } => Rows::new(loaded.x.view(), Some(fit_rows), scaler.as_ref()),
        }
    }

    /// The scores of `fitted` for the scored rows.
    pub fn scores(&self, fitted: &FittedModel) -> Vec<f64> {
        match &self.x {
            FoldRows::Copied { x_score, .. } => fitted.scores(x_score.view()),
            FoldRows::Selected {
                loaded,
                score_rows,
                scaler,
                ..
            } => fitted.scores_rows(&Rows::new(
                loaded.x.view(),
                Some(score_rows),
                scaler.as_ref(),
            )),
        }
    }
}

/// What makes two tasks' folds the same: the data, labels, rows, folds, fold, whether the
/// rows are standardised and whether they are copied.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldKey {
    data: (String, String),
    annotations: AnnotationsSource,
    rows: RowSelection,
    folds: FoldSpec,
    fold: u32,
    standardise: bool,
    copy: bool,
}

impl DataCache {
    /// Fold `fold` of the search over the rows `rows` of `data` labelled by `annotations`,
    /// standardised if `standardise`, its rows copied out if `copy`: from the worker's last
    /// folds, else prepared.
    #[allow(clippy::too_many_arguments)]
    pub fn fold(
        &self,
        data: &DataRef,
        annotations: &AnnotationsSource,
        rows: &RowSelection,
        folds: &FoldSpec,
        fold: u32,
        standardise: bool,
        copy: bool,
    ) -> Result<Arc<Fold>, TaskFailure> {
        let key = FoldKey {
            data: (dataset_key(data, ""), data.manifest_sha256.clone()),
            annotations: annotations.clone(),
            rows: rows.clone(),
            folds: folds.clone(),
            fold,
            standardise,
            copy,
        };
        let wanted = key.clone();
        self.folds
            .get_or_compute(key, || prepare(self, data, &wanted))
    }

    /// Forgets the folds of the searches over the rows `rows` of `data` labelled by
    /// `annotations`: once the refit runs, that search is over.
    pub fn forget_folds(
        &self,
        data: &DataRef,
        annotations: &AnnotationsSource,
        rows: &RowSelection,
    ) {
        let dataset = (dataset_key(data, ""), data.manifest_sha256.clone());
        self.folds
            .forget(|k| k.data == dataset && &k.annotations == annotations && &k.rows == rows);
    }
}

/// Builds the fold `key` of `data`: its rows split, the scaler of the fitting rows learnt if
/// asked, and the rows copied out (and standardised) if asked.
fn prepare(cache: &DataCache, data: &DataRef, key: &FoldKey) -> Result<Fold, TaskFailure> {
    let FoldKey {
        annotations,
        rows,
        folds,
        fold,
        standardise,
        copy,
        ..
    } = key;
    tracing::debug!(dataset = %data.dataset, fold, standardise, copy, "preparing a search fold");
    let loaded = cache.load(data, None)?;
    let labels = cache.labels(data, &loaded, annotations)?;
    let train = select_rows(&labels, loaded.timestamps.as_deref(), rows)?;
    let shuffle = folds.shuffle.then_some(folds.seed);
    let fold_of = split::stratified_kfold(&train.labels, folds.num_folds as usize, shuffle)
        .map_err(|e| {
            TaskFailure::permanent(ErrorCode::BadRequest, format!("cannot build folds: {e}"))
        })?;
    let (mut fit_rows, mut y_fit, mut score_rows, mut y_score) = (vec![], vec![], vec![], vec![]);
    for ((row, label), f) in train.rows.iter().zip(&train.labels).zip(&fold_of) {
        if *f == *fold as usize {
            score_rows.push(*row);
            y_score.push(*label);
        } else {
            fit_rows.push(*row);
            y_fit.push(Some(*label));
        }
    }
    let scaler = standardise.then(|| StandardScaler::fit_rows(loaded.x.view(), &fit_rows));
    let x = if *copy {
        let (mut x_fit, mut x_score) = (
            take_rows(&loaded.x, &fit_rows),
            take_rows(&loaded.x, &score_rows),
        );
        if let Some(scaler) = &scaler {
            scaler.transform_inplace(&mut x_fit);
            scaler.transform_inplace(&mut x_score);
        }
        FoldRows::Copied { x_fit, x_score }
    } else {
        FoldRows::Selected {
            loaded,
            fit_rows,
            score_rows,
            scaler,
        }
    };
    Ok(Fold {
        x,
        y_fit,
        y_score,
        coded: OnceLock::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::path::Path;

    use secuml_engine::dataset::{ingest, IngestOptions};
    use secuml_proto::hyper::GaussianNbHyper;
    use secuml_proto::{
        FitScoreResult, Hyper, Objective, OuterSplit, Side, TaskKind, TaskMessage, PROTOCOL_VERSION,
    };
    use secuml_runtime::data_root::{DataRoot, DATASETS};

    use super::*;
    use crate::data::CacheStats;
    use crate::execute::{compute, Write};

    /// A 120-row dataset of 3 noisy numeric features, ingested under `root`.
    fn dataset(root: &Path) -> DataRef {
        let input = root.join("input");
        std::fs::create_dir_all(input.join("features")).unwrap();
        let (mut idents, mut features) = (
            String::from("instance_id,ident,label\n"),
            String::from("instance_id,a,b,c\n"),
        );
        for i in 0..120u32 {
            let label = u32::from(i % 3 == 0);
            let noise = f64::from((i * 37) % 11) / 11.0;
            writeln!(idents, "{i},row{i},{label}").unwrap();
            writeln!(
                features,
                "{i},{},{},{}",
                f64::from(label) * 2.0 + noise,
                100.0 * noise,
                f64::from(i % 7)
            )
            .unwrap();
        }
        std::fs::write(input.join("idents.csv"), idents).unwrap();
        std::fs::write(input.join("features").join("features.csv"), features).unwrap();
        ingest(
            &input,
            &root.join(DATASETS).join("p").join("d"),
            &IngestOptions::new("p", "d"),
        )
        .unwrap();
        let data = DataRef {
            project: "p".into(),
            dataset: "d".into(),
            manifest_sha256: String::new(),
        };
        let sha = DataCache::new(DataRoot::local(root), 1)
            .manifest(&data)
            .unwrap()
            .1;
        DataRef {
            manifest_sha256: sha,
            ..data
        }
    }

    /// The search's tasks, fold by fold: 3 candidates x 3 folds.
    fn tasks(data: &DataRef) -> Vec<TaskMessage> {
        let mut tasks = Vec::new();
        for fold in 0..3 {
            for (ci, var_smoothing) in [1e-9, 1e-3, 0.1].into_iter().enumerate() {
                tasks.push(TaskMessage {
                    protocol_version: PROTOCOL_VERSION,
                    job_id: "j".into(),
                    task_id: format!("fit-{ci}-{fold}"),
                    attempt: 1,
                    kind: TaskKind::FitScore {
                        data: data.clone(),
                        annotations: AnnotationsSource::GroundTruth,
                        rows: RowSelection {
                            outer: OuterSplit::Whole,
                            side: Side::Train,
                        },
                        folds: FoldSpec {
                            num_folds: 3,
                            shuffle: true,
                            seed: 5,
                        },
                        fold,
                        hyper: Hyper::GaussianNaiveBayes(GaussianNbHyper { var_smoothing }),
                        objective: Objective::RocAuc,
                        far: 0.05,
                        multiclass: false,
                    },
                });
            }
        }
        tasks
    }

    /// The results of `tasks` run one after the other on `cache`, by task id.
    fn run(cache: &DataCache, tasks: &[TaskMessage]) -> Vec<(String, FitScoreResult)> {
        let mut results: Vec<(String, FitScoreResult)> = tasks
            .iter()
            .map(|task| {
                let writes = compute(cache, task, None, None).unwrap();
                let [Write::HSet { value, .. }] = &writes[..] else {
                    panic!("a fit-and-score task writes its result only");
                };
                (task.task_id.clone(), serde_json::from_slice(value).unwrap())
            })
            .collect();
        results.sort_by(|a, b| a.0.cmp(&b.0));
        results
    }

    #[test]
    fn each_fold_is_prepared_once_and_scores_as_without_the_cache() {
        let root = tempfile::tempdir().unwrap();
        let data = dataset(root.path());
        let tasks = tasks(&data);

        let cached = DataCache::new(DataRoot::local(root.path()), 2);
        let with = run(&cached, &tasks);
        assert_eq!(
            cached.fold_stats(),
            CacheStats { hits: 6, misses: 3 },
            "3 folds prepared, each reused by the 2 candidates after the first"
        );

        let uncached = DataCache::new(DataRoot::local(root.path()), 2).with_fold_entries(0);
        let without = run(&uncached, &tasks);
        assert_eq!(uncached.fold_stats().hits, 0);
        assert_eq!(with.len(), 9);
        for ((id, a), (_, b)) in with.iter().zip(&without) {
            assert_eq!(a.score.to_bits(), b.score.to_bits(), "task {id}");
            assert_eq!((a.n_train, a.n_test), (b.n_train, b.n_test), "task {id}");
        }
        assert_eq!(with[0].1.n_train + with[0].1.n_test, 120);

        // Candidate by candidate, a one-fold cache misses every time and still scores the same.
        let mut by_candidate = tasks.clone();
        by_candidate.sort_by(|a, b| a.task_id.cmp(&b.task_id));
        let small = DataCache::new(DataRoot::local(root.path()), 2).with_fold_entries(1);
        assert_eq!(run(&small, &by_candidate).len(), 9);
        assert_eq!(small.fold_stats().hits, 0);
        for ((_, a), (_, b)) in run(&small, &by_candidate).iter().zip(&with) {
            assert_eq!(a.score.to_bits(), b.score.to_bits());
        }
    }

    /// A cache of 4 folds over the whole training side of `data`, with 3 folds (shuffled
    /// with `seed` when given).
    fn whole_side(
        root: &Path,
        seed: Option<u64>,
    ) -> (DataCache, RowSelection, FoldSpec, AnnotationsSource) {
        let cache = DataCache::new(DataRoot::local(root), 2).with_fold_entries(4);
        let rows = RowSelection {
            outer: OuterSplit::Whole,
            side: Side::Train,
        };
        let folds = FoldSpec {
            num_folds: 3,
            shuffle: seed.is_some(),
            seed: seed.unwrap_or(0),
        };
        (cache, rows, folds, AnnotationsSource::GroundTruth)
    }

    #[test]
    fn the_fold_cache_keys_on_standardisation_and_fold() {
        let root = tempfile::tempdir().unwrap();
        let data = dataset(root.path());
        let (cache, rows, folds, gt) = whole_side(root.path(), None);
        let fold = |f, standardise, copy| {
            cache
                .fold(&data, &gt, &rows, &folds, f, standardise, copy)
                .unwrap()
        };
        let raw = fold(0, false, true);
        let scaled = fold(0, true, true);
        let other = fold(1, true, true);
        assert!(Arc::ptr_eq(&scaled, &fold(0, true, true)));
        assert_eq!(cache.fold_stats(), CacheStats { hits: 1, misses: 3 });
        assert_ne!(copied(&raw).0, copied(&scaled).0);
        assert_ne!(copied(&scaled).1, copied(&other).1);
        // Standardised on the fitting rows: every column of them has mean 0.
        for column in copied(&scaled).0.columns() {
            assert!(column.mean().unwrap().abs() < 1e-12);
        }
        // A refit forgets its search's folds; a fold in use stays alive with its user.
        cache.forget_folds(&data, &gt, &rows);
        let again = fold(0, true, true);
        assert!(!Arc::ptr_eq(&scaled, &again));
        assert_eq!(copied(&again).0, copied(&scaled).0);
        assert_eq!(cache.fold_stats().misses, 4);
    }

    /// The copies of a copied fold: its fitting rows and its scored rows.
    fn copied(fold: &Fold) -> (&Array2<f64>, &Array2<f64>) {
        match &fold.x {
            FoldRows::Copied { x_fit, x_score } => (x_fit, x_score),
            FoldRows::Selected { .. } => panic!("a fold left in the dataset"),
        }
    }

    #[test]
    fn a_fold_left_in_the_dataset_fits_and_scores_as_its_copy() {
        let root = tempfile::tempdir().unwrap();
        let data = dataset(root.path());
        let (cache, rows, folds, gt) = whole_side(root.path(), Some(5));
        for standardise in [false, true] {
            let copy = cache
                .fold(&data, &gt, &rows, &folds, 1, standardise, true)
                .unwrap();
            let left = cache
                .fold(&data, &gt, &rows, &folds, 1, standardise, false)
                .unwrap();
            assert!(matches!(left.x, FoldRows::Selected { .. }));
            assert_eq!(left.fit_rows().to_matrix(), *copied(&copy).0);
            assert_eq!((&left.y_fit, &left.y_score), (&copy.y_fit, &copy.y_score));
            let hyper = Hyper::RandomForest(secuml_proto::hyper::RandomForestHyper {
                n_estimators: 5,
                ..Default::default()
            });
            let fit = |f: &Fold| {
                secuml_engine::model::fit_rows(&hyper, &f.fit_rows(), &f.y_fit, 3).unwrap()
            };
            let (a, b) = (fit(&copy), fit(&left));
            assert_eq!(a, b);
            // Fitted on the fold's shared coding, the same forest.
            let coded = left.coded().unwrap();
            assert_eq!(
                secuml_engine::model::fit_coded(&hyper, coded, 3).unwrap(),
                b
            );
            assert!(std::ptr::eq(coded, left.coded().unwrap()));
            let bits = |s: Vec<f64>| s.into_iter().map(f64::to_bits).collect::<Vec<_>>();
            assert_eq!(bits(copy.scores(&a)), bits(left.scores(&b)));
        }
    }

    #[test]
    fn one_fold_entry_serves_the_search_fold_by_fold() {
        // As the search plans its tasks: one entry misses once per fold only.
        let root = tempfile::tempdir().unwrap();
        let data = dataset(root.path());
        let tasks = tasks(&data);
        let one = DataCache::new(DataRoot::local(root.path()), 2).with_fold_entries(1);
        let with_one = run(&one, &tasks);
        assert_eq!(one.fold_stats(), CacheStats { hits: 6, misses: 3 });
        let two = DataCache::new(DataRoot::local(root.path()), 2);
        for ((id, a), (_, b)) in with_one.iter().zip(&run(&two, &tasks)) {
            assert_eq!(a.score.to_bits(), b.score.to_bits(), "task {id}");
        }
    }

    #[test]
    fn a_model_applied_to_its_training_data_shares_the_loaded_copy() {
        let root = tempfile::tempdir().unwrap();
        let data = dataset(root.path());
        let cache = DataCache::new(DataRoot::local(root.path()), 4);
        let own = cache.load(&data, None).unwrap();
        let same = own.encoder.clone();
        assert!(Arc::ptr_eq(&own, &cache.load(&data, Some(&same)).unwrap()));
        // Another encoding of the same data is its own entry, encoded as asked.
        let other = secuml_engine::dataset::Encoder::from_columns(same.columns()[..2].to_vec());
        let narrow = cache.load(&data, Some(&other)).unwrap();
        assert_eq!(narrow.x.ncols(), 2);
        assert_eq!(narrow.x, own.x.slice_axis(ndarray::Axis(1), (..2).into()));
        assert!(Arc::ptr_eq(
            &narrow,
            &cache.load(&data, Some(&other)).unwrap()
        ));
    }
}
