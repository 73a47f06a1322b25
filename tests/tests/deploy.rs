//! Checks of the deployment files in `deploy/`: they parse, have the structure their tools
//! expect, name files, packages and binaries that exist, and every `secuml <subcommand>
//! --flag` they contain is accepted by the real binary. Nothing here runs Docker or
//! Kubernetes; `systemd-analyze verify` and `redis-server` run when they are installed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_yaml_ng::Value;

use secuml_tests::{files_under, repo_root, secuml_bin};

fn deploy_dir() -> PathBuf {
    repo_root().join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every document of a YAML file, with `<<` merge keys applied.
fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = read(path);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| {
            let mut v = Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", rel(path)));
            v.apply_merge()
                .unwrap_or_else(|e| panic!("{}: bad merge key: {e}", rel(path)));
            v
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml_files() -> Vec<PathBuf> {
    files_under(&deploy_dir())
        .into_iter()
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect()
}

fn k8s_docs() -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for path in files_under(&deploy_dir().join("k8s")) {
        for doc in yaml_docs(&path) {
            out.push((path.clone(), doc));
        }
    }
    out
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(*key))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("not a string: {other:?}"),
            })
            .collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        None => Vec::new(),
        Some(other) => panic!("not a command: {other:?}"),
    }
}

/// The subcommands this deployment runs, as the contract of the `secuml` binary names them.
const SUBCOMMANDS: &[&str] = &[
    "coordinator",
    "worker",
    "dashboard",
    "submit",
    "status",
    "jobs",
    "cancel",
    "ingest",
    "diadem",
    "demo",
];

#[test]
fn every_yaml_file_parses() {
    let files = yaml_files();
    assert!(
        files.len() >= 8,
        "compose.yaml and the k8s manifests: {files:?}"
    );
    for path in files {
        assert!(!yaml_docs(&path).is_empty(), "{} is empty", rel(&path));
    }
}

// ---------------------------------------------------------------------------------------
// Kubernetes

#[test]
fn k8s_objects_have_api_version_kind_name_and_namespace() {
    let docs = k8s_docs();
    for (path, doc) in &docs {
        let file = rel(path);
        let kind = str_at(doc, &["kind"]).unwrap_or_else(|| panic!("{file}: no kind"));
        assert!(
            str_at(doc, &["apiVersion"]).is_some(),
            "{file}: {kind} has no apiVersion"
        );
        if kind == "Kustomization" {
            continue;
        }
        let name = str_at(doc, &["metadata", "name"])
            .unwrap_or_else(|| panic!("{file}: {kind} has no metadata.name"));
        if kind != "Namespace" {
            assert_eq!(
                str_at(doc, &["metadata", "namespace"]),
                Some("secuml"),
                "{file}: {kind}/{name} is not in the secuml namespace"
            );
        }
        if matches!(kind, "Deployment" | "StatefulSet") {
            let selector = at(doc, &["spec", "selector", "matchLabels"])
                .and_then(Value::as_mapping)
                .unwrap_or_else(|| panic!("{file}: {kind}/{name} has no selector"));
            let labels = at(doc, &["spec", "template", "metadata", "labels"])
                .and_then(Value::as_mapping)
                .unwrap_or_else(|| panic!("{file}: {kind}/{name} has no pod labels"));
            for (k, v) in selector {
                assert_eq!(
                    labels.get(k),
                    Some(v),
                    "{file}: {kind}/{name}'s selector misses its pods"
                );
            }
        }
    }
}

#[test]
fn kustomization_lists_every_manifest() {
    let dir = deploy_dir().join("k8s");
    let kustomization = &yaml_docs(&dir.join("kustomization.yaml"))[0];
    let listed: BTreeSet<String> = strings(kustomization.get("resources"))
        .into_iter()
        .collect();
    let present: BTreeSet<String> = files_under(&dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(
        listed, present,
        "kustomization.yaml resources vs the files in deploy/k8s"
    );
}

fn object<'a>(docs: &'a [(PathBuf, Value)], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .map(|(_, d)| d)
        .find(|d| {
            str_at(d, &["kind"]) == Some(kind) && str_at(d, &["metadata", "name"]) == Some(name)
        })
        .unwrap_or_else(|| panic!("no {kind}/{name} in deploy/k8s"))
}

fn pod_spec(deployment: &Value) -> &Value {
    at(deployment, &["spec", "template", "spec"]).expect("spec.template.spec")
}

