// Opens a DIADEM page in headless Chromium, on the tab of a detection whose alerts were clustered,
// and reads its Alerts Analysis panel three ways: the "Top N" button, the "Random" button, and the
// "Clustering" button followed by a click on one cluster's row.
//
// Usage: node alerts_panel.mjs <url> <tab> <cluster_name>
//   <tab> test or validation; <cluster_name> the cluster whose row is clicked (e.g. 1, noise).
// Environment: see chromium.mjs (CHROMIUM, SECUML_SCREENSHOT).
// Prints one JSON line with what it read (compared with the stored result by the Rust test), and
// exits 1 with a message when the panel does not behave (no button, no list, a page error).

import { fail, open, run, screenshot, withPage } from "./chromium.mjs";

/// The alerts the list shows.
function readList() {
  const list = document.getElementById("alerts-list");
  const text = (row, cls) => row.querySelector(`.${cls}`).textContent;
  return {
    view: list.dataset.view,
    cluster: list.dataset.cluster,
    title: document.getElementById("alerts-title").textContent,
    rows: [...list.querySelectorAll("#alerts-table tbody tr")].map((row) => ({
      instance_id: Number(row.dataset.instanceId),
      ident: text(row, "alert-ident"),
      score: text(row, "alert-score"),
      label: text(row, "alert-label"),
      family: text(row, "alert-family"),
    })),
  };
}

async function waitForList(page, view, cluster) {
  const selector = `#alerts-list[data-view='${view}'][data-cluster='${cluster}'][data-state='ready']`;
  try {
    await page.waitForSelector(selector);
  } catch {
    const shown = await page.evaluate(() => ({ ...document.getElementById("alerts-list").dataset }));
    fail(`the alerts list does not show ${view} ${cluster}: it shows ${JSON.stringify(shown)}`);
  }
  return page.evaluate(readList);
}

async function main() {
  const [url, tab, clusterName] = process.argv.slice(2);
  if (!url || !tab || clusterName === undefined) fail("usage: node alerts_panel.mjs <url> <tab> <cluster_name>");
  const reading = await withPage(async (page, problems) => {
    await open(page, url);
    await page.waitForSelector("body[data-loaded='true']");
    await page.click(`#tab-${tab}`);
    await page.waitForSelector("#alerts-panel #alerts-buttons button");
    const buttons = await page.$$eval("#alerts-buttons button", (bs) => bs.map((b) => b.textContent));
    const summary = await page.textContent("#alerts-summary");

    await page.click("#alerts-random");
    const random = await waitForList(page, "random", "");
    await page.click("#alerts-top");
    const top = await waitForList(page, "top", "");
    await page.click("#alerts-clustering");
    await page.waitForSelector("#alerts-clusters-table tbody tr");
    const clusters = await page.$$eval("#alerts-clusters-table tbody tr", (rows) => rows.map((r) => ({
      name: r.dataset.cluster,
      size: Number(r.dataset.size),
      size_text: r.querySelector(".cluster-size").textContent,
    })));
    await page.click(`#alerts-clusters-table tbody tr[data-cluster='${clusterName}']`);
    const cluster = await waitForList(page, "clustering", clusterName);
    const selected = await page.$$eval("#alerts-clusters-table tr.selected", (rows) => rows.map((r) => r.dataset.cluster));

    await screenshot(page);
    if (problems.length > 0) fail(problems.join("; "));
    return { buttons, summary, top, random, clusters, cluster, selected };
  });
  process.stdout.write(`${JSON.stringify(reading)}\n`);
}

run(main);
