// The menus: "Select a project", "Select a dataset", "Select an experiment".
"use strict";

(() => {
  const { el, getJson, seg, date, showError, statusBadge } = secuml;
  const body = document.body;
  const content = document.getElementById("content");

  function countText(n) {
    return n === 1 ? "1 experiment" : `${n} experiments`;
  }

  async function projects() {
    const list = await getJson("/api/projects");
    if (list.length === 0) {
      content.replaceChildren(el("p", { id: "empty", className: "empty" }, "No experiment has been executed yet"));
      return;
    }
    const ul = el("ul", { className: "menu", id: "project-list" });
    for (const p of list) {
      ul.append(el("li", {},
        el("a", { href: `/SecuML/${seg(p.name)}/menu/`, dataset: { project: p.name } }, p.name),
        el("span", { className: "count" }, countText(p.num_experiments))));
    }
    content.replaceChildren(ul);
  }

  async function datasets() {
    const project = body.dataset.project;
    const list = await getJson(`/api/projects/${seg(project)}/datasets`);
    const ul = el("ul", { className: "menu", id: "dataset-list" });
    for (const d of list) {
      ul.append(el("li", {},
        el("a", { href: `/SecuML/${seg(project)}/${seg(d.name)}/menu/`, dataset: { dataset: d.name } }, d.name),
        el("span", { className: "count" }, countText(d.num_experiments))));
    }
    content.replaceChildren(el("p", { className: "subtitle" }, "Project: ", el("strong", {}, project)), ul);
  }

  async function experiments() {
    const project = body.dataset.project;
    const dataset = body.dataset.dataset;
    const list = await getJson(`/api/projects/${seg(project)}/datasets/${seg(dataset)}/experiments`);
    const byKind = new Map();
    for (const e of list) {
      if (!byKind.has(e.kind)) byKind.set(e.kind, []);
      byKind.get(e.kind).push(e);
    }
    const nodes = [el("p", { className: "subtitle" },
      "Project: ", el("strong", {}, project), " \u2013 Dataset: ", el("strong", {}, dataset))];
    for (const kind of [...byKind.keys()].sort()) {
      const table = el("table", { className: "table experiments", dataset: { kind } },
        el("thead", {}, el("tr", {}, el("th", {}, "Id"), el("th", {}, "Experiment"),
          el("th", {}, "Status"), el("th", {}, "Created"), el("th", {}, "Finished"))));
      const tbody = el("tbody", {});
      for (const e of byKind.get(kind)) {
        tbody.append(el("tr", { dataset: { experiment: e.id } },
          el("td", {}, String(e.id)),
          el("td", {}, el("a", { href: `/SecuML/${e.id}/` }, e.name)),
          el("td", {}, statusBadge(e.status)),
          el("td", {}, date(e.created_ms)),
          el("td", {}, date(e.finished_ms))));
      }
      table.append(tbody);
      nodes.push(el("section", { className: "panel" }, el("h2", {}, kind), el("div", { className: "panel-body" }, table)));
    }
    content.replaceChildren(...nodes);
  }

  const pages = { projects, datasets, experiments };
  const page = pages[body.dataset.page];
  if (page) {
    page().catch((err) => showError(content, `Cannot load this page: ${err.message}`));
  }
})();
