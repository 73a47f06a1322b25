//! Overhead of the distributed task path: a stage of `TaskKind::Noop` tasks driven by a
//! `JobDriver` through the real RabbitMQ and Redis, run by an in-process worker.
//!
//! ```text
//! cargo build --release -p secuml-coordinator --example overhead
//! target/release/examples/overhead --amqp amqp://guest:guest@127.0.0.1:5672 \
//!     --redis redis://127.0.0.1:6379 --tasks 10000 --slots 2 --result-bytes 64
//! ```
//!
//! Each run gets a fresh virtual host (`rabbitmqctl add_vhost`) and an emptied Redis
//! database, both removed/emptied afterwards. Prints, for the main run: wall time, tasks/s
//! and the slot-time each task costs (wall x slots / tasks), for each `--prefetch` per
//! slot (default 1 and 2); then a 1-slot run of
//! `--latency-tasks` tasks in one stage (slot-time per task on one slot), and
//! `--single-stages` one-task stages (median end-to-end latency: publish, run, outcome,
//! record). `--primitives N` also times N sequential raw publishes, store writes and
//! one-at-a-time consumes.

use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use secuml_coordinator::driver::JobDriver;
use secuml_proto::TaskKind;
use secuml_runtime::{AmqpQueue, DataRoot, RedisStore, Store, TaskQueue};
use secuml_worker::{run_worker, DataCache, TaskContext, WorkerConfig};
use tokio::sync::watch;

#[derive(Parser)]
struct Args {
    /// Broker URL without the virtual host.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672")]
    amqp: String,
    /// Redis URL without the database.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Tasks of the main run.
    #[arg(long, default_value_t = 10_000)]
    tasks: usize,
    /// Worker slots of the main run.
    #[arg(long, default_value_t = 2)]
    slots: usize,
    /// Bytes of each task's result.
    #[arg(long, default_value_t = 64)]
    result_bytes: u32,
    /// Tasks of the 1-slot run (0 skips it).
    #[arg(long, default_value_t = 1_000)]
    latency_tasks: usize,
    /// One-task stages run one after the other (0 skips them).
    #[arg(long, default_value_t = 200)]
    single_stages: usize,
    /// Prefetch per worker slot of the main and one-slot runs; each value given runs both.
    #[arg(long, value_delimiter = ',', default_values_t = [1u16, 2])]
    prefetch: Vec<u16>,
    /// Raw sequential publishes and store writes to time (0 skips them).
    #[arg(long, default_value_t = 0)]
    primitives: usize,
    /// Redis database used (emptied before and after).
    #[arg(long, default_value_t = 13)]
    db: u32,
    /// Virtual host used (created, then deleted).
    #[arg(long, default_value = "secuml-bench-overhead")]
    vhost: String,
}

fn checked(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// An isolated namespace: a fresh virtual host and an emptied database.
struct Namespace {
    vhost: String,
    db: u32,
    amqp_url: String,
    redis_url: String,
}

impl Namespace {
    fn new(args: &Args) -> anyhow::Result<Self> {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &args.vhost])
            .output();
        checked(Command::new("rabbitmqctl").args(["add_vhost", &args.vhost]))?;
        checked(Command::new("rabbitmqctl").args([
            "set_permissions",
            "-p",
            &args.vhost,
            "guest",
            ".*",
            ".*",
            ".*",
        ]))?;
        checked(Command::new("redis-cli").args(["-n", &args.db.to_string(), "flushdb"]))?;
        Ok(Self {
            vhost: args.vhost.clone(),
            db: args.db,
            amqp_url: format!("{}/{}", args.amqp.trim_end_matches('/'), args.vhost),
            redis_url: format!("{}/{}", args.redis.trim_end_matches('/'), args.db),
        })
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.vhost])
            .output();
        let _ = Command::new("redis-cli")
            .args(["-n", &self.db.to_string(), "flushdb"])
            .output();
    }
}

struct Services {
    store: Arc<dyn Store>,
    queue: Arc<dyn TaskQueue>,
    stop: watch::Sender<bool>,
    worker: tokio::task::JoinHandle<anyhow::Result<()>>,
    _data: tempfile::TempDir,
}

async fn start(ns: &Namespace, slots: usize, prefetch: u16) -> anyhow::Result<Services> {
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(&ns.redis_url).await?);
    let queue: Arc<dyn TaskQueue> = Arc::new(AmqpQueue::connect(&ns.amqp_url).await?);
    let data = tempfile::tempdir()?;
    let ctx = TaskContext {
        cache: Arc::new(DataCache::new(DataRoot::local(data.path()), 1)),
        store: store.clone(),
    };
    let (stop, shutdown) = watch::channel(false);
    let worker = tokio::spawn(run_worker(
        queue.clone(),
        ctx,
        WorkerConfig {
            prefetch,
            ..WorkerConfig::new(format!("bench-worker-{slots}"), slots)
        },
        shutdown,
    ));
    Ok(Services {
        store,
        queue,
        stop,
        worker,
        _data: data,
    })
}

impl Services {
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.worker.await??;
        self.queue.close().await?;
        Ok(())
    }
}

fn noop_tasks(n: usize, result_bytes: u32) -> Vec<(String, TaskKind)> {
    (0..n)
        .map(|i| (format!("noop-{i:06}"), TaskKind::Noop { result_bytes }))
        .collect()
}

