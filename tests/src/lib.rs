//! Shared helpers of the cross-crate scenarios: where the repository, its data and the binary are.

pub mod browser;
pub mod services;

use std::path::{Path, PathBuf};

use secuml_coordinator::config::Paths;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The bundled datasets in SecuML's layout (`data/<project>/<dataset>/`).
pub fn input_dir() -> PathBuf {
    repo_root().join("data")
}

/// Paths over the bundled inputs and a fresh data folder inside `tmp`.
pub fn paths_in(tmp: &Path) -> Paths {
    Paths {
        input_dir: input_dir(),
        data_dir: tmp.join("data"),
    }
}

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The `secuml` binary of the current build profile.
///
/// Test binaries live in `target/<profile>/deps/`; the `secuml` binary beside that folder
/// is built by `cargo test --workspace` (and by `scripts/test-all`, which builds it first).
pub fn secuml_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let bin = profile_dir.join(format!("secuml{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build -p secuml-coordinator` (scripts/test-all does)",
        bin.display()
    );
    bin
}

/// The scikit-learn reference output for SecuML's logistic regression grid on NSL-KDD
/// (`diadem_logreg.py --variant secuml`, see `tests/fixtures/README.md`).
pub fn sklearn_logreg_reference() -> serde_json::Value {
    let path = repo_root().join("tests/fixtures/sklearn_diadem_logreg_secuml.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("reference JSON parses")
}

/// Writes `data/NSL-KDD/train20` and `data/NSL-KDD/test` concatenated (test's instance ids
/// shifted past train20's) as the input dataset `<input_dir>/NSL-KDD-all/all`, as the
/// clustering reference concatenates them.
pub fn write_nsl_kdd_combined(input_dir: &Path) -> std::io::Result<()> {
    let out = input_dir.join("NSL-KDD-all").join("all");
    std::fs::create_dir_all(out.join("features"))?;
    let parts = ["train20", "test"].map(|d| self::input_dir().join("NSL-KDD").join(d));
    let mut offset = 0i64;
    let mut idents = String::new();
    let mut features = String::new();
    for (i, part) in parts.iter().enumerate() {
        let mut rows = 0i64;
        for (file, text) in [
            ("idents.csv", &mut idents),
            ("features/features.csv", &mut features),
        ] {
            let content = std::fs::read_to_string(part.join(file))?;
            let mut lines = content.lines();
            let header = lines.next().unwrap_or_default();
            if i == 0 {
                text.push_str(header);
                text.push('\n');
            }
            rows = 0;
            for line in lines.filter(|l| !l.is_empty()) {
                let (id, rest) = line.split_once(',').unwrap_or((line, ""));
                let id: i64 = id.parse().map_err(std::io::Error::other)?;
                text.push_str(&format!("{},{rest}\n", id + offset));
                rows += 1;
            }
        }
        offset += rows;
    }
    std::fs::write(out.join("idents.csv"), idents)?;
    std::fs::write(out.join("features/features.csv"), features)?;
    std::fs::copy(
        parts[0].join("features/features_description.csv"),
        out.join("features/features_description.csv"),
    )?;
    Ok(())
}

/// The scikit-learn k-means reference on NSL-KDD train20 + test (see `tests/fixtures/README.md`).
pub fn sklearn_kmeans_reference() -> serde_json::Value {
    let path = repo_root().join("tests/fixtures/sklearn_kmeans_nslkdd.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("reference JSON parses")
}

/// k-means of NSL-KDD train20 with scikit-learn's defaults but `num_clusters`, `n_init`, `seed`
/// and `block_rows`.
pub fn train20_kmeans(
    num_clusters: u32,
    n_init: u32,
    seed: u64,
    block_rows: u64,
) -> secuml_proto::ClusteringSpec {
    let mut spec = secuml_proto::ClusteringSpec::kmeans("NSL-KDD", "train20", num_clusters);
    spec.algo = secuml_proto::ClusteringAlgo::Kmeans {
        num_clusters,
        n_init,
        max_iter: 300,
        tol: 1e-4,
    };
    spec.seed = seed;
    spec.block_rows = block_rows;
    spec
}

/// Runs a clustering job in the embedded mode (the same code as `secuml clustering`) with
/// `slots` worker slots; the dataset is ingested on first use.
pub async fn run_clustering(
    paths: &Paths,
    spec: &secuml_proto::ClusteringSpec,
    slots: usize,
) -> anyhow::Result<secuml_coordinator::clustering::ClusteringResults> {
    Ok(
        secuml_coordinator::embedded::run_clustering(paths, spec.clone(), slots)
            .await?
            .results,
    )
}

/// Every assignment of a clustering result, in row order, read from its Parquet files under
/// `datasets_dir`.
pub fn read_all_assignments(
    datasets_dir: &Path,
    result: &secuml_proto::ClusteringResult,
) -> secuml_engine::cluster::Assignments {
    let mut all = secuml_engine::cluster::Assignments::default();
    for f in &result.assignments_files {
        let path = datasets_dir.join(f);
        all.append(
            secuml_engine::cluster::read_assignments(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display())),
        );
    }
    all
}

/// What must be identical between two runs of the same DIADEM spec, per detection: its name,
/// AUC, the 101 thresholds' indicators and the prediction histogram.
pub fn detection_fingerprint(
    detections: &[secuml_proto::DetectionResult],
) -> Vec<(
    String,
    Option<f64>,
    Vec<secuml_proto::ThresholdIndicators>,
    secuml_proto::Histogram,
)> {
    detections
        .iter()
        .map(|d| {
            (
                d.name.clone(),
                d.auc,
                d.thresholds.clone(),
                d.histogram.clone(),
            )
        })
        .collect()
}

/// How [`write_gaussians`] lays out its synthetic dataset.
#[derive(Debug, Clone, Copy)]
pub struct GaussiansLayout {
    /// Instances, one per hour from 2020-01-01 00:00:00.
    pub rows: usize,
    /// Seed of the features and labels.
    pub seed: u64,
    /// Whether idents.csv has a `timestamp` column.
    pub timestamps: bool,
    /// Every `unlabeled_every`-th instance has an empty label (0: all are labelled).
    pub unlabeled_every: usize,
}

/// Writes `<input_dir>/<project>/<dataset>/` in SecuML's layout: `idents.csv` (with hourly
/// timestamps when asked) and `features/features.csv` of three numeric features, Gaussian
/// around a mean that depends on the label (about 30% malicious) and drifts with time.
///
/// Deterministic for a seed (a SplitMix64 generator, Box–Muller for the normal draws).
pub fn write_gaussians(
    input_dir: &Path,
    project: &str,
    dataset: &str,
    layout: GaussiansLayout,
) -> std::io::Result<()> {
    let dir = input_dir.join(project).join(dataset);
    std::fs::create_dir_all(dir.join("features"))?;
    let mut state = layout.seed;
    let mut uniform = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut idents = String::from(if layout.timestamps {
        "instance_id,ident,timestamp,label,family\n"
    } else {
        "instance_id,ident,label,family\n"
    });
    let mut features = String::from("instance_id,f0,f1,f2\n");
    for i in 0..layout.rows {
        let malicious = uniform() < 0.3;
        let mut normal = || {
            let (u, v) = (uniform().max(1e-300), uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        };
        let drift = i as f64 / layout.rows as f64;
        let shift = if malicious { 1.5 } else { 0.0 };
        let f = [
            shift + drift + normal(),
            shift * 0.7 - drift + normal(),
            normal(),
        ];
        let id = i + 1;
        let label = if layout.unlabeled_every > 0 && i % layout.unlabeled_every == 0 {
            String::new()
        } else {
            u8::from(malicious).to_string()
        };
        let family = if malicious { "attack" } else { "normal" };
        if layout.timestamps {
            let (day, hour) = (i / 24, i % 24);
            // January, then February, ... of 2020 (a leap year): days of each month.
            let month_days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            let (mut month, mut day_of_month) = (0usize, day);
            while day_of_month >= month_days[month % 12] {
                day_of_month -= month_days[month % 12];
                month += 1;
            }
            idents.push_str(&format!(
                "{id},host-{id},{}-{:02}-{:02} {hour:02}:00:00,{label},{family}\n",
                2020 + month / 12,
                month % 12 + 1,
                day_of_month + 1
            ));
        } else {
            idents.push_str(&format!("{id},host-{id},{label},{family}\n"));
        }
        features.push_str(&format!("{id},{:.6},{:.6},{:.6}\n", f[0], f[1], f[2]));
    }
    std::fs::write(dir.join("idents.csv"), idents)?;
    std::fs::write(dir.join("features/features.csv"), features)
}