fn containers(deployment: &Value) -> &Vec<Value> {
    pod_spec(deployment)
        .get("containers")
        .and_then(Value::as_sequence)
        .expect("containers")
}

#[test]
fn k8s_secuml_deployments_run_the_right_subcommands() {
    let docs = k8s_docs();
    let config = object(&docs, "ConfigMap", "secuml-config");
    let secret = object(&docs, "Secret", "secuml-urls");
    for key in ["SECUML_AMQP_URL", "SECUML_REDIS_URL"] {
        assert!(
            at(secret, &["stringData", key]).is_some(),
            "secuml-urls has no {key}"
        );
    }
    assert!(at(config, &["data", "SECUML_DATA_DIR"]).is_some());

    for (name, sub) in [
        ("secuml-coordinator", "coordinator"),
        ("secuml-worker", "worker"),
        ("secuml-dashboard", "dashboard"),
    ] {
        let d = object(&docs, "Deployment", name);
        let c = &containers(d)[0];
        assert!(
            str_at(c, &["image"]).unwrap().starts_with("secuml"),
            "{name}: image"
        );
        let args = strings(c.get("args"));
        assert_eq!(
            args.first().map(String::as_str),
            Some(sub),
            "{name}: args {args:?}"
        );
        let refs: Vec<&str> = c
            .get("envFrom")
            .and_then(Value::as_sequence)
            .unwrap_or_else(|| panic!("{name}: no envFrom"))
            .iter()
            .filter_map(|e| {
                str_at(e, &["configMapRef", "name"]).or(str_at(e, &["secretRef", "name"]))
            })
            .collect();
        assert_eq!(refs, ["secuml-config", "secuml-urls"], "{name}: envFrom");
        assert_eq!(
            at(pod_spec(d), &["securityContext", "runAsNonRoot"]).and_then(Value::as_bool),
            Some(true),
            "{name}: runs as non-root"
        );
    }

    let coordinator = object(&docs, "Deployment", "secuml-coordinator");
    let replicas = at(coordinator, &["spec", "replicas"]).and_then(Value::as_u64);
    assert!(
        matches!(replicas, Some(1 | 2)),
        "coordinator replicas: {replicas:?}"
    );

    let worker = object(&docs, "Deployment", "secuml-worker");
    let replicas = at(worker, &["spec", "replicas"]).and_then(Value::as_u64);
    assert!(
        replicas.is_some_and(|r| r >= 1),
        "worker replicas: {replicas:?}"
    );
    let grace = pod_spec(worker)
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_u64)
        .expect("worker terminationGracePeriodSeconds");
    assert!(
        grace >= 120,
        "a worker drains on SIGTERM: grace {grace}s is too short"
    );
    let c = &containers(worker)[0];
    assert!(
        at(c, &["resources", "requests", "cpu"]).is_some(),
        "worker cpu request"
    );
    assert!(
        at(c, &["resources", "limits", "memory"]).is_some(),
        "worker memory limit"
    );

    let pvc = object(&docs, "PersistentVolumeClaim", "secuml-data");
    assert!(
        strings(at(pvc, &["spec", "accessModes"])).contains(&"ReadWriteMany".to_string()),
        "the data folder is shared by pods on several nodes"
    );
    for name in ["secuml-coordinator", "secuml-worker"] {
        let volumes = pod_spec(object(&docs, "Deployment", name))
            .get("volumes")
            .and_then(Value::as_sequence)
            .unwrap();
        assert!(
            volumes
                .iter()
                .any(|v| str_at(v, &["persistentVolumeClaim", "claimName"]) == Some("secuml-data")),
            "{name} mounts the secuml-data claim"
        );
    }

    let service = object(&docs, "Service", "secuml-dashboard");
    let dashboard = object(&docs, "Deployment", "secuml-dashboard");
    let labels = at(dashboard, &["spec", "template", "metadata", "labels"]).unwrap();
    for (k, v) in at(service, &["spec", "selector"])
        .and_then(Value::as_mapping)
        .unwrap()
    {
        assert_eq!(
            labels.get(k),
            Some(v),
            "the dashboard Service selects the dashboard pods"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Compose

fn compose() -> Value {
    yaml_docs(&deploy_dir().join("compose.yaml")).remove(0)
}

/// `1m30s`, `5m`, `60s` as compose writes durations.
fn compose_duration(text: &str) -> Duration {
    let mut total = 0u64;
    let mut num = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: u64 = num.parse().unwrap_or_else(|_| panic!("duration `{text}`"));
        num.clear();
        total += n * match ch {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => panic!("duration `{text}`"),
        };
    }
    assert!(num.is_empty(), "duration `{text}` has no unit");
    Duration::from_secs(total)
}

#[test]
fn compose_services_exist_and_reference_real_files() {
    let c = compose();
    let services = c
        .get("services")
        .and_then(Value::as_mapping)
        .expect("services");
    let names: BTreeSet<&str> = services.keys().filter_map(Value::as_str).collect();
    for name in [
        "rabbitmq",
        "redis",
        "coordinator",
        "worker",
        "dashboard",
        "submit",
    ] {
        assert!(
            names.contains(name),
            "compose has no `{name}` service: {names:?}"
        );
    }
    let declared_volumes: BTreeSet<&str> = c
        .get("volumes")
        .and_then(Value::as_mapping)
        .map(|m| m.keys().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let compose_dir = deploy_dir();
    for (name, svc) in services {
        let name = name.as_str().unwrap();
        let image = str_at(svc, &["image"]).unwrap_or_else(|| panic!("{name}: no image"));
        if let Some(build) = svc.get("build") {
            let context = compose_dir.join(str_at(build, &["context"]).expect("build.context"));
            let context = context.canonicalize().unwrap();
            assert_eq!(
                context,
                repo_root().canonicalize().unwrap(),
                "{name}: build context"
            );
            let dockerfile = str_at(build, &["dockerfile"]).expect("build.dockerfile");
            assert!(
                context.join(dockerfile).is_file(),
                "{name}: {dockerfile} is missing"
            );
        }
        for volume in strings(svc.get("volumes")) {
            let source = volume.split(':').next().unwrap();
            if source.starts_with('.') || source.starts_with('/') {
                assert!(
                    compose_dir.join(source).exists(),
                    "{name}: bind mount source {source} does not exist"
                );
            } else {
                assert!(
                    declared_volumes.contains(source),
                    "{name}: volume {source} is not declared"
                );
            }
        }
        if let Some(deps) = svc.get("depends_on").and_then(Value::as_mapping) {
            for dep in deps.keys().filter_map(Value::as_str) {
                assert!(
                    names.contains(dep),
                    "{name} depends on unknown service {dep}"
                );
            }
        }
        if image.starts_with("secuml") {
            let command = strings(svc.get("command"));
            let sub = command
                .first()
                .unwrap_or_else(|| panic!("{name}: no command"));
            assert!(
                SUBCOMMANDS.contains(&sub.as_str()),
                "{name}: `{sub}` is no subcommand"
            );
            assert!(
                svc.get("build").is_some(),
                "{name}: secuml:latest is built, not pulled"
            );
        }
    }
    for name in ["rabbitmq", "redis", "dashboard"] {
        assert!(
            services[name].get("healthcheck").is_some(),
            "{name} has a healthcheck"
        );
    }
    let worker = &services["worker"];
    assert!(at(worker, &["deploy", "replicas"]).and_then(Value::as_u64) >= Some(2));
    assert_eq!(str_at(worker, &["stop_signal"]), Some("SIGTERM"));
    let grace = compose_duration(str_at(worker, &["stop_grace_period"]).expect("grace period"));
    assert!(
        grace >= Duration::from_secs(120),
        "workers drain: {grace:?}"
    );
    let submit = strings(services["submit"].get("command"));
    for flag in ["--wait", "--json", "--fail-under"] {
        assert!(
            submit.iter().any(|a| a == flag),
            "submit runs with {flag}: {submit:?}"
        );
    }
    assert!(
        strings(services["submit"].get("profiles")).contains(&"submit".to_string()),
        "the one-shot submit is not started by `up`"
    );
}

// ---------------------------------------------------------------------------------------
// systemd

type Ini = BTreeMap<String, Vec<(String, String)>>;

/// A systemd unit as sections of `key=value` entries (comments, blank lines and
/// backslash continuations handled as systemd does).
fn parse_unit(path: &Path) -> Ini {
    let text = read(path);
    let mut ini = Ini::new();
    let mut section: Option<String> = None;
    let mut pending = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';'))
        {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        let line = format!("{pending}{line}");
        pending.clear();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            ini.entry(name.to_string()).or_default();
            section = Some(name.to_string());
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{}:{}: not key=value: {raw}", rel(path), i + 1));
        let section = section
            .as_ref()
            .unwrap_or_else(|| panic!("{}:{}: entry before any section", rel(path), i + 1));
        ini.get_mut(section)
            .unwrap()
            .push((key.trim().to_string(), value.trim().to_string()));
    }
    assert!(pending.is_empty(), "{}: ends in a continuation", rel(path));
    ini
}

