//! Publishes a job's tasks stage by stage, follows their outcomes, retries, and records task state.
//!
//! The store is the source of truth: every task's state lives in [`keys::job_tasks`],
//! every result in [`keys::task_results`], every transition in [`keys::job_events`].
//! An outcome is acknowledged only after the task state it implies is recorded.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};

use secuml_proto::{
    decode_outcomes, keys, Event, EventKind, RunningTask, TaskKind, TaskMessage, TaskOutcome,
    PROTOCOL_VERSION,
};
use secuml_runtime::{Consumer, Store, TaskQueue};
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

pub use secuml_proto::MAX_ATTEMPTS;

/// State of one task, as stored in [`keys::job_tasks`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    /// `queued`, `done` or `failed`.
    pub state: String,
    /// Current attempt, from 1.
    pub attempt: u32,
    /// Human label.
    pub label: String,
    /// Seconds the last attempt took on its worker.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Error of the last failure.
    #[serde(default)]
    pub error: Option<String>,
    /// Worker of the last attempt.
    #[serde(default)]
    pub worker: Option<String>,
}

/// Why a job stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A task failed for good.
    #[error("task {task_id} failed after {attempts} attempt(s): {message}")]
    TaskFailed {
        /// The task.
        task_id: String,
        /// Attempts made.
        attempts: u32,
        /// Its last error.
        message: String,
    },
    /// The job's data was refused before any task (missing labels, too few instances, ...).
    #[error("{0}")]
    Refused(String),
    /// A cancel was requested (`secuml cancel`).
    #[error("cancelled")]
    Cancelled,
    /// The queue or the store failed.
    #[error("infrastructure: {0}")]
    Infrastructure(#[from] anyhow::Error),
}

impl From<secuml_runtime::StoreError> for JobError {
    fn from(e: secuml_runtime::StoreError) -> Self {
        JobError::Infrastructure(e.into())
    }
}

impl From<secuml_runtime::QueueError> for JobError {
    fn from(e: secuml_runtime::QueueError) -> Self {
        JobError::Infrastructure(e.into())
    }
}

/// How often a stage looks for lost workers and cancel requests while it waits for outcomes.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// Task messages a stage has in flight to the broker at once while it publishes.
pub const PUBLISH_CONCURRENCY: usize = 128;

/// Drives the tasks of one job.
///
/// Restartable: a stage first reads the task states the store holds for the job; tasks
/// already done are not published again, tasks queued by an earlier driver (a coordinator
/// that died) are awaited rather than republished: their messages are still in the durable
/// queue or in a worker's hands, and their outcomes in the job's durable outcome queue.
pub struct JobDriver {
    job_id: String,
    store: Arc<dyn Store>,
    queue: Arc<dyn TaskQueue>,
    outcomes: Box<dyn Consumer>,
    /// Tasks done so far, over every stage.
    pub done: usize,
    /// Tasks planned so far.
    pub planned: usize,
}

impl JobDriver {
    /// A driver for `job_id`, consuming the job's outcome queue.
    pub async fn new(
        job_id: &str,
        store: Arc<dyn Store>,
        queue: Arc<dyn TaskQueue>,
    ) -> anyhow::Result<Self> {
        queue.declare(keys::TASK_QUEUE).await?;
        queue.declare(&keys::outcome_queue(job_id)).await?;
        let outcomes = queue.consume(&keys::outcome_queue(job_id), 64).await?;
        Ok(Self {
            job_id: job_id.to_string(),
            store,
            queue,
            outcomes,
            done: 0,
            planned: 0,
        })
    }

    /// The store the driver records into.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The job id.
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// Appends an event to the job's stream.
    pub async fn event(&self, kind: EventKind) -> anyhow::Result<()> {
        append_event(&*self.store, &self.job_id, kind).await
    }

