//! Route tests of the live pages over the service records: jobs, a job's tasks and events (also as
//! server-sent events), workers and dead letters, written through `keys` into a real file store.

mod support;

use std::sync::Arc;
use std::time::Duration;

use secuml_dashboard::routes;
use secuml_proto::{keys, DeadLetterRecord, EventKind, JobStatus, RunningTask, WorkerBeat};
use secuml_runtime::Store;
use serde_json::Value;
use support::{fresh_store, put_event, put_job, put_task};
use warp::http::StatusCode;

const T0: u64 = 1_780_000_000_000;

async fn get_with(
    store: &Arc<dyn Store>,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String, warp::http::HeaderMap) {
    let mut request = warp::test::request().method("GET").path(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(20),
        request.reply(&routes(store.clone(), support::no_datasets())),
    )
    .await
    .unwrap_or_else(|_| panic!("{path} did not answer in time"));
    let status = response.status();
    let headers = response.headers().clone();
    (
        status,
        String::from_utf8(response.body().to_vec()).unwrap(),
        headers,
    )
}

async fn get(store: &Arc<dyn Store>, path: &str) -> (StatusCode, String) {
    let (status, body, _) = get_with(store, path, &[]).await;
    (status, body)
}

async fn get_json(store: &Arc<dyn Store>, path: &str) -> (StatusCode, Value) {
    let (status, body, headers) = get_with(store, path, &[]).await;
    assert_eq!(
        headers["content-type"], "application/json",
        "{path}: {body}"
    );
    (status, serde_json::from_str(&body).unwrap())
}

/// One SSE message: its id, event name and data.
#[derive(Debug, Clone, PartialEq)]
struct Message {
    id: Option<u64>,
    event: Option<String>,
    data: String,
}

fn parse_sse(body: &str) -> Vec<Message> {
    let mut messages = Vec::new();
    for block in body.split("\n\n") {
        let mut message = Message {
            id: None,
            event: None,
            data: String::new(),
        };
        let mut any = false;
        for line in block.lines() {
            if let Some(id) = line.strip_prefix("id:") {
                message.id = Some(id.trim().parse().unwrap());
                any = true;
            } else if let Some(event) = line.strip_prefix("event:") {
                message.event = Some(event.trim().to_string());
                any = true;
            } else if let Some(data) = line.strip_prefix("data:") {
                message.data.push_str(data.trim_start());
                any = true;
            }
        }
        if any {
            messages.push(message);
        }
    }
    messages
}

fn event_type(message: &Message) -> String {
    let value: Value = serde_json::from_str(&message.data).unwrap();
    value["kind"]["type"].as_str().unwrap().to_string()
}

/// A running job with tasks in every state, a worker running one, and an older finished job.
async fn running_job_store() -> Arc<dyn Store> {
    let store = fresh_store();
    let s = store.as_ref();
    put_job(s, "diadem-1-old", JobStatus::Succeeded, T0, None).await;
    put_task(s, "diadem-1-old", "fit-0-0", "done", 1, None).await;
    put_job(s, "diadem-2-new", JobStatus::Running, T0 + 60_000, None).await;
    put_event(
        s,
        "diadem-2-new",
        EventKind::JobStarted { planned_tasks: 0 },
    )
    .await;
    for (task, state, attempt, error) in [
        ("fit-10-0", "queued", 1, None),
        ("fit-2-0", "done", 1, None),
        ("fit-2-1", "queued", 2, Some("store: timed out")),
        ("fit-3-0", "queued", 1, None),
        ("fit-9-0", "failed", 3, Some("bad data")),
    ] {
        put_task(s, "diadem-2-new", task, state, attempt, error).await;
        put_event(
            s,
            "diadem-2-new",
            EventKind::TaskQueued {
                task_id: task.into(),
                label: format!("label of {task}"),
            },
        )
        .await;
    }
    let running = RunningTask {
        task_id: "fit-3-0".into(),
        attempt: 1,
        worker: "w1".into(),
        slot: 0,
        started_ms: T0 + 61_000,
    };
    s.hset(
        &keys::job_running("diadem-2-new"),
        "fit-3-0",
        &serde_json::to_vec(&running).unwrap(),
    )
    .await
    .unwrap();
    store
}

