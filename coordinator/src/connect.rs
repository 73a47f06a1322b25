//! Opens the store and the queue a command talks to: the embedded ones by default, Redis and
//! RabbitMQ when `--redis`/`--amqp` (or the config file, or `SECUML_REDIS_URL`/`SECUML_AMQP_URL`)
//! name them; and the data root the datasets are in.

use std::sync::Arc;

use anyhow::Context;
use secuml_proto::JobRecord;
use secuml_runtime::{AmqpQueue, DataRoot, RedisStore, Store, TaskQueue};

use crate::config::Settings;
use crate::embedded;

/// A request that cannot be served as given (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// A job that ran, or was refused by its data, and failed (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct JobFailed {
    /// What failed.
    pub message: String,
    /// The job's record as it ended (its id, status, experiment and error).
    pub record: Box<JobRecord>,
}

/// The store: Redis when a Redis URL is set, else the file store under the data folder.
pub async fn store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    match &settings.redis_url {
        Some(url) => {
            Ok(Arc::new(RedisStore::connect(url).await.context(
                "connecting to Redis (--redis, SECUML_REDIS_URL)",
            )?))
        }
        None => embedded::open_store(&settings.paths),
    }
}

/// The data root: the data folder, or the folder or object store of `--data-root`
/// (`SECUML_DATA_ROOT`, `data_root`). Call it inside the tokio runtime.
pub fn data_root(settings: &Settings) -> anyhow::Result<DataRoot> {
    let Some(location) = &settings.data.root else {
        return Ok(DataRoot::local(&settings.paths.data_dir));
    };
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    DataRoot::open(
        location,
        &env,
        &settings.data.cache_dir,
        settings.data.cache_max_bytes,
    )
    .context("opening the data root (--data-root, SECUML_DATA_ROOT)")
}

/// The store and the queue of the distributed services; both URLs are required.
pub async fn services(
    settings: &Settings,
    command: &str,
) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn TaskQueue>)> {
    let (Some(amqp), Some(_)) = (&settings.amqp_url, &settings.redis_url) else {
        return Err(BadRequest(format!(
            "`secuml {command}` talks to the distributed services: give both --amqp <url> and --redis <url> (or SECUML_AMQP_URL and SECUML_REDIS_URL, or amqp_url and redis_url in the config file)"
        ))
        .into());
    };
    let store = store(settings).await?;
    let queue: Arc<dyn TaskQueue> = Arc::new(
        AmqpQueue::connect(amqp)
            .await
            .context("connecting to RabbitMQ (--amqp, SECUML_AMQP_URL)")?,
    );
    Ok((store, queue))
}
