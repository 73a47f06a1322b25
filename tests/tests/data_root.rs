//! Datasets in an object store, and workers that share no disk with anyone: the dataset is
//! ingested into the store, the coordinator and two workers (each with an empty data folder of
//! its own, both with one cache folder) run a DIADEM job and a clustering job on the real
//! RabbitMQ and Redis, and the results are identical, bit for bit, to the embedded run on a
//! local data folder. The cache ends up holding exactly the datasets' shards, by checksum.
//!
//! Two stores: `file://` (always), and S3 through `moto_server` on loopback (skipped, with the
//! reason printed, when moto is not installed: `pip install 'moto[server]'`).

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secuml_coordinator::clustering::ClusteringResults;
use secuml_coordinator::diadem::{self, DiademResults};
use secuml_coordinator::embedded::run_diadem;
use secuml_engine::cluster::{read_assignments, Assignments};
use secuml_engine::dataset;
use secuml_proto::{
    keys, ClusteringResult, ClusteringSpec, DiademSpec, JobSpec, ModelSpec, Penalty, ValidationSpec,
};
use secuml_runtime::data_root::DATASETS;
use secuml_runtime::DataRoot;
use secuml_tests::services::{job, until, Namespace, Service};
use secuml_tests::{
    detection_fingerprint, files_under, input_dir, paths_in, run_clustering, train20_kmeans,
};
use tokio::sync::{Mutex, OnceCell};

static SERIAL: Mutex<()> = Mutex::const_new(());

/// The embedded runs on a local data folder, and that folder.
struct Reference {
    diadem: DiademResults,
    clustering: ClusteringResults,
    datasets_dir: PathBuf,
    _tmp: tempfile::TempDir,
}

static REFERENCE: OnceCell<Reference> = OnceCell::const_new();

const DIADEM: &[&str] = &[
    "diadem",
    "NSL-KDD",
    "train20",
    "LogisticRegression",
    "--regularization",
    "1",
    "--penalty",
    "l2",
    "--validation-mode",
    "ValidationDatasets",
    "--validation-datasets",
    "test",
];

fn diadem_spec() -> DiademSpec {
    DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::LogisticRegression {
            c: vec![1.0],
            penalty: vec![Penalty::L2],
            optim_algo: Default::default(),
        },
        ValidationSpec::ValidationDatasets {
            datasets: vec!["test".into()],
        },
    )
}

const CLUSTERING: &[&str] = &[
    "clustering",
    "NSL-KDD",
    "train20",
    "Kmeans",
    "--num-clusters",
    "4",
    "--n-init",
    "2",
    "--seed",
    "5",
    "--block-rows",
    "10000",
];

fn clustering_spec() -> ClusteringSpec {
    train20_kmeans(4, 2, 5, 10_000)
}

async fn reference() -> &'static Reference {
    REFERENCE
        .get_or_init(|| async {
            let tmp = tempfile::tempdir().unwrap();
            let paths = paths_in(tmp.path());
            let diadem = run_diadem(&paths, diadem_spec(), 2)
                .await
                .expect("embedded DIADEM")
                .results;
            let clustering = run_clustering(&paths, &clustering_spec(), 2)
                .await
                .expect("embedded clustering");
            Reference {
                diadem,
                clustering,
                datasets_dir: paths.datasets_dir(),
                _tmp: tmp,
            }
        })
        .await
}

/// The blocks' assignments, concatenated in block order; `read` gives the bytes of a file.
fn concatenated(files: &[String], read: impl Fn(&str) -> Vec<u8>) -> Assignments {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = Assignments::default();
    for (i, file) in files.iter().enumerate() {
        let path = tmp.path().join(format!("{i}.parquet"));
        std::fs::write(&path, read(file)).unwrap();
        all.append(read_assignments(&path).unwrap());
    }
    all
}