/// Runs one stage of `tasks` no-op tasks on `slots` slots; returns its wall time.
async fn stage_run(
    args: &Args,
    job_id: &str,
    tasks: usize,
    slots: usize,
    prefetch: u16,
) -> anyhow::Result<Duration> {
    let ns = Namespace::new(args)?;
    let services = start(&ns, slots, prefetch).await?;
    let mut driver = JobDriver::new(job_id, services.store.clone(), services.queue.clone()).await?;
    let started = Instant::now();
    let seconds = driver
        .run_stage(noop_tasks(tasks, args.result_bytes))
        .await?;
    let wall = started.elapsed();
    if seconds.len() != tasks {
        bail!("{} of {tasks} tasks reported", seconds.len());
    }
    let results = driver.results().await?;
    if results.len() != tasks {
        bail!("{} of {tasks} results stored", results.len());
    }
    drop(driver);
    services.stop().await?;
    Ok(wall)
}

/// `stages` one-task stages in a row; returns each stage's wall time.
async fn single_stages(args: &Args, stages: usize) -> anyhow::Result<Vec<Duration>> {
    let ns = Namespace::new(args)?;
    let services = start(&ns, 1, 1).await?;
    let mut driver =
        JobDriver::new("latency", services.store.clone(), services.queue.clone()).await?;
    let mut walls = Vec::with_capacity(stages);
    for i in 0..stages {
        let started = Instant::now();
        driver
            .run_stage(vec![(
                format!("single-{i:06}"),
                TaskKind::Noop {
                    result_bytes: args.result_bytes,
                },
            )])
            .await?;
        walls.push(started.elapsed());
    }
    drop(driver);
    services.stop().await?;
    Ok(walls)
}

/// Mean time of `n` sequential raw operations: publish with confirm, hset, append.
async fn primitives(args: &Args, n: usize) -> anyhow::Result<[(String, Duration); 5]> {
    let ns = Namespace::new(args)?;
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(&ns.redis_url).await?);
    let queue: Arc<dyn TaskQueue> = Arc::new(AmqpQueue::connect(&ns.amqp_url).await?);
    queue.declare("bench").await?;
    let payload = vec![b'x'; 300];
    let t = Instant::now();
    for _ in 0..n {
        queue.publish("bench", &payload).await?;
    }
    let publish = t.elapsed() / n as u32;
    let t = Instant::now();
    let concurrent: Vec<_> = (0..n).map(|_| queue.publish("bench", &payload)).collect();
    for r in futures::future::join_all(concurrent).await {
        r?;
    }
    let publish_concurrent = t.elapsed() / n as u32;
    let t = Instant::now();
    for i in 0..n {
        store.hset("bench:h", &i.to_string(), &payload).await?;
    }
    let hset = t.elapsed() / n as u32;
    let t = Instant::now();
    for _ in 0..n {
        store.append("bench:s", &payload).await?;
    }
    let append = t.elapsed() / n as u32;
    // The 2n messages published above, taken one at a time as a one-slot worker does.
    let mut consumer = queue.consume("bench", 1).await?;
    let t = Instant::now();
    for _ in 0..2 * n {
        let delivery = consumer.next().await?.context("the bench queue closed")?;
        delivery.ack().await?;
    }
    let consume = t.elapsed() / (2 * n) as u32;
    drop(consumer);
    queue.close().await?;
    Ok([
        ("publish (confirmed, one at a time)".into(), publish),
        (
            "publish (confirmed, all at once)".into(),
            publish_concurrent,
        ),
        ("store hset".into(), hset),
        ("store append (stream)".into(), append),
        ("consume + ack (prefetch 1)".into(), consume),
    ])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut out = std::io::stdout().lock();
    if args.primitives > 0 {
        for (what, mean) in primitives(&args, args.primitives).await? {
            writeln!(out, "primitive  {what:<38} {:8.3} ms", ms(mean))?;
        }
    }

    for &prefetch in &args.prefetch {
        let wall = stage_run(&args, "overhead", args.tasks, args.slots, prefetch).await?;
        let secs = wall.as_secs_f64();
        writeln!(
            out,
            "main       tasks {} slots {} prefetch {prefetch} result_bytes {}: wall {:.3} s, {:.0} tasks/s, slot-time per task {:.3} ms",
            args.tasks,
            args.slots,
            args.result_bytes,
            secs,
            args.tasks as f64 / secs,
            secs * 1e3 * args.slots as f64 / args.tasks as f64
        )?;
        if args.latency_tasks > 0 {
            let wall = stage_run(&args, "one-slot", args.latency_tasks, 1, prefetch).await?;
            let secs = wall.as_secs_f64();
            writeln!(
                out,
                "one-slot   tasks {} slots 1 prefetch {prefetch}: wall {:.3} s, {:.0} tasks/s, per task {:.3} ms",
                args.latency_tasks,
                secs,
                args.latency_tasks as f64 / secs,
                secs * 1e3 / args.latency_tasks as f64
            )?;
        }
    }

    if args.single_stages > 0 {
        let mut walls = single_stages(&args, args.single_stages).await?;
        walls.sort();
        let pick = |q: f64| ms(walls[((walls.len() - 1) as f64 * q).round() as usize]);
        writeln!(
            out,
            "latency    {} one-task stages, 1 slot: median {:.3} ms, p10 {:.3} ms, p90 {:.3} ms",
            walls.len(),
            pick(0.5),
            pick(0.1),
            pick(0.9)
        )?;
    }
    Ok(())
}
