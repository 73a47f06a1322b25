// The DIADEM page: information, the fold and test-dataset selectors, training (coefficients or importances,
// times) and the tabs Train, Cross Validation, Test and Validation, with the instances of a confusion-matrix
// cell or a histogram bin and their description (instances.js).
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
    // Cross-validation modes: "Select a fold" picks the outer fold the panels show.
    if (validation.mode === "Cv" || validation.mode === "TemporalCv") {
      return `${validation.mode} (${validation.num_folds} folds)`;
    }
    if (validation.mode === "SlidingWindow") {
      return `SlidingWindow (${validation.num_buckets} buckets, ${validation.num_train_buckets} train, ` +
        `${validation.num_test_buckets} test)`;
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

  function trainPanel(train, fold) {
    const [node, body] = panel(fold === null ? "Train" : `Train (fold ${fold})`, "train-panel");
    if (!train) {
      body.append(el("p", { className: "empty" }, "The model is not trained yet."));
      return node;
    }
    const coefBox = el("div", { className: "chart-box tall" }, el("canvas", { id: "coef-chart" }));
    // Linear models have coefficients (multiclass ones, per family), tree models importances, the others
    // neither.
    const importances = train.importances || [];
    const perFamily = train.family_coefficients || [];
    let familySelect = null;
    const interpretation = perFamily.length > 0
      ? { title: "Model Coefficients", values: perFamily[0].coefficients, axis: "Coefficient (standardised features)",
          note: `Top ${TOP_COEFFICIENTS} features by absolute value in the one-vs-rest model of the family` }
      : train.coefficients.length > 0
      ? { title: "Model Coefficients", values: train.coefficients, axis: "Coefficient (standardised features)",
          note: `Top ${TOP_COEFFICIENTS} features by absolute value` }
      : importances.length > 0
        ? { title: "Features Importance", values: importances, axis: "Importance (mean decrease in impurity)",
            note: `Top ${TOP_COEFFICIENTS} features by mean decrease in impurity` }
        : { title: "Model Interpretation", values: [],
            note: `${train.model_class} gives no per-feature interpretation` };
    const times = keyValueTable("exec-times", [
      ["Search for best hyperparameters", fixed(train.times.search_seconds, 2), "time-search"],
      ["Training", fixed(train.times.training_seconds, 2), "time-training"],
      ["Total", fixed(train.times.total_seconds, 2), "time-total"],
    ]);
    if (perFamily.length > 0) {
      familySelect = el("select", { id: "coef-family" },
        ...perFamily.map((f, i) => el("option", { value: String(i) }, f.family)));
      familySelect.addEventListener("change", () => {
        const chosen = perFamily[Number(familySelect.value)];
        coefBox.dataset.family = chosen.family;
        secumlCharts.coefficients("coef-chart", chosen.coefficients, TOP_COEFFICIENTS, interpretation.axis);
      });
      coefBox.dataset.family = perFamily[0].family;
    }
    body.append(
      el("div", { className: "grid two" },
        el("div", {}, el("h3", {}, interpretation.title),
          el("p", { className: "note" }, interpretation.note, familySelect ? " " : "", familySelect), coefBox),
        el("div", {},
          el("h3", {}, "Training Execution Times (in seconds)"), times,
          el("p", { className: "note", id: "train-best" },
            `Best hyperparameters: ${hyperText(train.best)}; ${train.n_train} training instances, ${train.num_fits} fits`))));
    if (interpretation.values.length > 0) {
      requestAnimationFrame(() => secumlCharts.coefficients("coef-chart", interpretation.values, TOP_COEFFICIENTS,
        interpretation.axis));
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

  const TAB_TITLES = { train: "Train", cv: "Cross Validation", test: "Test", validation: "Validation" };

  /// The outer folds among the detections, in order (empty outside the cross-validation modes).
  function foldsOf(detections) {
    const folds = new Set();
    for (const d of detections) {
      const fold = FOLD.exec(d.name);
      if (fold) folds.add(Number(fold[2]));
    }
    return [...folds].sort((a, b) => a - b);
  }

  /// The selectors above the panels: "Select a fold" (cross-validation modes) and "Select a test
  /// dataset" (several validation datasets). `view` holds the selection; `onChange` redraws.
  function selectorsBar(folds, validations, view, onChange) {
    const bar = el("div", { className: "selector", id: "selectors" });
    if (folds.length > 0) {
      const select = el("select", { id: "fold-select" });
      for (const f of folds) select.append(el("option", { value: String(f) }, `Fold ${f}`));
      select.value = String(view.fold);
      select.addEventListener("change", () => {
        view.fold = Number(select.value);
        onChange("fold");
      });
      bar.append(el("label", { htmlFor: "fold-select" }, "Select a fold "), select);
    }
    if (validations.length > 1) {
      const select = el("select", { id: "test-dataset-select" });
      for (const d of validations) select.append(el("option", { value: d.name }, d.dataset));
      select.value = view.validation;
      select.addEventListener("change", () => {
        view.validation = select.value;
        onChange("validation");
      });
      bar.append(el("label", { htmlFor: "test-dataset-select" }, "Select a test dataset "), select);
    }
    return bar;
  }

  /// The detection a tab shows for the current selection.
  function detectionOf(group, view) {
    if (group === "validation") return view.validation;
    return view.fold === null ? group : `${group}-fold-${view.fold}`;
  }

  /// The Detection panel: its tabs, and `redraw(what)` for a change of the selectors.
  function detectionsPanel(detections, view, trainOf) {
    const [node, body] = panel("Detection", "detections");
    const groups = new Set(detections.map((d) => groupOf(d.name)));
    const tabs = el("div", { className: "tabs", role: "tablist", id: "detection-tabs" });
    const detectionBox = el("div", { id: "detection-box" });
    const order = ["train", "cv", "test", "validation"].filter((g) => g === "cv" || groups.has(g));
    let active = null;
    function activate(group) {
      active = group;
      for (const button of tabs.children) button.classList.toggle("active", button.dataset.group === group);
      detectionBox.dataset.group = group;
      if (group === "cv") {
        showCrossValidation(detectionBox, trainOf(view.fold), view.fold !== null);
      } else {
        showDetection(detectionBox, detectionOf(group, view));
      }
    }
    for (const g of order) {
      const button = el("button", { type: "button", id: `tab-${g}`, className: "tab", role: "tab", dataset: { group: g } },
        TAB_TITLES[g]);
      button.addEventListener("click", () => activate(g));
      tabs.append(button);
    }
    body.append(tabs, detectionBox);
    if (detections.length === 0) {
      body.append(el("p", { className: "empty" }, "No detection is stored yet."));
    }
    activate(order.includes("test") ? "test" : order.includes("validation") ? "validation" : order[0]);
    function redraw(what) {
      if (what === "fold" && active !== "validation") activate(active);
      if (what === "validation" && active === "validation") activate(active);
    }
    return [node, redraw];
  }

  /// The Cross Validation tab: the hyperparameter search's candidates (best highlighted) and, in the
  /// cross-validation modes, the mean and standard deviation across folds of each indicator.
  async function showCrossValidation(box, trainPromise, withFolds) {
    const root = el("div", { id: "cv-panel", dataset: { state: "loading" } });
    box.replaceChildren(root);
    try {
      const [train, stats] = await Promise.all([
        trainPromise,
        withFolds ? getJson(`${api}/fold-statistics`) : Promise.resolve(null),
      ]);
      if (box.firstChild !== root) return;
      root.append(el("h3", {}, "Hyperparameter Search"));
      if (!train) {
        root.append(el("p", { className: "empty" }, "The model is not trained yet."));
      } else if (train.candidates.length === 0) {
        root.append(el("p", { className: "empty", id: "no-search" },
          `${train.model_class} has a single configuration: no hyperparameter search.`));
      } else {
        root.append(el("p", { className: "note", id: "search-best" },
          `Best: ${hyperText(train.best)} (${OBJECTIVES[train.objective] || train.objective} ${fixed(train.best_score, 4)}), ` +
          `cross-validated on ${train.candidates[0].per_fold.length} folds of ${train.n_train} training instances`),
        searchTable(train));
      }
      if (stats) root.append(foldStatisticsTable(stats));
      root.dataset.state = "ready";
    } catch (err) {
      showError(box, `Cannot load the cross-validation results: ${err.message}`);
    }
  }

  const FOLD_INDICATOR_NAMES = [["auc", "AUC"], ...INDICATORS.map((i) => [i.key, i.name])];

  function foldStatisticsTable(stats) {
    const test = stats.statistics.test || {};
    const train = stats.statistics.train || {};
    const head = el("tr", {}, el("th", {}, "Indicator"), el("th", {}, "Train mean ± std"),
      el("th", {}, "Test mean ± std"));
    for (let f = 0; f < stats.num_folds; f += 1) head.append(el("th", {}, `Test fold ${f}`));
    const tbody = el("tbody", {});
    const meanStd = (s, cls) => el("td", { className: cls, dataset: s ? { mean: s.mean, std: s.std } : {} },
      s ? `${fixed(s.mean, 4)} ± ${fixed(s.std, 4)}` : "-");
    for (const [key, name] of FOLD_INDICATOR_NAMES) {
      if (!test[key] && !train[key]) continue;
      const row = el("tr", { dataset: { indicator: key } }, el("th", {}, name),
        meanStd(train[key], "train-stat"), meanStd(test[key], "test-stat"));
      for (let f = 0; f < stats.num_folds; f += 1) {
        const v = test[key] ? test[key].per_fold[f] : null;
        row.append(el("td", {}, fixed(v, 4)));
      }
      tbody.append(row);
    }
    return el("div", {}, el("h3", {}, `Indicators across the ${stats.num_folds} folds (at the detection threshold)`),
      el("table", { className: "table search", id: "fold-statistics" }, el("thead", {}, head), tbody));
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
    const detectionApi = `${api}/detections/${encodeURIComponent(d.name)}`;
    const instancesBox = el("div", { id: "instances-box" });
    const listInstances = d.predictions_file ? secumlInstances.browser(instancesBox) : null;
    const onCell = listInstances ? (cell, threshold) => listInstances(detectionApi, `cell=${cell}&threshold=${threshold}`) : null;
    const onBin = listInstances ? (bin) => listInstances(detectionApi, `bin=${bin}`) : null;
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
      perf.append(performance(d, onCell));
      root.append(perf, curves, predictions);
    }
    const families = Object.entries(d.family_detection || {});
    if (families.length > 0) {
      const rows = families.sort((a, b) => a[1].detection_rate - b[1].detection_rate)
        .map(([family, f]) => el("tr", { dataset: { family } }, el("th", {}, family),
          el("td", {}, String(f.detected)), el("td", {}, String(f.n)), el("td", {}, percent(f.detection_rate))));
      root.append(el("div", {}, el("h3", {}, `Detection rate by family (threshold ${fixed(d.detection_threshold, 2)})`),
        el("table", { className: "table", id: "family-detection" },
          el("thead", {}, el("tr", {}, el("th", {}, "Family"), el("th", {}, "Detected"), el("th", {}, "Instances"),
            el("th", {}, "Detection rate"))),
          el("tbody", {}, ...rows))));
    }
    root.append(instancesBox);
    // The Alerts Analysis panel of the test and validation tabs (static/alerts.js).
    // A multiclass model's detections have no alerts.
    if (groupOf(d.name) !== "train" && !d.multiclass) root.append(secumlAlerts.panel(api, d));
    box.replaceChildren(root);
    requestAnimationFrame(() => {
      if (d.thresholds.length > 0) {
        secumlCharts.roc("roc-chart", d.roc, d.auc);
        secumlCharts.farDr("fardr-chart", d.far_dr);
      }
      secumlCharts.predictions("pred-chart", d.histogram, onBin);
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

  /// The indicators at the slider's threshold and the confusion matrix; `onCell(cell, threshold)`, when
  /// given, lists the instances of the cell clicked.
  function performance(d, onCell) {
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
    if (onCell) {
      for (const key of ["tp", "fp", "fn", "tn"]) {
        const cell = cm.querySelector(`#cm-${key}`);
        const open = () => onCell(key, Number(slider.value) / 100);
        cell.classList.add("clickable");
        cell.tabIndex = 0;
        cell.title = "List these instances";
        cell.addEventListener("click", open);
        cell.addEventListener("keydown", (event) => {
          if (event.key === "Enter") open();
        });
      }
    }
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
    detectionCache.clear();
    const folds = foldsOf(detections);
    const validations = detections.filter((d) => groupOf(d.name) === "validation");
    const view = { fold: folds.length > 0 ? folds[0] : null, validation: validations.length > 0 ? validations[0].name : null };
    // The training summary of each outer fold, read once when first shown.
    const trains = new Map();
    const trainOf = (fold) => {
      if (fold === null) return Promise.resolve(train);
      if (!trains.has(fold)) trains.set(fold, getJsonOrNull(`${api}/folds/${fold}/train`));
      return trains.get(fold);
    };
    let trainNode = trainPanel(train, view.fold);
    const [detectionsNode, redraw] = detectionsPanel(detections, view, trainOf);
    const onChange = async (what) => {
      if (what === "fold") {
        const fold = view.fold;
        const summary = await trainOf(fold).catch(() => null);
        if (view.fold !== fold) return;
        const next = trainPanel(summary, fold);
        trainNode.replaceWith(next);
        trainNode = next;
      }
      redraw(what);
    };
    if (folds.length > 0 || validations.length > 1) nodes.push(selectorsBar(folds, validations, view, onChange));
    nodes.push(trainNode, detectionsNode);
    content.replaceChildren(...nodes);
    document.body.dataset.loaded = "true";
  }

  followExperiment({ fetchState: fetchAll, signature, render });
})();
