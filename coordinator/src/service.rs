//! The coordinator service (`secuml coordinator`): takes submitted jobs off the job queue,
//! runs each one under a lease in the store, and resumes the jobs of coordinators that died.
//!
//! - A submission is acknowledged once its [`JobRecord`] is in the store; from then on the
//!   store, not the queue, says which jobs exist.
//! - Every `scan_interval`, the coordinator looks for jobs that are not finished and not
//!   leased, and takes the lease of each (`SET NX` with a TTL): two coordinators never run
//!   the same job. It renews its leases every third of their TTL and stops a job whose lease
//!   it lost. A coordinator killed at any moment leaves leases that expire; whoever takes
//!   one resumes the job from the store (tasks done are not redone).
//! - On shutdown it stops its jobs and releases their leases, so another coordinator (or
//!   the same one, restarted) resumes them at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use secuml_proto::{keys, DeadLetterRecord, JobStatus, JobSubmission, PROTOCOL_VERSION};
use secuml_runtime::{Delivery, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::driver::JobError;
use crate::jobs::{self, JobEnv};

/// Settings of a coordinator.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// Lifetime of a job lease; renewed every third of it.
    pub lease_ttl: Duration,
    /// How often unleased jobs are looked for.
    pub scan_interval: Duration,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(10),
            scan_interval: Duration::from_secs(1),
        }
    }
}

/// A coordinator's heartbeat, at [`keys::coordinator`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoordinatorBeat {
    /// Coordinator id.
    pub coordinator: String,
    /// Jobs it runs.
    pub jobs: Vec<String>,
    /// When written.
    pub beat_ms: u64,
}

/// A coordinator id for this process: `coordinator-<host>-<pid>`.
pub fn default_coordinator_id() -> String {
    format!("coordinator-{}", secuml_worker::run::default_worker_id())
}

/// Runs the coordinator until `shutdown` turns true.
pub async fn run_coordinator(
    env: JobEnv,
    config: CoordinatorConfig,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    env.queue.declare(keys::JOB_QUEUE).await?;
    env.queue.declare(keys::TASK_QUEUE).await?;
    let mut submissions = env.queue.consume(keys::JOB_QUEUE, 16).await?;
    let mut running: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut scan = tokio::time::interval(config.scan_interval);
    scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    info!(coordinator = %env.coordinator, "coordinator started");
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    break;
                }
            }
            next = submissions.next() => {
                match next? {
                    Some(delivery) => accept(&env, delivery).await?,
                    None => break,
                }
                scan.reset_immediately();
            }
            _ = scan.tick() => {
                running.retain(|_, handle| !handle.is_finished());
                if let Err(e) = adopt(&env, &config, &mut running).await {
                    warn!(coordinator = %env.coordinator, error = %e, "scanning for jobs failed; retrying");
                }
                let beat = CoordinatorBeat {
                    coordinator: env.coordinator.clone(),
                    jobs: running.keys().cloned().collect(),
                    beat_ms: secuml_proto::event::now_ms(),
                };
                if let Err(e) = env.store.set_expiring(&keys::coordinator(&env.coordinator), &serde_json::to_vec(&beat)?, config.lease_ttl).await {
                    warn!(coordinator = %env.coordinator, error = %e, "heartbeat not written");
                }
            }
        }
    }
    info!(coordinator = %env.coordinator, jobs = running.len(), "coordinator stopping: releasing its jobs");
    drop(submissions);
    for (job_id, handle) in running {
        handle.abort();
        let _ = handle.await;
        let _ = env
            .store
            .delete_if(&keys::job_lease(&job_id), env.coordinator.as_bytes())
            .await;
    }
    let _ = env.store.delete(&keys::coordinator(&env.coordinator)).await;
    Ok(())
}

