//! The worker loop: consume, execute, store, report, acknowledge; and a heartbeat.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secuml_proto::{
    decode_task, keys, DeadLetterRecord, Event, EventKind, OutcomeBatch, RunningTask, TaskMessage,
    TaskOutcome, WorkerBeat, MAX_ATTEMPTS, PROTOCOL_VERSION,
};
use secuml_runtime::{Consumer, Delivery, QueueError, Store, TaskQueue};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::execute::{execute, TaskContext};

/// Settings of one worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Identifier shown in events and on the dashboard; names the heartbeat key.
    pub worker_id: String,
    /// Tasks run at once.
    pub slots: usize,
    /// Lifetime of a heartbeat; it is renewed every third of it. A worker silent for longer
    /// is lost: the coordinator re-queues the tasks it held.
    pub heartbeat_ttl: Duration,
    /// Tasks each slot holds from the broker: the one it runs and `prefetch - 1` waiting.
    /// 1 (the default) never keeps a task from an idle worker; more hides the broker's
    /// round trip between short tasks (a quorum queue settles an acknowledgement on disk
    /// before it delivers the next message).
    pub prefetch: u16,
}

impl WorkerConfig {
    /// A worker with the default heartbeat (10 s) and one task per slot.
    pub fn new(worker_id: impl Into<String>, slots: usize) -> Self {
        Self {
            worker_id: worker_id.into(),
            slots,
            heartbeat_ttl: DEFAULT_HEARTBEAT_TTL,
            prefetch: 1,
        }
    }
}

/// Outcomes a worker's slots may hand to its notifier before they wait for it. The outcome
/// itself is recorded in the store before the task is acknowledged; the message only wakes
/// the coordinator, so a slot does not wait for the broker's confirmation of it.
const NOTIFY_BACKLOG: usize = 1024;

/// Outcomes sent in one message at most.
const NOTIFY_BATCH: usize = 256;

/// How long a stopping worker waits for its last outcome notifications to be confirmed.
const NOTIFY_DRAIN: Duration = Duration::from_secs(10);

/// Default lifetime of a worker heartbeat.
pub const DEFAULT_HEARTBEAT_TTL: Duration = Duration::from_secs(10);

/// What the heartbeat reports: the tasks in hand, by slot.
#[derive(Default)]
struct Status {
    running: BTreeMap<usize, (String, String, u32)>,
    tasks_done: u64,
    draining: bool,
}

