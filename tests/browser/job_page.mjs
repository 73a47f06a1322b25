// Opens a job's page in headless Chromium while the job runs, and records how its task table and
// progress bar change, without reloading, until the page says the job ended.
//
// Usage: node job_page.mjs <url>
// Environment:
//   SECUML_SCREENSHOT  path of a full-page PNG screenshot to write at the end (optional)
//   CHROMIUM           browser executable (default /usr/bin/chromium)
// Prints "ready" once the page is loaded and follows the job's event stream (start the job then),
// then one JSON line with what it saw; exits 1 with a message on a page error or a timeout.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
const TIMEOUT_MS = 30000;
const JOB_TIMEOUT_MS = 100000;
const SAMPLE_MS = 20;

class CheckFailed extends Error {}

function fail(message) {
  throw new CheckFailed(message);
}

/// What the page shows now: task rows by state, the progress bar, the job's status.
function read() {
  const rows = [...document.querySelectorAll("#task-table tbody tr")];
  const states = {};
  for (const row of rows) states[row.dataset.state] = (states[row.dataset.state] || 0) + 1;
  const bar = document.getElementById("progress-bar");
  const status = document.querySelector("#job-status [data-status]");
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
  };
}

async function main() {
  const [url] = process.argv.slice(2);
  if (!url) fail("usage: node job_page.mjs <url>");
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!fs.existsSync(executablePath)) fail(`no browser at ${executablePath}: install Debian's chromium package`);

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "secuml-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1300, height: 900 },
  });
  const problems = [];
  let navigations = 0;
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
    });
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });

    const response = await page.goto(url, { waitUntil: "load" });
    if (!response || !response.ok()) fail(`${url} answered ${response ? response.status() : "nothing"}`);
    await page.waitForSelector("body[data-loaded='true'][data-stream='open']");
    const initial = await page.evaluate(read);
    process.stdout.write("ready\n");

    // Every distinct reading, in order, until the page says the job ended.
    const readings = [initial];
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    for (;;) {
      const now = await page.evaluate(read);
      const last = readings[readings.length - 1];
      const key = (r) => JSON.stringify([r.rows, r.queued, r.running, r.done, r.failed, r.percent, r.status, r.ended]);
      if (key(now) !== key(last)) readings.push(now);
      if (now.ended) break;
      if (Date.now() > deadline) fail(`the page did not see the job end in ${JOB_TIMEOUT_MS} ms: ${key(now)}`);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
    if (process.env.SECUML_SCREENSHOT) {
      await page.screenshot({ path: process.env.SECUML_SCREENSHOT, fullPage: true });
    }
    if (problems.length > 0) fail(problems.join("; "));
    process.stdout.write(`${JSON.stringify({ navigations, readings })}\n`);
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  const message = err instanceof CheckFailed ? err.message : (err && err.stack) || String(err);
  process.stderr.write(`FAIL: ${message}\n`);
  process.exitCode = 1;
});