fn beat(worker: &str, running: Vec<(String, String, u32)>) -> WorkerBeat {
    WorkerBeat {
        worker: worker.into(),
        host: "host-a".into(),
        pid: 4242,
        slots: 2,
        running,
        tasks_done: 7,
        started_ms: secuml_proto::event::now_ms() - 60_000,
        beat_ms: secuml_proto::event::now_ms() - 500,
        draining: false,
    }
}

#[tokio::test]
async fn jobs_are_listed_newest_first_with_their_progress() {
    let store = running_job_store().await;
    let (status, jobs) = get_json(&store, "/api/jobs").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["diadem-2-new", "diadem-1-old"]);
    assert_eq!(jobs[0]["status"], "running");
    assert_eq!(
        (
            jobs[0]["tasks_done"].as_u64(),
            jobs[0]["tasks_planned"].as_u64()
        ),
        (Some(1), Some(5))
    );
    assert_eq!(
        (jobs[0]["project"].as_str(), jobs[0]["kind"].as_str()),
        (Some("NSL-KDD"), Some("Diadem"))
    );
    assert_eq!(jobs[1]["tasks_done"], 1);

    let (status, body) = get(&store, "/jobs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<title>Jobs</title>") && body.contains("data-page=\"jobs\""),
        "{body}"
    );
    assert!(body.contains("/static/live.js"));
    let new = body.find("data-job=\"diadem-2-new\"").expect("new job row");
    let old = body.find("data-job=\"diadem-1-old\"").expect("old job row");
    assert!(new < old, "newest first");
    assert!(body.contains("<a href=\"/jobs/diadem-2-new\">diadem-2-new</a>"));
    assert!(
        body.contains("<td>1 / 5</td>") && body.contains("href=\"/SecuML/3/\""),
        "{body}"
    );
    for link in ["/jobs", "/workers", "/dead-letters", "/SecuML/"] {
        assert!(
            body.contains(&format!("<a href=\"{link}\">")),
            "menu links {link}"
        );
    }

    let empty = fresh_store();
    let (_, jobs) = get_json(&empty, "/api/jobs").await;
    assert_eq!(jobs, serde_json::json!([]));
    let (status, body) = get(&empty, "/jobs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("No job has been submitted yet"));
}

#[tokio::test]
async fn the_job_page_shows_tasks_progress_and_events() {
    let store = running_job_store().await;
    let (status, job) = get_json(&store, "/api/jobs/diadem-2-new").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["job"]["job_id"], "diadem-2-new");
    let tasks: Vec<(&str, &str, u64)> = job["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task_id"].as_str().unwrap(),
                t["state"].as_str().unwrap(),
                t["attempt"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tasks,
        vec![
            ("fit-2-0", "done", 1),
            ("fit-2-1", "queued", 2),
            ("fit-3-0", "running", 1),
            ("fit-9-0", "failed", 3),
            ("fit-10-0", "queued", 1),
        ],
        "planning order, and the task in a worker's hands is running"
    );
    assert_eq!(job["tasks"][2]["worker"], "w1");
    assert_eq!(job["tasks"][1]["error"], "store: timed out");
    assert_eq!(
        job["progress"],
        serde_json::json!({"planned": 5, "done": 1, "running": 1, "failed": 1})
    );
    assert_eq!(job["last_seq"], 6);
    let events = job["events"].as_array().unwrap();
    assert_eq!(events.len(), 6);
    assert_eq!(events[0]["seq"], 1);
    assert_eq!(events[0]["kind"]["type"], "job_started");

    let (status, body) = get(&store, "/jobs/diadem-2-new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<title>Job diadem-2-new</title>"), "{body}");
    assert!(body.contains("data-job=\"diadem-2-new\"") && body.contains("data-last-seq=\"6\""));
    assert!(
        body.contains("<progress id=\"progress-bar\" max=\"5\" value=\"1\" data-percent=\"20\">"),
        "{body}"
    );
    assert!(body.contains("1 / 5 tasks done (20%), 1 running, 1 failed"));
    assert!(body.contains("data-task=\"fit-3-0\" data-state=\"running\""));
    assert!(body.contains("data-seq=\"2\" data-type=\"task_queued\""));
    assert!(body.contains("fit-10-0 queued: label of fit-10-0"));
    assert!(body.contains("href=\"/jobs\""), "breadcrumbs link the jobs");

    for path in ["/api/jobs/nope", "/api/jobs/nope/events"] {
        let (status, body) = get_json(&store, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["code"], "not_found");
    }
    let (status, body) = get(&store, "/jobs/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("job nope not found"), "{body}");
}