/// A worker id for this process: `<host>-<pid>`.
pub fn default_worker_id() -> String {
    format!("{}-{}", host_name(), std::process::id())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Runs the worker until `shutdown` turns true or the queue closes.
///
/// Each slot has its own consumer with a prefetch of [`WorkerConfig::prefetch`] (one by
/// default), so a worker never holds more unacknowledged tasks than `slots x prefetch`. On shutdown (SIGTERM drains), a slot
/// finishes the task in hand (its result is stored and acknowledged) before it stops;
/// then the heartbeat is removed.
pub async fn run_worker(
    queue: Arc<dyn TaskQueue>,
    ctx: TaskContext,
    config: WorkerConfig,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    queue.declare(keys::TASK_QUEUE).await?;
    let status = Arc::new(Mutex::new(Status::default()));
    let started_ms = secuml_proto::event::now_ms();
    beat(&*ctx.store, &config, &status, started_ms).await?;
    let heartbeat = tokio::spawn(heartbeat_loop(
        ctx.store.clone(),
        config.clone(),
        status.clone(),
        started_ms,
        shutdown.clone(),
    ));
    info!(worker = %config.worker_id, slots = config.slots, "worker started");
    let (notify, outcomes) = mpsc::channel(NOTIFY_BACKLOG);
    let notifier = tokio::spawn(notify_loop(queue.clone(), outcomes));
    let cancels = Arc::new(CancelCache::default());
    let mut slots = Vec::new();
    for slot in 0..config.slots.max(1) {
        let consumer = queue
            .consume(keys::TASK_QUEUE, config.prefetch.max(1))
            .await?;
        slots.push(tokio::spawn(run_slot(
            consumer,
            ctx.clone(),
            SlotId {
                worker: config.worker_id.clone(),
                slot,
                status: status.clone(),
                notify: notify.clone(),
                cancels: cancels.clone(),
            },
            shutdown.clone(),
        )));
    }
    let mut result = Ok(());
    for slot in slots {
        if let Err(e) = slot.await? {
            result = Err(e);
        }
    }
    drop(notify);
    if tokio::time::timeout(NOTIFY_DRAIN, notifier).await.is_err() {
        warn!(worker = %config.worker_id, "outcome notifications still unconfirmed at exit; the coordinator reads those outcomes from the store");
    }
    heartbeat.abort();
    let _ = ctx.store.delete(&keys::worker(&config.worker_id)).await;
    info!(worker = %config.worker_id, "worker stopped");
    result
}

async fn beat(
    store: &dyn Store,
    config: &WorkerConfig,
    status: &Mutex<Status>,
    started_ms: u64,
) -> anyhow::Result<()> {
    let beat = {
        let status = status.lock().unwrap_or_else(|e| e.into_inner());
        WorkerBeat {
            worker: config.worker_id.clone(),
            host: host_name(),
            pid: std::process::id(),
            slots: config.slots as u32,
            running: status.running.values().cloned().collect(),
            tasks_done: status.tasks_done,
            started_ms,
            beat_ms: secuml_proto::event::now_ms(),
            draining: status.draining,
        }
    };
    store
        .set_expiring(
            &keys::worker(&config.worker_id),
            &serde_json::to_vec(&beat)?,
            config.heartbeat_ttl,
        )
        .await?;
    Ok(())
}

async fn heartbeat_loop(
    store: Arc<dyn Store>,
    config: WorkerConfig,
    status: Arc<Mutex<Status>>,
    started_ms: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(config.heartbeat_ttl / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => {
                status.lock().unwrap_or_else(|e| e.into_inner()).draining = *shutdown.borrow();
            }
        }
        if let Err(e) = beat(&*store, &config, &status, started_ms).await {
            warn!(worker = %config.worker_id, error = %e, "heartbeat not written");
        }
    }
}

struct SlotId {
    worker: String,
    slot: usize,
    status: Arc<Mutex<Status>>,
    /// The worker's notifier, which sends the outcome messages.
    notify: mpsc::Sender<TaskOutcome>,
    /// Recent answers to "was this job cancelled?", shared by the worker's slots.
    cancels: Arc<CancelCache>,
}

/// How long a worker trusts its last look at a job's cancel flag: a cancel is noticed within
/// this time, and a stream of short tasks of one job costs one store read per interval.
const CANCEL_FRESHNESS: Duration = Duration::from_millis(250);

/// The last look at each job's cancel flag.
#[derive(Default)]
struct CancelCache {
    seen: Mutex<BTreeMap<String, (Instant, bool)>>,
}

impl CancelCache {
    async fn cancelled(&self, store: &dyn Store, job_id: &str) -> anyhow::Result<bool> {
        let now = Instant::now();
        {
            let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, cancelled)) = seen.get(job_id) {
                if *cancelled || now.duration_since(*at) < CANCEL_FRESHNESS {
                    return Ok(*cancelled);
                }
            }
        }
        let cancelled = store.get(&keys::job_cancel(job_id)).await?.is_some();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, (at, _)| now.duration_since(*at) < 60 * CANCEL_FRESHNESS);
        seen.insert(job_id.to_string(), (now, cancelled));
        Ok(cancelled)
    }
}

impl SlotId {
    /// The name shown in events: the worker id, with the slot when there are several.
    fn name(&self) -> String {
        format!("{}/{}", self.worker, self.slot)
    }

    fn set_running(&self, task: Option<&TaskMessage>) {
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        match task {
            Some(t) => {
                status
                    .running
                    .insert(self.slot, (t.job_id.clone(), t.task_id.clone(), t.attempt));
            }
            None => {
                if status.running.remove(&self.slot).is_some() {
                    status.tasks_done += 1;
                }
            }
        }
    }
}