    async fn record(&self, task_id: &str, state: &TaskState) -> anyhow::Result<()> {
        self.store
            .hset(
                &keys::job_tasks(&self.job_id),
                task_id,
                &serde_json::to_vec(state)?,
            )
            .await?;
        Ok(())
    }

    async fn publish(&self, task_id: &str, attempt: u32, kind: &TaskKind) -> anyhow::Result<()> {
        let message = TaskMessage {
            protocol_version: PROTOCOL_VERSION,
            job_id: self.job_id.clone(),
            task_id: task_id.to_string(),
            attempt,
            kind: kind.clone(),
        };
        self.queue
            .publish(keys::TASK_QUEUE, &serde_json::to_vec(&message)?)
            .await?;
        Ok(())
    }

    /// Publishes `kind` as attempt `state.attempt`, then records it queued: a driver that dies
    /// in between publishes it again on restart, and the duplicate's outcome is ignored.
    async fn queue_attempt(
        &self,
        task_id: &str,
        kind: &TaskKind,
        state: &mut TaskState,
    ) -> anyhow::Result<()> {
        state.state = "queued".into();
        self.publish(task_id, state.attempt, kind).await?;
        self.record(task_id, state).await
    }

    /// Runs one stage: publishes every task not already done, waits until all are done,
    /// retrying retryable failures up to [`MAX_ATTEMPTS`] and re-queueing the tasks of lost
    /// workers. Returns each task's seconds.
    ///
    /// New tasks are published [`PUBLISH_CONCURRENCY`] at a time: a confirmed publish to a
    /// quorum queue waits for the broker's disk, so one at a time would cost a few
    /// milliseconds per task. Each task is still published before it is recorded queued.
    pub async fn run_stage(
        &mut self,
        tasks: Vec<(String, TaskKind)>,
    ) -> Result<HashMap<String, f64>, JobError> {
        let known = self.known_states().await?;
        let mut pending: BTreeMap<String, (TaskKind, TaskState)> = BTreeMap::new();
        let mut seconds = HashMap::new();
        self.planned += tasks.len();
        let mut resumed = 0;
        let mut fresh = Vec::new();
        for (task_id, kind) in tasks {
            match known.get(&task_id) {
                Some(state) if state.state == "done" => {
                    self.done += 1;
                    resumed += 1;
                    seconds.insert(task_id, state.seconds.unwrap_or_default());
                }
                Some(state) if state.state == "failed" => {
                    return Err(JobError::TaskFailed {
                        task_id,
                        attempts: state.attempt,
                        message: state.error.clone().unwrap_or_default(),
                    });
                }
                Some(state) => {
                    resumed += 1;
                    pending.insert(task_id, (kind, state.clone()));
                }
                None => fresh.push((task_id, kind)),
            }
        }
        let this = &*self;
        let queued: Vec<(String, TaskKind, TaskState)> = futures::stream::iter(fresh)
            .map(|(task_id, kind)| async move {
                let mut state = TaskState {
                    state: "queued".into(),
                    attempt: 1,
                    label: kind.label(),
                    seconds: None,
                    error: None,
                    worker: None,
                };
                this.queue_attempt(&task_id, &kind, &mut state).await?;
                this.event(EventKind::TaskQueued {
                    task_id: task_id.clone(),
                    label: state.label.clone(),
                })
                .await?;
                Ok::<_, anyhow::Error>((task_id, kind, state))
            })
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .try_collect()
            .await?;
        for (task_id, kind, state) in queued {
            pending.insert(task_id, (kind, state));
        }
        if resumed > 0 {
            info!(job_id = %self.job_id, resumed, pending = pending.len(), "stage resumed from the store");
        }
        let stage_tasks = pending.len();
        let started = std::time::Instant::now();
        let mut watch = tokio::time::interval(WATCH_INTERVAL);
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Whether an outcome message arrived since the last watch tick.
        let mut heard = false;
        while !pending.is_empty() {
            let delivery = tokio::select! {
                next = self.outcomes.next() => next
                    .map_err(anyhow::Error::from)?
                    .ok_or_else(|| anyhow::anyhow!("the outcome queue of job {} closed", self.job_id))?,
                _ = watch.tick() => {
                    self.watch(&mut pending).await?;
                    if !heard {
                        // Quiet for a whole interval: take any outcome whose message was lost
                        // (a broker that died before writing it) from its durable record.
                        self.recover_outcomes(&mut pending, &mut seconds).await?;
                    }
                    heard = false;
                    continue;
                }
            };
            heard = true;
            let outcomes = match decode_outcomes(&delivery.payload) {
                Ok(o) => o,
                Err(e) => {
                    warn!(error = %e, "dead-lettering an outcome message that cannot be read");
                    delivery
                        .nack(false, &format!("outcome message cannot be read: {e}"))
                        .await
                        .map_err(anyhow::Error::from)?;
                    continue;
                }
            };
            let mut handled = Ok(());
            for outcome in outcomes {
                handled = self
                    .handle_outcome(&mut pending, &mut seconds, outcome)
                    .await;
                if handled.is_err() {
                    break;
                }
            }
            // Acknowledged once the states it implies are recorded (or for good, on a failure).
            // Unacknowledged, it comes back, and the outcomes already applied are then stale.
            if !matches!(handled, Err(JobError::Infrastructure(_))) {
                delivery.ack().await.map_err(anyhow::Error::from)?;
            }
            handled?;
        }
        info!(
            job_id = %self.job_id,
            tasks = stage_tasks,
            done = self.done,
            planned = self.planned,
            seconds = started.elapsed().as_secs_f64(),
            "stage done"
        );
        Ok(seconds)
    }