#[tokio::test]
async fn the_event_log_and_the_dead_letters_are_bounded() {
    let store = fresh_store();
    put_job(store.as_ref(), "long", JobStatus::Running, T0, None).await;
    for i in 0..250 {
        put_event(
            store.as_ref(),
            "long",
            EventKind::TaskDone {
                task_id: format!("t{i}"),
                seconds: 0.1,
            },
        )
        .await;
    }
    let (_, job) = get_json(&store, "/api/jobs/long").await;
    assert_eq!(job["last_seq"], 250);
    let seqs: Vec<u64> = job["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (51..=250).collect::<Vec<u64>>(), "the latest 200");

    for i in 0..230u64 {
        let record = DeadLetterRecord {
            queue: keys::TASK_QUEUE.into(),
            reason: format!("reason {i}"),
            job_id: Some("long".into()),
            task_id: Some(format!("t{i}")),
            attempt: Some(1),
            excerpt: "{not json".into(),
            time_ms: T0 + i,
        };
        store
            .append(&keys::dead_letters(), &serde_json::to_vec(&record).unwrap())
            .await
            .unwrap();
    }
    let (status, dead) = get_json(&store, "/api/dead-letters").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dead["last_seq"], 230);
    let records = dead["records"].as_array().unwrap();
    assert_eq!(records.len(), 200);
    assert_eq!(
        (records[0]["seq"].as_u64(), records[0]["reason"].as_str()),
        (Some(230), Some("reason 229"))
    );
    assert_eq!(records[199]["seq"], 31);
    let (status, body) = get(&store, "/dead-letters").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<title>Dead letters</title>") && body.contains("data-seq=\"230\""));
    assert!(
        body.contains("<code>{not json</code>") && body.contains("href=\"/jobs/long\""),
        "{body}"
    );

    let (_, dead) = get_json(&fresh_store(), "/api/dead-letters").await;
    assert_eq!(dead, serde_json::json!({"last_seq": 0, "records": []}));
}

#[tokio::test]
async fn live_workers_are_listed_with_their_tasks() {
    let store = fresh_store();
    let running = vec![("diadem-2-new".to_string(), "fit-3-0".to_string(), 1)];
    for (name, beat) in [("w2", beat("w2", vec![])), ("w1", beat("w1", running))] {
        store
            .set_expiring(
                &keys::worker(name),
                &serde_json::to_vec(&beat).unwrap(),
                Duration::from_secs(60),
            )
            .await
            .unwrap();
    }
    store
        .set_expiring(
            &keys::worker("gone"),
            &serde_json::to_vec(&beat("gone", vec![])).unwrap(),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let (status, workers) = get_json(&store, "/api/workers").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = workers
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["worker"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["w1", "w2"],
        "an expired heartbeat is not a live worker"
    );
    assert_eq!(
        workers[0]["running"],
        serde_json::json!([["diadem-2-new", "fit-3-0", 1]])
    );
    let age = workers[0]["age_ms"].as_u64().unwrap();
    assert!((400..30_000).contains(&age), "{age}");

    let (status, body) = get(&store, "/workers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<title>Workers</title>") && body.contains("data-worker=\"w1\""));
    assert!(
        body.contains("<a href=\"/jobs/diadem-2-new\">diadem-2-new</a> fit-3-0 (attempt 1)"),
        "{body}"
    );
    let (_, body) = get(&fresh_store(), "/workers").await;
    assert!(body.contains("No live worker"));
}

