// The instance browser of the DIADEM page: a list of predicted instances (a confusion-matrix cell at a
// threshold, or a bin of the predictions histogram), page by page, highest score first, and the
// description of the instance clicked: its feature values and, for linear models, its weighted features.
"use strict";

const secumlInstances = (() => {
  const { el, getJson, fixed, showError } = secuml;
  /// Instances per page (SecuML's NUM_MAX_DISPLAY).
  const PAGE_SIZE = 100;
  /// Weighted features shown.
  const TOP_WEIGHTED = 15;

  /// Fills `container` with an empty list and description; returns `show(detectionApi, query)`, which
  /// lists the instances of `query` (`cell=fp&threshold=0.37` or `bin=3`) of the detection whose API path
  /// is `detectionApi`.
  function browser(container) {
    const list = el("div", { id: "instances-list", dataset: { state: "empty" } });
    const description = el("div", { id: "instance-panel", dataset: { state: "empty" } });
    container.replaceChildren(el("h3", {}, "Instances"),
      el("p", { className: "empty", id: "instances-empty" },
        "Click a cell of the confusion matrix or a bar of the predictions histogram to list its instances."),
      list, description);

    async function show(detectionApi, query, offset) {
      list.dataset.state = "loading";
      list.dataset.query = query;
      list.dataset.offset = String(offset);
      const empty = container.querySelector("#instances-empty");
      if (empty) empty.remove();
      try {
        const page = await getJson(`${detectionApi}/predictions?${query}&offset=${offset}&limit=${PAGE_SIZE}`);
        if (list.dataset.query !== query || list.dataset.offset !== String(offset)) return;
        list.replaceChildren(...renderList(page, (next) => show(detectionApi, query, next),
          (inst) => describe(description, detectionApi, inst)));
        list.dataset.total = String(page.total);
        list.dataset.state = "ready";
      } catch (err) {
        showError(list, `Cannot list the instances: ${err.message}`);
        list.dataset.state = "error";
      }
    }
    return (detectionApi, query) => {
      description.replaceChildren();
      description.dataset.state = "empty";
      return show(detectionApi, query, 0);
    };
  }

  function labelText(inst) {
    return inst.label === null ? "-" : inst.family ? `${inst.label} (${inst.family})` : inst.label;
  }

  function renderList(page, goTo, open) {
    const first = page.instances.length === 0 ? 0 : page.offset + 1;
    const last = page.offset + page.instances.length;
    const title = el("h4", { id: "instances-title" }, page.title);
    const summary = el("p", { className: "note", id: "instances-summary" },
      page.total === 0 ? "No instance." :
        `Instances ${first}\u2013${last} of ${page.total}, highest score first; click one to describe it.`);
    const tbody = el("tbody", {});
    for (const inst of page.instances) {
      const row = el("tr", { className: "clickable", tabindex: 0, dataset: { instance: inst.instance_id } },
        el("td", { className: "instance-id" }, String(inst.instance_id)),
        el("td", { className: "instance-ident" }, inst.ident),
        el("td", { className: "instance-score", dataset: { value: inst.score } }, fixed(inst.score, 4)),
        el("td", { className: "instance-label" }, labelText(inst)));
      row.addEventListener("click", () => open(inst));
      row.addEventListener("keydown", (event) => {
        if (event.key === "Enter") open(inst);
      });
      tbody.append(row);
    }
    const previous = el("button", { type: "button", id: "instances-previous", className: "tab" }, "\u2039 Previous");
    const next = el("button", { type: "button", id: "instances-next", className: "tab" }, "Next \u203a");
    previous.disabled = page.offset === 0;
    next.disabled = last >= page.total;
    previous.addEventListener("click", () => goTo(Math.max(0, page.offset - page.limit)));
    next.addEventListener("click", () => goTo(page.offset + page.limit));
    const table = el("table", { className: "table instances", id: "predictions-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Instance"), el("th", {}, "Ident"), el("th", {}, "Score"),
        el("th", {}, "Label"))),
      tbody);
    return [title, summary, el("div", { className: "pager" }, previous, next), table];
  }

  /// Shows the description of `inst` in `box`: a Features tab and a Weighted Features tab.
  async function describe(box, detectionApi, inst) {
    const base = `${detectionApi}/instances/${encodeURIComponent(inst.instance_id)}`;
    box.dataset.state = "loading";
    box.dataset.instance = String(inst.instance_id);
    const tabs = el("div", { className: "tabs", role: "tablist" });
    const body = el("div", { id: "instance-tab-body" });
    box.replaceChildren(
      el("h4", { id: "instance-title" }, `Instance ${inst.instance_id}: ${inst.ident}`),
      el("p", { className: "note", id: "instance-prediction" },
        inst.predicted_family
          ? `Predicted family ${inst.predicted_family} (probability ${fixed(inst.score, 4)}); label ${labelText(inst)}`
          : `Score ${fixed(inst.score, 4)}${inst.value !== inst.score ? ` (threshold value ${fixed(inst.value, 4)})` : ""}, ` +
            `${inst.alert ? "an alert" : "not an alert"} at the detection threshold; label ${labelText(inst)}`),
      tabs, body);
    const views = {
      features: { title: "Features", load: () => loadFeatures(base) },
      weighted: { title: "Weighted Features", load: () => loadWeighted(base) },
    };
    async function activate(name) {
      for (const b of tabs.children) b.classList.toggle("active", b.dataset.view === name);
      box.dataset.view = name;
      box.dataset.state = "loading";
      body.replaceChildren(el("p", { className: "note" }, "Loading\u2026"));
      try {
        const node = await views[name].load();
        if (box.dataset.instance !== String(inst.instance_id) || box.dataset.view !== name) return;
        body.replaceChildren(node);
        box.dataset.state = "ready";
      } catch (err) {
        showError(body, `Cannot describe instance ${inst.instance_id}: ${err.message}`);
        box.dataset.state = "error";
      }
    }
    for (const [name, view] of Object.entries(views)) {
      const button = el("button", { type: "button", className: "tab", id: `instance-tab-${name}`, dataset: { view: name } },
        view.title);
      button.addEventListener("click", () => activate(name));
      tabs.append(button);
    }
    await activate("features");
  }

  async function loadFeatures(base) {
    const d = await getJson(base);
    const tbody = el("tbody", {});
    for (const f of d.features) {
      const shown = typeof f.value === "number" ? String(f.value) : f.value;
      tbody.append(el("tr", { dataset: { feature: f.id } },
        el("th", { title: f.description || "" }, f.name),
        el("td", { className: "feature-value", dataset: { value: f.value } }, shown)));
    }
    return el("div", {},
      el("p", { className: "note" }, `Row ${d.row} of dataset ${d.dataset}`),
      el("table", { className: "table kv", id: "instance-features" }, tbody));
  }

  /// The weighted features of the instance at `base`; for a multiclass linear model, with the
  /// coefficients of `family`'s one-vs-rest model (by default the predicted family) and a family selector.
  async function loadWeighted(base, family) {
    const query = family ? `&family=${encodeURIComponent(family)}` : "";
    const w = await getJson(`${base}/weighted-features?limit=${TOP_WEIGHTED}${query}`);
    const selector = w.family ? familySelector(w, (next) => loadWeighted(base, next)) : null;
    if (!w.available) {
      const reason = w.family
        ? `The family ${w.family} has no model of its own (with two families, only the second has one).`
        : `Weighted features are not available for ${w.model_class} models: only linear models have them.`;
      return el("div", { id: "weighted-box" }, ...(selector ? [selector] : []),
        el("p", { className: "empty", id: "weighted-unavailable" }, reason));
    }
    const tbody = el("tbody", {});
    for (const f of w.features) {
      tbody.append(el("tr", { dataset: { feature: f.feature } },
        el("td", {}, f.feature),
        el("td", { className: "wf-value", dataset: { value: f.value } }, fixed(f.value, 4)),
        el("td", { className: "wf-coefficient", dataset: { value: f.coefficient } }, fixed(f.coefficient, 4)),
        el("td", { className: "wf-product", dataset: { value: f.product } }, fixed(f.product, 4))));
    }
    return el("div", { id: "weighted-box" }, ...(selector ? [selector] : []),
      el("p", { className: "note" },
        `Top ${w.features.length} of ${w.num_columns} columns by |standardised value \u00d7 coefficient|` +
        (w.family ? `, coefficients of the ${w.family} family's one-vs-rest model` : "")),
      el("table", { className: "table instances", id: "weighted-features" },
        el("thead", {}, el("tr", {}, el("th", {}, "Feature"), el("th", {}, "Value"), el("th", {}, "Coefficient"),
          el("th", {}, "Standardised value \u00d7 coefficient"))),
        tbody));
  }

  /// A family selector for the weighted features of a multiclass model: `reload(family)` resolves to
  /// the node replacing the selector's box.
  function familySelector(w, reload) {
    const select = el("select", { id: "weighted-family" }, ...w.families.map((f) => el("option", { value: f }, f)));
    // The predicted family of the first of two families has no model: no option selects it.
    select.value = w.families.includes(w.family) ? w.family : "";
    select.addEventListener("change", async () => {
      const box = select.closest("#weighted-box");
      box.dataset.state = "loading";
      try {
        box.replaceWith(await reload(select.value));
      } catch (err) {
        showError(box, `Cannot weigh the features: ${err.message}`);
      }
    });
    return el("label", {}, "Family ", select);
  }

  return { browser, PAGE_SIZE };
})();
