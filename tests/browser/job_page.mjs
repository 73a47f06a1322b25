// Opens a job's page in headless Chromium while the job runs, and records how its task table and
// progress bar change, without reloading, until the page says the job ended.
//
// Usage: node job_page.mjs <url>
// Environment: see chromium.mjs (CHROMIUM, SECUML_SCREENSHOT, written at the end).
// Prints "ready" once the page is loaded and follows the job's event stream (start the job then),
// then one JSON line with what it saw; exits 1 with a message on a page error or a timeout.

import { fail, open, run, screenshot, withPage } from "./chromium.mjs";

const JOB_TIMEOUT_MS = 100000;
const SAMPLE_MS = 20;

/// What the page shows now: task rows by state, the progress bar, the job's status.
function read() {
  const rows = [...document.querySelectorAll("#task-table tbody tr")];
  const states = {};
  for (const row of rows) states[row.dataset.state] = (states[row.dataset.state] || 0) + 1;
  const bar = document.getElementById("progress-bar");
  const status = document.querySelector("#job-status [data-status]");
  // The live leaderboard of the search: fold scores shown, the leader's grid index.
  const boardProgress = document.getElementById("leaderboard-progress");
  const leader = document.querySelector("#leaderboard-panel tr[data-leader='true']");
  const boardRows = [...document.querySelectorAll("#leaderboard-panel tbody tr")];
  return {
    rows: rows.length,
    queued: states.queued || 0,
    running: states.running || 0,
    done: states.done || 0,
    failed: states.failed || 0,
    percent: bar ? Number(bar.dataset.percent) : null,
    bar_value: bar ? Number(bar.value) : null,
    bar_max: bar ? Number(bar.max) : null,
    status: status ? status.dataset.status : null,
    ended: document.body.dataset.ended === "true",
    events: document.querySelectorAll("#event-log li").length,
    board_scores: boardProgress ? Number(boardProgress.dataset.done) : null,
    board_rows: boardRows.length,
    board_leader: leader ? Number(leader.dataset.index) : null,
    board_partial: boardRows.filter((r) => r.dataset.partial === "true").length,
  };
}

async function main() {
  const [url] = process.argv.slice(2);
  if (!url) fail("usage: node job_page.mjs <url>");
  // The page reconnects a dropped event stream (resuming after its last event), so a failed request is
  // not a problem here.
  const reading = await withPage(async (page, problems) => {
    let navigations = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });

    await open(page, url);
    await page.waitForSelector("body[data-loaded='true'][data-stream='open']");
    const initial = await page.evaluate(read);
    process.stdout.write("ready\n");

    // Every distinct reading, in order, until the page says the job ended.
    const readings = [initial];
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    for (;;) {
      const now = await page.evaluate(read);
      const last = readings[readings.length - 1];
      const key = (r) => JSON.stringify([r.rows, r.queued, r.running, r.done, r.failed, r.percent, r.status, r.ended,
        r.board_scores, r.board_leader]);
      if (key(now) !== key(last)) readings.push(now);
      if (now.ended) break;
      if (Date.now() > deadline) fail(`the page did not see the job end in ${JOB_TIMEOUT_MS} ms: ${key(now)}`);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
    await screenshot(page);
    if (problems.length > 0) fail(problems.join("; "));
    return { navigations, readings };
  }, { failedRequests: false });
  process.stdout.write(`${JSON.stringify(reading)}\n`);
}

run(main);