async fn finished_job_store() -> Arc<dyn Store> {
    let store = fresh_store();
    let s = store.as_ref();
    put_job(s, "j", JobStatus::Succeeded, T0, None).await;
    put_event(s, "j", EventKind::JobStarted { planned_tasks: 1 }).await;
    put_event(
        s,
        "j",
        EventKind::TaskQueued {
            task_id: "t".into(),
            label: "fit".into(),
        },
    )
    .await;
    put_event(
        s,
        "j",
        EventKind::TaskStarted {
            task_id: "t".into(),
            attempt: 1,
            worker: "w".into(),
        },
    )
    .await;
    put_event(
        s,
        "j",
        EventKind::TaskDone {
            task_id: "t".into(),
            seconds: 0.5,
        },
    )
    .await;
    put_event(s, "j", EventKind::JobDone { experiment_id: 3 }).await;
    // Nothing after the final event is sent.
    put_event(s, "j", EventKind::JobCancelled).await;
    store
}

#[tokio::test]
async fn job_events_stream_in_order_and_end_after_the_final_event() {
    let store = finished_job_store().await;
    let (status, body, headers) = get_with(&store, "/api/jobs/j/events", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/event-stream");
    assert!(body.contains("retry:1000"), "{body}");
    let messages = parse_sse(&body);
    let ids: Vec<Option<u64>> = messages.iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        vec![Some(1), Some(2), Some(3), Some(4), Some(5), None],
        "{body}"
    );
    let types: Vec<String> = messages[..5].iter().map(event_type).collect();
    assert_eq!(
        types,
        vec![
            "job_started",
            "task_queued",
            "task_started",
            "task_done",
            "job_done"
        ]
    );
    assert_eq!(messages[5].event.as_deref(), Some("end"));
    let first: secuml_proto::Event = serde_json::from_str(&messages[0].data).unwrap();
    assert_eq!(first.job_id, "j");
}

#[tokio::test]
async fn job_events_resume_after_the_last_event_id() {
    let store = finished_job_store().await;
    let ids = |body: &str| -> Vec<u64> { parse_sse(body).iter().filter_map(|m| m.id).collect() };
    let (_, body, _) = get_with(&store, "/api/jobs/j/events", &[("last-event-id", "2")]).await;
    assert_eq!(ids(&body), vec![3, 4, 5], "{body}");
    let (_, body, _) = get_with(&store, "/api/jobs/j/events?after=3", &[]).await;
    assert_eq!(ids(&body), vec![4, 5], "{body}");
    // A reconnecting browser sends the header, which wins over the page's first position.
    let (_, body, _) = get_with(
        &store,
        "/api/jobs/j/events?after=1",
        &[("last-event-id", "4")],
    )
    .await;
    assert_eq!(ids(&body), vec![5], "{body}");
    // Past the last event of a finished job, a reconnection ends at once rather than waiting.
    let (_, body, _) = get_with(&store, "/api/jobs/j/events", &[("last-event-id", "6")]).await;
    let messages = parse_sse(&body);
    assert_eq!(
        messages.last().and_then(|m| m.event.as_deref()),
        Some("end"),
        "{body}"
    );
    assert!(ids(&body).is_empty(), "{body}");
}

