//! Reads of the service records: jobs, their tasks and events, worker heartbeats, dead letters.
//!
//! Every read is bounded: lists stop at a fixed number of records and streams are read from their tail,
//! so a long-lived store never makes one request read everything it holds.

use std::cmp::Ordering;

use secuml_proto::{
    keys, DeadLetterRecord, Event, EventKind, JobRecord, JobSpec, JobStatus, RunningTask,
    WorkerBeat,
};
use secuml_runtime::{Store, StoreError, StreamEntry};
use serde::{Deserialize, Serialize};

use crate::data::{decode, Reader};
use crate::error::DashboardError;

/// Longest job id accepted, in bytes.
pub const MAX_JOB_ID_BYTES: usize = 128;
/// Jobs listed at most by `/api/jobs` (the newest).
pub const MAX_JOBS: usize = 500;
/// Events of a job's log returned at most by `/api/jobs/<id>` (the latest).
pub const EVENT_LOG_LIMIT: usize = 200;
/// Dead letters returned at most by `/api/dead-letters` (the latest).
pub const DEAD_LETTER_LIMIT: usize = 200;
/// Worker heartbeats read at most by `/api/workers`.
pub const MAX_WORKERS: usize = 1000;

/// Refuses a job id that is not a name of letters, digits, `-`, `_`, `.` (or is too long).
pub fn check_job_id(job_id: &str) -> Result<(), DashboardError> {
    let ok =
        job_id.len() <= MAX_JOB_ID_BYTES && secuml_proto::job::check_name("job", job_id).is_ok();
    if ok {
        Ok(())
    } else {
        Err(DashboardError::BadRequest(format!(
            "a job id is a name of at most {MAX_JOB_ID_BYTES} letters, digits, `-`, `_`, `.`"
        )))
    }
}

/// One job in the `/jobs` list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobEntry {
    /// Job id.
    pub job_id: String,
    /// Kind of job ("Diadem").
    pub kind: String,
    /// Project of its data.
    pub project: String,
    /// Training dataset.
    pub dataset: String,
    /// Where it is.
    pub status: JobStatus,
    /// The experiment it fills.
    pub experiment_id: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Submission time (ms since the epoch).
    pub submitted_ms: u64,
    /// Start time.
    pub started_ms: Option<u64>,
    /// End time.
    pub finished_ms: Option<u64>,
    /// The coordinator that ran it last.
    pub coordinator: Option<String>,
    /// Tasks planned so far.
    pub tasks_planned: u32,
    /// Tasks done so far.
    pub tasks_done: u32,
}

/// A task's state as the coordinator stores it in [`keys::job_tasks`]; unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
struct StoredTask {
    #[serde(default)]
    state: String,
    #[serde(default)]
    attempt: u32,
    #[serde(default)]
    label: String,
    #[serde(default)]
    seconds: Option<f64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    worker: Option<String>,
}

/// One row of a job's task table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRow {
    /// Task id.
    pub task_id: String,
    /// `queued`, `running` (in a worker's hands), `done` or `failed`.
    pub state: String,
    /// Current attempt, from 1.
    pub attempt: u32,
    /// Human label.
    pub label: String,
    /// Worker of the current or last attempt.
    pub worker: Option<String>,
    /// Seconds the last attempt took.
    pub seconds: Option<f64>,
    /// Error of the last failure.
    pub error: Option<String>,
    /// When the running attempt started.
    pub started_ms: Option<u64>,
}

/// How far a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Tasks planned so far (the record's count, or the rows if there are more).
    pub planned: u32,
    /// Tasks done.
    pub done: u32,
    /// Tasks in a worker's hands.
    pub running: u32,
    /// Tasks failed for good.
    pub failed: u32,
}

/// One entry of an event log, with its stream sequence number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedEvent {
    /// Sequence number in the job's stream (the SSE id).
    pub seq: u64,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}

