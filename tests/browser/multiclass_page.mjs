// Opens the DIADEM page of a multiclass experiment in headless Chromium and reads the multiclass
// indicators and the family confusion matrix of the detection it shows.
//
// Usage: node multiclass_page.mjs <url>
// Environment (and those of chromium.mjs: CHROMIUM, SECUML_SCREENSHOT):
//   SECUML_DETECTION   detection tab to open first: train, test or validation (optional)
// Prints one JSON line with what it read, and exits 1 with a message on the first problem.

import { fail, open, run, screenshot, withPage } from "./chromium.mjs";

async function main() {
  const [url] = process.argv.slice(2);
  if (!url) fail("usage: node multiclass_page.mjs <url>");
  const reading = await withPage(async (page, problems) => {
    await open(page, url);
    await page.waitForSelector("body[data-loaded='true']");
    if (process.env.SECUML_DETECTION) {
      await page.click(`#tab-${process.env.SECUML_DETECTION}`);
    }
    const detection = await page.waitForSelector("#detection-panel");
    const detectionName = await detection.getAttribute("data-detection");
    await page.waitForSelector("#multiclass-table");
    const value = async (id) => {
      const v = Number(await page.getAttribute(`#${id}`, "data-value"));
      if (!Number.isFinite(v)) fail(`#${id} holds no number`);
      return { value: v, text: (await page.textContent(`#${id}`)).trim() };
    };
    const accuracy = await value("mc-accuracy");
    const f1Micro = await value("mc-f1-micro");
    const f1Macro = await value("mc-f1-macro");
    if (await page.locator("#threshold-slider").count() !== 0) {
      fail("a multiclass detection shows the binary threshold slider");
    }
    const matrix = await page.evaluate(() => {
      const table = document.getElementById("family-confusion");
      const labels = [...table.querySelectorAll("thead th")].slice(1).map((th) => th.textContent);
      const rows = [...table.querySelectorAll("tbody tr")].map((tr) =>
        [...tr.querySelectorAll("td")].map((td) => Number(td.textContent)));
      return { labels, rows };
    });
    await screenshot(page);
    if (problems.length > 0) fail(problems.join("; "));
    return {
      detection: detectionName,
      accuracy: accuracy.value,
      accuracy_text: accuracy.text,
      f1_micro: f1Micro.value,
      f1_macro: f1Macro.value,
      f1_macro_text: f1Macro.text,
      families: matrix.labels,
      confusion: matrix.rows,
    };
  });
  process.stdout.write(`${JSON.stringify(reading)}\n`);
}

run(main);
