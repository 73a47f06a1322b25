//! The worker loop: consume, execute, store, report, acknowledge; and a heartbeat.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secuml_proto::{
    decode_task, keys, DeadLetterRecord, Event, EventKind, RunningTask, TaskMessage, TaskOutcome,
    WorkerBeat, MAX_ATTEMPTS, PROTOCOL_VERSION,
};
use secuml_runtime::{Consumer, Delivery, QueueError, Store, TaskQueue};
use tokio::sync::watch;
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
}

impl WorkerConfig {
    /// A worker with the default heartbeat (10 s).
    pub fn new(worker_id: impl Into<String>, slots: usize) -> Self {
        Self {
            worker_id: worker_id.into(),
            slots,
            heartbeat_ttl: DEFAULT_HEARTBEAT_TTL,
        }
    }
}

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
/// Each slot has its own consumer with a prefetch of one, so a worker never holds
/// more unacknowledged tasks than it has slots. On shutdown (SIGTERM drains), a slot
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
    let mut slots = Vec::new();
    for slot in 0..config.slots.max(1) {
        let consumer = queue.consume(keys::TASK_QUEUE, 1).await?;
        slots.push(tokio::spawn(run_slot(
            queue.clone(),
            consumer,
            ctx.clone(),
            SlotId {
                worker: config.worker_id.clone(),
                slot,
                status: status.clone(),
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
    queue: Arc<dyn TaskQueue>,
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
        match handle(&*queue, &ctx, &slot, delivery).await {
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

async fn handle(
    queue: &dyn TaskQueue,
    ctx: &TaskContext,
    slot: &SlotId,
    delivery: Delivery,
) -> anyhow::Result<()> {
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
    let outcome_queue = keys::outcome_queue(&task.job_id);
    if ctx
        .store
        .get(&keys::job_cancel(&task.job_id))
        .await?
        .is_some()
    {
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
    ctx.store
        .hset(
            &keys::job_running(&task.job_id),
            &task.task_id,
            &serde_json::to_vec(&running)?,
        )
        .await?;
    let started = Instant::now();
    append_event(
        &*ctx.store,
        &task.job_id,
        EventKind::TaskStarted {
            task_id: task.task_id.clone(),
            attempt: task.attempt,
            worker: worker.clone(),
        },
    )
    .await?;
    let result = execute(ctx, &task).await;
    let seconds = started.elapsed().as_secs_f64();
    let final_failure = match &result {
        Ok(()) => {
            debug!(job_id = %task.job_id, task_id = %task.task_id, attempt = task.attempt, seconds, "task done");
            append_event(
                &*ctx.store,
                &task.job_id,
                EventKind::TaskDone {
                    task_id: task.task_id.clone(),
                    seconds,
                },
            )
            .await?;
            None
        }
        Err(failure) => {
            warn!(job_id = %task.job_id, task_id = %task.task_id, attempt = task.attempt, error = %failure, "task failed");
            (!failure.retryable || task.attempt >= MAX_ATTEMPTS).then(|| failure.message.clone())
        }
    };
    let outcome = TaskOutcome {
        protocol_version: PROTOCOL_VERSION,
        job_id: task.job_id.clone(),
        task_id: task.task_id.clone(),
        attempt: task.attempt,
        worker,
        seconds,
        result,
    };
    // The outcome is published before the acknowledgement: if the worker dies in between,
    // the task is redelivered and its result overwritten, never lost.
    match queue
        .publish(&outcome_queue, &serde_json::to_vec(&outcome)?)
        .await
    {
        Ok(()) => {}
        Err(QueueError::NoSuchQueue(_)) => {
            // The job ended (finished, failed or cancelled) while the task ran.
            debug!(job_id = %task.job_id, task_id = %task.task_id, "the job's outcome queue is gone: dropping the outcome");
        }
        Err(e) => return Err(e.into()),
    }
    // Only this attempt's record: a redelivery that another worker runs now has overwritten it.
    if let Some(bytes) = ctx
        .store
        .hget(&keys::job_running(&task.job_id), &task.task_id)
        .await?
    {
        if serde_json::from_slice::<RunningTask>(&bytes).ok().as_ref() == Some(&running) {
            ctx.store
                .hdel(&keys::job_running(&task.job_id), &task.task_id)
                .await?;
        }
    }
    match final_failure {
        // Its last attempt failed: the message goes to the dead-letter queue with the error,
        // and the coordinator fails the job; no further redelivery.
        Some(reason) => {
            record_dead_letter(&*ctx.store, &reason, &delivery.payload, Some(&task)).await;
            delivery.nack(false, &reason).await?;
        }
        None => delivery.ack().await?,
    }
    Ok(())
}
