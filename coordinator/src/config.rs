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
    Ok(Settings {
        paths: Paths {
            input_dir,
            data_dir,
        },
        host,
        port,
        amqp_url,
        redis_url,
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
}
