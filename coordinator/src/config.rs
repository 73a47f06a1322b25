//! Configuration: defaults, then the config file, then `SECUML_*` variables, then flags.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// Names of every environment variable the command line reads.
pub mod env_vars {
    /// Path of the config file.
    pub const CONFIG: &str = "SECUML_CONFIG";
    /// Folder holding `<project>/<dataset>/` in SecuML's layout.
    pub const INPUT_DIR: &str = "SECUML_INPUT_DIR";
    /// Folder of ingested datasets and of the store.
    pub const DATA_DIR: &str = "SECUML_DATA_DIR";
    /// Dashboard host.
    pub const HOST: &str = "SECUML_HOST";
    /// Dashboard port.
    pub const PORT: &str = "SECUML_PORT";
    /// RabbitMQ URL: switches commands to the distributed services.
    pub const AMQP_URL: &str = "SECUML_AMQP_URL";
    /// Redis URL: switches commands to the distributed services.
    pub const REDIS_URL: &str = "SECUML_REDIS_URL";
    /// Where ingested datasets live: a folder, or an object-store URL.
    pub const DATA_ROOT: &str = "SECUML_DATA_ROOT";
    /// Local cache of the files read from an object-store data root.
    pub const CACHE_DIR: &str = "SECUML_CACHE_DIR";
    /// Bound of that cache, in bytes (`10GiB`, `500MiB` or a number).
    pub const CACHE_MAX_BYTES: &str = "SECUML_CACHE_MAX_BYTES";
}

/// Where things live on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Folder holding `<project>/<dataset>/` in SecuML's layout.
    pub input_dir: PathBuf,
    /// Folder of ingested datasets (`datasets/`) and of the store (`store/`).
    pub data_dir: PathBuf,
}

impl Paths {
    /// The file-backed store.
    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// Ingested datasets: `<datasets_dir>/<project>/<dataset>/`.
    pub fn datasets_dir(&self) -> PathBuf {
        self.data_dir.join("datasets")
    }
}

/// Every setting of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Folders.
    pub paths: Paths,
    /// Dashboard host.
    pub host: IpAddr,
    /// Dashboard port.
    pub port: u16,
    /// RabbitMQ URL of the distributed mode.
    pub amqp_url: Option<String>,
    /// Redis URL of the distributed mode.
    pub redis_url: Option<String>,
    /// Where ingested datasets live.
    pub data: DataSettings,
}

/// Where ingested datasets live, and the cache of an object-store data root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSettings {
    /// The data root: a folder or an object-store URL (`s3://bucket/prefix`, `gs://`, `az://`,
    /// `http(s)://`, `file:///path`) laid out as the data folder; `None` is the data folder.
    pub root: Option<String>,
    /// The local cache of files read from an object-store data root.
    pub cache_dir: PathBuf,
    /// The cache's bound, in bytes.
    pub cache_max_bytes: u64,
}

impl Settings {
    /// Whether commands talk to the distributed services (a RabbitMQ or Redis URL is set).
    pub fn distributed(&self) -> bool {
        self.amqp_url.is_some() || self.redis_url.is_some()
    }

    /// URL of the dashboard page of a job.
    pub fn job_url(&self, job_id: &str) -> String {
        format!("{}/jobs/{job_id}", self.dashboard_url())
    }

    /// URL of the dashboard page of an experiment.
    pub fn experiment_url(&self, experiment_id: u64) -> String {
        format!("{}/SecuML/{experiment_id}/", self.dashboard_url())
    }

    /// Base URL of the dashboard.
    pub fn dashboard_url(&self) -> String {
        match self.host {
            IpAddr::V6(h) => format!("http://[{h}]:{}", self.port),
            IpAddr::V4(h) => format!("http://{h}:{}", self.port),
        }
    }
}

/// The config file (TOML).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Must be 1.
    pub version: u32,
    /// Input folder (SecuML's `input_data_dir`).
    pub input_data_dir: Option<PathBuf>,
    /// Data folder (ingested datasets and store).
    pub data_dir: Option<PathBuf>,
    /// Dashboard host.
    pub host: Option<IpAddr>,
    /// Dashboard port.
    pub port: Option<u16>,
    /// RabbitMQ URL (distributed mode).
    pub amqp_url: Option<String>,
    /// Redis URL (distributed mode).
    pub redis_url: Option<String>,
    /// Data root: a folder or an object-store URL.
    pub data_root: Option<String>,
    /// Cache folder of an object-store data root.
    pub cache_dir: Option<PathBuf>,
    /// Bound of that cache: a number of bytes, or a string such as `"10GiB"`.
    pub cache_max_bytes: Option<ByteSize>,
}

/// A number of bytes in a config file: an integer or a string with a unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ByteSize {
    /// Bytes.
    Bytes(u64),
    /// `10GiB`, `500MiB`, `64KiB`, `1TiB`, or digits.
    Text(String),
}

