// Draws the patient's timeline from the figure JSON the page carries (json_script).
"use strict";
(function () {
  const data = document.getElementById("timeline-data");
  const target = document.getElementById("timeline");
  if (!data || !target || typeof Plotly === "undefined") {
    return;
  }
  const figure = JSON.parse(data.textContent);
  const config = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d"],
    toImageButtonOptions: { format: "png", filename: "mstrack-timeline" },
  };
  Plotly.newPlot(target, figure.data, figure.layout, config).then(function () {
    target.setAttribute("data-drawn", "true");
  });
  // Printing: draw the chart at the paper's width, then back at the screen's.
  window.addEventListener("beforeprint", function () {
    Plotly.relayout(target, { width: 980 });
  });
  window.addEventListener("afterprint", function () {
    Plotly.relayout(target, { width: null, autosize: true });
  });
})();