fn get<'a>(ini: &'a Ini, section: &str, key: &str) -> Option<&'a str> {
    ini.get(section)?
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn unit_files() -> Vec<PathBuf> {
    files_under(&deploy_dir().join("systemd"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "service"))
        .collect()
}

/// `300`, `5min`, `90s`, `1min 30s` as systemd writes time spans.
fn systemd_span(text: &str) -> Duration {
    let mut total = 0;
    for part in text.split_whitespace() {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        let n: u64 = digits
            .parse()
            .unwrap_or_else(|_| panic!("time span `{text}`"));
        total += n * match &part[digits.len()..] {
            "" | "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            unit => panic!("time span `{text}`: unit {unit}"),
        };
    }
    Duration::from_secs(total)
}

fn env_example() -> HashMap<String, String> {
    read(&deploy_dir().join("systemd/secuml.env.example"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("secuml.env.example: {l}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn systemd_units_parse_and_run_a_real_subcommand() {
    let units = unit_files();
    let names: Vec<String> = units
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "secuml-coordinator.service",
            "secuml-dashboard.service",
            "secuml-worker@.service"
        ]
    );
    let env = env_example();
    for path in &units {
        let file = rel(path);
        let ini = parse_unit(path);
        for section in ["Unit", "Service", "Install"] {
            assert!(ini.contains_key(section), "{file}: no [{section}]");
        }
        let exec =
            get(&ini, "Service", "ExecStart").unwrap_or_else(|| panic!("{file}: no ExecStart"));
        let mut words = exec.split_whitespace();
        assert_eq!(
            words.next(),
            Some("/usr/local/bin/secuml"),
            "{file}: ExecStart={exec}"
        );
        let sub = words.next().unwrap_or_default();
        assert!(
            ["coordinator", "worker", "dashboard"].contains(&sub),
            "{file}: `{sub}` is not a service subcommand"
        );
        assert!(file.contains(sub), "{file} runs `secuml {sub}`");
        assert_eq!(
            get(&ini, "Service", "KillSignal"),
            Some("SIGTERM"),
            "{file}"
        );
        assert_eq!(
            get(&ini, "Service", "Restart"),
            Some("on-failure"),
            "{file}"
        );
        assert_eq!(
            get(&ini, "Service", "EnvironmentFile"),
            Some("/etc/secuml/secuml.env")
        );
        assert_eq!(
            get(&ini, "Service", "User"),
            Some("secuml"),
            "{file}: not root"
        );
        assert_eq!(
            get(&ini, "Service", "NoNewPrivileges"),
            Some("yes"),
            "{file}"
        );
        assert_eq!(
            get(&ini, "Service", "ProtectSystem"),
            Some("strict"),
            "{file}"
        );
        assert_eq!(
            get(&ini, "Install", "WantedBy"),
            Some("multi-user.target"),
            "{file}"
        );
        // Every ${VAR} of the command line is set by the unit or by the environment file.
        for var in exec
            .split("${")
            .skip(1)
            .map(|s| s.split('}').next().unwrap())
        {
            let in_unit = ini["Service"]
                .iter()
                .any(|(k, v)| k == "Environment" && v.starts_with(&format!("{var}=")));
            assert!(
                in_unit || env.contains_key(var),
                "{file}: ${{{var}}} is never set"
            );
        }
        let stop = systemd_span(get(&ini, "Service", "TimeoutStopSec").expect("TimeoutStopSec"));
        if sub == "worker" {
            assert!(
                stop >= Duration::from_secs(120),
                "{file}: a worker drains: {stop:?}"
            );
            assert_eq!(get(&ini, "Service", "KillMode"), Some("mixed"), "{file}");
        }
        if sub == "coordinator" {
            let data = &env["SECUML_DATA_DIR"];
            assert_eq!(
                get(&ini, "Service", "ReadWritePaths"),
                Some(data.as_str()),
                "{file}"
            );
            assert_eq!(
                get(&ini, "Unit", "RequiresMountsFor"),
                Some(data.as_str()),
                "{file}"
            );
        }
    }
}

#[test]
fn systemd_analyze_verifies_the_units() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    };
    assert!(out.status.success());
    // verify checks that ExecStart's binary exists: point the copies at the built one.
    let tmp = tempfile::tempdir().unwrap();
    let bin = secuml_bin();
    let mut args = Vec::new();
    for path in unit_files() {
        let text = read(&path).replace("/usr/local/bin/secuml", bin.to_str().unwrap());
        let copy = tmp.path().join(path.file_name().unwrap());
        std::fs::write(&copy, text).unwrap();
        args.push(copy.clone());
        if let Some(name) = copy.to_str().and_then(|c| c.strip_suffix("@.service")) {
            // An instance of the template, as `systemctl enable secuml-worker@1` makes.
            args.push(PathBuf::from(format!("{name}@1.service")));
        }
    }
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify (unknown keys are only warnings, so any output fails): {:?}\n{stderr}",
        out.status
    );
}

