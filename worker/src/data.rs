//! Loading datasets for tasks: manifest check, labels, splits, encoded matrices, with a small cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use ndarray::Array2;
use secuml_engine::dataset::{self, Annotation, AnnotationMeta, DatasetError, Encoder, Manifest};
use secuml_proto::{AnnotationsSource, DataRef, ErrorCode, RowSelection, Side, TaskFailure};
use secuml_runtime::data_root::{DataFile, DataRoot, DataRootError, Entry, DATASETS};

/// A dataset as tasks use it: encoded features and per-row labels.
pub struct LoadedData {
    /// The manifest.
    pub manifest: Manifest,
    /// Encoded features, one row per instance, in dataset order.
    pub x: Array2<f64>,
    /// Names of the encoded columns (the encoder's).
    pub encoder: Encoder,
    /// Instance ids, in dataset order.
    pub instance_ids: Vec<i64>,
    /// Readable instance names, in dataset order.
    pub idents: Vec<String>,
    /// Ground-truth families from idents.csv, when the dataset has them.
    pub families: Option<Vec<Option<String>>>,
    /// Ground-truth labels from idents.csv, when the dataset has them.
    pub ground_truth: Option<Vec<Option<bool>>>,
    /// Timestamps from idents.csv (seconds since the epoch), when the dataset has them.
    pub timestamps: Option<Vec<Option<i64>>>,
}

/// Labels chosen for one task: the row and label of every labelled instance.
pub struct Labeled {
    /// Row indices into [`LoadedData::x`], in dataset order.
    pub rows: Vec<usize>,
    /// Label of each of those rows.
    pub labels: Vec<bool>,
}

type CacheKey = (String, String, Vec<(String, Option<String>)>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Hits and misses of a cache since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups served from the cache.
    pub hits: u64,
    /// Lookups that computed the value.
    pub misses: u64,
}

/// One entry of a [`Memo`]: empty until its value is computed.
type MemoSlot<V> = Arc<Mutex<Option<Arc<V>>>>;