/// Parses a number of bytes: digits, optionally followed by `KiB`, `MiB`, `GiB` or `TiB`.
pub fn parse_bytes(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let shift = match text[digits.len()..].trim_start() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        unit => bail!("`{text}`: unknown unit `{unit}`, expected KiB, MiB, GiB or TiB"),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .with_context(|| format!("`{text}` is not a number of bytes (e.g. 10GiB)"))?;
    n.checked_mul(1 << shift)
        .with_context(|| format!("`{text}` is too large"))
}

/// Values given on the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--input-dir`.
    pub input_dir: Option<PathBuf>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--host`.
    pub host: Option<IpAddr>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--amqp`.
    pub amqp_url: Option<String>,
    /// `--redis`.
    pub redis_url: Option<String>,
    /// `--data-root`.
    pub data_root: Option<String>,
    /// `--cache-dir`.
    pub cache_dir: Option<PathBuf>,
    /// `--cache-max-bytes`.
    pub cache_max_bytes: Option<String>,
}

/// Default data folder: `<user data dir>/secuml` (e.g. `~/.local/share/secuml`),
/// or `./secuml-data` when the system has no user data directory.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .map(|d| d.join("secuml"))
        .unwrap_or_else(|| PathBuf::from("secuml-data"))
}

fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    let config: FileConfig =
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))?;
    if config.version != 1 {
        bail!(
            "config file {}: `version` is {}, expected 1",
            path.display(),
            config.version
        );
    }
    Ok(config)
}

