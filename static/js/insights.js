// Charts for the insights dashboard. The figures come from a json_script element; every
// chart has a table with the same figures under it, so nothing depends on the canvas.
(function () {
  "use strict";
  var charts = [];

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof window.Chart === "undefined") return;
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    var data = JSON.parse(source.textContent);
    var labels = document.querySelector("[data-chart-labels]").dataset;
    var percent = { ticks: { callback: function (v) { return Math.round(v * 100) + "%"; } }, min: 0, max: 1 };
    var specs = {
      days: { type: "line", labels: data.days.labels, sets: [[labels.started, data.days.started, "#0b5cad"], [labels.completed, data.days.concluded, "#1e6b37"]] },
      questions: { type: "bar", labels: data.questions.labels, sets: [[labels.unsure, data.questions.unsure, "#b7791f"], [labels.dropped, data.questions.dropped, "#a4161a"]], scale: percent, horizontal: true },
      causes: { type: "bar", labels: data.causes.labels, sets: [[labels.diagnosed, data.causes.diagnosed, "#0b5cad"]], horizontal: true },
      revisions: { type: "bar", labels: data.revisions.labels, sets: [[labels.completion, data.revisions.completion, "#0b5cad"], [labels.resolution, data.revisions.resolution, "#1e6b37"], [labels.escalation, data.revisions.escalation, "#a4161a"]], scale: percent },
    };
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = specs[canvas.dataset.chart];
      if (!spec) return;
      var valueAxis = spec.horizontal ? "x" : "y";
      var scales = {};
      if (spec.scale) scales[valueAxis] = spec.scale;
      charts.push(new window.Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels,
          datasets: spec.sets.map(function (set) {
            return { label: set[0], data: set[1], backgroundColor: set[2], borderColor: set[2] };
          }),
        },
        options: { indexAxis: spec.horizontal ? "y" : "x", animation: false, responsive: true, scales: scales },
      }));
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
