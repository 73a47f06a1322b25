//! The `secuml` binary as a user runs it: JSON on stdout, logs on stderr, exit codes, error messages.

use std::process::{Command, Output};

use secuml_tests::{input_dir, secuml_bin};

/// Runs `secuml --data-dir <data_dir> <command> <args> --input-dir <input>`.
fn secuml(
    data_dir: &std::path::Path,
    command: &str,
    args: &[&str],
    input: &std::path::Path,
) -> Output {
    Command::new(secuml_bin())
        .arg("--data-dir")
        .arg(data_dir)
        .arg(command)
        .args(args)
        .arg("--input-dir")
        .arg(input)
        .output()
        .unwrap()
}

/// Runs `secuml --data-dir <data_dir> diadem <args> --input-dir <input>`.
fn diadem(data_dir: &std::path::Path, args: &[&str], input: &std::path::Path) -> Output {
    secuml(data_dir, "diadem", args, input)
}

#[test]
fn diadem_json_prints_one_object_with_the_validation_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(secuml_bin())
        .args(["--data-dir"])
        .arg(tmp.path())
        .args([
            "diadem",
            "Gaussians",
            "test",
            "LogisticRegression",
            "--input-dir",
        ])
        .arg(input_dir())
        .args(["--test-size", "0.3", "--regularization", "1", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim().lines().count(),
        1,
        "one JSON line on stdout, logs on stderr: {stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let id = v["experiment_id"].as_u64().unwrap();
    assert!(v["dashboard_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/SecuML/{id}/")));
    for key in ["auc", "detection_rate", "false_alarm_rate", "f_score"] {
        assert!(v["validation"][key].is_number(), "validation.{key} in {v}");
    }
    assert_eq!(v["num_fits"], 9, "1 C x 2 penalties x 4 folds + refit");
    assert!(
        stderr.contains("diadem job done"),
        "progress goes to stderr: {stderr}"
    );
    assert!(
        stderr
            .contains("warning: dataset Gaussians/test has timestamps: a temporal validation mode"),
        "RandomSplit on a timestamped dataset warns: {stderr}"
    );
}