/// Runs `secuml submit --wait --json <job>`; returns the job id once it succeeded.
fn submit(ns: &Namespace, dir: &Path, envs: &[(String, String)], job_args: &[&str]) -> String {
    let mut args = vec!["submit", "--wait", "--json"];
    args.extend(job_args);
    let out = ns
        .command_in(dir, &args)
        .envs(envs.iter().cloned())
        .output()
        .expect("secuml submit runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "submit prints JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(0), "{value}");
    value["job_id"].as_str().unwrap().to_string()
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Ingests, runs both jobs on services whose data root is `url`, and compares with the reference.
async fn scenario(name: &str, db: u32, url: &str, envs: &[(String, String)]) {
    let reference = reference().await;
    let ns = Namespace::new(name, db);
    let tmp = tempfile::tempdir().unwrap();
    let coordinator_dir = tmp.path().join("coordinator");
    let no_input = tmp.path().join("no-input");
    let cache = tmp.path().join("worker-cache");
    std::fs::create_dir_all(&no_input).unwrap();
    let input = input_dir().display().to_string();
    for dataset in ["train20", "test"] {
        let out = ns
            .command_in(
                &coordinator_dir,
                &["--data-root", url, "ingest", &input, "NSL-KDD", dataset],
            )
            .envs(envs.iter().cloned())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ingest {dataset}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(url));
    }
    // The coordinator has no input folder: it plans from the manifests in the store.
    let service = |id: &str, dir: &Path, args: &[&str]| {
        let mut all = vec!["--data-root", url];
        all.extend(args);
        let mut cmd = ns.command_in(dir, &all);
        cmd.envs(envs.iter().cloned());
        Service::spawn(id, cmd, dir)
    };
    let no_input_arg = no_input.display().to_string();
    let _coordinator = service(
        "c1",
        &coordinator_dir,
        &[
            "coordinator",
            "--id",
            "c1",
            "--lease-ttl",
            "2",
            "--input-dir",
            &no_input_arg,
        ],
    );
    // Each worker has a data folder of its own, empty; both share one cache folder.
    let cache_arg = cache.display().to_string();
    let worker_dirs = [tmp.path().join("w1"), tmp.path().join("w2")];
    let _workers: Vec<Service> = worker_dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let id = format!("w{}", i + 1);
            service(
                &id,
                dir,
                &[
                    "--cache-dir",
                    &cache_arg,
                    "worker",
                    "--id",
                    &id,
                    "--slots",
                    "1",
                    "--heartbeat-ttl",
                    "3",
                ],
            )
        })
        .collect();
    let store = ns.store().await;
    // The coordinator is up (its queues declared) before the first submission.
    until(
        "the coordinator's heartbeat",
        Duration::from_secs(60),
        || async { store.get(&keys::coordinator("c1")).await.unwrap().is_some() },
    )
    .await;

    let diadem_job = submit(&ns, &coordinator_dir, envs, DIADEM);
    let record = job(&*store, &diadem_job).await.unwrap();
    let diadem_id = record.experiment_id.unwrap();
    assert_eq!(record.spec, JobSpec::Diadem(diadem_spec()));
    let ours = diadem::load_results(&*store, record.experiment_id.unwrap(), &diadem_spec())
        .await
        .unwrap();
    assert_eq!(ours.train.candidates, reference.diadem.train.candidates);
    assert_eq!(ours.train.best, reference.diadem.train.best);
    assert_eq!(ours.train.coefficients, reference.diadem.train.coefficients);
    assert_eq!(
        detection_fingerprint(&ours.detections),
        detection_fingerprint(&reference.diadem.detections)
    );

    let clustering_job = submit(&ns, &coordinator_dir, envs, CLUSTERING);
    let record = job(&*store, &clustering_job).await.unwrap();
    assert_eq!(record.spec, JobSpec::Clustering(clustering_spec()));
    let id = record.experiment_id.unwrap();
    let bytes = store.get(&keys::clustering(id)).await.unwrap().unwrap();
    let ours: ClusteringResult = serde_json::from_slice(&bytes).unwrap();
    let theirs = &reference.clustering.result;
    let comparable = |r: &ClusteringResult| ClusteringResult {
        seconds: 0.0,
        assignments_files: Vec::new(),
        ..r.clone()
    };
    assert_eq!(comparable(&ours), comparable(theirs));
    assert_eq!(ours.assignments_files.len(), 3);
    assert!(ours.assignments_files[0].starts_with(&format!("NSL-KDD/train20/clusterings/{id}/")));

    // The assignments are in the store, read through the data root as any reader does.
    let (root_url, root_env) = (
        url.to_string(),
        envs.iter().cloned().collect::<HashMap<_, _>>(),
    );
    let reader_cache = tmp.path().join("reader-cache");
    let root = DataRoot::open(&root_url, &root_env, &reader_cache, 1 << 30).unwrap();
    let (files, reader) = (ours.assignments_files.clone(), root.clone());
    let remote = tokio::task::spawn_blocking(move || {
        concatenated(&files, |f| {
            reader
                .get(&format!("{DATASETS}/{f}"))
                .unwrap()
                .unwrap_or_else(|| panic!("{f} is in the data root"))
        })
    })
    .await
    .unwrap();
    let local = concatenated(&theirs.assignments_files, |f| {
        std::fs::read(reference.datasets_dir.join(f)).unwrap()
    });
    assert_eq!(remote, local);
    assert_eq!(remote.clusters.len(), 25192);

    // The shared cache holds exactly the shards of both datasets, by checksum, and nothing else.
    let manifests = tokio::task::spawn_blocking(move || {
        ["train20", "test"].map(|d| {
            let key = format!("{DATASETS}/NSL-KDD/{d}/{}", dataset::MANIFEST_FILE);
            let bytes = root.get(&key).unwrap().unwrap();
            dataset::parse_manifest(&bytes, Path::new(&key)).unwrap().0
        })
    })
    .await
    .unwrap();
    let expected: BTreeSet<String> = manifests
        .iter()
        .flat_map(|m| m.shards.iter().map(|s| format!("{}.parquet", s.sha256)))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(files_in(&cache.join("shards")), expected);
    assert!(files_in(&cache.join("annotations")).is_empty());
    assert!(files_in(&cache.join("tmp")).is_empty());
    for dir in &worker_dirs {
        assert_eq!(
            files_in(dir),
            BTreeSet::from([format!(
                "{}.log",
                dir.file_name().unwrap().to_string_lossy()
            )]),
            "a worker writes nothing to its data folder but its log"
        );
    }

    // A dashboard with nothing on disk but its cache reads the predictions, an instance's
    // shard and the assignments from the data root.
    let port = free_port();
    let (dashboard_dir, dashboard_cache) = (
        tmp.path().join("dashboard"),
        tmp.path().join("dashboard-cache"),
    );
    let dashboard_cache_arg = dashboard_cache.display().to_string();
    let port_arg = port.to_string();
    let _dashboard = service(
        "d1",
        &dashboard_dir,
        &[
            "--cache-dir",
            &dashboard_cache_arg,
            "dashboard",
            "--port",
            &port_arg,
        ],
    );
    until("the dashboard", Duration::from_secs(60), || async move {
        http(port, "GET", "/api/projects").is_ok()
    })
    .await;
    let detections = diadem::load_results(&*store, diadem_id, &diadem_spec())
        .await
        .unwrap()
        .detections;
    for detection in &detections {
        let fp = detection.confusion.unwrap().fp as usize;
        let page = get_json(
            port,
            &format!(
                "/api/experiments/{diadem_id}/detections/{}/predictions?cell=fp&threshold={}",
                detection.name, detection.detection_threshold
            ),
        );
        assert_eq!(page["total"], fp, "false positives of {}", detection.name);
        let first = &page["instances"][0];
        let instance = get_json(
            port,
            &format!(
                "/api/experiments/{diadem_id}/detections/{}/instances/{}",
                detection.name, first["instance_id"]
            ),
        );
        assert_eq!(
            instance["prediction"]["ident"], first["ident"],
            "{instance}"
        );
        assert_eq!(
            instance["features"].as_array().unwrap().len(),
            41,
            "{instance}"
        );
    }
    let sizes: Vec<u64> = ours.clusters.iter().map(|c| c.mix.size).collect();
    for (k, size) in sizes.iter().enumerate() {
        let page = get_json(
            port,
            &format!("/api/experiments/{id}/clusters/{k}/instances"),
        );
        assert_eq!(page["total"], *size, "cluster {k}");
    }
    // The mirror holds what was read: the manifests, one shard each, the predictions and the
    // assignments files.
    let mirror = dashboard_cache.join("dashboard").join(DATASETS);
    let mirrored: BTreeSet<String> = files_under(&mirror)
        .iter()
        .map(|f| {
            f.strip_prefix(&mirror)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for file in [
        "NSL-KDD/train20/manifest.json",
        "NSL-KDD/test/manifest.json",
        "NSL-KDD/train20/shards/part-00000.parquet",
        "NSL-KDD/test/shards/part-00000.parquet",
    ] {
        assert!(mirrored.contains(file), "{file} in {mirrored:?}");
    }
    assert_eq!(
        mirrored
            .iter()
            .filter(|f| f.contains("/predictions/"))
            .count(),
        detections.len()
    );
    assert!(files_in(&dashboard_dir).iter().all(|f| f.ends_with(".log")));
}

/// A loopback port nothing listens on.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The JSON body of a GET of `path` from the dashboard on `port`, which must answer 200.
fn get_json(port: u16, path: &str) -> serde_json::Value {
    let response = http(port, "GET", path).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "GET {path}: {response}"
    );
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_read_a_file_object_store_through_their_cache_with_identical_results() {
    let _serial = SERIAL.lock().await;
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}/secuml", store.path().display());
    scenario("objstore-file", 1, &url, &[]).await;
    assert!(store
        .path()
        .join("secuml/datasets/NSL-KDD/train20/manifest.json")
        .is_file());
}