    /// Applies one outcome to the stage: records the task done, re-queues a retryable
    /// failure, or fails the job. An outcome of another job or attempt (a redelivered task,
    /// an outcome already taken from the store) is ignored.
    async fn handle_outcome(
        &mut self,
        pending: &mut BTreeMap<String, (TaskKind, TaskState)>,
        seconds: &mut HashMap<String, f64>,
        outcome: TaskOutcome,
    ) -> Result<(), JobError> {
        let current = pending.get(&outcome.task_id).map(|(_, s)| s.attempt);
        if outcome.job_id != self.job_id || current != Some(outcome.attempt) {
            debug!(task_id = %outcome.task_id, attempt = outcome.attempt, "ignoring a stale outcome");
            return Ok(());
        }
        let (kind, mut state) = pending.remove(&outcome.task_id).expect("checked above");
        state.seconds = Some(outcome.seconds);
        state.worker = Some(outcome.worker.clone());
        match outcome.result {
            Ok(()) => {
                state.state = "done".into();
                self.record(&outcome.task_id, &state).await?;
                self.done += 1;
                debug!(job_id = %self.job_id, task_id = %outcome.task_id, done = self.done, planned = self.planned, "task done");
                seconds.insert(outcome.task_id, outcome.seconds);
                Ok(())
            }
            Err(failure) => {
                let will_retry = failure.retryable && state.attempt < MAX_ATTEMPTS;
                state.error = Some(failure.message.clone());
                self.event(EventKind::TaskFailed {
                    task_id: outcome.task_id.clone(),
                    attempt: state.attempt,
                    error: failure.message.clone(),
                    will_retry,
                })
                .await?;
                if will_retry {
                    state.attempt += 1;
                    warn!(job_id = %self.job_id, task_id = %outcome.task_id, attempt = state.attempt, error = %failure, "retrying task");
                    self.queue_attempt(&outcome.task_id, &kind, &mut state)
                        .await?;
                    pending.insert(outcome.task_id, (kind, state));
                    Ok(())
                } else {
                    state.state = "failed".into();
                    self.record(&outcome.task_id, &state).await?;
                    Err(JobError::TaskFailed {
                        task_id: outcome.task_id,
                        attempts: state.attempt,
                        message: failure.message,
                    })
                }
            }
        }
    }

