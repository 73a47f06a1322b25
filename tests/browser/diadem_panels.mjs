// Opens a DIADEM page in headless Chromium and drives its panels as a user does, following a plan; prints
// what it read as one JSON line, for the Rust test to compare with the stored results, the predictions
// file, the dataset and the model.
//
// Usage: node diadem_panels.mjs <url> <plan>
//   <plan> is JSON, every key optional:
//     "fold": k             select fold k ("Select a fold"), then read the Train panel, the Train and Test
//                           tabs' detections and the Cross Validation tab
//     "datasets": [names]   open the Validation tab and select each detection ("Select a test dataset")
//     "tab": name           the tab to open before the clicks below (train, test, validation)
//     "cell": "fp", "percent": p
//                           move the slider to p % with the keyboard, click that confusion-matrix cell, read
//                           the list, open its first instance (Features, then Weighted Features)
//     "bin": b              click the column of bin b of the predictions histogram and read the list
//     "bin_instance": true  then open the list's first instance (Features, then Weighted Features)
//     "families": true      read the family detection table
//     "interpretation": true  read the coefficients or importances chart
//     "coef_family": name   first select that family's coefficients (a multiclass linear model)
// Environment: see chromium.mjs (CHROMIUM, SECUML_SCREENSHOT).

import { fail, open, run, screenshot, withPage } from "./chromium.mjs";

async function waitFor(page, selector, what) {
  try {
    await page.waitForSelector(selector);
  } catch {
    const shown = await page.evaluate(() => {
      const list = document.getElementById("instances-list");
      return list ? `${list.dataset.state}: ${list.textContent.slice(0, 300)}` : "no list";
    });
    fail(`${what}: nothing matches ${selector} (instance list ${shown})`);
  }
}

/// The detection the Detection panel shows once it is drawn.
async function shownDetection(page) {
  await waitFor(page, "#detection-panel", "a detection");
  return page.getAttribute("#detection-panel", "data-detection");
}

async function clickTab(page, group) {
  await page.click(`#tab-${group}`);
  await waitFor(page, `#detection-box[data-group='${group}']`, `the ${group} tab`);
}

async function readCrossValidation(page) {
  await clickTab(page, "cv");
  await waitFor(page, "#cv-panel[data-state='ready']", "the Cross Validation tab");
  return page.evaluate(() => ({
    candidates: [...document.querySelectorAll("#search-table tbody tr")].map((r) => ({
      hyper: r.cells[0].textContent,
      best: r.dataset.best === "true",
    })),
    statistics: [...document.querySelectorAll("#fold-statistics tbody tr")].map((r) => {
      const test = r.querySelector(".test-stat");
      const train = r.querySelector(".train-stat");
      return {
        indicator: r.dataset.indicator,
        test_mean: test.dataset.mean === undefined ? null : Number(test.dataset.mean),
        test_std: test.dataset.std === undefined ? null : Number(test.dataset.std),
        train_mean: train.dataset.mean === undefined ? null : Number(train.dataset.mean),
      };
    }),
  }));
}

async function readFold(page, fold) {
  await page.selectOption("#fold-select", String(fold));
  await waitFor(page, `#train-panel h2:text-is("Train (fold ${fold})")`, `the Train panel of fold ${fold}`);
  const trainBest = await page.textContent("#train-best");
  await clickTab(page, "train");
  await waitFor(page, `#detection-panel[data-detection='train-fold-${fold}']`, `the train detection of fold ${fold}`);
  await clickTab(page, "test");
  await waitFor(page, `#detection-panel[data-detection='test-fold-${fold}']`, `the test detection of fold ${fold}`);
  const folds = await page.evaluate(() => [...document.querySelectorAll("#fold-select option")].map((o) => o.value));
  const cv = await readCrossValidation(page);
  return { folds: folds.map(Number), train_best: trainBest, train: `train-fold-${fold}`, test: `test-fold-${fold}`, cv };
}

async function readDatasets(page, names) {
  await clickTab(page, "validation");
  const options = await page.evaluate(() =>
    [...document.querySelectorAll("#test-dataset-select option")].map((o) => ({ value: o.value, text: o.textContent })));
  const shown = [];
  for (const name of names) {
    await page.selectOption("#test-dataset-select", name);
    await waitFor(page, `#detection-panel[data-detection='${name}']`, `the detection ${name}`);
    shown.push({ detection: name, summary: await page.textContent("#detection-summary") });
  }
  return { options, shown };
}

async function moveSlider(page, percent) {
  const slider = page.locator("#threshold-slider");
  await slider.waitFor();
  await slider.focus();
  const initial = Number(await slider.inputValue());
  const key = percent > initial ? "ArrowRight" : "ArrowLeft";
  for (let i = 0; i < Math.abs(percent - initial); i += 1) await page.keyboard.press(key);
  const moved = Number(await slider.inputValue());
  if (moved !== percent) fail(`slider is at ${moved}, expected ${percent}`);
}

