// Chart.js builders of the experiment pages: coefficients, ROC, FAR-DR and a clickable predictions histogram (DIADEM),
// stacked counts per cluster (clustering).
// Chart.js draws on a canvas, so feature names and labels are never parsed as markup.
"use strict";

const secumlCharts = (() => {
  const BENIGN = "#2e8b57";
  const MALICIOUS = "#c0392b";
  const UNLABELED = "#95a5a6";
  const LINE = "#1f5fa8";
  /// Colours of the series that are neither labels nor curves (families), in order.
  const PALETTE = ["#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#bcbd22", "#e377c2", "#8c564b", "#2ca02c",
    "#d62728", "#393b79"];
  const charts = new Map();

  Chart.defaults.animation = false;
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', sans-serif";
  Chart.defaults.maintainAspectRatio = false;

  /// Draws a chart on the canvas with this id, replacing the chart it held.
  function draw(canvasId, config) {
    const canvas = document.getElementById(canvasId);
    if (!canvas) return null;
    const previous = charts.get(canvasId);
    if (previous) previous.destroy();
    const chart = new Chart(canvas, config);
    charts.set(canvasId, chart);
    return chart;
  }

  /// Horizontal bar plot of the top coefficients (or importances), by absolute value.
  function coefficients(canvasId, coefficients, top, axisTitle) {
    const shown = [...coefficients].sort((a, b) => Math.abs(b.value) - Math.abs(a.value)).slice(0, top);
    return draw(canvasId, {
      type: "bar",
      data: {
        labels: shown.map((c) => c.feature),
        datasets: [{
          label: axisTitle || "Coefficient",
          data: shown.map((c) => c.value),
          backgroundColor: shown.map((c) => (c.value >= 0 ? MALICIOUS : BENIGN)),
        }],
      },
      options: {
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: axisTitle || "Coefficient (standardised features)" } } },
      },
    });
  }

  function curve(canvasId, points, label, xTitle, yTitle, withDiagonal) {
    const datasets = [{
      label,
      data: points.map(([x, y]) => ({ x, y })),
      borderColor: LINE,
      backgroundColor: LINE,
      showLine: true,
      pointRadius: 0,
      borderWidth: 2,
    }];
    if (withDiagonal) {
      datasets.push({
        label: "Random",
        data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
        borderColor: "#aaaaaa",
        borderDash: [6, 4],
        showLine: true,
        pointRadius: 0,
        borderWidth: 1,
      });
    }
    return draw(canvasId, {
      type: "scatter",
      data: { datasets },
      options: {
        scales: {
          x: { min: 0, max: 1, title: { display: true, text: xTitle } },
          y: { min: 0, max: 1, title: { display: true, text: yTitle } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  /// ROC curve, with the AUC in the legend.
  function roc(canvasId, points, auc) {
    const label = Number.isFinite(auc) ? `ROC (AUC = ${auc.toFixed(4)})` : "ROC";
    return curve(canvasId, points, label, "False Positive Rate", "Detection Rate", true);
  }

  /// FAR-DR curve: false alarm rate against detection rate.
  function farDr(canvasId, points) {
    return curve(canvasId, points, "FAR-DR", "False Alarm Rate", "Detection Rate", false);
  }

  /// Histogram of predicted probabilities, stacked by label; with `onSelect`, a click anywhere in a
  /// bin's column calls it with the bin's index.
  function predictions(canvasId, histogram, onSelect) {
    const edges = histogram.edges;
    const labels = [];
    for (let i = 0; i + 1 < edges.length; i += 1) {
      labels.push(`${edges[i].toFixed(1)}\u2013${edges[i + 1].toFixed(1)}`);
    }
    const datasets = [
      { label: "benign", data: histogram.benign, backgroundColor: BENIGN },
      { label: "malicious", data: histogram.malicious, backgroundColor: MALICIOUS },
    ];
    if (histogram.unlabeled.some((n) => n > 0)) {
      datasets.push({ label: "unlabelled", data: histogram.unlabeled, backgroundColor: UNLABELED });
    }
    return draw(canvasId, {
      type: "bar",
      data: { labels, datasets },
      options: {
        interaction: { mode: "index", intersect: false },
        onClick: onSelect ? columnClick(onSelect) : undefined,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: true, title: { display: true, text: "Predicted probability of malicious" } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: "Instances" } },
        },
      },
    });
  }

  /// A click handler calling `onSelect` with the index of the column clicked.
  function columnClick(onSelect) {
    return (event, _elements, chart) => {
      const hit = chart.getElementsAtEventForMode(event, "index", { intersect: false }, false);
      if (hit.length > 0) onSelect(hit[0].index);
    };
  }

  /// Stacked bars of counts per cluster, one series per `{label, data, color}`; a click anywhere in a
  /// cluster's column calls `onSelect` with the cluster's position in `labels`.
  function stackedClusters(canvasId, labels, series, onSelect) {
    return draw(canvasId, {
      type: "bar",
      data: {
        labels,
        datasets: series.map((s) => ({ label: s.label, data: s.data, backgroundColor: s.color })),
      },
      options: {
        interaction: { mode: "index", intersect: false },
        onClick: columnClick(onSelect),
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: "Instances" } },
        },
      },
    });
  }

  return {
    coefficients, roc, farDr, predictions, stackedClusters, BENIGN, MALICIOUS, UNLABELED, PALETTE,
  };
})();
