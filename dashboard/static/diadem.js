// The DIADEM page: information, training (coefficients, times, search) and one tab per detection.
"use strict";

(() => {
  const { el, getJson, getJsonOrNull, percent, fixed, date, panel, keyValueTable, experimentApi, followExperiment,
    showError, statusBadge } = secuml;
  const content = document.getElementById("content");
  const api = experimentApi();
  const detectionCache = new Map();
  const TOP_COEFFICIENTS = 15;

  const INDICATORS = [
    { id: "dr-value", name: "Detection Rate", key: "detection_rate",
      tip: "Share of the malicious instances that are detected: TP / (TP + FN)" },
    { id: "far-value", name: "False Alarm Rate", key: "false_alarm_rate",
      tip: "False discovery rate, as SecuML defines the false alarm rate: FP / (FP + TP)" },
    { id: "fscore-value", name: "F-score", key: "f_score",
      tip: "Harmonic mean of the precision and the detection rate" },
    { id: "precision-value", name: "Precision", key: "precision", tip: "TP / (TP + FP)" },
    { id: "fpr-value", name: "False Positive Rate", key: "false_positive_rate", tip: "FP / (FP + TN)" },
    { id: "accuracy-value", name: "Accuracy", key: "accuracy", tip: "(TP + TN) / N" },
  ];

  const OBJECTIVES = { RocAuc: "ROC AUC", Accuracy: "Accuracy", Ndcg: "NDCG", DrAtFar: "Detection rate at false alarm rate" };

  function hyperText(hyper) {
    return Object.entries(hyper).filter(([k]) => k !== "class")
      .map(([k, v]) => `${k === "c" ? "C" : k}=${v === null ? "None" : typeof v === "object" ? JSON.stringify(v) : v}`)
      .join(", ");
  }

  function validationText(validation) {
    if (!validation) return "-";
    if (validation.mode === "RandomSplit") return `RandomSplit (test size ${validation.test_size})`;
    if (validation.mode === "ValidationDatasets") return `ValidationDatasets (${validation.datasets.join(", ")})`;
    if (validation.mode === "TemporalSplit") return `TemporalSplit (test size ${validation.test_size})`;
    if (validation.mode === "CutoffTime") return `CutoffTime (${new Date(validation.cutoff_time * 1000).toISOString()})`;
    // Cross-validation modes: the Train panel shows outer fold 0, the Train and Test tabs every fold.
    if (validation.mode === "Cv" || validation.mode === "TemporalCv") {
      return `${validation.mode} (${validation.num_folds} folds; training of fold 0 shown)`;
    }
    if (validation.mode === "SlidingWindow") {
      return `SlidingWindow (${validation.num_buckets} buckets, ${validation.num_train_buckets} train, ` +
        `${validation.num_test_buckets} test; training of fold 0 shown)`;
    }
    return validation.mode;
  }

  function infoPanel(record) {
    const spec = record.spec || {};
    const rows = [
      ["Project", record.project, "info-project"],
      ["Dataset", record.dataset, "info-dataset"],
      ["Model Class", spec.model ? spec.model.class : "-", "info-model-class"],
      ["Validation", validationText(spec.validation), "info-validation"],
      ["Annotations", spec.annotations ? (spec.annotations.file || "ground truth") : "-", "info-annotations"],
      ["Folds of the search", spec.num_folds === undefined ? "-" : String(spec.num_folds), "info-folds"],
      ["Status", statusBadge(record.status), "info-status"],
      ["Created", date(record.created_ms), "info-created"],
      ["Finished", date(record.finished_ms), "info-finished"],
    ];
    if (record.error) rows.push(["Error", record.error, "info-error"]);
    const [node, body] = panel("Information", "info-panel");
    body.append(keyValueTable("info-table", rows));
    return node;
  }

  function searchTable(train) {
    const folds = train.candidates.reduce((n, c) => Math.max(n, c.per_fold.length), 0);
    const head = el("tr", {}, el("th", {}, "Hyperparameters"), el("th", {}, "Mean \u00b1 std"));
    for (let f = 0; f < folds; f += 1) head.append(el("th", {}, `Fold ${f}`));
    const tbody = el("tbody", {});
    const best = JSON.stringify(train.best);
    for (const c of train.candidates) {
      const isBest = JSON.stringify(c.hyper) === best;
      const row = el("tr", { className: isBest ? "best" : "", dataset: { best: isBest } },
        el("td", {}, hyperText(c.hyper)),
        el("td", {}, `${fixed(c.mean, 4)} \u00b1 ${fixed(c.std, 4)}`));
      for (let f = 0; f < folds; f += 1) row.append(el("td", {}, fixed(c.per_fold[f], 4)));
      tbody.append(row);
    }
    return el("table", { className: "table search", id: "search-table" }, el("thead", {}, head), tbody);
  }

  function trainPanel(train) {
    const [node, body] = panel("Train", "train-panel");
    if (!train) {
      body.append(el("p", { className: "empty" }, "The model is not trained yet."));
      return node;
    }
    const coefBox = el("div", { className: "chart-box tall" }, el("canvas", { id: "coef-chart" }));
    // Linear models have coefficients, tree models importances, the others neither.
    const importances = train.importances || [];
    const interpretation = train.coefficients.length > 0
      ? { title: "Model Coefficients", values: train.coefficients,
          note: `Top ${TOP_COEFFICIENTS} features by absolute value` }
      : importances.length > 0
        ? { title: "Feature Importances", values: importances,
            note: `Top ${TOP_COEFFICIENTS} features by mean decrease in impurity` }
        : { title: "Model Interpretation", values: [],
            note: `${train.model_class} gives no per-feature interpretation` };
    const times = keyValueTable("exec-times", [
      ["Search for best hyperparameters", fixed(train.times.search_seconds, 2), "time-search"],
      ["Training", fixed(train.times.training_seconds, 2), "time-training"],
      ["Total", fixed(train.times.total_seconds, 2), "time-total"],
    ]);
    body.append(
      el("div", { className: "grid two" },
        el("div", {}, el("h3", {}, interpretation.title),
          el("p", { className: "note" }, interpretation.note), coefBox),
        el("div", {},
          el("h3", {}, "Training Execution Times (in seconds)"), times,
          el("h3", {}, "Hyperparameter Search"),
          el("p", { className: "note" },
            `Best: ${hyperText(train.best)} (${OBJECTIVES[train.objective] || train.objective} ${fixed(train.best_score, 4)}), `,
            `${train.n_train} training instances, ${train.num_fits} fits`),
          searchTable(train))));
    if (interpretation.values.length > 0) {
      requestAnimationFrame(() => secumlCharts.coefficients("coef-chart", interpretation.values, TOP_COEFFICIENTS));
    }
    return node;
  }

  // `train-fold-<k>` and `test-fold-<k>`: the outer folds of the cross-validation modes.
  const FOLD = /^(train|test)-fold-(\d+)$/;

  function groupOf(name) {
    if (name === "train") return "train";
    if (name === "test") return "test";
    const fold = FOLD.exec(name);
    return fold ? fold[1] : "validation";
  }

  const GROUP_TITLES = { train: "Train", test: "Test", validation: "Validation" };

  function detectionsPanel(detections) {
    const [node, body] = panel("Detection", "detections");
    if (detections.length === 0) {
      body.append(el("p", { className: "empty" }, "No detection is stored yet."));
      return node;
    }
    const groups = new Map();
    for (const d of detections) {
      const g = groupOf(d.name);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(d);
    }
    const tabs = el("div", { className: "tabs", role: "tablist", id: "detection-tabs" });
    const selectorBox = el("div", { className: "selector", id: "selector-box" });
    const detectionBox = el("div", { id: "detection-box" });
    const order = ["train", "test", "validation"].filter((g) => groups.has(g));
    function activate(group) {
      for (const button of tabs.children) button.classList.toggle("active", button.dataset.group === group);
      const members = groups.get(group);
      selectorBox.replaceChildren();
      if (members.length > 1) {
        const folds = members.every((d) => FOLD.test(d.name));
        const select = el("select", { id: "test-dataset-select" });
        for (const d of members) {
          select.append(el("option", { value: d.name }, folds ? `Fold ${FOLD.exec(d.name)[2]}` : d.dataset));
        }
        select.addEventListener("change", () => showDetection(detectionBox, select.value));
        selectorBox.append(el("label", { htmlFor: "test-dataset-select" },
          folds ? "Select a fold " : "Select a test dataset "), select);
      }
      showDetection(detectionBox, members[0].name);
    }
    for (const g of order) {
      const button = el("button", { type: "button", id: `tab-${g}`, className: "tab", role: "tab", dataset: { group: g } },
        GROUP_TITLES[g]);
      button.addEventListener("click", () => activate(g));
      tabs.append(button);
    }
    body.append(tabs, selectorBox, detectionBox);
    activate(order.includes("test") ? "test" : order.includes("validation") ? "validation" : order[0]);
    return node;
  }

  async function showDetection(box, name) {
    box.replaceChildren(el("p", { className: "note" }, "Loading\u2026"));
    try {
      if (!detectionCache.has(name)) {
        detectionCache.set(name, await getJson(`${api}/detections/${encodeURIComponent(name)}`));
      }
      renderDetection(box, detectionCache.get(name));
    } catch (err) {
      showError(box, `Cannot load the detection ${name}: ${err.message}`);
    }
  }

  function renderDetection(box, d) {
    const root = el("div", { id: "detection-panel", dataset: { detection: d.name } });
    root.append(el("p", { className: "note", id: "detection-summary" },
      `Dataset ${d.dataset}: ${d.n_instances} instances, ${d.n_labeled} labelled, ${d.n_malicious} malicious`));
    const perf = el("div", {}, el("h3", {}, "Performance"));
    const curves = el("div", { className: "grid two" },
      el("div", {}, el("h3", {}, "ROC Curve"), el("div", { className: "chart-box" }, el("canvas", { id: "roc-chart" }))),
      el("div", {}, el("h3", {}, "FAR-DR Curve"), el("div", { className: "chart-box" }, el("canvas", { id: "fardr-chart" }))));
    const predictions = el("div", {}, el("h3", {}, "Predictions"),
      el("div", { className: "chart-box" }, el("canvas", { id: "pred-chart" })));
    if (d.multiclass) {
      perf.append(multiclassPerformance(d.multiclass));
      root.append(perf, predictions);
    } else if (d.thresholds.length === 0) {
      perf.append(el("p", { className: "empty", id: "no-ground-truth" },
        "No labelled instance with both labels: the performance indicators are not available."));
      root.append(perf, predictions);
    } else {
      perf.append(performance(d));
      root.append(perf, curves, predictions);
    }
    const families = Object.entries(d.family_detection || {});
    if (families.length > 0) {
      const rows = families.sort((a, b) => a[1].detection_rate - b[1].detection_rate)
        .map(([family, f]) => el("tr", {}, el("th", {}, family),
          el("td", {}, String(f.detected)), el("td", {}, String(f.n)), el("td", {}, percent(f.detection_rate))));
      root.append(el("div", {}, el("h3", {}, `Detection rate by family (threshold ${fixed(d.detection_threshold, 2)})`),
        el("table", { className: "table", id: "family-detection" },
          el("thead", {}, el("tr", {}, el("th", {}, "Family"), el("th", {}, "Detected"), el("th", {}, "Instances"),
            el("th", {}, "Detection rate"))),
          el("tbody", {}, ...rows))));
    }
    // The Alerts Analysis panel of the test and validation tabs (static/alerts.js).
    if (groupOf(d.name) !== "train") root.append(secumlAlerts.panel(api, d));
    box.replaceChildren(root);
    requestAnimationFrame(() => {
      if (d.thresholds.length > 0) {
        secumlCharts.roc("roc-chart", d.roc, d.auc);
        secumlCharts.farDr("fardr-chart", d.far_dr);
      }
      secumlCharts.predictions("pred-chart", d.histogram);
    });
  }

  // A multiclass detection (a model trained on families): accuracy, F1 micro and macro, and the
  // family confusion matrix (true families as rows, predicted ones as columns).
  function multiclassPerformance(m) {
    const rows = [["mc-accuracy", "Accuracy", m.accuracy, "Share of instances whose family is predicted"],
      ["mc-f1-micro", "F1 micro", m.f1_micro, "F1 score from the total counts of every family"],
      ["mc-f1-macro", "F1 macro", m.f1_macro, "Unweighted mean of the F1 score of each family"]]
      .map(([id, name, v, tip]) => el("tr", {}, el("th", { title: tip }, name),
        el("td", { id, dataset: { value: String(v) } }, percent(v))));
    const table = el("table", { className: "table kv", id: "multiclass-table" },
      el("tbody", {}, ...rows, el("tr", {}, el("th", {}, "Instances with a family"), el("td", {}, String(m.n)))));
    const head = el("tr", {}, el("th", {}, "True \\ Predicted"), ...m.labels.map((l) => el("th", {}, l)));
    const body = m.labels.map((l, i) => el("tr", {}, el("th", {}, l),
      ...m.confusion[i].map((c, j) => el("td", { className: c === 0 ? "" : (i === j ? "ok" : "bad") }, String(c)))));
    const cm = el("table", { className: "table confusion", id: "family-confusion" },
      el("thead", {}, head), el("tbody", {}, ...body));
    return el("div", {}, table, el("h4", {}, "Family Confusion Matrix"), el("div", { className: "scroll-x" }, cm));
  }

  function performance(d) {
    const initial = Math.round(d.detection_threshold * 100);
    const slider = el("input", { type: "range", id: "threshold-slider", min: 0, max: 100, step: 1, value: initial,
      "aria-label": "Detection threshold (%)" });
    const shown = el("output", { id: "threshold-value", htmlFor: "threshold-slider" }, "");
    const tbody = el("tbody", {});
    for (const ind of INDICATORS) {
      tbody.append(el("tr", {}, el("th", { title: ind.tip }, ind.name), el("td", { id: ind.id })));
    }
    tbody.append(el("tr", {}, el("th", { title: "Area under the ROC curve (independent of the threshold)" }, "AUC"),
      el("td", { id: "auc-value", dataset: { value: d.auc === null ? "" : d.auc } }, fixed(d.auc, 4))));
    const table = el("table", { className: "table kv", id: "perf-table" }, tbody);
    const cm = confusionTable();
    function update() {
      const value = Number(slider.value);
      const row = d.thresholds.find((t) => Math.round(t.threshold * 100) === value);
      shown.textContent = (value / 100).toFixed(2);
      table.dataset.threshold = String(value / 100);
      for (const ind of INDICATORS) {
        const cell = tbody.querySelector(`#${ind.id}`);
        const v = row ? row[ind.key] : null;
        cell.textContent = percent(v);
        cell.dataset.value = v === null ? "" : String(v);
      }
      for (const key of ["tp", "fp", "fn", "tn"]) {
        cm.querySelector(`#cm-${key}`).textContent = row ? String(row.confusion[key]) : "-";
      }
    }
    slider.addEventListener("input", update);
    update();
    return el("div", { className: "grid two" },
      el("div", {},
        el("div", { className: "slider-row" },
          el("label", { htmlFor: "threshold-slider" }, "Detection threshold "), slider, shown),
        table),
      el("div", {}, el("h4", {}, "Confusion Matrix"), cm));
  }

  function confusionTable() {
    const cell = (id, cls) => el("td", { id, className: cls }, "-");
    return el("table", { className: "table confusion", id: "confusion-matrix" },
      el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, "Predicted malicious"), el("th", {}, "Predicted benign"))),
      el("tbody", {},
        el("tr", {}, el("th", {}, "Malicious"), cell("cm-tp", "ok"), cell("cm-fn", "bad")),
        el("tr", {}, el("th", {}, "Benign"), cell("cm-fp", "bad"), cell("cm-tn", "ok"))));
  }

  async function fetchAll() {
    const record = await getJson(api);
    const [train, detections] = await Promise.all([
      getJsonOrNull(`${api}/train`),
      getJson(`${api}/detections`),
    ]);
    return { record, train, detections };
  }

  function signature({ record, train, detections }) {
    return JSON.stringify([record.status, train !== null, detections.map((d) => d.name)]);
  }

  const LEADERBOARD_POLL_MS = 2000;

  /// While the search runs (no model yet), its live leaderboard, read again every two seconds until the
  /// panel leaves the page; a class with no search has none, and the panel goes.
  function liveLeaderboard() {
    const board = secumlLeaderboard.create(`${api}/leaderboard`);
    const tick = () => board.refresh()
      .then(() => { if (board.node.isConnected) setTimeout(tick, LEADERBOARD_POLL_MS); })
      .catch(() => board.node.remove());
    requestAnimationFrame(tick);
    return board.node;
  }

  function render({ record, train, detections }) {
    const nodes = [infoPanel(record)];
    if (record.status === "running") {
      nodes.push(el("p", { className: "note", id: "running-note" },
        "The experiment is running; this page updates as its results arrive."));
    }
    if (record.status === "running" && train === null) nodes.push(liveLeaderboard());
    nodes.push(trainPanel(train), detectionsPanel(detections));
    detectionCache.clear();
    content.replaceChildren(...nodes);
    document.body.dataset.loaded = "true";
  }

  followExperiment({ fetchState: fetchAll, signature, render });
})();
