// The live pages: jobs, one job (followed over server-sent events), workers and dead letters.
// The server renders each page with its content; this script rebuilds the same markup from the API
// (with textContent only) and keeps it up to date.
"use strict";

(() => {
  const { el, getJson, seg, date, panel, showError, statusBadge } = secuml;
  const body = document.body;
  const content = document.getElementById("content");
  const LIST_POLL_MS = 2000;
  const WORKER_POLL_MS = 1000;
  const EVENT_LOG_MAX = 500;

  function table(className, id, head, rows) {
    const tbody = el("tbody", {});
    for (const row of rows) tbody.append(row);
    return el("table", { className: `table ${className}`, id },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), tbody);
  }

  function orDash(value) {
    return value === null || value === undefined || value === "" ? "-" : String(value);
  }

  function experimentLink(id) {
    return id === null || id === undefined ? "-" : el("a", { href: `/SecuML/${id}/` }, String(id));
  }

  function jobLink(jobId) {
    return el("a", { href: `/jobs/${seg(jobId)}` }, jobId);
  }

  function empty(text) {
    return el("p", { className: "empty", id: "empty" }, text);
  }

  /// Re-reads `load` every `ms`, rendering each answer; keeps the last content when a read fails.
  function poll(load, ms) {
    const tick = async () => {
      try {
        await load();
        body.dataset.loaded = "true";
      } catch (err) {
        body.dataset.stale = "true";
      }
      setTimeout(tick, ms);
    };
    tick();
  }

  // ---- /jobs

  async function jobs() {
    const list = await getJson("/api/jobs");
    if (list.length === 0) {
      content.replaceChildren(empty("No job has been submitted yet"));
      return;
    }
    const rows = list.map((j) => el("tr", { dataset: { job: j.job_id } },
      el("td", {}, jobLink(j.job_id)),
      el("td", {}, j.kind),
      el("td", {}, `${j.project} / ${j.dataset}`),
      el("td", {}, statusBadge(j.status)),
      el("td", {}, `${j.tasks_done} / ${j.tasks_planned}`),
      el("td", {}, experimentLink(j.experiment_id)),
      el("td", {}, date(j.submitted_ms)),
      el("td", {}, date(j.finished_ms)),
      el("td", {}, orDash(j.error))));
    content.replaceChildren(table("jobs", "jobs-table",
      ["Job", "Kind", "Project / dataset", "Status", "Tasks done", "Experiment", "Submitted", "Finished", "Error"],
      rows));
  }

  // ---- /workers

  async function workers() {
    const list = await getJson("/api/workers");
    if (list.length === 0) {
      content.replaceChildren(empty("No live worker"));
      return;
    }
    const rows = list.map((w) => {
      const running = el("td", {});
      if (w.running.length === 0) running.append("-");
      w.running.forEach(([job, task, attempt], i) => {
        if (i > 0) running.append(el("br", {}));
        running.append(jobLink(job), ` ${task} (attempt ${attempt})`);
      });
      return el("tr", { dataset: { worker: w.worker } },
        el("td", {}, w.worker),
        el("td", {}, w.host),
        el("td", {}, String(w.pid)),
        el("td", {}, String(w.slots)),
        running,
        el("td", {}, String(w.tasks_done)),
        el("td", {}, `${(w.age_ms / 1000).toFixed(1)} s ago`),
        el("td", {}, w.draining ? "yes" : "no"));
    });
    content.replaceChildren(table("workers", "workers-table",
      ["Worker", "Host", "PID", "Slots", "Running tasks", "Tasks done", "Last heartbeat", "Draining"], rows));
  }

  // ---- /dead-letters

  async function deadLetters() {
    const dead = await getJson("/api/dead-letters");
    if (dead.records.length === 0) {
      content.replaceChildren(empty("No dead letter"));
      return;
    }
    const rows = dead.records.map((d) => el("tr", { dataset: { seq: d.seq } },
      el("td", {}, String(d.seq)),
      el("td", {}, date(d.time_ms)),
      el("td", {}, d.queue),
      el("td", {}, d.reason),
      el("td", {}, d.job_id ? jobLink(d.job_id) : "-"),
      el("td", {}, orDash(d.task_id)),
      el("td", {}, orDash(d.attempt)),
      el("td", {}, el("code", {}, d.excerpt))));
    content.replaceChildren(table("dead-letters", "dead-table",
      ["#", "Time", "Queue", "Reason", "Job", "Task", "Attempt", "Excerpt"], rows));
  }

  // ---- /jobs/<id>

  const FINAL = ["job_done", "job_failed", "job_cancelled"];

  /// An event with its kind's fields at the top: {type, time_ms, task_id, ...}.
  function flat(event) {
    return Object.assign({ time_ms: event.time_ms }, event.kind);
  }

  /// What happened, in words (as the server words it).
  function describe(e) {
    switch (e.type) {
      case "job_started": return `job started (${e.planned_tasks} tasks planned)`;
      case "task_queued": return `${e.task_id} queued: ${e.label}`;
      case "task_started": return `${e.task_id} started (attempt ${e.attempt}) on ${e.worker}`;
      case "task_done": return `${e.task_id} done in ${e.seconds.toFixed(2)} s`;
      case "task_failed":
        return `${e.task_id} failed (attempt ${e.attempt}${e.will_retry ? ", will retry" : ""}): ${e.error}`;
      case "job_adopted": return `job adopted by ${e.coordinator}`;
      case "worker_lost": return `worker ${e.worker} lost while running ${e.task_id} (attempt ${e.attempt})`;
      case "job_cancelled": return "job cancelled";
      case "job_done": return `job done (experiment ${e.experiment_id})`;
      case "job_failed": return `job failed: ${e.error}`;
      default: return e.type;
    }
  }

  function job() {
    const jobId = body.dataset.job;
    const api = `/api/jobs/${seg(jobId)}`;
    /// Task rows by id, in table order: {task_id, state, attempt, label, worker, seconds, error}.
    let tasks = new Map();
    let record = null;
    let source = null;
    let lastSeq = 0;
    const seen = new Set();

    const info = el("tbody", {});
    const progressBar = el("progress", { id: "progress-bar", max: 1, value: 0 });
    const progressText = el("p", { id: "progress-text" });
    const taskBody = el("tbody", {});
    const log = el("ol", { className: "event-log", id: "event-log" });
    // DIADEM jobs of a supervised class: the search's leaderboard, read again as fold scores arrive.
    let leaderboard = null;
    const SEARCH_TASK = /^(fold\d+-)?fit-/;

    function kv(name, id, value) {
      return el("tr", {}, el("th", {}, name), el("td", { id }, value));
    }

    function renderInfo() {
      const spec = record.spec || {};
      info.replaceChildren(
        kv("Status", "job-status", statusBadge(record.status)),
        kv("Kind", "job-kind", spec.job === "diadem" ? "Diadem" : orDash(spec.job)),
        kv("Project / dataset", "job-data", `${orDash(spec.project)} / ${orDash(spec.dataset)}`),
        kv("Experiment", "job-experiment", experimentLink(record.experiment_id)),
        kv("Coordinator", "job-coordinator", orDash(record.coordinator)),
        kv("Submitted", "job-submitted", date(record.submitted_ms)),
        kv("Started", "job-started", date(record.started_ms)),
        kv("Finished", "job-finished", date(record.finished_ms)),
        kv("Error", "job-error", orDash(record.error)));
    }

    function taskRow(t) {
      return el("tr", { dataset: { task: t.task_id, state: t.state } },
        el("td", {}, t.task_id),
        el("td", {}, t.label),
        el("td", {}, statusBadge(t.state)),
        el("td", {}, String(t.attempt)),
        el("td", {}, orDash(t.worker)),
        el("td", {}, t.seconds === null || t.seconds === undefined ? "-" : t.seconds.toFixed(2)),
        el("td", {}, orDash(t.error)));
    }

    function renderTasks() {
      taskBody.replaceChildren(...[...tasks.values()].map(taskRow));
      let done = 0, running = 0, failed = 0;
      for (const t of tasks.values()) {
        if (t.state === "done") done += 1;
        else if (t.state === "running") running += 1;
        else if (t.state === "failed") failed += 1;
      }
      const planned = Math.max(record ? record.tasks_planned : 0, tasks.size);
      const pct = planned === 0 ? 0 : Math.floor((done * 100) / planned);
      progressBar.max = Math.max(planned, 1);
      progressBar.value = done;
      progressBar.dataset.percent = String(pct);
      progressText.textContent =
        `${done} / ${planned} tasks done (${pct}%), ${running} running, ${failed} failed`;
    }

    function logEvent(seq, e) {
      if (seen.has(seq)) return;
      seen.add(seq);
      log.append(el("li", { dataset: { seq, type: e.type } },
        el("span", { className: "time" }, date(e.time_ms)), ` ${describe(e)}`));
      while (log.childElementCount > EVENT_LOG_MAX) log.firstElementChild.remove();
    }

    /// Applies one event to the task table; an event older than the row's state changes nothing,
    /// so an event seen both in the snapshot and on the stream is harmless.
    function apply(e) {
      const t = e.task_id === undefined ? null : tasks.get(e.task_id);
      switch (e.type) {
        case "task_queued":
          if (!t) {
            tasks.set(e.task_id, { task_id: e.task_id, state: "queued", attempt: 1, label: e.label,
              worker: null, seconds: null, error: null });
          }
          break;
        case "task_started":
          if (t && t.state !== "done" && (e.attempt > t.attempt || (e.attempt === t.attempt && t.state === "queued"))) {
            Object.assign(t, { state: "running", attempt: e.attempt, worker: e.worker });
          }
          break;
        case "task_done":
          if (t) Object.assign(t, { state: "done", seconds: e.seconds });
          break;
        case "task_failed":
          if (t && t.state !== "done" && e.attempt >= t.attempt) {
            if (e.will_retry) Object.assign(t, { state: "queued", attempt: e.attempt + 1, error: e.error });
            else Object.assign(t, { state: "failed", attempt: e.attempt, error: e.error });
          }
          break;
        case "worker_lost":
          if (t && t.state === "running" && t.attempt === e.attempt) t.state = "queued";
          break;
        default:
          break;
      }
    }

    async function load() {
      const detail = await getJson(api);
      record = detail.job;
      tasks = new Map(detail.tasks.map((t) => [t.task_id, t]));
      for (const logged of detail.events) logEvent(logged.seq, flat(logged));
      lastSeq = Math.max(lastSeq, detail.last_seq);
      renderInfo();
      renderTasks();
      return detail;
    }

    function follow() {
      source = new EventSource(`${api}/events?after=${lastSeq}`);
      source.onopen = () => { body.dataset.stream = "open"; };
      source.onmessage = (message) => {
        const e = flat(JSON.parse(message.data));
        const seq = Number(message.lastEventId);
        if (seq <= lastSeq && seen.has(seq)) return;
        lastSeq = Math.max(lastSeq, seq);
        logEvent(seq, e);
        apply(e);
        renderTasks();
        if (leaderboard && e.type === "task_done" && SEARCH_TASK.test(e.task_id)) {
          leaderboard.refresh().catch(() => { body.dataset.stale = "true"; });
        }
        if (FINAL.includes(e.type)) {
          record.status = e.type === "job_done" ? "succeeded" : e.type === "job_failed" ? "failed" : "cancelled";
          renderInfo();
        }
      };
      source.addEventListener("end", async () => {
        source.close();
        body.dataset.stream = "ended";
        try {
          await load();
          if (leaderboard) await leaderboard.refresh();
        } catch (err) {
          body.dataset.stale = "true";
        }
        body.dataset.ended = "true";
      });
      // On an error the browser reconnects by itself, sending the last id it saw.
      source.onerror = () => { body.dataset.stream = "reconnecting"; };
    }

    (async () => {
      const [infoPanel, infoBody] = panel("Information", "job-panel");
      infoBody.append(el("table", { className: "table kv", id: "job-table" }, info));
      const [progressPanel, progressBody] = panel("Progress", "progress-panel");
      progressBody.append(progressBar, progressText);
      const [tasksPanel, tasksBody] = panel("Tasks", "tasks-panel");
      tasksBody.append(el("table", { className: "table tasks", id: "task-table" },
        el("thead", {}, el("tr", {}, ...["Task", "Label", "State", "Attempt", "Worker", "Seconds", "Error"]
          .map((h) => el("th", {}, h)))), taskBody));
      const [eventsPanel, eventsBody] = panel("Events", "events-panel");
      eventsBody.append(log);
      const detail = await load();
      const panels = [infoPanel, progressPanel];
      if ((detail.job.spec || {}).job === "diadem") {
        const board = secumlLeaderboard.create(`${api}/leaderboard`);
        try {
          await board.refresh();
          leaderboard = board;
          panels.push(board.node);
        } catch (err) {
          // A class with no search (semi- and unsupervised, already trained): no leaderboard.
        }
      }
      content.replaceChildren(...panels, tasksPanel, eventsPanel);
      body.dataset.loaded = "true";
      const over = ["succeeded", "failed", "cancelled"].includes(detail.job.status);
      if (over && detail.events.some((e) => FINAL.includes(e.kind.type))) {
        body.dataset.ended = "true";
      } else {
        follow();
      }
    })().catch((err) => showError(content, `Cannot load this page: ${err.message}`));
  }

  const pages = {
    jobs: () => poll(jobs, LIST_POLL_MS),
    workers: () => poll(workers, WORKER_POLL_MS),
    "dead-letters": () => poll(deadLetters, LIST_POLL_MS * 2),
    job,
  };
  const page = pages[body.dataset.page];
  if (page) page();
})();