    /// Applies the outcomes workers recorded in [`keys::job_outcomes`] for pending tasks
    /// whose messages never came.
    async fn recover_outcomes(
        &mut self,
        pending: &mut BTreeMap<String, (TaskKind, TaskState)>,
        seconds: &mut HashMap<String, f64>,
    ) -> Result<(), JobError> {
        let stored = self
            .store
            .hgetall(&keys::job_outcomes(&self.job_id))
            .await
            .map_err(anyhow::Error::from)?;
        for (task_id, bytes) in stored {
            let Some((_, state)) = pending.get(&task_id) else {
                continue;
            };
            let outcome: TaskOutcome = match serde_json::from_slice(&bytes) {
                Ok(o) => o,
                Err(e) => {
                    warn!(job_id = %self.job_id, task_id = %task_id, error = %e, "a stored outcome does not parse");
                    continue;
                }
            };
            if outcome.attempt != state.attempt {
                continue;
            }
            // Usually the message is on its way (the worker records the outcome, then sends
            // it; a stale copy is ignored when it comes); sometimes it is lost (a broker that
            // died before writing it).
            debug!(job_id = %self.job_id, task_id = %task_id, attempt = outcome.attempt, "outcome read from its durable record: its message had not come within a watch interval");
            self.handle_outcome(pending, seconds, outcome).await?;
        }
        Ok(())
    }

    async fn known_states(&self) -> anyhow::Result<BTreeMap<String, TaskState>> {
        let raw = self.store.hgetall(&keys::job_tasks(&self.job_id)).await?;
        let mut states = BTreeMap::new();
        for (task_id, bytes) in raw {
            let state: TaskState = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "state of task {task_id} of job {} does not parse",
                    self.job_id
                )
            })?;
            states.insert(task_id, state);
        }
        Ok(states)
    }

    /// Between outcomes: stops on a cancel request, and re-queues (as a new attempt) every
    /// pending task held by a worker whose heartbeat expired.
    async fn watch(
        &self,
        pending: &mut BTreeMap<String, (TaskKind, TaskState)>,
    ) -> Result<(), JobError> {
        if cancel_requested(&*self.store, &self.job_id).await? {
            return Err(JobError::Cancelled);
        }
        let running = self
            .store
            .hgetall(&keys::job_running(&self.job_id))
            .await
            .map_err(anyhow::Error::from)?;
        for (task_id, bytes) in running {
            let Ok(held) = serde_json::from_slice::<RunningTask>(&bytes) else {
                continue;
            };
            let Some((kind, state)) = pending.get_mut(&task_id) else {
                continue;
            };
            if state.attempt != held.attempt {
                continue;
            }
            let alive = self
                .store
                .get(&keys::worker(&held.worker))
                .await
                .map_err(anyhow::Error::from)?
                .is_some();
            if alive {
                continue;
            }
            warn!(job_id = %self.job_id, task_id = %task_id, worker = %held.worker, attempt = held.attempt, "worker lost: re-queueing its task");
            self.event(EventKind::WorkerLost {
                worker: held.worker.clone(),
                task_id: task_id.clone(),
                attempt: held.attempt,
            })
            .await?;
            state.attempt += 1;
            state.worker = Some(held.worker.clone());
            state.error = Some(format!("worker {} lost", held.worker));
            let kind = kind.clone();
            self.queue_attempt(&task_id, &kind, state).await?;
            self.store
                .hdel(&keys::job_running(&self.job_id), &task_id)
                .await
                .map_err(anyhow::Error::from)?;
        }
        Ok(())
    }

    /// Reads the stored results of a job's tasks.
    pub async fn results(&self) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        Ok(self
            .store
            .hgetall(&keys::task_results(&self.job_id))
            .await?)
    }
}

/// Appends an event to a job's stream.
pub async fn append_event(store: &dyn Store, job_id: &str, kind: EventKind) -> anyhow::Result<()> {
    let event = Event::now(job_id, kind);
    store
        .append(&keys::job_events(job_id), &serde_json::to_vec(&event)?)
        .await?;
    Ok(())
}