// ---------------------------------------------------------------------------------------
// Container image

#[derive(Deserialize)]
struct Manifest {
    package: Package,
    #[serde(default)]
    bin: Vec<Bin>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
}

#[derive(Deserialize)]
struct Bin {
    name: String,
}

/// Dockerfile instructions, continuations joined.
fn dockerfile() -> Vec<(String, String)> {
    let text = read(&deploy_dir().join("docker/Dockerfile"));
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(cont) = trimmed.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        let full = format!("{pending}{trimmed}");
        pending.clear();
        let (op, rest) = full.split_once(' ').unwrap_or((&full, ""));
        out.push((op.to_uppercase(), rest.trim().to_string()));
    }
    out
}

#[test]
fn dockerfile_builds_the_real_package_and_binary() {
    let manifest: Manifest =
        toml::from_str(&read(&repo_root().join("coordinator/Cargo.toml"))).unwrap();
    assert_eq!(manifest.package.name, "secuml-coordinator");
    let bins: Vec<&str> = manifest.bin.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(bins, ["secuml"], "coordinator/Cargo.toml [[bin]]");
    let bin = bins[0];

    let steps = dockerfile();
    let froms: Vec<&str> = steps
        .iter()
        .filter(|(op, _)| op == "FROM")
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(froms.len(), 2, "multi-stage: {froms:?}");
    let (builder, stage) = froms[0]
        .split_once(" AS ")
        .expect("FROM <image> AS <stage>");
    assert!(
        froms[1].starts_with("debian:bookworm-slim"),
        "runtime image {}",
        froms[1]
    );
    // The builder's Rust is at least the workspace's rust-version.
    let workspace: toml::Value = toml::from_str(&read(&repo_root().join("Cargo.toml"))).unwrap();
    let msrv = workspace["workspace"]["package"]["rust-version"]
        .as_str()
        .unwrap();
    let version = builder
        .strip_prefix("rust:")
        .and_then(|t| t.split('-').next())
        .unwrap_or_else(|| panic!("builder {builder}"));
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    assert!(
        parse(version) >= parse(msrv),
        "builder Rust {version} < rust-version {msrv}"
    );

    let build = steps
        .iter()
        .find(|(op, a)| op == "RUN" && a.contains("cargo build"))
        .map(|(_, a)| a.as_str())
        .expect("a RUN cargo build step");
    let words: Vec<&str> = build.split_whitespace().collect();
    let after = |flag: &str| words.iter().position(|w| *w == flag).map(|i| words[i + 1]);
    assert_eq!(
        after("-p").or(after("--package")),
        Some(manifest.package.name.as_str()),
        "{build}"
    );
    assert_eq!(after("--bin"), Some(bin), "{build}");
    assert!(
        words.contains(&"--release") && words.contains(&"--locked"),
        "{build}"
    );
    assert!(
        build.contains(&format!("target/release/{bin} /usr/local/bin/{bin}")),
        "{build}"
    );
    let copy = steps
        .iter()
        .find(|(op, a)| op == "COPY" && a.starts_with("--from="))
        .map(|(_, a)| a.as_str())
        .expect("COPY --from the builder");
    assert_eq!(
        copy,
        format!("--from={stage} /usr/local/bin/{bin} /usr/local/bin/{bin}"),
        "the runtime image takes the builder's binary"
    );
    let entry = steps
        .iter()
        .find(|(op, _)| op == "ENTRYPOINT")
        .expect("ENTRYPOINT");
    assert_eq!(entry.1, format!("[\"/usr/local/bin/{bin}\"]"));
    let user = steps
        .iter()
        .rev()
        .find(|(op, _)| op == "USER")
        .expect("USER");
    assert!(
        !user.1.starts_with("root") && !user.1.starts_with('0'),
        "non-root: {}",
        user.1
    );

    let ignore = read(&repo_root().join(".dockerignore"));
    for entry in ["target", ".git"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore keeps {entry} out"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Broker and store configurations

fn conf_entries(path: &Path, sep: char) -> Vec<(String, String)> {
    read(path)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once(sep)
                .unwrap_or_else(|| panic!("{}: {l}", rel(path)));
            (k.trim().to_string(), v.trim().trim_matches('"').to_string())
        })
        .collect()
}