async function readList(page) {
  await waitFor(page, "#instances-list[data-state='ready']", "the instance list");
  return page.evaluate(() => ({
    title: document.getElementById("instances-title").textContent,
    summary: document.getElementById("instances-summary").textContent,
    total: Number(document.getElementById("instances-list").dataset.total),
    rows: [...document.querySelectorAll("#predictions-table tbody tr")].map((r) => ({
      instance_id: Number(r.dataset.instance),
      score: Number(r.querySelector(".instance-score").dataset.value),
      label: r.querySelector(".instance-label").textContent,
    })),
  }));
}

async function readInstance(page) {
  await page.click("#predictions-table tbody tr:first-child");
  await waitFor(page, "#instance-panel[data-view='features'][data-state='ready']", "the Features tab");
  const instance = Number(await page.getAttribute("#instance-panel", "data-instance"));
  const features = await page.evaluate(() =>
    [...document.querySelectorAll("#instance-features tr")].map((r) => ({
      id: r.dataset.feature,
      value: r.querySelector(".feature-value").dataset.value,
    })));
  await page.click("#instance-tab-weighted");
  await waitFor(page, "#instance-panel[data-view='weighted'][data-state='ready']", "the Weighted Features tab");
  const weighted = await page.evaluate(() => {
    const unavailable = document.getElementById("weighted-unavailable");
    const family = document.getElementById("weighted-family");
    return {
      unavailable: unavailable ? unavailable.textContent : null,
      family: family ? family.value : null,
      rows: [...document.querySelectorAll("#weighted-features tbody tr")].map((r) => ({
        feature: r.dataset.feature,
        value: Number(r.querySelector(".wf-value").dataset.value),
        coefficient: Number(r.querySelector(".wf-coefficient").dataset.value),
        product: Number(r.querySelector(".wf-product").dataset.value),
      })),
    };
  });
  return { instance_id: instance, features, weighted };
}

/// Clicks the predictions histogram in the column of `bin`, halfway up the chart area.
async function clickBin(page, bin) {
  // Mouse clicks land at viewport coordinates: the chart must be in view.
  await page.locator("#pred-chart").scrollIntoViewIfNeeded();
  const point = await page.evaluate((index) => {
    const chart = window.Chart.getChart(document.getElementById("pred-chart"));
    const bar = chart.getDatasetMeta(0).data[index];
    const area = chart.chartArea;
    return { x: bar.x, y: (area.top + area.bottom) / 2 };
  }, bin);
  const box = await page.locator("#pred-chart").boundingBox();
  if (!box) fail("the predictions histogram is not visible");
  await page.mouse.click(box.x + point.x, box.y + point.y);
}

async function main() {
  const [url, planArg] = process.argv.slice(2);
  if (!url || !planArg) fail("usage: node diadem_panels.mjs <url> <plan>");
  const plan = JSON.parse(planArg);
  const reading = await withPage(async (page, problems) => {
    await open(page, url);
    await page.waitForSelector("body[data-loaded='true']");
    const out = { title: await page.title(), tabs: await page.evaluate(() =>
      [...document.querySelectorAll("#detection-tabs .tab")].map((b) => b.textContent)) };
    out.initial = await shownDetection(page);
    if (plan.fold !== undefined) out.fold = await readFold(page, plan.fold);
    if (plan.datasets) out.datasets = await readDatasets(page, plan.datasets);
    if (plan.tab) await clickTab(page, plan.tab);
    out.detection = await shownDetection(page);
    if (plan.cell) {
      await moveSlider(page, plan.percent);
      const count = Number(await page.textContent(`#cm-${plan.cell}`));
      await page.click(`#cm-${plan.cell}`);
      out.cell = { count, list: await readList(page), instance: await readInstance(page) };
    }
    if (plan.bin !== undefined) {
      await clickBin(page, plan.bin);
      await page.waitForFunction((b) => {
        const list = document.getElementById("instances-list");
        return list && list.dataset.query === `bin=${b}` && list.dataset.state === "ready";
      }, plan.bin);
      out.bin = await readList(page);
      if (plan.bin_instance) out.bin.instance = await readInstance(page);
    }
    if (plan.families) {
      out.families = await page.evaluate(() =>
        [...document.querySelectorAll("#family-detection tbody tr")].map((r) => ({
          family: r.dataset.family,
          detected: Number(r.cells[1].textContent),
          n: Number(r.cells[2].textContent),
          rate: r.cells[3].textContent,
        })));
    }
    if (plan.interpretation) {
      if (plan.coef_family) {
        await page.selectOption("#coef-family", { label: plan.coef_family });
        await page.waitForFunction((f) =>
          document.querySelector("#train-panel .chart-box").dataset.family === f, plan.coef_family);
      }
      out.interpretation = await page.evaluate(() => {
        const chart = window.Chart.getChart(document.getElementById("coef-chart"));
        return {
          title: document.querySelector("#train-panel h3").textContent,
          family: document.querySelector("#train-panel .chart-box").dataset.family || null,
          features: chart ? chart.data.labels : [],
          values: chart ? chart.data.datasets[0].data : [],
        };
      });
    }
    await screenshot(page);
    if (problems.length > 0) fail(problems.join("; "));
    return out;
  });
  process.stdout.write(`${JSON.stringify(reading)}\n`);
}

run(main);