/// Whether `secuml cancel` was run for the job.
pub async fn cancel_requested(store: &dyn Store, job_id: &str) -> anyhow::Result<bool> {
    Ok(store.get(&keys::job_cancel(job_id)).await?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secuml_proto::{decode_task, AnnotationsSource, DataRef, TaskFailure};
    use secuml_proto::{ErrorCode, OuterSplit, RowSelection, Side};
    use secuml_runtime::{Durability, FileStore, MemoryQueue};

    fn task() -> TaskKind {
        TaskKind::Refit {
            experiment_id: 1,
            data: DataRef {
                project: "p".into(),
                dataset: "d".into(),
                manifest_sha256: "0".into(),
            },
            annotations: AnnotationsSource::GroundTruth,
            rows: RowSelection {
                outer: OuterSplit::Whole,
                side: Side::Train,
            },
            hyper: secuml_proto::Hyper::LogisticRegression {
                c: 1.0,
                penalty: secuml_proto::Penalty::L2,
                optim_algo: Default::default(),
            },
            fold: None,
            seed: 0,
            multiclass: false,
        }
    }

    /// A worker that answers each attempt with `answer(attempt)`, acknowledging as a real one does.
    async fn scripted_worker(
        queue: Arc<dyn TaskQueue>,
        answer: fn(u32) -> Result<(), TaskFailure>,
        count: usize,
    ) {
        fake_worker(queue, None, answer, count).await
    }

    /// Answers `count` tasks with `answer(attempt)`. With `lose_messages`, its outcome
    /// messages are all lost (a broker that died before writing them): it records each outcome
    /// in that store only, then acknowledges, as a real worker does.
    async fn fake_worker(
        queue: Arc<dyn TaskQueue>,
        lose_messages: Option<Arc<dyn Store>>,
        answer: fn(u32) -> Result<(), TaskFailure>,
        count: usize,
    ) {
        let mut consumer = queue.consume(keys::TASK_QUEUE, 1).await.unwrap();
        for _ in 0..count {
            let delivery = consumer.next().await.unwrap().unwrap();
            let task = decode_task(&delivery.payload).unwrap();
            let outcome = TaskOutcome {
                protocol_version: PROTOCOL_VERSION,
                job_id: task.job_id.clone(),
                task_id: task.task_id.clone(),
                attempt: task.attempt,
                worker: "scripted".into(),
                seconds: 0.25,
                result: answer(task.attempt),
            };
            let bytes = serde_json::to_vec(&outcome).unwrap();
            match &lose_messages {
                Some(store) => store
                    .hset(&keys::job_outcomes(&task.job_id), &task.task_id, &bytes)
                    .await
                    .unwrap(),
                None => {
                    let batch = secuml_proto::OutcomeBatch {
                        protocol_version: PROTOCOL_VERSION,
                        outcomes: vec![outcome],
                    };
                    queue
                        .publish(
                            &keys::outcome_queue(&task.job_id),
                            &serde_json::to_vec(&batch).unwrap(),
                        )
                        .await
                        .unwrap()
                }
            }
            delivery.ack().await.unwrap();
        }
    }

    /// The recorded state of task `task_id` of job `j`.
    async fn stored_state(store: &dyn Store, task_id: &str) -> TaskState {
        let bytes = store
            .hget(&keys::job_tasks("j"), task_id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no state recorded for task {task_id}"));
        serde_json::from_slice(&bytes).unwrap()
    }

    async fn setup() -> (Arc<dyn Store>, Arc<dyn TaskQueue>) {
        let store: Arc<dyn Store> =
            Arc::new(FileStore::open_temporary(Durability::Process).unwrap());
        (store, Arc::new(MemoryQueue::new()))
    }

    async fn events(store: &dyn Store, job: &str) -> Vec<EventKind> {
        let entries = store
            .read_stream(&keys::job_events(job), 0, 1000)
            .await
            .unwrap();
        entries
            .iter()
            .map(|e| serde_json::from_slice::<Event>(&e.value).unwrap().kind)
            .collect()
    }

    #[tokio::test]
    async fn outcomes_whose_messages_were_lost_are_taken_from_the_store() {
        let (store, queue) = setup().await;
        let mut driver = JobDriver::new("j", store.clone(), queue.clone())
            .await
            .unwrap();
        let worker = tokio::spawn(fake_worker(
            queue.clone(),
            Some(store.clone()),
            |_| Ok(()),
            3,
        ));
        let tasks = (0..3).map(|i| (format!("t{i}"), task())).collect();
        let seconds = tokio::time::timeout(Duration::from_secs(10), driver.run_stage(tasks))
            .await
            .expect("the stage never took the stored outcomes")
            .unwrap();
        worker.await.unwrap();
        assert_eq!(seconds.len(), 3);
        assert!(seconds.values().all(|s| *s == 0.25), "{seconds:?}");
        assert_eq!(driver.done, 3);
        assert_eq!(
            queue.len(&keys::outcome_queue("j")).await.unwrap(),
            0,
            "no outcome message was ever sent"
        );
        for i in 0..3 {
            let state = stored_state(&*store, &format!("t{i}")).await;
            assert_eq!(
                (state.state.as_str(), state.worker.as_deref()),
                ("done", Some("scripted"))
            );
        }
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_and_the_stage_completes() {
        let (store, queue) = setup().await;
        let mut driver = JobDriver::new("j", store.clone(), queue.clone())
            .await
            .unwrap();
        let worker = tokio::spawn(scripted_worker(
            queue.clone(),
            |attempt| {
                if attempt == 1 {
                    Err(TaskFailure::transient("connection reset"))
                } else {
                    Ok(())
                }
            },
            2,
        ));
        driver.run_stage(vec![("t".into(), task())]).await.unwrap();
        worker.await.unwrap();
        let state = stored_state(&*store, "t").await;
        assert_eq!((state.state.as_str(), state.attempt), ("done", 2));
        let failed: Vec<_> = events(&*store, "j")
            .await
            .into_iter()
            .filter(|e| {
                matches!(
                    e,
                    EventKind::TaskFailed {
                        will_retry: true,
                        attempt: 1,
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(driver.done, 1);
    }

    #[tokio::test]
    async fn a_permanent_failure_fails_the_job_without_retry() {
        let (store, queue) = setup().await;
        let mut driver = JobDriver::new("j", store.clone(), queue.clone())
            .await
            .unwrap();
        let worker = tokio::spawn(scripted_worker(
            queue.clone(),
            |_| {
                Err(TaskFailure::permanent(
                    ErrorCode::BadRequest,
                    "bad parameter",
                ))
            },
            1,
        ));
        let err = driver
            .run_stage(vec![("t".into(), task())])
            .await
            .unwrap_err();
        worker.await.unwrap();
        assert!(
            matches!(&err, JobError::TaskFailed { attempts: 1, message, .. } if message == "bad parameter"),
            "{err}"
        );
        assert_eq!(
            queue.len(keys::TASK_QUEUE).await.unwrap(),
            0,
            "nothing republished"
        );
    }

    #[tokio::test]
    async fn retries_stop_at_the_limit() {
        let (store, queue) = setup().await;
        let mut driver = JobDriver::new("j", store.clone(), queue.clone())
            .await
            .unwrap();
        let worker = tokio::spawn(scripted_worker(
            queue.clone(),
            |_| Err(TaskFailure::transient("always down")),
            MAX_ATTEMPTS as usize,
        ));
        let err = driver
            .run_stage(vec![("t".into(), task())])
            .await
            .unwrap_err();
        worker.await.unwrap();
        assert!(matches!(
            err,
            JobError::TaskFailed {
                attempts: MAX_ATTEMPTS,
                ..
            }
        ));
        let state = stored_state(&*store, "t").await;
        assert_eq!(state.state, "failed");
        assert_eq!(state.error.as_deref(), Some("always down"));
    }

    #[tokio::test]
    async fn a_new_driver_resumes_a_stage_without_redoing_done_tasks() {
        let (store, queue) = setup().await;
        let tasks = || vec![("a".to_string(), task()), ("b".to_string(), task())];
        let mut first = JobDriver::new("j", store.clone(), queue.clone())
            .await
            .unwrap();
        // A worker that answers one task, then the driver dies (its future is dropped).
        let worker = tokio::spawn(scripted_worker(queue.clone(), |_| Ok(()), 1));
        let cut = tokio::time::timeout(Duration::from_millis(800), first.run_stage(tasks())).await;
        assert!(cut.is_err(), "the stage cannot finish with one answer");
        worker.await.unwrap();
        drop(first);
        let mut second = JobDriver::new("j", store.clone(), queue.clone())
            .await
            .unwrap();
        assert_eq!(
            queue.len(keys::TASK_QUEUE).await.unwrap(),
            1,
            "the other task waits in the queue"
        );
        let worker = tokio::spawn(scripted_worker(queue.clone(), |_| Ok(()), 1));
        let seconds = second.run_stage(tasks()).await.unwrap();
        worker.await.unwrap();
        assert_eq!(seconds.len(), 2);
        assert_eq!(second.done, 2);
        let queued = events(&*store, "j")
            .await
            .into_iter()
            .filter(|e| matches!(e, EventKind::TaskQueued { .. }))
            .count();
        assert_eq!(queued, 2, "each task queued once over both drivers");
        assert_eq!(queue.len(keys::TASK_QUEUE).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn the_task_of_a_lost_worker_is_queued_again_and_its_late_outcome_ignored() {
        let (store, queue) = setup().await;
        let mut driver = JobDriver::new("j", store.clone(), queue.clone())
            .await
            .unwrap();
        // A worker took attempt 1 and fell silent: its heartbeat key does not exist.
        let held = RunningTask {
            task_id: "t".into(),
            attempt: 1,
            worker: "ghost".into(),
            slot: 0,
            started_ms: 0,
        };
        store
            .hset(
                &keys::job_running("j"),
                "t",
                &serde_json::to_vec(&held).unwrap(),
            )
            .await
            .unwrap();
        let stage = tokio::spawn(async move {
            let r = driver.run_stage(vec![("t".into(), task())]).await;
            (driver, r)
        });
        tokio::time::sleep(WATCH_INTERVAL * 3).await;
        assert_eq!(
            queue.len(keys::TASK_QUEUE).await.unwrap(),
            2,
            "attempt 2 published beside attempt 1"
        );
        // Attempt 1's outcome arrives late: ignored; attempt 2's completes the task.
        let worker = tokio::spawn(scripted_worker(queue.clone(), |_| Ok(()), 2));
        let (driver, result) = stage.await.unwrap();
        result.unwrap();
        worker.await.unwrap();
        let state = stored_state(&*store, "t").await;
        assert_eq!((state.state.as_str(), state.attempt), ("done", 2));
        assert_eq!(driver.done, 1);
        assert!(events(&*store, "j").await.iter().any(
            |e| matches!(e, EventKind::WorkerLost { worker, attempt: 1, .. } if worker == "ghost")
        ));
    }

    #[tokio::test]
    async fn a_cancel_request_stops_the_stage() {
        let (store, queue) = setup().await;
        let mut driver = JobDriver::new("j", store.clone(), queue.clone())
            .await
            .unwrap();
        store.set(&keys::job_cancel("j"), b"1").await.unwrap();
        let err = driver
            .run_stage(vec![("t".into(), task())])
            .await
            .unwrap_err();
        assert!(matches!(err, JobError::Cancelled), "{err}");
    }
}