/// A bounded memo, least recently used out: at most `capacity` values (none with capacity 0).
///
/// Concurrent lookups of one key compute its value once: the first computes it while holding
/// that entry's lock, the others wait for it (two slots starting a job on the same data hold
/// one copy of it, not two). A failed computation leaves the entry empty for the next lookup.
///
/// [`Memo::bounding_live`] also bounds the values alive, held by the memo or by their users: a
/// value evicted while still in use counts until its last user drops it, and a lookup that must
/// compute a new value first waits for that (so that the memory of `capacity` values is the
/// most it ever holds, at the cost of a slot idling while another finishes with an old value).
pub(crate) struct Memo<K, V> {
    capacity: usize,
    entries: Mutex<Vec<(K, MemoSlot<V>)>>,
    /// With [`Memo::bounding_live`]: the values evicted, until their users drop them.
    evicted: Option<Mutex<Vec<Weak<V>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often a lookup waiting for an evicted value's users checks again.
const EVICTED_POLL: std::time::Duration = std::time::Duration::from_millis(2);

impl<K: PartialEq, V> Memo<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Vec::new()),
            evicted: None,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The same memo, computing a value only once every value it evicted is dropped by its
    /// users: at most `capacity` values alive (with capacity 0, it bounds nothing).
    pub(crate) fn bounding_live(mut self) -> Self {
        if self.capacity > 0 {
            self.evicted = Some(Mutex::new(Vec::new()));
        }
        self
    }

    /// With [`Memo::bounding_live`], counts the value of an evicted entry until its users drop it.
    fn track_evicted(&self, slot: &MemoSlot<V>) {
        if let Some(evicted) = &self.evicted {
            let value = lock(slot);
            if let Some(v) = value.as_ref() {
                lock(evicted).push(Arc::downgrade(v));
            }
        }
    }

    /// Waits until every evicted value is dropped.
    fn wait_for_evicted(&self) {
        let Some(evicted) = &self.evicted else {
            return;
        };
        loop {
            {
                let mut alive = lock(evicted);
                alive.retain(|w| w.strong_count() > 0);
                if alive.is_empty() {
                    return;
                }
            }
            std::thread::sleep(EVICTED_POLL);
        }
    }

    /// The value of `key`, computed by `compute` unless the memo holds it.
    pub(crate) fn get_or_compute<E>(
        &self,
        key: K,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        let slot = {
            let mut entries = lock(&self.entries);
            match entries.iter().position(|(k, _)| *k == key) {
                Some(i) => {
                    let entry = entries.remove(i);
                    let slot = entry.1.clone();
                    entries.push(entry);
                    slot
                }
                None => {
                    let slot = Arc::new(Mutex::new(None));
                    if self.capacity > 0 {
                        if entries.len() >= self.capacity {
                            let (_, old) = entries.remove(0);
                            self.track_evicted(&old);
                        }
                        entries.push((key, slot.clone()));
                    }
                    slot
                }
            }
        };
        let mut value = lock(&slot);
        if let Some(v) = value.as_ref() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(v.clone());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.wait_for_evicted();
        let v = Arc::new(compute()?);
        *value = Some(v.clone());
        Ok(v)
    }

    /// The value of `key` if the memo holds it (waiting for it while it is computed), else
    /// `None`; computes nothing.
    pub(crate) fn peek(&self, key: &K) -> Option<Arc<V>> {
        let slot = lock(&self.entries)
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, slot)| slot.clone())?;
        let value = lock(&slot).clone();
        if value.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        value
    }

    /// Forgets the values whose key satisfies `drop` (values in use stay alive with their users).
    pub(crate) fn forget(&self, drop: impl Fn(&K) -> bool) {
        lock(&self.entries).retain(|(k, slot)| {
            let keep = !drop(k);
            if !keep {
                self.track_evicted(slot);
            }
            keep
        });
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// Search folds a worker keeps by default (see [`crate::folds`]): the search plans a fold's
/// candidates one after the other, so two cover the slots of a worker moving from one fold to
/// the next. A fold holds a copy of most of the dataset, so `secuml worker --slots 1` keeps one
/// ([`DataCache::with_fold_entries`]), and so does the embedded mode, which runs one job: its
/// slots at two folds at once each hold theirs while they use it.
pub const FOLD_CACHE_ENTRIES: usize = 2;

/// A bounded cache of loaded datasets, keyed by manifest checksum and encoder.
///
/// Tasks of one job read the same data over and over; the cache avoids reading and
/// encoding the shards for each one. Entries are verified against the task's manifest
/// checksum, so a re-ingested dataset is never served stale. The files come from the data
/// root: a local folder, or an object store whose files are first fetched into its local cache.
pub struct DataCache {
    root: DataRoot,
    entries: Memo<CacheKey, LoadedData>,
    pub(crate) folds: Memo<crate::folds::FoldKey, crate::folds::Fold>,
}

fn bad_data(message: String) -> TaskFailure {
    TaskFailure::permanent(ErrorCode::BadData, message)
}

/// A failure of the data root: retryable when trying again may help (a failed request or
/// download), else bad data.
fn root_failure(context: String, e: DataRootError) -> TaskFailure {
    if e.retryable() {
        TaskFailure::transient(format!("{context}: {e}"))
    } else {
        bad_data(format!("{context}: {e}"))
    }
}

/// The key of `file` of a dataset in the data root: `datasets/<project>/<dataset>/<file>`.
pub fn dataset_key(data: &DataRef, file: &str) -> String {
    format!("{DATASETS}/{}/{}/{file}", data.project, data.dataset)
}

/// The files of a dataset on local disk, by the name the manifest gives them; they stay
/// (kept from cache eviction) while the value lives.
struct LocalFiles(HashMap<String, DataFile>);

impl LocalFiles {
    fn locate(&self, file: &str) -> PathBuf {
        self.0
            .get(file)
            .map(|f| f.path().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(file))
    }
}

/// The annotation file `name` of `data`; an unknown one is refused with the files the
/// dataset has (or where they are expected when it has none).
pub fn annotation_file<'m>(
    data: &DataRef,
    manifest: &'m Manifest,
    name: &str,
) -> Result<&'m AnnotationMeta, TaskFailure> {
    manifest.annotation(name).ok_or_else(|| {
        let files: Vec<String> = manifest
            .annotations
            .iter()
            .map(|a| {
                // The input file's name, as -a takes it (`.csv` or `.csv.gz`).
                manifest
                    .sources
                    .iter()
                    .filter_map(|s| s.path.strip_prefix("annotations/"))
                    .find(|f| {
                        f.strip_suffix(".csv")
                            .or_else(|| f.strip_suffix(".csv.gz"))
                            .is_some_and(|stem| stem == a.name)
                    })
                    .map_or_else(|| format!("{}.csv", a.name), str::to_string)
            })
            .collect();
        let known = match files.as_slice() {
            [] => format!(
                "it has none (annotations files are read at ingest from \
                 {}/{}/annotations/*.csv or *.csv.gz of the input folder)",
                data.project, data.dataset
            ),
            files => format!("its annotations files: {}", files.join(", ")),
        };
        TaskFailure::permanent(
            ErrorCode::BadRequest,
            format!(
                "invalid parameter `annotations`: dataset {}/{} has no annotations file \
                 `{name}` (annotations/{name}.csv); {known}; or GROUND_TRUTH for the labels \
                 of idents.csv",
                data.project, data.dataset
            ),
        )
    })
}