async fn run_slot(
    mut consumer: Box<dyn Consumer>,
    ctx: TaskContext,
    slot: SlotId,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let delivery = tokio::select! {
            next = consumer.next() => next?,
            _ = shutdown.changed() => continue,
        };
        let Some(delivery) = delivery else {
            return Ok(());
        };
        match handle(&ctx, &slot, delivery).await {
            Ok(()) => {}
            // The delivery's channel is gone (broker connection cut): the broker redelivers it.
            Err(e) if is_void_delivery(&e) => {
                warn!(worker = %slot.name(), error = %e, "delivery voided by a lost connection; the broker redelivers it")
            }
            Err(e) => return Err(e),
        }
        slot.set_running(None);
    }
}

fn is_void_delivery(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<QueueError>(),
        Some(QueueError::InvalidDelivery(_))
    )
}

async fn record_dead_letter(
    store: &dyn Store,
    reason: &str,
    payload: &[u8],
    task: Option<&TaskMessage>,
) {
    let record = DeadLetterRecord::new(
        keys::TASK_QUEUE,
        reason,
        payload,
        task.map(|t| (t.job_id.as_str(), t.task_id.as_str(), t.attempt)),
    );
    let bytes = serde_json::to_vec(&record).unwrap_or_default();
    if let Err(e) = store.append(&keys::dead_letters(), &bytes).await {
        warn!(error = %e, "dead letter not recorded in the store");
    }
}

async fn append_event(store: &dyn Store, job_id: &str, kind: EventKind) -> anyhow::Result<()> {
    let event = Event::now(job_id, kind);
    store
        .append(&keys::job_events(job_id), &serde_json::to_vec(&event)?)
        .await?;
    Ok(())
}

async fn handle(ctx: &TaskContext, slot: &SlotId, delivery: Delivery) -> anyhow::Result<()> {
    let worker = slot.name();
    let task = match decode_task(&delivery.payload) {
        Ok(task) => task,
        Err(e) => {
            let reason = e.to_string();
            warn!(worker = %worker, error = %reason, "dead-lettering a task message that cannot be read");
            record_dead_letter(&*ctx.store, &reason, &delivery.payload, None).await;
            delivery.nack(false, &reason).await?;
            return Ok(());
        }
    };
    let store = &*ctx.store;
    if slot.cancels.cancelled(store, &task.job_id).await? {
        debug!(job_id = %task.job_id, task_id = %task.task_id, "skipping a task of a cancelled job");
        delivery.ack().await?;
        return Ok(());
    }
    slot.set_running(Some(&task));
    let running = RunningTask {
        task_id: task.task_id.clone(),
        attempt: task.attempt,
        worker: slot.worker.clone(),
        slot: slot.slot as u32,
        started_ms: secuml_proto::event::now_ms(),
    };
    let running_bytes = serde_json::to_vec(&running)?;
    let started = Instant::now();
    // The task starts at once; its running record and start event go out meanwhile (the
    // store connection pipelines independent writes). Both are written before the outcome.
    let (recorded, result) = tokio::join!(
        async {
            tokio::try_join!(
                async {
                    store
                        .hset(
                            &keys::job_running(&task.job_id),
                            &task.task_id,
                            &running_bytes,
                        )
                        .await
                        .map_err(anyhow::Error::from)
                },
                append_event(
                    store,
                    &task.job_id,
                    EventKind::TaskStarted {
                        task_id: task.task_id.clone(),
                        attempt: task.attempt,
                        worker: worker.clone(),
                    },
                ),
            )
        },
        execute(ctx, &task),
    );
    recorded?;
    let seconds = started.elapsed().as_secs_f64();
    let final_failure = match &result {
        Ok(()) => {
            debug!(job_id = %task.job_id, task_id = %task.task_id, attempt = task.attempt, seconds, "task done");
            None
        }
        Err(failure) => {
            warn!(job_id = %task.job_id, task_id = %task.task_id, attempt = task.attempt, error = %failure, "task failed");
            (!failure.retryable || task.attempt >= MAX_ATTEMPTS).then(|| failure.message.clone())
        }
    };
    let succeeded = result.is_ok();
    let outcome = TaskOutcome {
        protocol_version: PROTOCOL_VERSION,
        job_id: task.job_id.clone(),
        task_id: task.task_id.clone(),
        attempt: task.attempt,
        worker,
        seconds,
        result,
    };
    let outcome_bytes = serde_json::to_vec(&outcome)?;
    // The outcome is recorded before the acknowledgement: if the worker dies in between,
    // the task is redelivered and its result and outcome overwritten, never lost.
    tokio::try_join!(
        async {
            store
                .hset(
                    &keys::job_outcomes(&task.job_id),
                    &task.task_id,
                    &outcome_bytes,
                )
                .await
                .map_err(anyhow::Error::from)
        },
        async {
            if succeeded {
                append_event(
                    store,
                    &task.job_id,
                    EventKind::TaskDone {
                        task_id: task.task_id.clone(),
                        seconds,
                    },
                )
                .await?;
            }
            Ok(())
        },
        // Only this attempt's record: a redelivery that another worker runs now has
        // overwritten it.
        async {
            let key = keys::job_running(&task.job_id);
            if let Some(bytes) = store.hget(&key, &task.task_id).await? {
                if serde_json::from_slice::<RunningTask>(&bytes).ok().as_ref() == Some(&running) {
                    store.hdel(&key, &task.task_id).await?;
                }
            }
            Ok::<_, anyhow::Error>(())
        },
    )?;
    // Only a stopped notifier refuses it; the coordinator then reads the outcome from the store.
    let _ = slot.notify.send(outcome).await;
    match final_failure {
        // Its last attempt failed: the message goes to the dead-letter queue with the error,
        // and the coordinator fails the job; no further redelivery.
        Some(reason) => {
            record_dead_letter(store, &reason, &delivery.payload, Some(&task)).await;
            delivery.nack(false, &reason).await?;
        }
        None => delivery.ack().await?,
    }
    Ok(())
}

