// The outcomes page: draws each Kaplan-Meier figure from its JSON (no inline script), with
// Plotly's modebar saving PNG and an added button saving SVG; reloads while the report is
// being computed by a worker.
(function () {
  "use strict";
  if (document.getElementById("computing")) {
    window.setTimeout(function () { window.location.reload(); }, 5000);
    return;
  }
  if (typeof window.Plotly === "undefined") {
    return;
  }
  document.querySelectorAll(".km-plot").forEach(function (div) {
    var source = document.getElementById(div.dataset.figure);
    if (!source) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    var filename = div.dataset.filename;
    var svgButton = {
      name: "Download plot as SVG",
      icon: window.Plotly.Icons.disk,
      click: function (gd) {
        window.Plotly.downloadImage(gd, { format: "svg", filename: filename });
      }
    };
    window.Plotly.newPlot(div, figure.data, figure.layout, {
      responsive: true,
      displaylogo: false,
      toImageButtonOptions: { format: "png", filename: filename, scale: 2 },
      modeBarButtonsToAdd: [svgButton]
    }).then(function () {
      div.dataset.drawn = "1";
    });
  });
}());