impl DataCache {
    /// A cache over the data root `root` (its datasets are `datasets/<project>/<dataset>/`).
    pub fn new(root: DataRoot, capacity: usize) -> Self {
        Self {
            root,
            entries: Memo::new(capacity.max(1)),
            folds: Memo::new(FOLD_CACHE_ENTRIES),
        }
    }

    /// The same cache keeping at most `entries` search folds (0: none, each task computes its
    /// own).
    pub fn with_fold_entries(mut self, entries: usize) -> Self {
        self.folds = Memo::new(entries);
        self
    }

    /// The same cache with at most `entries` search folds alive at once, kept or in use: a task
    /// that needs another fold waits for the tasks still using an older one (the embedded mode's
    /// memory bound; a fold is a copy of most of the dataset).
    pub fn with_live_folds(mut self, entries: usize) -> Self {
        self.folds = Memo::new(entries).bounding_live();
        self
    }

    /// Hits and misses of the search folds.
    pub fn fold_stats(&self) -> CacheStats {
        self.folds.stats()
    }

    /// The data root.
    pub fn root(&self) -> &DataRoot {
        &self.root
    }

    /// The current manifest of `data`'s dataset and its sha256 (not checked against `data`).
    pub fn manifest(&self, data: &DataRef) -> Result<(Manifest, String), TaskFailure> {
        let key = dataset_key(data, dataset::MANIFEST_FILE);
        let context = || format!("cannot read dataset {}/{}", data.project, data.dataset);
        let bytes = self
            .root
            .get(&key)
            .map_err(|e| root_failure(context(), e))?
            .ok_or_else(|| {
                bad_data(format!(
                    "{}: {} does not exist",
                    context(),
                    self.root.describe(&key)
                ))
            })?;
        dataset::parse_manifest(&bytes, Path::new(&self.root.describe(&key)))
            .map_err(|e| bad_data(format!("{}: {e}", context())))
    }

    /// The manifest of `data`'s dataset, which must still be the one the job was planned with.
    fn planned_manifest(&self, data: &DataRef) -> Result<Manifest, TaskFailure> {
        let (manifest, sha) = self.manifest(data)?;
        if sha != data.manifest_sha256 {
            return Err(bad_data(format!(
                "dataset {}/{} changed since the job was planned (manifest {} instead of {})",
                data.project, data.dataset, sha, data.manifest_sha256
            )));
        }
        Ok(manifest)
    }

    /// The shards of `manifest` (and the annotation file `annotations`) on local disk.
    fn local_files(
        &self,
        data: &DataRef,
        manifest: &Manifest,
        annotations: Option<&AnnotationMeta>,
    ) -> Result<LocalFiles, TaskFailure> {
        let shards = manifest
            .shards
            .iter()
            .map(|s| (Entry::Shard, &s.file, &s.sha256));
        let annotations = annotations.map(|a| (Entry::Annotations, &a.file, &a.sha256));
        let mut files = HashMap::new();
        for (entry, file, sha256) in shards.chain(annotations) {
            let local = self
                .root
                .file(entry, &dataset_key(data, file), sha256)
                .map_err(|e| {
                    root_failure(
                        format!("cannot fetch {file} of {}/{}", data.project, data.dataset),
                        e,
                    )
                })?;
            files.insert(file.clone(), local);
        }
        Ok(LocalFiles(files))
    }