#[test]
fn a_temporal_mode_on_a_dataset_without_timestamps_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = diadem(
        tmp.path(),
        &[
            "NSL-KDD",
            "train20",
            "LogisticRegression",
            "--validation-mode",
            "TemporalCv",
        ],
        &input_dir(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Refused by its data: a failed job, as `secuml submit` reports it.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("validation mode TemporalCv needs timestamps")
            && stderr.contains("NSL-KDD/train20"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_dataset_is_an_error_naming_where_it_was_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let out = diadem(
        tmp.path(),
        &["NoSuchProject", "train", "LogisticRegression"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NoSuchProject/train") && stderr.contains("idents.csv"),
        "{stderr}"
    );
    // One error line (the log's record of the job's end carries it as a field).
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "the error is printed once: {stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bad_parameter_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(secuml_bin())
        .arg("--data-dir")
        .arg(tmp.path())
        .args([
            "diadem",
            "Gaussians",
            "test",
            "LogisticRegression",
            "--test-size",
            "1.5",
            "--input-dir",
        ])
        .arg(input_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "a bad request");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("test-size"), "{stderr}");
    assert!(
        !tmp.path().join("data").exists()
            && std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn ingest_refuses_bad_input_with_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in/P/D");
    std::fs::create_dir_all(input.join("features")).unwrap();
    std::fs::write(
        input.join("idents.csv"),
        "instance_id,ident,label\n0,a,0\n1,b,1\n",
    )
    .unwrap();
    std::fs::write(
        input.join("features/features.csv"),
        "instance_id,f1\n0,1.5\n1,abc\n",
    )
    .unwrap();
    // Declared numeric: without a description file, a column holding text is inferred categorical.
    std::fs::write(
        input.join("features/features_description.csv"),
        "id,name,type\nf1,f1,numeric\n",
    )
    .unwrap();
    let out = Command::new(secuml_bin())
        .arg("--data-dir")
        .arg(tmp.path().join("out"))
        .arg("ingest")
        .arg(tmp.path().join("in"))
        .args(["P", "D"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("features.csv") && stderr.contains("line 3") && stderr.contains("f1"),
        "{stderr}"
    );
    assert!(
        !tmp.path().join("out/datasets/P/D").exists(),
        "nothing half-written"
    );
}

#[test]
fn every_command_exits_3_on_an_unknown_option() {
    for command in [
        &[
            "diadem",
            "NSL-KDD",
            "train20",
            "LogisticRegression",
            "--no-such",
        ][..],
        &["clustering", "NSL-KDD", "train20", "Kmeans", "--no-such"][..],
        &["ingest", "--no-such"][..],
        &["diadem", "NSL-KDD", "train20", "NoSuchModel"][..],
    ] {
        let out = Command::new(secuml_bin()).args(command).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{command:?}: {stderr}");
    }
    // A negative value is a value of its option, refused by name.
    for (option, value) in [("--num-folds", "-2"), ("--seed", "-1")] {
        let out = Command::new(secuml_bin())
            .args([
                "diadem",
                "NSL-KDD",
                "train20",
                "LogisticRegression",
                option,
                value,
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{option} {value}: {stderr}");
        assert!(
            stderr.contains(option) && stderr.contains(value),
            "{option} {value}: {stderr}"
        );
    }
}

/// Whether `dir` holds nothing at all: no store, no job, no experiment, no ingested dataset.
fn is_empty(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[test]
fn a_hyperparameter_out_of_its_domain_is_refused_before_any_job_or_experiment() {
    for (class, option, value, param) in [
        ("RandomForest", "--n-estimators", "0", "n-estimators"),
        ("GradientBoosting", "--subsample", "1.5", "subsample"),
        (
            "DecisionTree",
            "--min-samples-split",
            "1",
            "min-samples-split",
        ),
        (
            "DecisionTree",
            "--min-samples-leaf",
            "0",
            "min-samples-leaf",
        ),
        ("IsolationForest", "--n-estimators", "0", "n-estimators"),
        ("Lof", "--contamination", "0.9", "contamination"),
        ("OneClassSvm", "--nu", "1.5", "nu"),
        ("LabelPropagation", "--n-neighbors", "0", "n-neighbors"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = diadem(
            tmp.path(),
            &["Gaussians", "test", class, option, value],
            &input_dir(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{class} {option} {value}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("invalid hyperparameter `{param}`")) && stderr.contains(class),
            "{class} {option} {value}: {stderr}"
        );
        assert!(
            is_empty(tmp.path()),
            "{class}: no job, no experiment, nothing written"
        );
    }
    // A grid is checked candidate by candidate: one bad value among good ones is enough.
    let tmp = tempfile::tempdir().unwrap();
    let out = diadem(
        tmp.path(),
        &[
            "Gaussians",
            "test",
            "RandomForest",
            "--n-estimators",
            "10",
            "0",
            "--json",
        ],
        &input_dir(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("n-estimators"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["status"], "refused", "{v}");
    assert!(v["error"].as_str().unwrap().contains("n-estimators"), "{v}");
    assert!(is_empty(tmp.path()));
}

#[test]
fn an_unknown_model_class_is_refused_with_the_available_classes() {
    let out = Command::new(secuml_bin())
        .args(["diadem", "Gaussians", "test", "RandomForrest"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("RandomForrest")
            && stderr.contains("model classes: LogisticRegression, Svc, GaussianNaiveBayes")
            && stderr.contains("EllipticEnvelope, AlreadyTrained"),
        "{stderr}"
    );
    let out = Command::new(secuml_bin())
        .args(["clustering", "Gaussians", "test", "Dbscan"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("algorithms: Kmeans"), "{stderr}");
}

#[test]
fn an_unknown_annotations_file_is_refused_with_the_files_of_the_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let out = diadem(
        tmp.path(),
        &[
            "Gaussians",
            "test",
            "LogisticRegression",
            "-a",
            "nosuch.csv",
            "--json",
        ],
        &input_dir(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Refused by its data, before any experiment: a failed job.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`nosuch`")
            && stderr.contains("Gaussians/test")
            && stderr.contains("its annotations files: init_annotations.csv"),
        "{stderr}"
    );
    // --json: one object on stdout as `secuml submit --wait --json` prints for a failed job.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["status"], "failed", "{v}");
    assert!(v["job_id"].as_str().unwrap().starts_with("diadem"), "{v}");
    assert!(v["experiment_id"].is_null(), "no experiment: {v}");
    assert!(v["error"].as_str().unwrap().contains("nosuch"), "{v}");
    assert_eq!(v["passed"], false, "{v}");

    // A dataset without annotations files says so, and where they are expected.
    let input = tmp.path().join("in");
    let dataset = input.join("P/D");
    std::fs::create_dir_all(dataset.join("features")).unwrap();
    let mut idents = String::from("instance_id,ident,label\n");
    let mut features = String::from("instance_id,f1\n");
    for i in 0..20 {
        idents.push_str(&format!("{i},i{i},{}\n", i % 2));
        features.push_str(&format!("{i},{}\n", i as f64 * 0.5));
    }
    std::fs::write(dataset.join("idents.csv"), idents).unwrap();
    std::fs::write(dataset.join("features/features.csv"), features).unwrap();
    let out = diadem(
        &tmp.path().join("data"),
        &["P", "D", "LogisticRegression", "-a", "nosuch.csv"],
        &input,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`nosuch`")
            && stderr.contains("it has none")
            && stderr.contains("P/D/annotations/*.csv"),
        "{stderr}"
    );
}

#[test]
fn more_clusters_than_instances_is_refused_by_name_before_any_task() {
    let tmp = tempfile::tempdir().unwrap();
    let out = secuml(
        tmp.path(),
        "clustering",
        &[
            "Gaussians",
            "test",
            "Kmeans",
            "--num-clusters",
            "1000",
            "--json",
        ],
        &input_dir(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "refused by its data: {stderr}");
    assert!(
        stderr.contains("invalid parameter `num-clusters`: 1000 clusters")
            && stderr.contains("Gaussians/test has 260 instance(s)")
            && !stderr.contains("infrastructure"),
        "{stderr}"
    );
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(v["status"], "failed", "{v}");
    assert!(
        v["experiment_id"].is_null(),
        "refused before any experiment: {v}"
    );
    let jobs = Command::new(secuml_bin())
        .arg("--data-dir")
        .arg(tmp.path())
        .args(["jobs", "--json"])
        .output()
        .unwrap();
    let jobs: serde_json::Value = serde_json::from_slice(&jobs.stdout).unwrap();
    assert_eq!(jobs[0]["status"], "failed", "{jobs}");
    assert_eq!(
        jobs[0]["tasks_planned"], 0,
        "refused before any task: {jobs}"
    );
    assert!(
        jobs[0]["experiment_id"].is_null(),
        "and any experiment: {jobs}"
    );
}

#[test]
fn every_failure_of_a_json_command_prints_one_object() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().display().to_string();
    let json = |args: &[&str]| {
        let out = Command::new(secuml_bin())
            .args(["--data-dir", &data_dir])
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let value: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{args:?}: {e}: stdout {stdout:?}"));
        (out.status.code(), value)
    };
    // Command lines that do not parse: refused, with clap's message.
    for (args, needle) in [
        (
            &["diadem", "Gaussians", "test", "NoSuchModel", "--json"][..],
            "model classes: LogisticRegression",
        ),
        (
            &[
                "diadem",
                "Gaussians",
                "test",
                "LogisticRegression",
                "--bogus",
                "--json",
            ][..],
            "--bogus",
        ),
        (
            &[
                "clustering",
                "Gaussians",
                "test",
                "Kmeans",
                "--num-clusters",
                "x",
                "--json",
            ][..],
            "--num-clusters",
        ),
    ] {
        let (code, value) = json(args);
        assert_eq!(code, Some(3), "{args:?}: {value}");
        assert_eq!(value["status"], "refused", "{args:?}: {value}");
        assert!(value["error"].as_str().unwrap().contains(needle), "{value}");
    }
    // Other errors: a config file that does not exist, an unreachable broker.
    let (code, value) = json(&[
        "--config",
        "/nonexistent/secuml.toml",
        "diadem",
        "Gaussians",
        "test",
        "GaussianNaiveBayes",
        "--json",
    ]);
    assert_eq!(
        (code, &value["status"]),
        (Some(1), &"error".into()),
        "{value}"
    );
    assert!(value["error"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/secuml.toml"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let amqp = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    let (code, value) = json(&[
        "submit",
        "--amqp",
        &amqp,
        "--redis",
        "redis://127.0.0.1:6379/15",
        "--wait",
        "--json",
        "diadem",
        "Gaussians",
        "test",
        "GaussianNaiveBayes",
    ]);
    // An unreachable service is no failed job: exit 1, not 2.
    assert_eq!(
        (code, &value["status"]),
        (Some(1), &"error".into()),
        "{value}"
    );
    assert!(
        value["error"].as_str().unwrap().contains("RabbitMQ"),
        "{value}"
    );
}
