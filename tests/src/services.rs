//! Support for scenarios against the real RabbitMQ and Redis: an isolated namespace per test
//! (a RabbitMQ virtual host and a Redis database of its own), and the `secuml` services run
//! as real processes, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secuml_proto::{keys, Event, EventKind, JobRecord};
use secuml_runtime::{AmqpQueue, RedisStore, Store, TaskQueue};

use crate::{input_dir, secuml_bin};

/// RabbitMQ's address for tests.
pub const AMQP_HOST: &str = "127.0.0.1:5672";
/// Redis's address for tests.
pub const REDIS_HOST: &str = "127.0.0.1:6379";

fn rabbitmqctl(args: &[&str]) -> Output {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl runs (RabbitMQ is installed)");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A namespace of its own on the shared servers, and a data folder; removed when dropped.
pub struct Namespace {
    /// The RabbitMQ virtual host.
    pub vhost: String,
    /// `amqp://` URL of the virtual host.
    pub amqp_url: String,
    /// `redis://` URL of the database.
    pub redis_url: String,
    /// The data folder shared by the coordinator and the workers.
    pub data_dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Namespace {
    /// A fresh namespace: virtual host `secuml-test-<name>`, Redis database `db` (1..=15,
    /// one per test of a binary), emptied first.
    pub fn new(name: &str, db: u32) -> Namespace {
        assert!(
            (1..=15).contains(&db),
            "Redis databases 1..=15 are for tests"
        );
        let vhost = format!("secuml-test-{name}");
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &vhost])
            .output();
        rabbitmqctl(&["add_vhost", &vhost]);
        rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"]);
        let flushed = Command::new("redis-cli")
            .args(["-n", &db.to_string(), "flushdb"])
            .output()
            .expect("redis-cli runs");
        assert!(flushed.status.success(), "redis-cli flushdb");
        let tmp = tempfile::tempdir().expect("temporary folder");
        Namespace {
            amqp_url: format!("amqp://guest:guest@{AMQP_HOST}/{vhost}"),
            redis_url: format!("redis://{REDIS_HOST}/{db}"),
            vhost,
            data_dir: tmp.path().join("data"),
            _tmp: tmp,
        }
    }

    /// The store, as the services see it.
    pub async fn store(&self) -> Arc<dyn Store> {
        Arc::new(RedisStore::connect(&self.redis_url).await.expect("Redis"))
    }

    /// The queue, as the services see it.
    pub async fn queue(&self) -> Arc<dyn TaskQueue> {
        Arc::new(AmqpQueue::connect(&self.amqp_url).await.expect("RabbitMQ"))
    }

    fn command(&self, args: &[&str]) -> Command {
        self.command_in(&self.data_dir, args)
    }

    /// A `secuml` command on the namespace's services, with `data_dir` as its data folder.
    pub fn command_in(&self, data_dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(secuml_bin());
        cmd.args(["--amqp", &self.amqp_url, "--redis", &self.redis_url])
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("SECUML_CONFIG");
        cmd
    }

    /// Starts `secuml coordinator` (lease TTL 2 s, so a killed one is replaced quickly).
    pub fn coordinator(&self, id: &str) -> Service {
        let mut cmd = self.command(&["coordinator", "--id", id, "--lease-ttl", "2"]);
        cmd.arg("--input-dir").arg(input_dir());
        Service::spawn(id, cmd, &self.data_dir)
    }

    /// Starts `secuml worker` with `slots` slots and a 3 s heartbeat.
    pub fn worker(&self, id: &str, slots: usize) -> Service {
        let cmd = self.command(&[
            "worker",
            "--id",
            id,
            "--slots",
            &slots.to_string(),
            "--heartbeat-ttl",
            "3",
        ]);
        Service::spawn(id, cmd, &self.data_dir)
    }

    /// Runs a client command (`submit`, `status`, ...) to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("secuml runs")
    }

    /// Closes every connection of the namespace from the server side.
    pub fn cut_connections(&self) -> usize {
        let out = rabbitmqctl(&[
            "list_connections",
            "pid",
            "vhost",
            "--no-table-headers",
            "-q",
        ]);
        let mut closed = 0;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut fields = line.split_whitespace();
            let (Some(pid), Some(vhost)) = (fields.next(), fields.next()) else {
                continue;
            };
            if vhost == self.vhost {
                let _ = Command::new("rabbitmqctl")
                    .args(["close_connection", pid, "closed by a test"])
                    .output();
                closed += 1;
            }
        }
        closed
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.vhost])
            .output();
    }
}

/// A `secuml` service process; SIGKILLed when dropped. Its stderr goes to a log file.
pub struct Service {
    /// Its id.
    pub id: String,
    child: Option<Child>,
    /// Its log.
    pub log: PathBuf,
}

impl Service {
    /// Starts `cmd` as the service `id`, its log in `dir`.
    pub fn spawn(id: &str, mut cmd: Command, dir: &Path) -> Service {
        std::fs::create_dir_all(dir).expect("data folder");
        let log = dir.join(format!("{id}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("the service starts");
        Service {
            id: id.to_string(),
            child: Some(child),
            log,
        }
    }

    /// SIGKILL, as a machine that dies.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit; returns whether it exited cleanly within `timeout`.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every event of a job so far.
pub async fn events(store: &dyn Store, job_id: &str) -> Vec<EventKind> {
    store
        .read_stream(&keys::job_events(job_id), 0, 100_000)
        .await
        .expect("events")
        .iter()
        .filter_map(|e| serde_json::from_slice::<Event>(&e.value).ok())
        .map(|e| e.kind)
        .collect()
}

/// Waits until `check` holds (polling every 50 ms), failing after `timeout`.
pub async fn until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The job record.
pub async fn job(store: &dyn Store, job_id: &str) -> Option<JobRecord> {
    secuml_coordinator::jobs::load_job(store, job_id)
        .await
        .expect("job record readable")
}
