//! `GET /api/jobs/<job_id>/events`: a job's event stream as server-sent events.
//!
//! Each SSE message is one [`secuml_proto::Event`] as JSON, with the entry's stream sequence number as its
//! id. The stream starts after the `Last-Event-ID` header (a reconnecting browser sends it), else after
//! the `after` query parameter, else at the start; it ends with an `end` message after the job's final
//! event, or at once when the job is already over and nothing is left to send. The store has no blocking
//! read, so the route polls it every [`POLL_INTERVAL`] while nothing is new.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use secuml_proto::keys;
use warp::reply::Response;
use warp::sse;
use warp::{Filter, Rejection, Reply};

use crate::api::error_reply;
use crate::data::Reader;
use crate::error::DashboardError;
use crate::jobs::{check_job_id, decode_events, is_final};
use crate::security::Segment;

/// How often the store is read while the stream has nothing new.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Entries read from the store at most per poll.
pub const READ_CHUNK: usize = 256;
/// Interval of the keep-alive comments on an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a browser waits before reconnecting a dropped stream.
pub const RETRY: Duration = Duration::from_secs(1);
/// Empty polls between two reads of the job record (to notice a job that ended without a final event).
const POLLS_PER_STATUS_CHECK: u32 = 5;

/// The SSE route.
pub fn routes(reader: Reader) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_reader = warp::any().map(move || reader.clone());
    warp::path!("api" / "jobs" / Segment / "events")
        .and(warp::header::optional::<String>("last-event-id"))
        .and(warp::query::<HashMap<String, String>>())
        .and(with_reader)
        .then(
            |job: Segment, last: Option<String>, query: HashMap<String, String>, r: Reader| async move {
                match start(&r, &job.0, last, query).await {
                    Ok(after) => follow(r, job.0, after),
                    Err(err) => error_reply(&err),
                }
            },
        )
}

/// Checks the request and returns the sequence number to follow the stream after.
async fn start(
    reader: &Reader,
    job_id: &str,
    last_event_id: Option<String>,
    query: HashMap<String, String>,
) -> Result<u64, DashboardError> {
    check_job_id(job_id)?;
    let parse = |what: &str, text: &str| {
        text.trim()
            .parse::<u64>()
            .map_err(|_| DashboardError::BadRequest(format!("{what} is not a sequence number")))
    };
    let after = match (last_event_id, query.get("after")) {
        (Some(id), _) if !id.trim().is_empty() => parse("Last-Event-ID", &id)?,
        (_, Some(after)) => parse("after", after)?,
        _ => 0,
    };
    reader.job_record(job_id).await?;
    Ok(after)
}

/// What the event stream holds between two polls.
struct Follow {
    reader: Reader,
    job_id: String,
    stream: String,
    cursor: u64,
    ready: VecDeque<sse::Event>,
    ended: bool,
    empty_polls: u32,
}

fn follow(reader: Reader, job_id: String, after: u64) -> Response {
    tracing::debug!(job_id = %job_id, after, "following a job's events");
    let state = Follow {
        stream: keys::job_events(&job_id),
        reader,
        job_id,
        cursor: after,
        ready: VecDeque::from([sse::Event::default().retry(RETRY).comment("following")]),
        ended: false,
        empty_polls: 0,
    };
    // The store's futures are not `Sync`, which warp's SSE body needs: a task follows the store and
    // hands the messages over a channel; it stops when the client goes away.
    let (tx, rx) = tokio::sync::mpsc::channel::<sse::Event>(16);
    tokio::spawn(async move {
        let mut state = state;
        loop {
            let next = tokio::select! {
                next = state.next() => next,
                () = tx.closed() => None,
            };
            match next {
                Some(event) => {
                    if tx.send(event).await.is_err() {
                        break;
                    }
                }
                None => break,
            }
        }
        tracing::debug!(job_id = %state.job_id, "stopped following a job's events");
    });
    let events = futures::stream::unfold(rx, |mut rx| async move {
        let event = rx.recv().await?;
        Some((Ok::<sse::Event, Infallible>(event), rx))
    });
    sse::reply(sse::keep_alive().interval(KEEP_ALIVE).stream(events)).into_response()
}

impl Follow {
    /// The next SSE message, waiting for one; `None` once the stream ended.
    async fn next(&mut self) -> Option<sse::Event> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            self.poll().await;
        }
    }

    async fn poll(&mut self) {
        let store = self.reader.store();
        let entries = match store
            .read_stream(&self.stream, self.cursor, READ_CHUNK)
            .await
        {
            Ok(entries) => entries,
            Err(err) => {
                tracing::warn!(job_id = %self.job_id, error = %err, "reading a job's events failed; retrying");
                tokio::time::sleep(POLL_INTERVAL).await;
                return;
            }
        };
        if let Some(last) = entries.last() {
            self.empty_polls = 0;
            // Unreadable entries are skipped, but the cursor moves past them.
            self.cursor = last.seq;
            for logged in decode_events(&self.stream, entries) {
                let data = match serde_json::to_string(&logged.event) {
                    Ok(data) => data,
                    Err(err) => {
                        tracing::warn!(job_id = %self.job_id, error = %err, "cannot encode an event");
                        continue;
                    }
                };
                self.ready
                    .push_back(sse::Event::default().id(logged.seq.to_string()).data(data));
                if is_final(&logged.event.kind) {
                    self.end("final event");
                    return;
                }
            }
            return;
        }
        self.empty_polls += 1;
        if self.empty_polls % POLLS_PER_STATUS_CHECK == 1 {
            match self.reader.job_record(&self.job_id).await {
                Ok(record) if record.status.is_final() => {
                    self.end("job over");
                    return;
                }
                Ok(_) => {}
                Err(DashboardError::NotFound { .. }) => {
                    self.end("job gone");
                    return;
                }
                Err(err) => {
                    tracing::warn!(job_id = %self.job_id, error = %err, "reading a job's record failed")
                }
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }

    fn end(&mut self, why: &str) {
        tracing::debug!(job_id = %self.job_id, cursor = self.cursor, why, "job event stream ends");
        self.ready
            .push_back(sse::Event::default().event("end").data(why.to_string()));
        self.ended = true;
    }
}