#[tokio::test]
async fn job_events_follow_a_running_job_until_it_ends() {
    let store = fresh_store();
    put_job(store.as_ref(), "live", JobStatus::Running, T0, None).await;
    put_event(
        store.as_ref(),
        "live",
        EventKind::JobStarted { planned_tasks: 3 },
    )
    .await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..3 {
                tokio::time::sleep(Duration::from_millis(150)).await;
                put_event(
                    store.as_ref(),
                    "live",
                    EventKind::TaskDone {
                        task_id: format!("t{i}"),
                        seconds: 0.1,
                    },
                )
                .await;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
            put_event(
                store.as_ref(),
                "live",
                EventKind::JobDone { experiment_id: 1 },
            )
            .await;
        })
    };
    let (status, body, _) = get_with(&store, "/api/jobs/live/events", &[]).await;
    writer.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let messages = parse_sse(&body);
    let ids: Vec<u64> = messages.iter().filter_map(|m| m.id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5], "{body}");
    let types: Vec<String> = messages
        .iter()
        .filter(|m| m.id.is_some())
        .map(event_type)
        .collect();
    assert_eq!(types.last().map(String::as_str), Some("job_done"));
}

#[tokio::test]
async fn a_job_that_ended_without_a_final_event_ends_its_stream() {
    let store = fresh_store();
    put_job(
        store.as_ref(),
        "cut",
        JobStatus::Failed,
        T0,
        Some("interrupted"),
    )
    .await;
    put_event(
        store.as_ref(),
        "cut",
        EventKind::JobStarted { planned_tasks: 0 },
    )
    .await;
    let (status, body, _) = get_with(&store, "/api/jobs/cut/events", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let messages = parse_sse(&body);
    let ids: Vec<u64> = messages.iter().filter_map(|m| m.id).collect();
    assert_eq!(ids, vec![1]);
    assert_eq!(
        messages.last().and_then(|m| m.event.as_deref()),
        Some("end")
    );
}

#[tokio::test]
async fn bad_job_ids_and_sequence_numbers_are_bad_requests() {
    let store = running_job_store().await;
    for path in [
        "/api/jobs/%3Cscript%3E",
        "/api/jobs/a%20b",
        "/api/jobs/..",
        "/api/jobs/a%2Fb/events",
        "/api/jobs/%3Cx%3E/events",
        &format!("/api/jobs/{}", "x".repeat(200)),
        "/api/jobs/diadem-2-new/events?after=-1",
        "/api/jobs/diadem-2-new/events?after=abc",
    ] {
        let (status, body) = get_json(&store, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["code"], "bad_request", "{path}");
    }
    let (status, _, _) = get_with(
        &store,
        "/api/jobs/diadem-2-new/events",
        &[("last-event-id", "x1")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = get(&store, "/jobs/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.contains("<script>alert"), "{body}");
}

#[tokio::test]
async fn hostile_strings_from_the_store_are_escaped() {
    let store = fresh_store();
    let s = store.as_ref();
    let evil = "<img src=x onerror=alert(1)>";
    put_job(
        s,
        "evil",
        JobStatus::Failed,
        T0,
        Some(&format!("task failed: {evil}\"'&")),
    )
    .await;
    put_task(s, "evil", "t", "failed", 3, Some(evil)).await;
    put_event(s, "evil", EventKind::JobFailed { error: evil.into() }).await;
    let mut hostile = beat("<b>w</b>", vec![("evil".into(), evil.into(), 1)]);
    hostile.host = evil.into();
    s.set_expiring(
        &keys::worker("hostile"),
        &serde_json::to_vec(&hostile).unwrap(),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let dead = DeadLetterRecord {
        queue: evil.into(),
        reason: evil.into(),
        job_id: Some("<script>".into()),
        task_id: Some(evil.into()),
        attempt: None,
        excerpt: format!("</code>{evil}"),
        time_ms: T0,
    };
    s.append(&keys::dead_letters(), &serde_json::to_vec(&dead).unwrap())
        .await
        .unwrap();

    for path in ["/jobs", "/jobs/evil", "/workers", "/dead-letters"] {
        let (status, body) = get(&store, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            !body.contains("<img") && !body.contains("<b>w") && !body.contains("<script>"),
            "{path}: {body}"
        );
        assert!(
            body.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path}: {body}"
        );
    }
    let (_, body) = get(&store, "/jobs/evil").await;
    assert!(
        body.contains("<td id=\"job-error\">task failed: &lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;</td>"),
        "{body}"
    );
    let (_, job) = get_json(&store, "/api/jobs/evil").await;
    assert_eq!(
        job["job"]["error"],
        format!("task failed: {evil}\"'&"),
        "JSON keeps the text as it is"
    );
}

async fn put_fold_score(
    store: &dyn Store,
    job_id: &str,
    task_id: &str,
    hyper: secuml_proto::Hyper,
    fold: u32,
    score: f64,
) {
    let result = secuml_proto::FitScoreResult {
        hyper,
        fold,
        score,
        n_train: 30,
        n_test: 10,
        fit_seconds: 0.1,
        iterations: 5,
    };
    store
        .hset(
            &keys::task_results(job_id),
            task_id,
            &serde_json::to_vec(&result).unwrap(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_leaderboard_ranks_candidates_on_the_folds_scored_so_far() {
    let store = fresh_store();
    let record = put_job(store.as_ref(), "job-board", JobStatus::Running, T0, None).await;
    let secuml_proto::JobSpec::Diadem(spec) = &record.spec else {
        unreachable!()
    };
    let grid = spec.model.candidates().unwrap();
    assert_eq!(grid.len(), 8, "SecuML's logistic regression grid");

    // Nothing scored yet: every candidate in grid order, no leader.
    let (status, board) = get_json(&store, "/api/jobs/job-board/leaderboard").await;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert_eq!(board["scores_planned"], 32);
    assert_eq!(board["searches"][0]["scores_done"], 0);
    assert!(board["searches"][0]["leader"].is_null());
    assert_eq!(board["searches"][0]["candidates"][3]["index"], 3);

    // Candidate 5 on one fold, candidate 2 on all four: 5 ranks first, 2 leads.
    put_fold_score(store.as_ref(), "job-board", "fit-5-0", grid[5], 0, 0.99).await;
    for fold in 0..4 {
        let task = format!("fit-2-{fold}");
        put_fold_score(
            store.as_ref(),
            "job-board",
            &task,
            grid[2],
            fold,
            0.9 + 0.01 * fold as f64,
        )
        .await;
    }
    // Results of other tasks are not fold scores.
    store
        .hset(
            &keys::task_results("job-board"),
            "refit",
            br#"{"n_train":3,"iterations":1}"#,
        )
        .await
        .unwrap();
    let (status, board) = get_json(&store, "/api/experiments/3/leaderboard").await;
    // The experiment's record is not in this store: the experiment route answers not found.
    assert_eq!(status, StatusCode::NOT_FOUND, "{board}");
    let (_, board) = get_json(&store, "/api/jobs/job-board/leaderboard").await;
    let search = &board["searches"][0];
    assert_eq!(search["scores_done"], 5);
    assert_eq!(search["leader"], 2);
    let first = &search["candidates"][0];
    assert_eq!(
        (first["index"].as_u64(), first["folds_done"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(first["per_fold"][1], Value::Null);
    let second = &search["candidates"][1];
    assert_eq!(second["index"], 2);
    assert!((second["mean"].as_f64().unwrap() - 0.915).abs() < 1e-12);
    assert!((second["std"].as_f64().unwrap() - 0.0125f64.sqrt() * 0.1).abs() < 1e-12);

    // A job that does not exist, a bad id.
    let (status, _) = get_json(&store, "/api/jobs/nope/leaderboard").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get_json(&store, "/api/jobs/a%20b/leaderboard").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