    /// A failure to read files of the dataset; a cached file found corrupt is removed from the
    /// cache, and the failure is retryable (the next attempt downloads it again).
    fn read_failure(&self, context: String, e: DatasetError) -> TaskFailure {
        match (&e, self.root.cache()) {
            (DatasetError::Checksum { file, .. }, Some(cache)) => {
                cache.discard(file);
                TaskFailure::transient(format!("{context}: {e}"))
            }
            _ => bad_data(format!("{context}: {e}")),
        }
    }

    /// Loads `data`, encoded with `encoder` (or with an encoder fitted on its own manifest).
    pub fn load(
        &self,
        data: &DataRef,
        encoder: Option<&Encoder>,
    ) -> Result<Arc<LoadedData>, TaskFailure> {
        let key = |columns| -> CacheKey {
            (dataset_key(data, ""), data.manifest_sha256.clone(), columns)
        };
        if let Some(encoder) = encoder {
            // A model applied to the data it was trained on asks for the encoding the dataset
            // was loaded with for the training: that copy, not a second one.
            if let Some(loaded) = self.entries.peek(&key(Vec::new())) {
                if loaded.encoder == *encoder {
                    return Ok(loaded);
                }
            }
        }
        let columns = encoder.map(|e| e.columns().to_vec()).unwrap_or_default();
        self.entries
            .get_or_compute(key(columns), || self.read_encoded(data, encoder))
    }

    /// Reads and encodes `data` (the work of a [`DataCache::load`] miss).
    fn read_encoded(
        &self,
        data: &DataRef,
        encoder: Option<&Encoder>,
    ) -> Result<LoadedData, TaskFailure> {
        let manifest = self.planned_manifest(data)?;
        let files = self.local_files(data, &manifest, None)?;
        let encoder = match encoder {
            Some(e) => e.clone(),
            None => Encoder::fit(&manifest),
        };
        // Encoded batch by batch as the shards are read: the features are held once, as `x`.
        let (frame, x) = dataset::read_encoded_at(&manifest, &encoder, &|f| files.locate(f))
            .map_err(|e| match e {
                DatasetError::Feature { .. } => bad_data(format!(
                    "cannot encode {}/{}: {e}",
                    data.project, data.dataset
                )),
                e => self.read_failure(
                    format!("cannot read shards of {}/{}", data.project, data.dataset),
                    e,
                ),
            })?;
        drop(files);
        Ok(LoadedData {
            x,
            encoder,
            instance_ids: frame.instance_ids,
            idents: frame.idents,
            families: frame.families,
            ground_truth: frame.labels,
            timestamps: frame.timestamps,
            manifest,
        })
    }

    /// Reads `data` shard by shard, handing each shard's rows to `each` in dataset order, with
    /// the manifest: the streaming path, which never holds more than one shard (and caches
    /// nothing). The manifest must still be the one the job was planned with.
    pub fn for_each_shard(
        &self,
        data: &DataRef,
        mut each: impl FnMut(&Manifest, dataset::Frame) -> Result<(), TaskFailure>,
    ) -> Result<(), TaskFailure> {
        let manifest = self.planned_manifest(data)?;
        for (index, shard) in manifest.shards.iter().enumerate() {
            let local = self
                .root
                .file(Entry::Shard, &dataset_key(data, &shard.file), &shard.sha256)
                .map_err(|e| {
                    root_failure(
                        format!(
                            "cannot fetch {} of {}/{}",
                            shard.file, data.project, data.dataset
                        ),
                        e,
                    )
                })?;
            let path = local.path().to_path_buf();
            let frame =
                dataset::read_shard_at(&manifest, index, &|_| path.clone()).map_err(|e| {
                    self.read_failure(
                        format!(
                            "cannot read shard {} of {}/{}",
                            shard.file, data.project, data.dataset
                        ),
                        e,
                    )
                })?;
            drop(local);
            each(&manifest, frame)?;
        }
        Ok(())
    }