#[test]
fn rabbitmq_conf_keeps_tasks_acknowledgeable_and_starts_on_3_10() {
    let entries: HashMap<String, String> =
        conf_entries(&deploy_dir().join("rabbitmq/rabbitmq.conf"), '=')
            .into_iter()
            .collect();
    let timeout: u64 = entries["consumer_timeout"].parse().unwrap();
    assert!(
        timeout >= 30 * 60 * 1000,
        "consumer_timeout {timeout} ms is under 3.10's default"
    );
    assert_eq!(
        entries["loopback_users.guest"], "true",
        "guest stays loopback-only"
    );
    assert!(entries.contains_key("vm_memory_high_watermark.relative"));
    assert!(entries.contains_key("disk_free_limit.absolute"));
    // RabbitMQ 3.10 refuses to start on a key it does not know.
    assert!(
        !entries.contains_key("default_queue_type"),
        "3.10 has no default_queue_type"
    );
}

fn redis_conf() -> Vec<(String, String)> {
    read(&deploy_dir().join("redis/redis.conf"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap_or((l, ""));
            (k.to_string(), v.trim().trim_matches('"').to_string())
        })
        .collect()
}

#[test]
fn redis_conf_persists_and_never_evicts() {
    let entries: HashMap<String, String> = redis_conf().into_iter().collect();
    assert_eq!(entries["appendonly"], "yes");
    assert_eq!(entries["appendfsync"], "everysec");
    assert_eq!(entries["maxmemory-policy"], "noeviction");
    assert!(entries.contains_key("requirepass"));
    assert!(entries.contains_key("bind"));
}

