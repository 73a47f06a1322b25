// The live leaderboard of a DIADEM hyperparameter search: the candidates ranked by the mean of the
// folds scored so far (`/api/jobs/<id>/leaderboard`), shown on the job page while the search runs and
// on the DIADEM page until the model is trained.
"use strict";

window.secumlLeaderboard = (() => {
  const { el, getJson, fixed, panel } = secuml;

  function hyperText(hyper) {
    return Object.entries(hyper).filter(([k]) => k !== "class")
      .map(([k, v]) => `${k === "c" ? "C" : k}=${v === null ? "None" : typeof v === "object" ? JSON.stringify(v) : v}`)
      .join(", ");
  }

  function boardTable(board, numFolds) {
    const head = el("tr", {}, el("th", {}, "Rank"), el("th", {}, "Hyperparameters"),
      el("th", {}, "Folds"), el("th", {}, "Mean \u00b1 std"));
    for (let f = 0; f < numFolds; f += 1) head.append(el("th", {}, `Fold ${f}`));
    const tbody = el("tbody", {});
    board.candidates.forEach((c, rank) => {
      const leader = board.leader === c.index;
      const row = el("tr", {
        className: leader ? "best" : "",
        dataset: { index: c.index, foldsDone: c.folds_done, leader, mean: c.mean === null ? "" : c.mean,
          partial: c.folds_done > 0 && c.folds_done < numFolds },
      },
      el("td", {}, c.mean === null ? "-" : String(rank + 1)),
      el("td", {}, hyperText(c.hyper)),
      el("td", { className: "folds-done" }, `${c.folds_done} / ${numFolds}`),
      el("td", {}, c.mean === null ? "-" : `${fixed(c.mean, 4)} \u00b1 ${fixed(c.std, 4)}`));
      for (let f = 0; f < numFolds; f += 1) {
        row.append(el("td", {}, c.per_fold[f] === null ? "\u2026" : fixed(c.per_fold[f], 4)));
      }
      tbody.append(row);
    });
    return el("table", {
      className: "table search leaderboard",
      dataset: { outerFold: board.outer_fold === null ? "" : board.outer_fold, scoresDone: board.scores_done },
    }, el("thead", {}, head), tbody);
  }

  /// The content of the leaderboard panel for `data` (one table per search).
  function render(body, data) {
    const done = data.searches.reduce((n, s) => n + s.scores_done, 0);
    const children = [el("p", { className: "note", id: "leaderboard-progress", dataset: { done, planned: data.scores_planned } },
      `${done} / ${data.scores_planned} fold scores (${data.objective}); ranked by the mean of the folds scored so far, `,
      "the leader among the candidates scored on every fold highlighted")];
    for (const board of data.searches) {
      if (board.outer_fold !== null) children.push(el("h3", {}, `Outer fold ${board.outer_fold}`));
      children.push(boardTable(board, data.num_folds));
    }
    body.replaceChildren(...children);
  }

  /// A "Live Leaderboard" panel reading `url`; `refresh()` reads it again (at most one read at a time,
  /// a refresh asked during a read runs once it ends).
  function create(url) {
    const [node, body] = panel("Live Leaderboard", "leaderboard-panel");
    let reading = null;
    let again = false;
    async function refresh() {
      if (reading) {
        again = true;
        return reading;
      }
      reading = (async () => {
        do {
          again = false;
          const data = await getJson(url);
          render(body, data);
          node.dataset.loaded = "true";
        } while (again);
      })();
      try {
        await reading;
      } finally {
        reading = null;
      }
    }
    return { node, refresh };
  }

  return { create, render };
})();
