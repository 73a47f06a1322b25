// The clustering page: information and runs, the clusters (a table and the label and family mix charts),
// and the instances of the cluster clicked (a table row or a bar), closest to its centre first, page by page.
"use strict";

(() => {
  const { el, getJson, getJsonOrNull, percent, fixed, date, panel, keyValueTable, experimentApi, followExperiment,
    showError, statusBadge } = secuml;
  const content = document.getElementById("content");
  const api = experimentApi();
  const PAGE_SIZE = 25;
  const TOP_FAMILIES_TABLE = 3;
  const TOP_FAMILIES_CHART = 8;

  function annotationsText(annotations) {
    if (!annotations) return "none";
    return annotations.file || "ground truth";
  }

  function infoPanel(record, summary) {
    const spec = record.spec || {};
    const algo = spec.algo || {};
    const rows = [
      ["Project", record.project, "info-project"],
      ["Dataset", record.dataset, "info-dataset"],
      ["Algorithm", algo.algo || "-", "info-algo"],
      ["Clusters", algo.num_clusters === undefined ? "-" : String(algo.num_clusters), "info-clusters"],
      ["Initialisations", algo.n_init === undefined ? "-" : String(algo.n_init), "info-n-init"],
      ["Seed", spec.seed === undefined ? "-" : String(spec.seed), "info-seed"],
      ["Annotations", annotationsText(spec.annotations), "info-annotations"],
      ["Status", statusBadge(record.status), "info-status"],
      ["Created", date(record.created_ms), "info-created"],
      ["Finished", date(record.finished_ms), "info-finished"],
    ];
    if (summary) {
      rows.splice(7, 0,
        ["Instances", String(summary.n_rows), "info-rows"],
        ["Columns (encoded)", String(summary.num_columns), "info-columns"],
        ["Inertia (best run)", fixed(summary.inertia, 2), "info-inertia"],
        ["Iterations (best run)", String(summary.iterations), "info-iterations"],
        ["Time (seconds)", fixed(summary.seconds, 2), "info-seconds"]);
    }
    if (record.error) rows.push(["Error", record.error, "info-error"]);
    const [node, body] = panel("Information", "info-panel");
    body.append(keyValueTable("info-table", rows));
    if (summary && summary.runs.length > 0) body.append(el("h3", {}, "Runs"), runsTable(summary));
    return node;
  }

  function runsTable(summary) {
    const tbody = el("tbody", {});
    for (const run of summary.runs) {
      const best = run.run === summary.best_run;
      tbody.append(el("tr", { className: best ? "best" : "", dataset: { run: run.run, best } },
        el("td", {}, String(run.run)), el("td", {}, fixed(run.inertia, 2)), el("td", {}, String(run.iterations))));
    }
    return el("table", { className: "table search", id: "runs-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Run"), el("th", {}, "Inertia"), el("th", {}, "Iterations"))),
      tbody);
  }

  /// Malicious among the labelled instances of a cluster, null when none is labelled.
  function maliciousRate(c) {
    const labelled = c.malicious + c.benign;
    return labelled === 0 ? null : c.malicious / labelled;
  }

  function topFamiliesText(c) {
    if (c.families.length === 0) return "-";
    const shown = c.families.slice(0, TOP_FAMILIES_TABLE).map((f) => `${f.family} (${f.count})`);
    if (c.families.length > TOP_FAMILIES_TABLE) shown.push("\u2026");
    return shown.join(", ");
  }

  function clustersTable(summary, select) {
    const head = el("tr", {}, el("th", {}, "Cluster"), el("th", {}, "Size"), el("th", {}, "% of instances"));
    if (summary.has_labels) {
      head.append(el("th", { title: "Malicious among the labelled instances of the cluster" }, "% malicious"));
    }
    if (summary.has_families) head.append(el("th", {}, "Top families"));
    const tbody = el("tbody", {});
    for (const c of summary.clusters) {
      const row = el("tr", { className: "clickable", dataset: { cluster: c.cluster }, tabindex: 0,
        title: `Show the instances of cluster ${c.cluster}` },
        el("td", { className: "cluster-index" }, String(c.cluster)),
        el("td", { className: "cluster-size", dataset: { value: c.size } }, String(c.size)),
        el("td", {}, percent(summary.n_rows === 0 ? null : c.size / summary.n_rows)));
      if (summary.has_labels) {
        const rate = maliciousRate(c);
        row.append(el("td", { className: "cluster-malicious", dataset: { value: rate === null ? "" : rate } },
          percent(rate)));
      }
      if (summary.has_families) row.append(el("td", { className: "cluster-families" }, topFamiliesText(c)));
      row.addEventListener("click", () => select(c.cluster, 0));
      row.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          select(c.cluster, 0);
        }
      });
      tbody.append(row);
    }
    return el("table", { className: "table clusters", id: "clusters-table" }, el("thead", {}, head), tbody);
  }

  /// The series of the label mix chart: malicious, benign and unlabelled counts per cluster.
  function labelSeries(summary) {
    const clusters = summary.clusters;
    if (!summary.has_labels) {
      return [{ label: "instances", data: clusters.map((c) => c.size), color: secumlCharts.UNLABELED }];
    }
    const series = [
      { label: "malicious", data: clusters.map((c) => c.malicious), color: secumlCharts.MALICIOUS },
      { label: "benign", data: clusters.map((c) => c.benign), color: secumlCharts.BENIGN },
    ];
    if (clusters.some((c) => c.unlabeled > 0)) {
      series.push({ label: "unlabelled", data: clusters.map((c) => c.unlabeled), color: secumlCharts.UNLABELED });
    }
    return series;
  }

  /// The series of the family mix chart: the most frequent families overall, then the others together,
  /// then the instances without a family.
  function familySeries(summary) {
    const totals = new Map();
    for (const c of summary.clusters) {
      for (const f of c.families) totals.set(f.family, (totals.get(f.family) || 0) + f.count);
    }
    const top = [...totals.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, TOP_FAMILIES_CHART).map(([family]) => family);
    const counts = (c) => new Map(c.families.map((f) => [f.family, f.count]));
    const perCluster = summary.clusters.map(counts);
    const series = top.map((family, i) => ({
      label: family,
      data: perCluster.map((m) => m.get(family) || 0),
      color: secumlCharts.PALETTE[i % secumlCharts.PALETTE.length],
    }));
    const inTop = (i) => top.reduce((n, family) => n + (perCluster[i].get(family) || 0), 0);
    const withFamily = (c) => c.families.reduce((n, f) => n + f.count, 0);
    const others = summary.clusters.map((c, i) => withFamily(c) - inTop(i));
    if (others.some((n) => n > 0)) series.push({ label: "other families", data: others, color: "#7f8c8d" });
    const none = summary.clusters.map((c) => c.size - withFamily(c));
    if (none.some((n) => n > 0)) series.push({ label: "no family", data: none, color: "#d5dbe1" });
    return series;
  }

  function clustersPanel(summary, select) {
    const [node, body] = panel("Clusters", "clusters-panel");
    body.append(el("p", { className: "note" },
      `${summary.num_clusters} clusters of ${summary.n_rows} instances; click a cluster (a row or a bar) to see its instances.`));
    const charts = el("div", { className: summary.has_families ? "grid two" : "" },
      el("div", {}, el("h3", {}, "Label mix"),
        el("div", { className: "chart-box" }, el("canvas", { id: "label-mix-chart" }))));
    if (summary.has_families) {
      charts.append(el("div", {}, el("h3", {}, "Family mix"),
        el("div", { className: "chart-box" }, el("canvas", { id: "family-mix-chart" }))));
    }
    body.append(clustersTable(summary, select), charts);
    requestAnimationFrame(() => {
      const labels = summary.clusters.map((c) => `Cluster ${c.cluster}`);
      const pick = (index) => select(summary.clusters[index].cluster, 0);
      secumlCharts.stackedClusters("label-mix-chart", labels, labelSeries(summary), pick);
      if (summary.has_families) {
        secumlCharts.stackedClusters("family-mix-chart", labels, familySeries(summary), pick);
      }
    });
    return node;
  }

  /// The instances panel and the function that shows a page of a cluster in it.
  function instancesPanel(summary) {
    const [node, body] = panel("Instances", "instances-panel");
    body.append(el("p", { className: "empty", id: "instances-empty" }, "Click a cluster to see its instances."));
    let request = 0;

    async function show(cluster, offset) {
      request += 1;
      const mine = request;
      node.dataset.cluster = String(cluster);
      node.dataset.offset = String(offset);
      node.dataset.state = "loading";
      for (const row of document.querySelectorAll("#clusters-table tbody tr")) {
        const selected = row.dataset.cluster === String(cluster);
        row.classList.toggle("selected", selected);
        row.setAttribute("aria-selected", String(selected));
      }
      try {
        const page = await getJson(`${api}/clusters/${cluster}/instances?offset=${offset}&limit=${PAGE_SIZE}`);
        if (mine !== request) return;
        body.replaceChildren(...renderPage(page, show));
        node.dataset.limit = String(page.limit);
        node.dataset.total = String(page.total);
        node.dataset.state = "ready";
      } catch (err) {
        if (mine !== request) return;
        showError(body, `Cannot load the instances of cluster ${cluster}: ${err.message}`);
        node.dataset.state = "error";
      }
    }

    return [node, show];
  }

  function renderPage(page, show) {
    const first = page.instances.length === 0 ? 0 : page.offset + 1;
    const last = page.offset + page.instances.length;
    const summary = el("p", { className: "note", id: "instances-summary" },
      `Cluster ${page.cluster}: instances ${first}\u2013${last} of ${page.total}, closest to the centre first`);
    const head = el("tr", {}, el("th", {}, "Rank"), el("th", {}, "Instance id"), el("th", {}, "Ident"),
      el("th", { title: "Euclidean distance to the cluster's centre, standardised features" }, "Distance"));
    if (page.has_labels) head.append(el("th", {}, "Label"));
    if (page.has_families) head.append(el("th", {}, "Family"));
    const tbody = el("tbody", {});
    for (const inst of page.instances) {
      const row = el("tr", { dataset: { instance: inst.instance_id } },
        el("td", {}, String(inst.rank + 1)),
        el("td", { className: "instance-id" }, String(inst.instance_id)),
        el("td", { className: "instance-ident" }, inst.ident),
        el("td", { className: "instance-distance", dataset: { value: inst.distance } }, fixed(inst.distance, 4)));
      if (page.has_labels) row.append(el("td", { className: "instance-label" }, inst.label || "-"));
      if (page.has_families) row.append(el("td", { className: "instance-family" }, inst.family || "-"));
      tbody.append(row);
    }
    const previous = el("button", { type: "button", id: "instances-previous", className: "tab" }, "\u2039 Previous");
    const next = el("button", { type: "button", id: "instances-next", className: "tab" }, "Next \u203a");
    previous.disabled = page.offset === 0;
    next.disabled = last >= page.total;
    previous.addEventListener("click", () => show(page.cluster, Math.max(0, page.offset - page.limit)));
    next.addEventListener("click", () => show(page.cluster, page.offset + page.limit));
    const pager = el("div", { className: "pager" }, previous, next);
    return [summary, pager, el("table", { className: "table instances", id: "instances-table" },
      el("thead", {}, head), tbody)];
  }

  async function fetchAll() {
    const record = await getJson(api);
    const summary = await getJsonOrNull(`${api}/clustering`);
    return { record, summary };
  }

  function render({ record, summary }) {
    const nodes = [infoPanel(record, summary)];
    if (record.status === "running") {
      nodes.push(el("p", { className: "note", id: "running-note" },
        "The experiment is running; this page updates when its clusters are stored."));
    }
    if (summary) {
      const [instances, show] = instancesPanel(summary);
      nodes.push(clustersPanel(summary, show), instances);
    } else {
      const [node, body] = panel("Clusters", "clusters-panel");
      body.append(el("p", { className: "empty" }, "No clustering result is stored yet."));
      nodes.push(node);
    }
    content.replaceChildren(...nodes);
    document.body.dataset.loaded = "true";
  }

  followExperiment({
    fetchState: fetchAll,
    signature: ({ record, summary }) => JSON.stringify([record.status, summary !== null]),
    render,
  });
})();