    /// The annotated rows of the annotation file `name` of `data`.
    pub fn annotations(
        &self,
        data: &DataRef,
        manifest: &Manifest,
        name: &str,
    ) -> Result<Vec<Annotation>, TaskFailure> {
        let failure = |message: String| TaskFailure::permanent(ErrorCode::BadRequest, message);
        let meta = annotation_file(data, manifest, name)?;
        let files = self.local_files(data, manifest, Some(meta))?;
        dataset::read_annotations_at(manifest, name, &|f| files.locate(f)).map_err(|e| match e {
            DatasetError::Checksum { .. } => {
                self.read_failure(format!("cannot read annotations `{name}`"), e)
            }
            e => failure(format!("cannot read annotations `{name}`: {e}")),
        })
    }

    /// Per-row families of a dataset from `source` (idents.csv's `family` column, or the
    /// annotation file's), `None` for a row without one; `Ok(None)` when the ground truth has
    /// no `family` column.
    pub fn families(
        &self,
        data: &DataRef,
        loaded: &LoadedData,
        source: &AnnotationsSource,
    ) -> Result<Option<Vec<Option<String>>>, TaskFailure> {
        match source {
            AnnotationsSource::GroundTruth => Ok(loaded.families.clone()),
            AnnotationsSource::File(name) => {
                let annotations = self.annotations(data, &loaded.manifest, name)?;
                let mut families = vec![None; loaded.instance_ids.len()];
                for a in annotations {
                    families[a.row] = a.family;
                }
                Ok(Some(families))
            }
        }
    }

    /// [`DataCache::families`] for a multiclass model, which needs them: an error names the
    /// dataset and the file without a `family` column.
    pub fn required_families(
        &self,
        data: &DataRef,
        loaded: &LoadedData,
        source: &AnnotationsSource,
    ) -> Result<Vec<Option<String>>, TaskFailure> {
        self.families(data, loaded, source)?.ok_or_else(|| {
            TaskFailure::permanent(
                ErrorCode::BadRequest,
                format!(
                    "dataset {}/{} has no family column in idents.csv: --multiclass trains on \
                     families (give them in idents.csv or in an annotations file with -a)",
                    data.project, data.dataset
                ),
            )
        })
    }

    /// The labels of [`DataCache::labels`], except that a dataset without a label column
    /// read for its ground truth has every row unlabelled: what the readers that need no
    /// label take (an unsupervised class trained on every row, a clustering's label mix).
    pub fn labels_or_none(
        &self,
        data: &DataRef,
        loaded: &LoadedData,
        source: &AnnotationsSource,
    ) -> Result<Vec<Option<bool>>, TaskFailure> {
        match (source, &loaded.ground_truth) {
            (AnnotationsSource::GroundTruth, None) => Ok(vec![None; loaded.instance_ids.len()]),
            _ => self.labels(data, loaded, source),
        }
    }

    /// Per-row labels of a dataset from `source`, `None` for unlabelled rows.
    pub fn labels(
        &self,
        data: &DataRef,
        loaded: &LoadedData,
        source: &AnnotationsSource,
    ) -> Result<Vec<Option<bool>>, TaskFailure> {
        match source {
            AnnotationsSource::GroundTruth => loaded.ground_truth.clone().ok_or_else(|| {
                TaskFailure::permanent(
                    ErrorCode::BadRequest,
                    format!(
                        "dataset {}/{} has no label column in idents.csv: give an annotations file with -a",
                        data.project, data.dataset
                    ),
                )
            }),
            AnnotationsSource::File(name) => {
                let annotations = self.annotations(data, &loaded.manifest, name)?;
                let mut labels = vec![None; loaded.instance_ids.len()];
                for a in annotations {
                    labels[a.row] = Some(a.label);
                }
                Ok(labels)
            }
        }
    }
}

