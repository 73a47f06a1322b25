// What the browser scripts share: Debian's Chromium launched headless with playwright-core, a page that
// records its errors, and the way a script fails.
//
// Environment:
//   CHROMIUM           browser executable (default /usr/bin/chromium)
//   SECUML_SCREENSHOT  path of a full-page PNG screenshot, written by screenshot() (optional)

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
/// How long one wait for the page may take.
export const TIMEOUT_MS = 30000;

/// A difference between what the page shows and what was expected.
export class CheckFailed extends Error {}

export function fail(message) {
  throw new CheckFailed(message);
}

/// Runs `use(page, problems)` in a fresh headless Chromium; `problems` collects the page's errors, console
/// errors and, unless `failedRequests` is false, failed requests. The browser and its profile are removed
/// afterwards.
export async function withPage(use, { failedRequests = true } = {}) {
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
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
    });
    if (failedRequests) page.on("requestfailed", (req) => problems.push(`request failed: ${req.url()}`));
    return await use(page, problems);
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

/// Opens `url` and fails unless it answers with a success status.
export async function open(page, url) {
  const response = await page.goto(url, { waitUntil: "load" });
  if (!response || !response.ok()) fail(`${url} answered ${response ? response.status() : "nothing"}`);
}

/// Writes the full-page screenshot SECUML_SCREENSHOT names, if any.
export async function screenshot(page) {
  if (process.env.SECUML_SCREENSHOT) {
    await page.screenshot({ path: process.env.SECUML_SCREENSHOT, fullPage: true });
  }
}

/// Runs a script's main function; a failure is printed as "FAIL: <message>" and exits 1.
export function run(main) {
  main().catch((err) => {
    const message = err instanceof CheckFailed ? err.message : (err && err.stack) || String(err);
    process.stderr.write(`FAIL: ${message}\n`);
    process.exitCode = 1;
  });
}