/// `moto_server` on a free loopback port; killed when dropped.
struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends one bodiless HTTP request to `port`; returns the response (status line, headers, body).
fn http(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_read_an_s3_object_store_through_their_cache_with_identical_results() {
    let _serial = SERIAL.lock().await;
    let port = free_port();
    let child = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => Moto(child),
        Err(e) => {
            eprintln!("skipped: moto_server does not start ({e}); `pip install 'moto[server]'` installs it");
            return;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(port, "GET", "/").is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let created = http(port, "PUT", "/secuml-test").unwrap();
    assert!(
        created.starts_with("HTTP/1.1 200"),
        "creating the bucket: {created}"
    );
    let envs: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "secuml"),
        ("AWS_SECRET_ACCESS_KEY", "secuml"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT", &format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    scenario("objstore-s3", 2, "s3://secuml-test/team", &envs).await;
    let listing = http(port, "GET", "/secuml-test?prefix=team/datasets/NSL-KDD/").unwrap();
    for key in [
        "team/datasets/NSL-KDD/train20/manifest.json",
        "team/datasets/NSL-KDD/test/shards/part-00000.parquet",
        "team/datasets/NSL-KDD/train20/clusterings/",
    ] {
        assert!(listing.contains(key), "{key} is in the bucket: {listing}");
    }
    drop(child);
}