/// The labelled rows of one side of the outer split; `timestamps` (every row's, when the
/// dataset has them) are read by the temporal splits.
pub fn select_rows(
    labels: &[Option<bool>],
    timestamps: Option<&[Option<i64>]>,
    selection: &RowSelection,
) -> Result<Labeled, TaskFailure> {
    let (rows, labels): (Vec<usize>, Vec<bool>) = labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.map(|l| (i, l)))
        .unzip();
    let want_test = match selection.side {
        Side::All => return Ok(Labeled { rows, labels }),
        Side::Unlabeled => {
            return Err(TaskFailure::permanent(
                ErrorCode::BadRequest,
                "the unlabelled rows have no labels to train or score on".to_string(),
            ))
        }
        Side::Train => false,
        Side::Test => true,
    };
    let row_times: Option<Vec<Option<i64>>> =
        timestamps.map(|t| rows.iter().map(|&r| t.get(r).copied().flatten()).collect());
    let sides = crate::outer::sides(&selection.outer, &labels, row_times.as_deref())?;
    let (rows, labels) = rows
        .into_iter()
        .zip(labels)
        .zip(sides)
        .filter(|(_, side)| *side == Some(want_test))
        .map(|(rl, _)| rl)
        .unzip();
    Ok(Labeled { rows, labels })
}

/// Copies the given rows of `x` into a new matrix.
pub fn take_rows(x: &Array2<f64>, rows: &[usize]) -> Array2<f64> {
    x.select(ndarray::Axis(0), rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secuml_proto::OuterSplit;

    fn labels() -> Vec<Option<bool>> {
        (0..40)
            .map(|i| if i % 5 == 4 { None } else { Some(i % 3 == 0) })
            .collect()
    }

    #[test]
    fn unlabelled_rows_never_train() {
        let all = select_rows(
            &labels(),
            None,
            &RowSelection {
                outer: OuterSplit::Whole,
                side: Side::Train,
            },
        )
        .unwrap();
        assert_eq!(all.rows.len(), 32);
        assert!(all.rows.iter().all(|r| r % 5 != 4));
        let none = select_rows(
            &labels(),
            None,
            &RowSelection {
                outer: OuterSplit::Whole,
                side: Side::Test,
            },
        )
        .unwrap();
        assert!(none.rows.is_empty());
    }

    #[test]
    fn random_split_sides_are_disjoint_and_cover_the_labelled_rows() {
        let outer = OuterSplit::RandomSplit {
            test_size: 0.25,
            seed: 3,
        };
        let train = select_rows(
            &labels(),
            None,
            &RowSelection {
                outer: outer.clone(),
                side: Side::Train,
            },
        )
        .unwrap();
        let test = select_rows(
            &labels(),
            None,
            &RowSelection {
                outer,
                side: Side::Test,
            },
        )
        .unwrap();
        assert_eq!(train.rows.len() + test.rows.len(), 32);
        assert!(train.rows.iter().all(|r| !test.rows.contains(r)));
        assert_eq!(test.rows.len(), 8);
        for (row, label) in test.rows.iter().zip(&test.labels) {
            assert_eq!(labels()[*row], Some(*label));
        }
    }

    #[test]
    fn a_bounded_memo_computes_a_new_value_once_the_evicted_one_is_dropped() {
        let memo: Arc<Memo<u32, Vec<u8>>> = Arc::new(Memo::new(1).bounding_live());
        let first = memo.get_or_compute(1, || Ok::<_, ()>(vec![1])).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let lookup = {
            let memo = memo.clone();
            std::thread::spawn(move || {
                let second = memo.get_or_compute(2, || {
                    tx.send("computing").unwrap();
                    Ok::<_, ()>(vec![2])
                });
                second.unwrap()
            })
        };
        // The first value is evicted but still in use: the second is not computed yet.
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            rx.try_recv().is_err(),
            "computed while the evicted value lives"
        );
        drop(first);
        assert_eq!(*lookup.join().unwrap(), vec![2]);
        assert_eq!(rx.try_recv(), Ok("computing"));
        // A hit never waits, and an unbounded memo never does.
        let _held = memo.get_or_compute(2, || Ok::<_, ()>(vec![0])).unwrap();
        let unbounded: Memo<u32, Vec<u8>> = Memo::new(1);
        let _a = unbounded
            .get_or_compute(1, || Ok::<_, ()>(vec![1]))
            .unwrap();
        let b = unbounded
            .get_or_compute(2, || Ok::<_, ()>(vec![2]))
            .unwrap();
        assert_eq!(*b, vec![2]);
    }
}