/// Starts the real `redis-server` on the file (bind, port and folder replaced), then reads
/// back the settings that matter: the file is valid for the installed Redis.
#[test]
fn redis_server_starts_on_the_conf() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: redis-server is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("redis-server")
        .arg(deploy_dir().join("redis/redis.conf"))
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .arg("--dir")
        .arg(tmp.path())
        .args([
            "--requirepass",
            "deploy-test",
            "--daemonize",
            "no",
            "--save",
            "",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut log = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut log)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut log)
                .unwrap();
            panic!("redis-server refused deploy/redis/redis.conf ({status}):\n{log}");
        }
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not listen in time"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut ask = |command: &str| -> Vec<String> {
        writer
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(n) = line.trim_end().strip_prefix('*') {
            let n: usize = n.parse().unwrap();
            (0..n * 2)
                .map(|_| {
                    let mut l = String::new();
                    reader.read_line(&mut l).unwrap();
                    l.trim_end().to_string()
                })
                .filter(|l| !l.starts_with('$'))
                .collect()
        } else {
            vec![line.trim_end().to_string()]
        }
    };
    assert_eq!(ask("AUTH deploy-test"), ["+OK"]);
    let mut settings = BTreeMap::new();
    for key in ["appendonly", "appendfsync", "maxmemory-policy", "maxmemory"] {
        let reply = ask(&format!("CONFIG GET {key}"));
        settings.insert(key, reply.get(1).cloned().unwrap_or_default());
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(settings["appendonly"], "yes");
    assert_eq!(settings["appendfsync"], "everysec");
    assert_eq!(settings["maxmemory-policy"], "noeviction");
    assert_ne!(settings["maxmemory"], "0", "{settings:?}");
}

// ---------------------------------------------------------------------------------------
// The command lines of deploy/ against the real binary

/// One `secuml …` command line found in deploy/: where, and its words after `secuml`.
#[derive(Debug)]
struct Invocation {
    source: String,
    words: Vec<String>,
}

