// Opens a DIADEM page in headless Chromium, moves the detection-threshold slider with the keyboard,
// and checks the detection rate the page shows at that threshold.
//
// Usage: node diadem_page.mjs <url> <threshold> <expected_detection_rate>
//   <threshold> in [0, 1] (the slider moves to round(threshold * 100));
//   <expected_detection_rate> as a number in [0, 1], exactly as stored.
// Environment (and those of chromium.mjs: CHROMIUM, SECUML_SCREENSHOT):
//   SECUML_DETECTION   detection tab to open first: train, test or validation (optional)
// Prints one JSON line with what it read, and exits 1 with a message on the first difference.

import { fail, open, run, screenshot, withPage } from "./chromium.mjs";

function formatPercent(value) {
  return `${(value * 100).toFixed(2)}%`;
}

async function main() {
  const [url, thresholdArg, expectedArg] = process.argv.slice(2);
  if (!url || thresholdArg === undefined || expectedArg === undefined) {
    fail("usage: node diadem_page.mjs <url> <threshold> <expected_detection_rate>");
  }
  const threshold = Number(thresholdArg);
  const expected = Number(expectedArg);
  if (!(threshold >= 0 && threshold <= 1)) fail(`threshold ${thresholdArg} is not in [0, 1]`);
  if (!Number.isFinite(expected)) fail(`expected detection rate ${expectedArg} is not a number`);
  const target = Math.round(threshold * 100);
  const reading = await withPage(async (page, problems) => {
    await open(page, url);
    await page.waitForSelector("body[data-loaded='true']");
    const title = await page.title();
    if (!title.startsWith("DIADEM \u2013 ")) fail(`page title is "${title}", expected "DIADEM \u2013 <name>"`);

    if (process.env.SECUML_DETECTION) {
      await page.click(`#tab-${process.env.SECUML_DETECTION}`);
    }
    const detection = await page.waitForSelector("#detection-panel");
    const detectionName = await detection.getAttribute("data-detection");
    const slider = page.locator("#threshold-slider");
    await slider.waitFor();
    const initial = Number(await slider.inputValue());

    // Real keyboard input: the slider moves one percent per key press, firing input events.
    await slider.focus();
    const key = target > initial ? "ArrowRight" : "ArrowLeft";
    for (let i = 0; i < Math.abs(target - initial); i += 1) await page.keyboard.press(key);

    const moved = Number(await slider.inputValue());
    if (moved !== target) fail(`slider is at ${moved} after the key presses, expected ${target}`);
    const shownThreshold = (await page.textContent("#threshold-value")).trim();
    if (shownThreshold !== (target / 100).toFixed(2)) {
      fail(`threshold shown is "${shownThreshold}", expected "${(target / 100).toFixed(2)}"`);
    }

    const drText = (await page.textContent("#dr-value")).trim();
    const drValue = Number(await page.getAttribute("#dr-value", "data-value"));
    if (drValue !== expected) {
      fail(`detection rate at threshold ${target / 100} is ${drValue} (shown "${drText}"), expected ${expected}`);
    }
    if (drText !== formatPercent(expected)) {
      fail(`detection rate shown is "${drText}", expected "${formatPercent(expected)}"`);
    }
    const confusion = {};
    for (const cell of ["tp", "fp", "fn", "tn"]) {
      confusion[cell] = Number((await page.textContent(`#cm-${cell}`)).trim());
      if (!Number.isInteger(confusion[cell])) fail(`confusion matrix cell ${cell} is not a count`);
    }
    const charts = await page.evaluate(() =>
      ["coef-chart", "roc-chart", "fardr-chart", "pred-chart"].filter((id) => {
        const canvas = document.getElementById(id);
        return canvas && window.Chart && window.Chart.getChart(canvas);
      }));
    if (charts.length !== 4) fail(`only these charts are drawn: ${charts.join(", ") || "none"}`);

    await screenshot(page);
    if (problems.length > 0) fail(problems.join("; "));
    return {
      detection: detectionName,
      initial_slider: initial,
      slider: moved,
      threshold: target / 100,
      detection_rate: drValue,
      detection_rate_text: drText,
      confusion,
      charts,
    };
  });
  process.stdout.write(`${JSON.stringify(reading)}\n`);
}

run(main);
