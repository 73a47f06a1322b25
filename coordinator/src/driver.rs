//! Publishes a job's tasks stage by stage, follows their outcomes, retries, and records task state.
//!
//! The store is the source of truth: every task's state lives in [`keys::job_tasks`],
//! every result in [`keys::task_results`], every transition in [`keys::job_events`].
//! An outcome is acknowledged only after the task state it implies is recorded.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use secuml_proto::{keys, Event, EventKind, TaskKind, TaskMessage, TaskOutcome, PROTOCOL_VERSION};
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
    /// The queue or the store failed.
    #[error("infrastructure: {0}")]
    Infrastructure(#[from] anyhow::Error),
}

/// Drives the tasks of one job.
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
    /// A driver for `job_id`, consuming the outcome queue.
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
        let event = Event::now(&self.job_id, kind);
        self.store
            .append(
                &keys::job_events(&self.job_id),
                &serde_json::to_vec(&event)?,
            )
            .await?;
        Ok(())
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

    /// Runs one stage: publishes every task, waits until all are done, retrying
    /// retryable failures up to [`MAX_ATTEMPTS`]. Returns each task's seconds.
    pub async fn run_stage(
        &mut self,
        tasks: Vec<(String, TaskKind)>,
    ) -> Result<HashMap<String, f64>, JobError> {
        let mut pending: BTreeMap<String, (TaskKind, TaskState)> = BTreeMap::new();
        self.planned += tasks.len();
        for (task_id, kind) in tasks {
            let state = TaskState {
                state: "queued".into(),
                attempt: 1,
                label: kind.label(),
                seconds: None,
                error: None,
                worker: None,
            };
            self.record(&task_id, &state).await?;
            self.event(EventKind::TaskQueued {
                task_id: task_id.clone(),
                label: state.label.clone(),
            })
            .await?;
            self.publish(&task_id, 1, &kind).await?;
            pending.insert(task_id, (kind, state));
        }
        let stage_tasks = pending.len();
        let started = std::time::Instant::now();
        let mut seconds = HashMap::new();
        while !pending.is_empty() {
            let delivery = self
                .outcomes
                .next()
                .await
                .map_err(anyhow::Error::from)?
                .ok_or_else(|| anyhow::anyhow!("the outcome queue closed"))?;
            let outcome: TaskOutcome = match serde_json::from_slice(&delivery.payload) {
                Ok(o) => o,
                Err(e) => {
                    warn!(error = %e, "dead-lettering an outcome that does not parse");
                    delivery
                        .nack(false, &format!("outcome does not parse: {e}"))
                        .await
                        .map_err(anyhow::Error::from)?;
                    continue;
                }
            };
            let current = pending.get(&outcome.task_id).map(|(_, s)| s.attempt);
            if outcome.job_id != self.job_id || current != Some(outcome.attempt) {
                // A duplicate (redelivered task) or an outcome of an earlier attempt: already handled.
                debug!(task_id = %outcome.task_id, attempt = outcome.attempt, "ignoring a stale outcome");
                delivery.ack().await.map_err(anyhow::Error::from)?;
                continue;
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
                    seconds.insert(outcome.task_id.clone(), outcome.seconds);
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
                        state.state = "queued".into();
                        self.record(&outcome.task_id, &state).await?;
                        warn!(job_id = %self.job_id, task_id = %outcome.task_id, attempt = state.attempt, error = %failure, "retrying task");
                        self.publish(&outcome.task_id, state.attempt, &kind).await?;
                        pending.insert(outcome.task_id.clone(), (kind, state));
                    } else {
                        state.state = "failed".into();
                        self.record(&outcome.task_id, &state).await?;
                        delivery.ack().await.map_err(anyhow::Error::from)?;
                        return Err(JobError::TaskFailed {
                            task_id: outcome.task_id,
                            attempts: state.attempt,
                            message: failure.message,
                        });
                    }
                }
            }
            delivery.ack().await.map_err(anyhow::Error::from)?;
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

    /// Reads the stored results of a job's tasks.
    pub async fn results(&self) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        Ok(self
            .store
            .hgetall(&keys::task_results(&self.job_id))
            .await?)
    }
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
            },
        }
    }

    /// A worker that answers each attempt with `answer(attempt)`, acknowledging as a real one does.
    async fn scripted_worker(
        queue: Arc<dyn TaskQueue>,
        answer: fn(u32) -> Result<(), TaskFailure>,
        count: usize,
    ) {
        let mut consumer = queue.consume(keys::TASK_QUEUE, 1).await.unwrap();
        for _ in 0..count {
            let delivery = consumer.next().await.unwrap().unwrap();
            let task = decode_task(&delivery.payload).unwrap();
            let outcome = TaskOutcome {
                protocol_version: PROTOCOL_VERSION,
                job_id: task.job_id,
                task_id: task.task_id,
                attempt: task.attempt,
                worker: "scripted".into(),
                seconds: 0.0,
                result: answer(task.attempt),
            };
            queue
                .publish(
                    &keys::outcome_queue(&outcome.job_id),
                    &serde_json::to_vec(&outcome).unwrap(),
                )
                .await
                .unwrap();
            delivery.ack().await.unwrap();
        }
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
        let state: TaskState = serde_json::from_slice(
            &store
                .hget(&keys::job_tasks("j"), "t")
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
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
        let state: TaskState = serde_json::from_slice(
            &store
                .hget(&keys::job_tasks("j"), "t")
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(state.state, "failed");
        assert_eq!(state.error.as_deref(), Some("always down"));
    }
}