/// Records a submission as a queued job, then acknowledges it. A submission that cannot be
/// read is dead-lettered with the reason.
async fn accept(env: &JobEnv, delivery: Delivery) -> anyhow::Result<()> {
    let submission = match serde_json::from_slice::<JobSubmission>(&delivery.payload) {
        Ok(s) if s.protocol_version == PROTOCOL_VERSION => Ok(s),
        Ok(s) => Err(format!(
            "protocol version {} is not the supported version {PROTOCOL_VERSION}",
            s.protocol_version
        )),
        Err(e) => Err(format!("job submission does not parse: {e}")),
    };
    let submission = match submission {
        Ok(s) => s,
        Err(reason) => {
            warn!(error = %reason, "dead-lettering a job submission");
            let record = DeadLetterRecord::new(keys::JOB_QUEUE, &reason, &delivery.payload, None);
            env.store
                .append(&keys::dead_letters(), &serde_json::to_vec(&record)?)
                .await?;
            delivery.nack(false, &reason).await?;
            return Ok(());
        }
    };
    if secuml_proto::job::check_name("job", &submission.job_id).is_err() {
        let reason = format!("job id `{}` is not a valid name", submission.job_id);
        warn!(error = %reason, "dead-lettering a job submission");
        delivery.nack(false, &reason).await?;
        return Ok(());
    }
    if jobs::load_job(&*env.store, &submission.job_id)
        .await?
        .is_none()
    {
        let mut record = jobs::new_record(
            &submission.job_id,
            submission.spec.clone(),
            submission.submitted_ms,
        );
        if let Err(e) = submission.spec.validate() {
            record.status = JobStatus::Failed;
            record.error = Some(e.to_string());
            record.finished_ms = Some(secuml_proto::event::now_ms());
        }
        jobs::save_job(&*env.store, &record).await?;
        info!(job_id = %record.job_id, status = ?record.status, "job accepted");
    } else {
        debug!(job_id = %submission.job_id, "job already recorded (a redelivered submission)");
    }
    delivery.ack().await?;
    Ok(())
}

/// Takes the lease of every unfinished, unleased job and starts it.
async fn adopt(
    env: &JobEnv,
    config: &CoordinatorConfig,
    running: &mut HashMap<String, JoinHandle<()>>,
) -> anyhow::Result<()> {
    for record in jobs::list_jobs(&*env.store).await? {
        if record.status.is_final() || running.contains_key(&record.job_id) {
            continue;
        }
        let lease = keys::job_lease(&record.job_id);
        if !env
            .store
            .set_nx(&lease, env.coordinator.as_bytes(), Some(config.lease_ttl))
            .await?
        {
            continue;
        }
        info!(job_id = %record.job_id, coordinator = %env.coordinator, status = ?record.status, "job leased");
        let job_id = record.job_id.clone();
        let handle = tokio::spawn(lead(env.clone(), record, config.lease_ttl));
        running.insert(job_id, handle);
    }
    Ok(())
}

/// Runs one leased job, renewing the lease; stops the job if the lease is lost.
async fn lead(env: JobEnv, mut record: secuml_proto::JobRecord, lease_ttl: Duration) {
    let lease = keys::job_lease(&record.job_id);
    let job_id = record.job_id.clone();
    let renew = {
        let (store, lease, me) = (env.store.clone(), lease.clone(), env.coordinator.clone());
        async move {
            let mut tick = tokio::time::interval(lease_ttl / 3);
            tick.tick().await;
            let mut renewed = std::time::Instant::now();
            loop {
                tick.tick().await;
                match store.renew(&lease, me.as_bytes(), lease_ttl).await {
                    Ok(true) => renewed = std::time::Instant::now(),
                    Ok(false) => return "taken or expired",
                    Err(e) => {
                        // The store is unreachable: keep going while the lease cannot have expired.
                        warn!(lease = %lease, error = %e, "lease not renewed");
                        if renewed.elapsed() >= lease_ttl {
                            return "not renewed in time";
                        }
                    }
                }
            }
        }
    };
    tokio::select! {
        result = jobs::run_job(&env, &mut record) => match result {
            Ok(_) => info!(job_id = %job_id, "job succeeded"),
            Err(JobError::Infrastructure(e)) => {
                error!(job_id = %job_id, error = %format!("{e:#}"), "job interrupted by an infrastructure failure; it will be resumed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => info!(job_id = %job_id, error = %e, "job ended"),
        },
        why = renew => warn!(job_id = %job_id, why, "lease lost: another coordinator resumes the job"),
    }
    let _ = env
        .store
        .delete_if(&lease, env.coordinator.as_bytes())
        .await;
}

/// The coordinator id and store of a service, for tests and the command line.
pub fn env_for(
    paths: crate::config::Paths,
    data_root: secuml_runtime::DataRoot,
    store: Arc<dyn Store>,
    queue: Arc<dyn secuml_runtime::TaskQueue>,
    coordinator: String,
) -> JobEnv {
    let cache = Arc::new(secuml_worker::DataCache::new(data_root, 2));
    JobEnv {
        paths,
        store,
        queue,
        coordinator,
        cache,
    }
}
