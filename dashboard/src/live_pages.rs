//! The live pages: `/jobs`, `/jobs/<job_id>`, `/workers` and `/dead-letters`.
//!
//! Each is rendered with its content (every string from the store escaped), so it reads without scripts;
//! `static/live.js` then rebuilds the same markup from the API and keeps it up to date: the job page
//! follows the job's server-sent events, the lists re-read their API every few seconds.

use std::fmt::Write as _;

use secuml_proto::{EventKind, JobStatus};

use crate::data::Reader;
use crate::error::DashboardError;
use crate::jobs::{DeadLetters, JobDetail, JobEntry, LoggedEvent, Progress, TaskRow, WorkerEntry};
use crate::pages::Shell;
use crate::security::escape_html;

const LIVE_SCRIPTS: &[&str] = &[
    "/static/common.js",
    "/static/leaderboard.js",
    "/static/live.js",
];

/// `/jobs`.
pub(crate) async fn jobs(reader: &Reader) -> Result<Shell<'static>, DashboardError> {
    let jobs = reader.jobs().await?;
    Ok(Shell {
        title: "Jobs".into(),
        page: "jobs",
        data: vec![],
        crumbs: vec![("Jobs".into(), "/jobs".into())],
        scripts: LIVE_SCRIPTS,
        content: jobs_table(&jobs),
    })
}

/// `/jobs/<job_id>`.
pub(crate) async fn job(reader: &Reader, job_id: &str) -> Result<Shell<'static>, DashboardError> {
    let detail = reader.job(job_id).await?;
    Ok(Shell {
        title: format!("Job {job_id}"),
        page: "job",
        data: vec![
            ("job", job_id.to_string()),
            ("last-seq", detail.last_seq.to_string()),
        ],
        crumbs: vec![
            ("Jobs".into(), "/jobs".into()),
            (job_id.to_string(), format!("/jobs/{job_id}")),
        ],
        scripts: LIVE_SCRIPTS,
        content: job_content(&detail),
    })
}

/// `/workers`.
pub(crate) async fn workers(reader: &Reader) -> Result<Shell<'static>, DashboardError> {
    let workers = reader.workers().await?;
    Ok(Shell {
        title: "Workers".into(),
        page: "workers",
        data: vec![],
        crumbs: vec![("Workers".into(), "/workers".into())],
        scripts: LIVE_SCRIPTS,
        content: workers_table(&workers),
    })
}

/// `/dead-letters`.
pub(crate) async fn dead_letters(reader: &Reader) -> Result<Shell<'static>, DashboardError> {
    let dead = reader.dead_letters().await?;
    Ok(Shell {
        title: "Dead letters".into(),
        page: "dead-letters",
        data: vec![],
        crumbs: vec![("Dead letters".into(), "/dead-letters".into())],
        scripts: LIVE_SCRIPTS,
        content: dead_letters_table(&dead),
    })
}

/// Escaped text, or "-" when absent.
fn text(value: Option<&str>) -> String {
    value.map_or_else(|| "-".to_string(), escape_html)
}

fn badge(status: &str) -> String {
    let status = escape_html(status);
    format!("<span class=\"status status-{status}\" data-status=\"{status}\">{status}</span>")
}

fn status_name(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Queued => "queued",
        JobStatus::Running => "running",
        JobStatus::Succeeded => "succeeded",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "cancelled",
    }
}

fn experiment_link(id: Option<u64>) -> String {
    id.map_or_else(
        || "-".to_string(),
        |id| format!("<a href=\"/SecuML/{id}/\">{id}</a>"),
    )
}

