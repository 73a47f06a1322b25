//! The worker loop: consume, execute, store, report, acknowledge.

use std::sync::Arc;
use std::time::Instant;

use secuml_proto::{decode_task, keys, Event, EventKind, TaskOutcome, PROTOCOL_VERSION};
use secuml_runtime::{Consumer, Delivery, TaskQueue};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::execute::{execute, TaskContext};

/// Settings of one worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Identifier shown in events and on the dashboard.
    pub worker_id: String,
    /// Tasks run at once.
    pub slots: usize,
}

/// Runs the worker until `shutdown` turns true or the queue closes.
///
/// Each slot has its own consumer with a prefetch of one, so a worker never holds
/// more unacknowledged tasks than it has slots. On shutdown, a slot finishes the
/// task in flight (its result is stored and acknowledged) before it stops.
pub async fn run_worker(
    queue: Arc<dyn TaskQueue>,
    ctx: TaskContext,
    config: WorkerConfig,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    queue.declare(keys::TASK_QUEUE).await?;
    let mut slots = Vec::new();
    for slot in 0..config.slots.max(1) {
        let consumer = queue.consume(keys::TASK_QUEUE, 1).await?;
        let worker = if config.slots > 1 {
            format!("{}/{}", config.worker_id, slot)
        } else {
            config.worker_id.clone()
        };
        slots.push(tokio::spawn(run_slot(
            queue.clone(),
            consumer,
            ctx.clone(),
            worker,
            shutdown.clone(),
        )));
    }
    for slot in slots {
        slot.await??;
    }
    Ok(())
}

async fn run_slot(
    queue: Arc<dyn TaskQueue>,
    mut consumer: Box<dyn Consumer>,
    ctx: TaskContext,
    worker: String,
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
        handle(&*queue, &ctx, &worker, delivery).await?;
    }
}

async fn handle(
    queue: &dyn TaskQueue,
    ctx: &TaskContext,
    worker: &str,
    delivery: Delivery,
) -> anyhow::Result<()> {
    let task = match decode_task(&delivery.payload) {
        Ok(task) => task,
        Err(e) => {
            warn!(worker, error = %e, "dead-lettering a task message that cannot be read");
            delivery.nack(false, &e.to_string()).await?;
            return Ok(());
        }
    };
    let started = Instant::now();
    let event = Event::now(
        &task.job_id,
        EventKind::TaskStarted {
            task_id: task.task_id.clone(),
            attempt: task.attempt,
            worker: worker.to_string(),
        },
    );
    ctx.store
        .append(
            &keys::job_events(&task.job_id),
            &serde_json::to_vec(&event)?,
        )
        .await?;
    let result = execute(ctx, &task).await;
    let seconds = started.elapsed().as_secs_f64();
    match &result {
        Ok(()) => {
            debug!(job_id = %task.job_id, task_id = %task.task_id, attempt = task.attempt, seconds, "task done");
            let event = Event::now(
                &task.job_id,
                EventKind::TaskDone {
                    task_id: task.task_id.clone(),
                    seconds,
                },
            );
            ctx.store
                .append(
                    &keys::job_events(&task.job_id),
                    &serde_json::to_vec(&event)?,
                )
                .await?;
        }
        Err(failure) => {
            warn!(job_id = %task.job_id, task_id = %task.task_id, attempt = task.attempt, error = %failure, "task failed");
        }
    }
    let outcome = TaskOutcome {
        protocol_version: PROTOCOL_VERSION,
        job_id: task.job_id.clone(),
        task_id: task.task_id.clone(),
        attempt: task.attempt,
        worker: worker.to_string(),
        seconds,
        result,
    };
    // The outcome is published before the acknowledgement: if the worker dies in between,
    // the task is redelivered and its result overwritten, never lost.
    queue
        .publish(
            &keys::outcome_queue(&task.job_id),
            &serde_json::to_vec(&outcome)?,
        )
        .await?;
    delivery.ack().await?;
    Ok(())
}