/// Resolves the settings; `env` is the process environment (a map, so tests never touch it).
pub fn load(overrides: &Overrides, env: &HashMap<String, String>) -> anyhow::Result<Settings> {
    let config_path = overrides
        .config
        .clone()
        .or_else(|| env.get(env_vars::CONFIG).map(PathBuf::from));
    let file = match config_path {
        Some(path) => read_file_config(&path)?,
        None => FileConfig::default(),
    };
    let env_path = |name: &str| env.get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let input_dir = overrides
        .input_dir
        .clone()
        .or_else(|| env_path(env_vars::INPUT_DIR))
        .or(file.input_data_dir)
        .unwrap_or_else(|| PathBuf::from("."));
    let data_dir = overrides
        .data_dir
        .clone()
        .or_else(|| env_path(env_vars::DATA_DIR))
        .or(file.data_dir)
        .unwrap_or_else(default_data_dir);
    let host = match (overrides.host, env.get(env_vars::HOST)) {
        (Some(h), _) => h,
        (None, Some(h)) => h
            .parse()
            .with_context(|| format!("{}: `{h}` is not an IP address", env_vars::HOST))?,
        (None, None) => file.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    };
    let port = match (overrides.port, env.get(env_vars::PORT)) {
        (Some(p), _) => p,
        (None, Some(p)) => p
            .parse()
            .with_context(|| format!("{}: `{p}` is not a port number", env_vars::PORT))?,
        (None, None) => file.port.unwrap_or(secuml_dashboard::DEFAULT_ADDR.port()),
    };
    let env_str = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    let amqp_url = overrides
        .amqp_url
        .clone()
        .or_else(|| env_str(env_vars::AMQP_URL))
        .or(file.amqp_url);
    let redis_url = overrides
        .redis_url
        .clone()
        .or_else(|| env_str(env_vars::REDIS_URL))
        .or(file.redis_url);
    let data_root = overrides
        .data_root
        .clone()
        .or_else(|| env_str(env_vars::DATA_ROOT))
        .or(file.data_root);
    let cache_dir = overrides
        .cache_dir
        .clone()
        .or_else(|| env_path(env_vars::CACHE_DIR))
        .or(file.cache_dir)
        .unwrap_or_else(|| data_dir.join("cache"));
    let cache_max_bytes = match (
        &overrides.cache_max_bytes,
        env_str(env_vars::CACHE_MAX_BYTES),
        file.cache_max_bytes,
    ) {
        (Some(text), _, _) => parse_bytes(text).context("invalid parameter `cache-max-bytes`")?,
        (None, Some(text), _) => parse_bytes(&text).context(env_vars::CACHE_MAX_BYTES)?,
        (None, None, Some(ByteSize::Bytes(n))) => n,
        (None, None, Some(ByteSize::Text(text))) => {
            parse_bytes(&text).context("config file: `cache_max_bytes`")?
        }
        (None, None, None) => secuml_runtime::data_root::DEFAULT_CACHE_MAX_BYTES,
    };
    Ok(Settings {
        paths: Paths {
            input_dir,
            data_dir,
        },
        host,
        port,
        amqp_url,
        redis_url,
        data: DataSettings {
            root: data_root,
            cache_dir,
            cache_max_bytes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn precedence_is_defaults_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secuml.toml");
        std::fs::write(&file, "version = 1\ninput_data_dir = \"/from/file\"\ndata_dir = \"/data/file\"\nport = 9000\n")
            .unwrap();
        let overrides = Overrides {
            config: Some(file.clone()),
            ..Default::default()
        };
        let s = load(&overrides, &env(&[])).unwrap();
        assert_eq!(s.paths.input_dir, PathBuf::from("/from/file"));
        assert_eq!(s.port, 9000);
        let s = load(&overrides, &env(&[(env_vars::INPUT_DIR, "/from/env")])).unwrap();
        assert_eq!(s.paths.input_dir, PathBuf::from("/from/env"));
        assert_eq!(s.paths.data_dir, PathBuf::from("/data/file"));
        let o = Overrides {
            input_dir: Some("/from/flag".into()),
            ..overrides
        };
        let s = load(&o, &env(&[(env_vars::INPUT_DIR, "/from/env")])).unwrap();
        assert_eq!(s.paths.input_dir, PathBuf::from("/from/flag"));
    }

    #[test]
    fn bad_config_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "version = 1\ninput_dir = \"x\"\n").unwrap();
        let o = Overrides {
            config: Some(file),
            ..Default::default()
        };
        let err = format!("{:#}", load(&o, &env(&[])).unwrap_err());
        assert!(
            err.contains("bad.toml") && err.contains("input_dir"),
            "{err}"
        );
        let file = dir.path().join("v2.toml");
        std::fs::write(&file, "version = 2\n").unwrap();
        let o = Overrides {
            config: Some(file),
            ..Default::default()
        };
        assert!(format!("{:#}", load(&o, &env(&[])).unwrap_err()).contains("expected 1"));
    }

    #[test]
    fn defaults_bind_the_dashboard_to_loopback() {
        let s = load(&Overrides::default(), &env(&[])).unwrap();
        assert_eq!(s.host, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(s.experiment_url(3), "http://127.0.0.1:8080/SecuML/3/");
        assert!(!s.distributed());
    }

    #[test]
    fn service_urls_come_from_file_env_or_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secuml.toml");
        std::fs::write(&file, "version = 1\nredis_url = \"redis://file\"\n").unwrap();
        let o = Overrides {
            config: Some(file),
            ..Default::default()
        };
        let s = load(&o, &env(&[(env_vars::AMQP_URL, "amqp://env")])).unwrap();
        assert_eq!(s.redis_url.as_deref(), Some("redis://file"));
        assert_eq!(s.amqp_url.as_deref(), Some("amqp://env"));
        assert!(s.distributed());
        let o = Overrides {
            redis_url: Some("redis://flag".into()),
            ..o
        };
        assert_eq!(
            load(&o, &env(&[])).unwrap().redis_url.as_deref(),
            Some("redis://flag")
        );
    }

    #[test]
    fn the_data_root_and_its_cache_come_from_file_env_or_flags() {
        let s = load(&Overrides::default(), &env(&[])).unwrap();
        assert_eq!(s.data.root, None);
        assert_eq!(s.data.cache_dir, s.paths.data_dir.join("cache"));
        assert_eq!(s.data.cache_max_bytes, 10 << 30);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secuml.toml");
        std::fs::write(
            &file,
            "version = 1\ndata_dir = \"/d\"\ndata_root = \"s3://file/x\"\ncache_max_bytes = \"2GiB\"\n",
        )
        .unwrap();
        let o = Overrides {
            config: Some(file.clone()),
            ..Default::default()
        };
        let s = load(&o, &env(&[])).unwrap();
        assert_eq!(s.data.root.as_deref(), Some("s3://file/x"));
        assert_eq!(s.data.cache_dir, PathBuf::from("/d/cache"));
        assert_eq!(s.data.cache_max_bytes, 2 << 30);
        let vars = env(&[
            (env_vars::DATA_ROOT, "gs://env/y"),
            (env_vars::CACHE_DIR, "/c"),
            (env_vars::CACHE_MAX_BYTES, "1000"),
        ]);
        let s = load(&o, &vars).unwrap();
        assert_eq!(s.data.root.as_deref(), Some("gs://env/y"));
        assert_eq!(s.data.cache_dir, PathBuf::from("/c"));
        assert_eq!(s.data.cache_max_bytes, 1000);
        let flags = Overrides {
            data_root: Some("file:///flag".into()),
            cache_max_bytes: Some("3 MiB".into()),
            ..o.clone()
        };
        let s = load(&flags, &vars).unwrap();
        assert_eq!(s.data.root.as_deref(), Some("file:///flag"));
        assert_eq!(s.data.cache_max_bytes, 3 << 20);
        std::fs::write(&file, "version = 1\ncache_max_bytes = 5\n").unwrap();
        assert_eq!(load(&o, &env(&[])).unwrap().data.cache_max_bytes, 5);
        let bad = Overrides {
            cache_max_bytes: Some("10GB".into()),
            ..o
        };
        let err = format!("{:#}", load(&bad, &env(&[])).unwrap_err());
        assert!(
            err.contains("cache-max-bytes") && err.contains("GiB"),
            "{err}"
        );
    }
}
