// Opens a dataset's experiments menu in headless Chromium, follows the link of a clustering experiment,
// reads its cluster table, then shows instances three ways: by clicking a cluster's table row, by the
// pager's Next button, and by clicking a cluster's bar in the label mix chart.
//
// Usage: node clustering_page.mjs <menu_url> <experiment_id> <row_cluster> <bar_cluster>
// Environment: see chromium.mjs (CHROMIUM, SECUML_SCREENSHOT).
// Prints one JSON line with what it read (compared with the stored result by the Rust test), and exits 1
// with a message when the page does not behave (no link, no table, a page error).

import { fail, open, run, screenshot, withPage } from "./chromium.mjs";

const CHARTS = ["label-mix-chart", "family-mix-chart"];

/// The rows of the cluster table.
function readClusters() {
  return [...document.querySelectorAll("#clusters-table tbody tr")].map((row) => {
    const malicious = row.querySelector(".cluster-malicious");
    const families = row.querySelector(".cluster-families");
    return {
      cluster: Number(row.dataset.cluster),
      size: Number(row.querySelector(".cluster-size").dataset.value),
      size_text: row.querySelector(".cluster-size").textContent,
      malicious: malicious && malicious.dataset.value !== "" ? Number(malicious.dataset.value) : null,
      families: families ? families.textContent : null,
    };
  });
}

/// The instances panel: which cluster and page it shows, and its rows.
function readInstances() {
  const panel = document.getElementById("instances-panel");
  const text = (row, cls) => {
    const cell = row.querySelector(`.${cls}`);
    return cell ? cell.textContent : null;
  };
  const orNull = (value) => (value === null || value === "-" ? null : value);
  return {
    cluster: Number(panel.dataset.cluster),
    offset: Number(panel.dataset.offset),
    limit: Number(panel.dataset.limit),
    total: Number(panel.dataset.total),
    summary: document.getElementById("instances-summary").textContent,
    selected: [...document.querySelectorAll("#clusters-table tr.selected")].map((r) => Number(r.dataset.cluster)),
    rows: [...document.querySelectorAll("#instances-table tbody tr")].map((row) => ({
      instance_id: Number(text(row, "instance-id")),
      ident: text(row, "instance-ident"),
      distance: Number(row.querySelector(".instance-distance").dataset.value),
      label: orNull(text(row, "instance-label")),
      family: orNull(text(row, "instance-family")),
    })),
  };
}

async function waitForPage(page, cluster, offset) {
  try {
    await page.waitForSelector(
      `#instances-panel[data-cluster='${cluster}'][data-offset='${offset}'][data-state='ready']`);
  } catch {
    const shown = await page.evaluate(() => ({ ...document.getElementById("instances-panel").dataset }));
    fail(`the instances panel does not show cluster ${cluster} from ${offset}: it shows ${JSON.stringify(shown)}`);
  }
  return page.evaluate(readInstances);
}

/// Clicks the label mix chart in the column of `cluster`, halfway up the chart area.
async function clickBar(page, cluster) {
  const point = await page.evaluate(([id, index]) => {
    const canvas = document.getElementById(id);
    const chart = window.Chart.getChart(canvas);
    const bar = chart.getDatasetMeta(0).data[index];
    const area = chart.chartArea;
    return { x: bar.x, y: (area.top + area.bottom) / 2 };
  }, [CHARTS[0], cluster]);
  const box = await page.locator(`#${CHARTS[0]}`).boundingBox();
  if (!box) fail("the label mix chart is not visible");
  await page.mouse.click(box.x + point.x, box.y + point.y);
}

async function main() {
  const [menuUrl, experiment, rowArg, barArg] = process.argv.slice(2);
  if (!menuUrl || experiment === undefined || rowArg === undefined || barArg === undefined) {
    fail("usage: node clustering_page.mjs <menu_url> <experiment_id> <row_cluster> <bar_cluster>");
  }
  const [rowCluster, barCluster] = [Number(rowArg), Number(barArg)];
  const reading = await withPage(async (page, problems) => {
    await open(page, menuUrl);
    const link = page.locator(`table[data-kind='Clustering'] tr[data-experiment='${experiment}'] a`);
    await link.waitFor();
    await Promise.all([page.waitForURL(`**/SecuML/${experiment}/`), link.click()]);
    await page.waitForSelector("body[data-loaded='true']");
    const title = await page.title();
    if (!title.startsWith("Clustering \u2013 ")) fail(`page title is "${title}", expected "Clustering \u2013 <name>"`);
    await page.waitForSelector("#clusters-table tbody tr");
    const clusters = await page.evaluate(readClusters);
    const charts = await page.waitForFunction((ids) => {
      const drawn = ids.filter((id) => {
        const canvas = document.getElementById(id);
        return canvas && window.Chart && window.Chart.getChart(canvas);
      });
      return drawn.length === ids.length ? drawn : null;
    }, CHARTS).then((handle) => handle.jsonValue())
      .catch(() => fail(`the charts ${CHARTS.join(", ")} are not all drawn`));

    await page.click(`#clusters-table tbody tr[data-cluster='${rowCluster}']`);
    const byRow = await waitForPage(page, rowCluster, 0);
    await page.click("#instances-next");
    const next = await waitForPage(page, rowCluster, byRow.limit);
    await clickBar(page, barCluster);
    const byBar = await waitForPage(page, barCluster, 0);

    await screenshot(page);
    if (problems.length > 0) fail(problems.join("; "));
    return { title, clusters, charts, by_row: byRow, next, by_bar: byBar };
  });
  process.stdout.write(`${JSON.stringify(reading)}\n`);
}

run(main);