/// Sends the outcomes the slots hand over, one message per job for all those that are
/// waiting: while a message awaits the broker's confirmation, the next ones gather, so under
/// load a message carries many outcomes, and alone an outcome leaves at once. A message lost
/// costs the coordinator one watch interval: it then reads those outcomes from the store.
async fn notify_loop(queue: Arc<dyn TaskQueue>, mut outcomes: mpsc::Receiver<TaskOutcome>) {
    while let Some(first) = outcomes.recv().await {
        let mut by_job: BTreeMap<String, Vec<TaskOutcome>> = BTreeMap::new();
        by_job.entry(first.job_id.clone()).or_default().push(first);
        let mut taken = 1;
        while taken < NOTIFY_BATCH {
            let Ok(next) = outcomes.try_recv() else {
                break;
            };
            by_job.entry(next.job_id.clone()).or_default().push(next);
            taken += 1;
        }
        for (job_id, outcomes) in by_job {
            let count = outcomes.len();
            let batch = OutcomeBatch {
                protocol_version: PROTOCOL_VERSION,
                outcomes,
            };
            let bytes = match serde_json::to_vec(&batch) {
                Ok(b) => b,
                Err(e) => {
                    warn!(job_id = %job_id, error = %e, "outcome message not encoded");
                    continue;
                }
            };
            match queue.publish(&keys::outcome_queue(&job_id), &bytes).await {
                Ok(()) => debug!(job_id = %job_id, count, "outcomes sent"),
                Err(QueueError::NoSuchQueue(_)) => {
                    // The job ended (finished, failed or cancelled) while the tasks ran.
                    debug!(job_id = %job_id, count, "the job's outcome queue is gone: dropping the outcomes");
                }
                Err(e) => {
                    warn!(job_id = %job_id, count, error = %e, "outcome message not published; the coordinator reads the outcomes from the store")
                }
            }
        }
    }
}