/// A table with a head row, and rows of cells already escaped.
fn table(class: &str, id: &str, head: &[&str], rows: &[(String, Vec<String>)]) -> String {
    let mut out = format!("<table class=\"table {class}\" id=\"{id}\"><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (attrs, cells) in rows {
        let _ = write!(out, "<tr{attrs}>");
        for cell in cells {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

fn panel(title: &str, id: &str, body: &str) -> String {
    format!("<section class=\"panel\" id=\"{id}\"><h2>{title}</h2><div class=\"panel-body\">{body}</div></section>")
}

fn jobs_table(jobs: &[JobEntry]) -> String {
    if jobs.is_empty() {
        return "<p class=\"empty\" id=\"empty\">No job has been submitted yet</p>".into();
    }
    let rows: Vec<(String, Vec<String>)> = jobs
        .iter()
        .map(|j| {
            let id = escape_html(&j.job_id);
            (
                format!(" data-job=\"{id}\""),
                vec![
                    format!("<a href=\"/jobs/{id}\">{id}</a>"),
                    escape_html(&j.kind),
                    format!("{} / {}", escape_html(&j.project), escape_html(&j.dataset)),
                    badge(status_name(j.status)),
                    format!("{} / {}", j.tasks_done, j.tasks_planned),
                    experiment_link(j.experiment_id),
                    utc(Some(j.submitted_ms)),
                    utc(j.finished_ms),
                    text(j.error.as_deref()),
                ],
            )
        })
        .collect();
    table(
        "jobs",
        "jobs-table",
        &[
            "Job",
            "Kind",
            "Project / dataset",
            "Status",
            "Tasks done",
            "Experiment",
            "Submitted",
            "Finished",
            "Error",
        ],
        &rows,
    )
}

fn job_content(detail: &JobDetail) -> String {
    let job = &detail.job;
    let entry = crate::jobs::job_entry(job);
    let kv = |name: &str, id: &str, value: String| {
        format!("<tr><th>{name}</th><td id=\"{id}\">{value}</td></tr>")
    };
    let mut info = String::from("<table class=\"table kv\" id=\"job-table\"><tbody>");
    info.push_str(&kv("Status", "job-status", badge(status_name(job.status))));
    info.push_str(&kv("Kind", "job-kind", escape_html(&entry.kind)));
    info.push_str(&kv(
        "Project / dataset",
        "job-data",
        format!(
            "{} / {}",
            escape_html(&entry.project),
            escape_html(&entry.dataset)
        ),
    ));
    info.push_str(&kv(
        "Experiment",
        "job-experiment",
        experiment_link(job.experiment_id),
    ));
    info.push_str(&kv(
        "Coordinator",
        "job-coordinator",
        text(job.coordinator.as_deref()),
    ));
    info.push_str(&kv(
        "Submitted",
        "job-submitted",
        utc(Some(job.submitted_ms)),
    ));
    info.push_str(&kv("Started", "job-started", utc(job.started_ms)));
    info.push_str(&kv("Finished", "job-finished", utc(job.finished_ms)));
    info.push_str(&kv("Error", "job-error", text(job.error.as_deref())));
    info.push_str("</tbody></table>");
    let mut out = panel("Information", "job-panel", &info);
    out.push_str(&panel(
        "Progress",
        "progress-panel",
        &progress_markup(&detail.progress),
    ));
    out.push_str(&panel("Tasks", "tasks-panel", &tasks_table(&detail.tasks)));
    out.push_str(&panel("Events", "events-panel", &event_log(&detail.events)));
    out
}

fn percent(progress: &Progress) -> u32 {
    if progress.planned == 0 {
        0
    } else {
        ((u64::from(progress.done) * 100) / u64::from(progress.planned)) as u32
    }
}

fn progress_markup(progress: &Progress) -> String {
    let pct = percent(progress);
    format!(
        "<progress id=\"progress-bar\" max=\"{planned}\" value=\"{done}\" data-percent=\"{pct}\"></progress>\
         <p id=\"progress-text\">{done} / {planned} tasks done ({pct}%), {running} running, {failed} failed</p>",
        planned = progress.planned.max(1),
        done = progress.done,
        running = progress.running,
        failed = progress.failed,
    )
}

fn tasks_table(tasks: &[TaskRow]) -> String {
    let rows: Vec<(String, Vec<String>)> = tasks
        .iter()
        .map(|t| {
            (
                format!(
                    " data-task=\"{}\" data-state=\"{}\"",
                    escape_html(&t.task_id),
                    escape_html(&t.state)
                ),
                vec![
                    escape_html(&t.task_id),
                    escape_html(&t.label),
                    badge(&t.state),
                    t.attempt.to_string(),
                    text(t.worker.as_deref()),
                    t.seconds.map_or_else(|| "-".into(), |s| format!("{s:.2}")),
                    text(t.error.as_deref()),
                ],
            )
        })
        .collect();
    table(
        "tasks",
        "task-table",
        &[
            "Task", "Label", "State", "Attempt", "Worker", "Seconds", "Error",
        ],
        &rows,
    )
}

/// One line of the event log: what happened, in words.
pub fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::JobStarted { planned_tasks } => {
            format!("job started ({planned_tasks} tasks planned)")
        }
        EventKind::TaskQueued { task_id, label } => format!("{task_id} queued: {label}"),
        EventKind::TaskStarted {
            task_id,
            attempt,
            worker,
        } => format!("{task_id} started (attempt {attempt}) on {worker}"),
        EventKind::TaskDone { task_id, seconds } => format!("{task_id} done in {seconds:.2} s"),
        EventKind::TaskFailed {
            task_id,
            attempt,
            error,
            will_retry,
        } => format!(
            "{task_id} failed (attempt {attempt}{}): {error}",
            if *will_retry { ", will retry" } else { "" }
        ),
        EventKind::JobAdopted { coordinator } => format!("job adopted by {coordinator}"),
        EventKind::WorkerLost {
            worker,
            task_id,
            attempt,
        } => format!("worker {worker} lost while running {task_id} (attempt {attempt})"),
        EventKind::JobCancelled => "job cancelled".into(),
        EventKind::JobDone { experiment_id } => format!("job done (experiment {experiment_id})"),
        EventKind::JobFailed { error } => format!("job failed: {error}"),
    }
}

fn event_type(kind: &EventKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_default()
}

fn event_log(events: &[LoggedEvent]) -> String {
    let mut out = String::from("<ol class=\"event-log\" id=\"event-log\">");
    for e in events {
        let _ = write!(
            out,
            "<li data-seq=\"{}\" data-type=\"{}\"><span class=\"time\">{}</span> {}</li>",
            e.seq,
            escape_html(&event_type(&e.event.kind)),
            utc(Some(e.event.time_ms)),
            escape_html(&describe(&e.event.kind))
        );
    }
    out.push_str("</ol>");
    out
}

fn workers_table(workers: &[WorkerEntry]) -> String {
    if workers.is_empty() {
        return "<p class=\"empty\" id=\"empty\">No live worker</p>".into();
    }
    let rows: Vec<(String, Vec<String>)> = workers
        .iter()
        .map(|w| {
            let b = &w.beat;
            let running = if b.running.is_empty() {
                "-".to_string()
            } else {
                b.running
                    .iter()
                    .map(|(job, task, attempt)| {
                        let job = escape_html(job);
                        format!(
                            "<a href=\"/jobs/{job}\">{job}</a> {} (attempt {attempt})",
                            escape_html(task)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>")
            };
            (
                format!(" data-worker=\"{}\"", escape_html(&b.worker)),
                vec![
                    escape_html(&b.worker),
                    escape_html(&b.host),
                    b.pid.to_string(),
                    b.slots.to_string(),
                    running,
                    b.tasks_done.to_string(),
                    format!("{:.1} s ago", w.age_ms as f64 / 1000.0),
                    if b.draining { "yes" } else { "no" }.to_string(),
                ],
            )
        })
        .collect();
    table(
        "workers",
        "workers-table",
        &[
            "Worker",
            "Host",
            "PID",
            "Slots",
            "Running tasks",
            "Tasks done",
            "Last heartbeat",
            "Draining",
        ],
        &rows,
    )
}

fn dead_letters_table(dead: &DeadLetters) -> String {
    if dead.records.is_empty() {
        return "<p class=\"empty\" id=\"empty\">No dead letter</p>".into();
    }
    let rows: Vec<(String, Vec<String>)> = dead
        .records
        .iter()
        .map(|d| {
            let r = &d.record;
            let job = r.job_id.as_deref().map_or_else(
                || "-".to_string(),
                |j| {
                    let j = escape_html(j);
                    format!("<a href=\"/jobs/{j}\">{j}</a>")
                },
            );
            (
                format!(" data-seq=\"{}\"", d.seq),
                vec![
                    d.seq.to_string(),
                    utc(Some(r.time_ms)),
                    escape_html(&r.queue),
                    escape_html(&r.reason),
                    job,
                    text(r.task_id.as_deref()),
                    r.attempt.map_or_else(|| "-".into(), |a| a.to_string()),
                    format!("<code>{}</code>", escape_html(&r.excerpt)),
                ],
            )
        })
        .collect();
    table(
        "dead-letters",
        "dead-table",
        &[
            "#", "Time", "Queue", "Reason", "Job", "Task", "Attempt", "Excerpt",
        ],
        &rows,
    )
}

/// Milliseconds since the epoch as "YYYY-MM-DD HH:MM:SS UTC" (as the scripts show dates), "-" when absent.
pub fn utc(ms: Option<u64>) -> String {
    let Some(ms) = ms.filter(|ms| *ms > 0) else {
        return "-".into();
    };
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(Some(0)), "-");
        assert_eq!(utc(None), "-");
        assert_eq!(utc(Some(1_000)), "1970-01-01 00:00:01 UTC");
        assert_eq!(utc(Some(951_827_696_000)), "2000-02-29 12:34:56 UTC");
        assert_eq!(utc(Some(1_780_000_000_000)), "2026-05-28 20:26:40 UTC");
    }
}