/// The words after `secuml` up to the end of the shell command.
fn words_after(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        if matches!(word, "|" | "||" | "&&" | ";" | ">" | "2>" | "#" | "&") || word.starts_with('#')
        {
            break;
        }
        let word = word.trim_matches(|c| matches!(c, '[' | ']' | '`' | '"' | '\''));
        if !word.is_empty() {
            out.push(word.to_string());
        }
    }
    out
}

/// Every `secuml <subcommand>` in a text where `secuml` is the command word: first on its
/// line (or inline code span), after a path (`/usr/local/bin/secuml`), or after a shell
/// operator; not an argument such as the vhost in `rabbitmqctl add_vhost secuml`.
fn find_invocations(source: &str, text: &str, out: &mut Vec<Invocation>) {
    for (i, _) in text.match_indices("secuml ") {
        let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
        let mut before = &text[line_start..i];
        if before.ends_with('/') {
            // A path to the binary: what counts is what precedes the whole path.
            before = &before[..before.rfind(char::is_whitespace).map_or(0, |n| n + 1)];
        }
        let trimmed = before.trim_end();
        let is_command = trimmed.is_empty()
            || ["&&", "||", ";", "|", "$(", "(", "`", "$"]
                .iter()
                .any(|op| trimmed.ends_with(op));
        if !is_command {
            continue;
        }
        let after = &text[i + "secuml ".len()..];
        let line_end = after.find(['\n', '`']).unwrap_or(after.len());
        let words = words_after(&after[..line_end]);
        // `secuml <subcommand>` is prose about the command line, not a command.
        if words.first().is_some_and(|w| !w.starts_with('<')) {
            out.push(Invocation {
                source: source.to_string(),
                words,
            });
        }
    }
}

/// The code of a Markdown file: fenced blocks (continuations joined) and inline code spans.
fn markdown_code(text: &str) -> Vec<String> {
    let mut code = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            match block.take() {
                Some(b) => code.push(b.replace("\\\n", " ")),
                None => block = Some(String::new()),
            }
            continue;
        }
        if let Some(b) = block.as_mut() {
            b.push_str(line);
            b.push('\n');
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 {
                code.push(span.to_string());
            }
        }
    }
    code
}

fn deploy_invocations() -> Vec<Invocation> {
    let mut out = Vec::new();
    for path in unit_files() {
        let ini = parse_unit(&path);
        for (key, value) in &ini["Service"] {
            if key.starts_with("Exec") {
                find_invocations(&rel(&path), value, &mut out);
            }
        }
    }
    let compose = compose();
    for (name, svc) in compose["services"].as_mapping().unwrap() {
        if str_at(svc, &["image"]).is_some_and(|i| i.starts_with("secuml")) {
            out.push(Invocation {
                source: format!("deploy/compose.yaml service {}", name.as_str().unwrap()),
                words: strings(svc.get("command")),
            });
        }
    }
    for (path, doc) in k8s_docs() {
        let Some(spec) = at(&doc, &["spec", "template", "spec"]) else {
            continue;
        };
        for c in spec.get("containers").and_then(Value::as_sequence).unwrap() {
            if str_at(c, &["image"]).is_some_and(|i| i.starts_with("secuml")) {
                let mut words = strings(c.get("command"));
                if words.first().is_some_and(|w| w.ends_with("secuml")) {
                    words.remove(0);
                }
                words.extend(strings(c.get("args")));
                out.push(Invocation {
                    source: rel(&path),
                    words,
                });
            }
        }
    }
    for (i, code) in markdown_code(&read(&deploy_dir().join("README.md")))
        .iter()
        .enumerate()
    {
        find_invocations(&format!("deploy/README.md code #{i}"), code, &mut out);
    }
    out
}

/// `secuml <words> --help`, cached; `None` when it fails.
fn help(cache: &mut HashMap<Vec<String>, Option<String>>, words: &[String]) -> Option<String> {
    cache
        .entry(words.to_vec())
        .or_insert_with(|| {
            let out = Command::new(secuml_bin())
                .args(words)
                .arg("--help")
                .output()
                .unwrap();
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        })
        .clone()
}