/// Everything the job page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobDetail {
    /// The job's record.
    pub job: JobRecord,
    /// Its tasks, in planning order.
    pub tasks: Vec<TaskRow>,
    /// Counts over the tasks.
    pub progress: Progress,
    /// The latest events (at most [`EVENT_LOG_LIMIT`]), oldest first.
    pub events: Vec<LoggedEvent>,
    /// Sequence number of the last event when the snapshot was taken: follow the stream after it.
    pub last_seq: u64,
}

/// A live worker, from its heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerEntry {
    /// The heartbeat as written.
    #[serde(flatten)]
    pub beat: WorkerBeat,
    /// Age of the heartbeat when read, in milliseconds.
    pub age_ms: u64,
}

/// One dead letter, with its stream sequence number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterEntry {
    /// Sequence number in the dead-letter stream.
    pub seq: u64,
    /// The record.
    #[serde(flatten)]
    pub record: DeadLetterRecord,
}

/// The latest dead letters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetters {
    /// Sequence number of the last dead letter (how many were ever recorded, unless the stream was reset).
    pub last_seq: u64,
    /// The latest ones (at most [`DEAD_LETTER_LIMIT`]), newest first.
    pub records: Vec<DeadLetterEntry>,
}

impl Reader {
    /// Every readable job record, newest first, at most [`MAX_JOBS`]; unreadable ones are logged and skipped.
    pub async fn jobs(&self) -> Result<Vec<JobEntry>, DashboardError> {
        let key = keys::jobs();
        let all = self.store().hgetall(&key).await?;
        let mut records: Vec<JobRecord> = Vec::with_capacity(all.len());
        for (field, bytes) in all {
            match serde_json::from_slice::<JobRecord>(&bytes) {
                Ok(record) => records.push(record),
                Err(err) => {
                    tracing::warn!(key = %key, field = %field, error = %err, "skipping unreadable job record")
                }
            }
        }
        records.sort_by(|a, b| {
            b.submitted_ms
                .cmp(&a.submitted_ms)
                .then_with(|| b.job_id.cmp(&a.job_id))
        });
        records.truncate(MAX_JOBS);
        let mut entries = Vec::with_capacity(records.len());
        for record in records {
            let mut entry = job_entry(&record);
            // The record's counts may lag while the job runs: count its task states then.
            if !record.status.is_final() || record.tasks_planned == 0 {
                let tasks = self.task_rows(&record.job_id).await?;
                let progress = progress(&record, &tasks);
                entry.tasks_planned = progress.planned;
                entry.tasks_done = progress.done;
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    /// One job record; an unknown job is not found.
    pub async fn job_record(&self, job_id: &str) -> Result<JobRecord, DashboardError> {
        check_job_id(job_id)?;
        let key = keys::jobs();
        let bytes = self.store().hget(&key, job_id).await?;
        let bytes = bytes.ok_or_else(|| DashboardError::not_found(format!("job {job_id}")))?;
        decode(&format!("{key} {job_id}"), &bytes)
    }

    /// A job's record, tasks, progress and latest events.
    ///
    /// The stream's end is read first, then the task states: a client that applies the events after
    /// `last_seq` to the tasks never misses a transition (it may see one twice, which is harmless).
    pub async fn job(&self, job_id: &str) -> Result<JobDetail, DashboardError> {
        check_job_id(job_id)?;
        let stream = keys::job_events(job_id);
        let last_seq = last_seq(self.store(), &stream).await?;
        let job = self.job_record(job_id).await?;
        let tasks = self.task_rows(job_id).await?;
        let entries = tail(self.store(), &stream, last_seq, EVENT_LOG_LIMIT).await?;
        let events = decode_events(&stream, entries);
        let progress = progress(&job, &tasks);
        Ok(JobDetail {
            job,
            tasks,
            progress,
            events,
            last_seq,
        })
    }

    /// A job's task rows in planning order, with the tasks in a worker's hands shown as running.
    async fn task_rows(&self, job_id: &str) -> Result<Vec<TaskRow>, DashboardError> {
        let key = keys::job_tasks(job_id);
        let stored = self.store().hgetall(&key).await?;
        let running_key = keys::job_running(job_id);
        let running = self.store().hgetall(&running_key).await?;
        let mut rows = Vec::with_capacity(stored.len());
        for (task_id, bytes) in stored {
            let task: StoredTask = decode(&format!("{key} {task_id}"), &bytes)?;
            let mut row = TaskRow {
                task_id: task_id.clone(),
                state: task.state,
                attempt: task.attempt,
                label: task.label,
                worker: task.worker,
                seconds: task.seconds,
                error: task.error,
                started_ms: None,
            };
            if let Some(bytes) = running.get(&task_id) {
                match serde_json::from_slice::<RunningTask>(bytes) {
                    Ok(run) if row.state == "queued" && run.attempt >= row.attempt => {
                        row.state = "running".into();
                        row.attempt = run.attempt;
                        row.worker = Some(run.worker);
                        row.started_ms = Some(run.started_ms);
                    }
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(key = %running_key, field = %task_id, error = %err, "skipping unreadable running task")
                    }
                }
            }
            rows.push(row);
        }
        rows.sort_by(|a, b| natural_cmp(&a.task_id, &b.task_id));
        Ok(rows)
    }

    /// The live workers (their heartbeats have not expired), by id.
    pub async fn workers(&self) -> Result<Vec<WorkerEntry>, DashboardError> {
        let now = secuml_proto::event::now_ms();
        let keys = self.store().keys(keys::WORKER_PREFIX).await?;
        let mut workers = Vec::new();
        for key in keys.into_iter().take(MAX_WORKERS) {
            let bytes = match self.store().get(&key).await {
                Ok(Some(bytes)) => bytes,
                // Expired between the listing and the read, or not a plain value.
                Ok(None) | Err(StoreError::WrongType { .. }) => continue,
                Err(err) => return Err(err.into()),
            };
            match serde_json::from_slice::<WorkerBeat>(&bytes) {
                Ok(beat) => workers.push(WorkerEntry {
                    age_ms: now.saturating_sub(beat.beat_ms),
                    beat,
                }),
                Err(err) => {
                    tracing::warn!(key = %key, error = %err, "skipping unreadable worker heartbeat")
                }
            }
        }
        workers.sort_by(|a, b| a.beat.worker.cmp(&b.beat.worker));
        Ok(workers)
    }

    /// The latest dead letters, newest first.
    pub async fn dead_letters(&self) -> Result<DeadLetters, DashboardError> {
        let key = keys::dead_letters();
        let last_seq = last_seq(self.store(), &key).await?;
        let entries = tail(self.store(), &key, last_seq, DEAD_LETTER_LIMIT).await?;
        let mut records = Vec::with_capacity(entries.len());
        for entry in entries.into_iter().rev() {
            match serde_json::from_slice::<DeadLetterRecord>(&entry.value) {
                Ok(record) => records.push(DeadLetterEntry {
                    seq: entry.seq,
                    record,
                }),
                Err(err) => {
                    tracing::warn!(key = %key, seq = entry.seq, error = %err, "skipping unreadable dead letter")
                }
            }
        }
        Ok(DeadLetters { last_seq, records })
    }
}

/// The list entry of a job record.
pub fn job_entry(record: &JobRecord) -> JobEntry {
    let (kind, project, dataset) = match &record.spec {
        JobSpec::Diadem(spec) => ("Diadem", spec.project.clone(), spec.dataset.clone()),
        JobSpec::Clustering(spec) => ("Clustering", spec.project.clone(), spec.dataset.clone()),
    };
    JobEntry {
        job_id: record.job_id.clone(),
        kind: kind.to_string(),
        project,
        dataset,
        status: record.status,
        experiment_id: record.experiment_id,
        error: record.error.clone(),
        submitted_ms: record.submitted_ms,
        started_ms: record.started_ms,
        finished_ms: record.finished_ms,
        coordinator: record.coordinator.clone(),
        tasks_planned: record.tasks_planned,
        tasks_done: record.tasks_done,
    }
}

fn progress(record: &JobRecord, tasks: &[TaskRow]) -> Progress {
    let count = |state: &str| tasks.iter().filter(|t| t.state == state).count() as u32;
    let rows = tasks.len() as u32;
    Progress {
        planned: record.tasks_planned.max(rows),
        done: count("done").max(if rows == 0 { record.tasks_done } else { 0 }),
        running: count("running"),
        failed: count("failed"),
    }
}

/// Whether an event ends its job's stream.
pub fn is_final(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::JobDone { .. } | EventKind::JobFailed { .. } | EventKind::JobCancelled
    )
}

/// Decodes stream entries into events; unreadable ones are logged and skipped.
pub fn decode_events(stream: &str, entries: Vec<StreamEntry>) -> Vec<LoggedEvent> {
    entries
        .into_iter()
        .filter_map(|entry| match serde_json::from_slice::<Event>(&entry.value) {
            Ok(event) => Some(LoggedEvent {
                seq: entry.seq,
                event,
            }),
            Err(err) => {
                tracing::warn!(key = %stream, seq = entry.seq, error = %err, "skipping unreadable event");
                None
            }
        })
        .collect()
}

/// The sequence number of a stream's last entry (0 when empty), in a logarithmic number of
/// one-entry reads: the store can only read forwards.
pub async fn last_seq(store: &dyn Store, stream: &str) -> Result<u64, StoreError> {
    let has_after = |after: u64| async move {
        Ok::<bool, StoreError>(!store.read_stream(stream, after, 1).await?.is_empty())
    };
    if !has_after(0).await? {
        return Ok(0);
    }
    // Invariant: some entry lies above `low`, none above `high`.
    let mut low = 0u64;
    let mut high = 1u64;
    while has_after(high).await? {
        low = high;
        high = high.saturating_mul(2);
        if high == u64::MAX {
            break;
        }
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if has_after(mid).await? {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(high)
}

/// At most `limit` entries of a stream up to `last`, the latest ones, oldest first.
pub async fn tail(
    store: &dyn Store,
    stream: &str,
    last: u64,
    limit: usize,
) -> Result<Vec<StreamEntry>, StoreError> {
    let after = last.saturating_sub(limit as u64);
    let mut entries = store.read_stream(stream, after, limit).await?;
    entries.retain(|e| e.seq <= last);
    Ok(entries)
}

/// Compares task ids with their digit runs as numbers: `fit-2-0` before `fit-10-0`.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let da = trim_zeros(&a[..na]);
                let db = trim_zeros(&b[..nb]);
                let order = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
                if order != Ordering::Equal {
                    return order;
                }
                a = &a[na..];
                b = &b[nb..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits.iter().take_while(|c| **c == b'0').count();
    &digits[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_sort_with_numbers_as_numbers() {
        let mut ids = vec!["fit-10-0", "fit-2-1", "detect-test", "fit-2-0", "refit"];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            vec!["detect-test", "fit-2-0", "fit-2-1", "fit-10-0", "refit"]
        );
    }

    #[test]
    fn job_ids_are_names() {
        assert!(check_job_id("diadem-1-1780000000000").is_ok());
        assert!(check_job_id("a.b_c").is_ok());
        for bad in ["", ".", "..", "a/b", "<script>", "a b", &"x".repeat(200)] {
            assert!(check_job_id(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_last_sequence_number_is_found_from_the_tail() {
        let store =
            secuml_runtime::FileStore::open_temporary(secuml_runtime::Durability::Process).unwrap();
        assert_eq!(last_seq(&store, "s").await.unwrap(), 0);
        for n in 1..=37u64 {
            store.append("s", n.to_string().as_bytes()).await.unwrap();
            assert_eq!(last_seq(&store, "s").await.unwrap(), n);
        }
        let latest = tail(&store, "s", 37, 5).await.unwrap();
        let seqs: Vec<u64> = latest.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![33, 34, 35, 36, 37]);
    }
}
