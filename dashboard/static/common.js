// Shared helpers of the secuml dashboard pages.
// Every string that comes from the store is put in the page with textContent, never parsed as markup.
"use strict";

const secuml = (() => {
  /// Builds an element: el("td", {className: "x", id: "y"}, "text", childNode, ...).
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "dataset") {
        for (const [name, v] of Object.entries(value)) node.dataset[name] = String(v);
      } else if (key === "className" || key === "id" || key === "title" || key === "href" ||
                 key === "type" || key === "value" || key === "min" || key === "max" ||
                 key === "step" || key === "htmlFor" || key === "role") {
        node[key] = value;
      } else {
        node.setAttribute(key, String(value));
      }
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /// Fetches a JSON document of the API; throws an Error with the server's message otherwise.
  async function getJson(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.message ? body.message : `HTTP ${response.status}`;
      const err = new Error(message);
      err.status = response.status;
      throw err;
    }
    return body;
  }

  /// Like getJson, but null when the server answers 404 (a result not stored yet).
  async function getJsonOrNull(path) {
    try {
      return await getJson(path);
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  /// Encodes one path segment of a link.
  function seg(text) {
    return encodeURIComponent(text);
  }

  /// Formats a rate in [0, 1] as a percentage with two decimals, "-" when absent.
  function percent(value) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "-";
    return `${(value * 100).toFixed(2)}%`;
  }

  /// Formats a number with a fixed number of decimals, "-" when absent.
  function fixed(value, digits) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "-";
    return value.toFixed(digits);
  }

  /// Formats milliseconds since the epoch as "YYYY-MM-DD HH:MM:SS UTC".
  function date(ms) {
    if (!ms) return "-";
    return `${new Date(ms).toISOString().replace("T", " ").slice(0, 19)} UTC`;
  }

  /// A panel with a heading: returns [panel, body].
  function panel(title, id) {
    const body = el("div", { className: "panel-body" });
    const node = el("section", { className: "panel", id: id || "" }, el("h2", {}, title), body);
    return [node, body];
  }

  /// A two-column table of [name, value, cell id] rows.
  function keyValueTable(id, rows) {
    const tbody = el("tbody", {});
    for (const [name, value, rowId] of rows) {
      tbody.append(el("tr", {}, el("th", {}, name), el("td", { id: rowId || "" }, value)));
    }
    return el("table", { className: "table kv", id }, tbody);
  }

  /// The API path of the experiment of this page (`data-experiment`).
  function experimentApi() {
    return `/api/experiments/${encodeURIComponent(document.body.dataset.experiment)}`;
  }

  /// How often an experiment page reads its experiment again while it runs.
  const EXPERIMENT_POLL_MS = 3000;

  /// Loads an experiment page: `fetchState()` reads what it shows (with `record`, the experiment record)
  /// and `render(state)` draws it; while the experiment runs the state is read again every
  /// EXPERIMENT_POLL_MS and drawn again only when `signature(state)` changes. A failure replaces the
  /// content with its message.
  function followExperiment({ fetchState, signature, render }) {
    const content = document.getElementById("content");
    const fail = (err) => showError(content, `Cannot load this experiment: ${err.message}`);
    async function load(previous) {
      const state = await fetchState();
      const sig = signature(state);
      if (sig !== previous) render(state);
      if (state.record.status === "running") setTimeout(() => load(sig).catch(fail), EXPERIMENT_POLL_MS);
    }
    load(null).catch(fail);
  }

  /// Shows an error message in the content area.
  function showError(container, message) {
    container.replaceChildren(el("p", { className: "error", id: "error-message" }, message));
  }

  /// A status badge.
  function statusBadge(status) {
    return el("span", { className: `status status-${status}`, dataset: { status } }, status);
  }

  return {
    el, getJson, getJsonOrNull, seg, percent, fixed, date, panel, keyValueTable, experimentApi, followExperiment,
    showError, statusBadge,
  };
})();