fn mentions_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        !help[i + flag.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

/// Every `secuml <subcommand> ... --flag` of deploy/ (units, compose, k8s, README) is
/// accepted by the binary: the subcommand's help (or the help of a nested subcommand it
/// names, e.g. `submit diadem`) lists the flag.
#[test]
fn every_secuml_flag_in_deploy_is_accepted_by_the_binary() {
    let invocations = deploy_invocations();
    let mut cache = HashMap::new();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for inv in &invocations {
        let sub = &inv.words[0];
        assert!(
            !sub.starts_with('-'),
            "{}: put flags after the subcommand: {:?}",
            inv.source,
            inv.words
        );
        let positional: Vec<String> = inv
            .words
            .iter()
            .take_while(|w| !w.starts_with('-'))
            .cloned()
            .collect();
        let flags: Vec<&str> = inv
            .words
            .iter()
            .filter(|w| w.starts_with("--"))
            .map(|w| w.split('=').next().unwrap())
            .collect();
        expected
            .entry(sub.clone())
            .or_default()
            .extend(flags.iter().map(|f| f.to_string()));
        let helps: Vec<String> = (1..=positional.len())
            .filter_map(|n| help(&mut cache, &positional[..n]))
            .collect();
        if help(&mut cache, &positional[..1]).is_none() {
            problems.push(format!("{}: `secuml {sub} --help` fails", inv.source));
            continue;
        }
        for flag in flags {
            if !helps.iter().any(|h| mentions_flag(h, flag)) {
                problems.push(format!(
                    "{}: `secuml {}` has no {flag}",
                    inv.source,
                    positional.join(" ")
                ));
            }
        }
    }
    for (sub, flags) in &expected {
        eprintln!("expects `secuml {sub}` with {flags:?}");
    }
    for sub in ["coordinator", "worker", "dashboard", "submit"] {
        assert!(
            expected.contains_key(sub),
            "deploy/ never runs `secuml {sub}`"
        );
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The units, compose and k8s files pass the broker and Redis URLs in the environment only
/// (a URL holds a password, and `ps` shows command lines): the subcommands must read them.
#[test]
fn services_read_their_urls_from_the_environment() {
    let mut cache = HashMap::new();
    let mut problems = Vec::new();
    for (sub, vars) in [
        ("coordinator", &["SECUML_AMQP_URL", "SECUML_REDIS_URL"][..]),
        ("worker", &["SECUML_AMQP_URL", "SECUML_REDIS_URL"]),
        ("dashboard", &["SECUML_REDIS_URL"]),
        ("submit", &["SECUML_AMQP_URL", "SECUML_REDIS_URL"]),
    ] {
        match help(&mut cache, &[sub.to_string()]) {
            None => problems.push(format!("`secuml {sub} --help` fails")),
            Some(h) => problems.extend(
                vars.iter()
                    .filter(|v| !h.contains(*v))
                    .map(|v| format!("`secuml {sub} --help` does not mention {v}")),
            ),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `SECUML_*` variable that deploy/ sets is one the binary reads, or one that deploy/
/// itself defines and uses (compose's passwords, the worker unit's slots).
#[test]
fn environment_variables_are_known() {
    let read_by_binary = [
        "SECUML_AMQP_URL",
        "SECUML_REDIS_URL",
        "SECUML_DATA_DIR",
        "SECUML_INPUT_DIR",
        "SECUML_DATA_ROOT",
        "SECUML_CACHE_DIR",
        "SECUML_CACHE_MAX_BYTES",
        "SECUML_HOST",
        "SECUML_PORT",
        "SECUML_CONFIG",
    ];
    let deploy_only = [
        "SECUML_WORKER_SLOTS",
        "SECUML_RABBITMQ_PASSWORD",
        "SECUML_REDIS_PASSWORD",
    ];
    for path in files_under(&deploy_dir()) {
        let text = read(&path);
        for (i, _) in text.match_indices("SECUML_") {
            let name: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            assert!(
                name == "SECUML_"
                    || read_by_binary.contains(&name.as_str())
                    || deploy_only.contains(&name.as_str()),
                "{}: unknown variable {name}",
                rel(&path)
            );
        }
    }
}

/// deploy/README.md explains every file of deploy/ (and the root's .dockerignore).
#[test]
fn readme_names_every_deploy_file() {
    let readme = read(&deploy_dir().join("README.md"));
    let mut missing = Vec::new();
    for path in files_under(&deploy_dir()) {
        let name = path
            .strip_prefix(deploy_dir())
            .unwrap()
            .display()
            .to_string();
        if name != "README.md" && !readme.contains(&name) {
            missing.push(name);
        }
    }
    if !readme.contains(".dockerignore") {
        missing.push(".dockerignore".into());
    }
    assert!(
        missing.is_empty(),
        "deploy/README.md does not explain {missing:?}"
    );
}
