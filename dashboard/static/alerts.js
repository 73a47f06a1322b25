// The Alerts Analysis panel of the DIADEM page's test and validation tabs: buttons "Top N",
// "Random" and, when the alerts were clustered, "Clustering", each listing up to 100 alerts
// (ident, score, label, family) from /api/experiments/<id>/alerts/<detection>.
"use strict";

const secumlAlerts = (() => {
  const { el, getJson, getJsonOrNull, fixed, showError } = secuml;

  function labelText(label) {
    return label === null || label === undefined ? "-" : label ? "malicious" : "benign";
  }

  function alertsTable(rows) {
    const tbody = el("tbody", {});
    for (const r of rows) {
      tbody.append(el("tr", { dataset: { instanceId: r.instance_id } },
        el("td", { className: "alert-ident" }, r.ident),
        el("td", { className: "alert-score" }, fixed(r.score, 4)),
        el("td", { className: "alert-label" }, labelText(r.label)),
        el("td", { className: "alert-family" }, r.family === null ? "-" : r.family)));
    }
    return el("table", { className: "table", id: "alerts-table", dataset: { rows: rows.length } },
      el("thead", {}, el("tr", {}, el("th", {}, "Ident"), el("th", {}, "Score"), el("th", {}, "Label"),
        el("th", {}, "Family"))),
      tbody);
  }

  function mixText(mix) {
    const families = Object.entries(mix.families || {}).sort((a, b) => b[1] - a[1])
      .map(([f, n]) => `${f} ${n}`).join(", ");
    return `${mix.malicious} malicious, ${mix.benign} benign, ${mix.unlabeled} unlabelled` +
      (families ? `; ${families}` : "");
  }

  // A group is a cluster, DBSCAN's noise, or with an alert classification a family.
  let classified = false;
  function clusterName(name) {
    if (classified) return `Family ${name}`;
    return name === "noise" ? "Noise" : `Cluster ${name}`;
  }

  /// The panel of detection `d` of the experiment at `api`; filled once its analysis is read.
  function panel(api, d) {
    const root = el("div", { id: "alerts-panel", dataset: { detection: d.name } },
      el("h3", {}, "Alerts Analysis"));
    if (!d.n_alerts) {
      root.append(el("p", { className: "empty", id: "no-alerts" },
        `No instance is above the detection threshold ${fixed(d.detection_threshold, 2)}.`));
      return root;
    }
    const base = `${api}/alerts/${encodeURIComponent(d.name)}`;
    const buttons = el("div", { className: "tabs", id: "alerts-buttons" });
    const clusterBox = el("div", { id: "alerts-clusters" });
    const list = el("div", { id: "alerts-list" });
    const note = el("p", { className: "note", id: "alerts-summary" }, "Loading\u2026");
    root.append(note, buttons, clusterBox, list);

    function activate(view) {
      for (const b of buttons.children) b.classList.toggle("active", b.dataset.view === view);
      root.dataset.view = view;
    }

    // The list's state for readers (and the browser tests): what it shows, and whether it is loaded.
    // A reply that arrives after another view was asked for is dropped.
    let request = 0;
    function loading(view, cluster) {
      Object.assign(list.dataset, { view, cluster: cluster === undefined ? "" : cluster, state: "loading" });
      list.replaceChildren(el("p", { className: "note" }, "Loading\u2026"));
      request += 1;
      return request;
    }

    async function showList(view, title) {
      activate(view);
      clusterBox.replaceChildren();
      const asked = loading(view);
      try {
        const rows = await getJson(`${base}/${view}`);
        if (asked !== request) return;
        list.replaceChildren(el("h4", { id: "alerts-title" }, title), alertsTable(rows));
        list.dataset.state = "ready";
      } catch (err) {
        showError(list, `Cannot load the alerts: ${err.message}`);
      }
    }

    async function showCluster(name) {
      for (const row of clusterBox.querySelectorAll("tr[data-cluster]")) {
        row.classList.toggle("selected", row.dataset.cluster === name);
      }
      const select = clusterBox.querySelector("#alerts-cluster-select");
      if (select) select.value = name;
      const asked = loading("clustering", name);
      try {
        const c = await getJson(`${base}/clusters/${encodeURIComponent(name)}`);
        if (asked !== request) return;
        list.replaceChildren(
          el("h4", { id: "alerts-title" }, `${clusterName(c.name)}: ${c.mix.size} alerts` +
            (c.mix.size > c.alerts.length ? ` (the ${c.alerts.length} highest scores)` : "")),
          alertsTable(c.alerts));
        list.dataset.state = "ready";
      } catch (err) {
        showError(list, `Cannot load the cluster: ${err.message}`);
      }
    }

    function showClustering(overview) {
      activate("clustering");
      const tbody = el("tbody", {});
      for (const c of overview.clusters) {
        const row = el("tr", { className: "clickable", dataset: { cluster: c.name, size: c.mix.size } },
          el("th", {}, clusterName(c.name)), el("td", { className: "cluster-size" }, String(c.mix.size)),
          el("td", {}, mixText(c.mix)));
        row.addEventListener("click", () => showCluster(c.name));
        tbody.append(row);
      }
      const select = el("select", { id: "alerts-cluster-select" });
      for (const c of overview.clusters) select.append(el("option", { value: c.name }, clusterName(c.name)));
      select.addEventListener("change", () => showCluster(select.value));
      clusterBox.replaceChildren(
        el("p", { className: "note" }, `${overview.algo}: ${overview.clusters.length} groups`),
        el("table", { className: "table", id: "alerts-clusters-table" },
          el("thead", {}, el("tr", {}, el("th", {}, "Cluster"), el("th", {}, "Alerts"), el("th", {}, "Labels and families"))),
          tbody),
        el("label", { htmlFor: "alerts-cluster-select" }, classified ? "Select a family " : "Select a cluster "), select);
      if (overview.clusters.length > 0) showCluster(overview.clusters[0].name);
    }

    // The analysed detections first: a streamed validation dataset has no analysis.
    getJson(`${api}/alerts`).then((analysed) => analysed.includes(d.name) ? getJsonOrNull(base) : null).then((overview) => {
      if (overview === null) {
        note.textContent = `${d.n_alerts} alerts; their analysis is not stored (a streamed dataset has none).`;
        root.dataset.view = "none";
        return;
      }
      classified = Boolean(overview.classified);
      const grouping = !overview.algo ? "" :
        classified ? `, families named by ${overview.algo}` : `, clustered by ${overview.algo}`;
      note.textContent = `${overview.n_alerts} alerts above the detection threshold ` +
        `${fixed(overview.detection_threshold, 2)}` + grouping +
        (overview.skipped ? ` (${overview.skipped})` : "");
      const button = (view, text, action) => {
        const b = el("button", { type: "button", className: "tab", id: `alerts-${view}`, dataset: { view } }, text);
        b.addEventListener("click", action);
        buttons.append(b);
      };
      button("top", "Top N", () => showList("top", "The highest scoring alerts"));
      button("random", "Random", () => showList("random", "A random sample of the alerts"));
      if (overview.algo) {
        button("clustering", classified ? "Classification" : "Clustering", () => showClustering(overview));
      }
      showList("top", "The highest scoring alerts");
    }).catch((err) => showError(list, `Cannot load the alerts analysis: ${err.message}`));
    return root;
  }

  return { panel };
})();
