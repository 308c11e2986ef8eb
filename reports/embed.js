// Draw every chart of the page from its Vega-Lite spec (the JSON element "vega-specs": chart id → spec).
window.knockoutReport = { expected: 0, rendered: 0, errors: [], views: {} };
(function () {
  const specs = JSON.parse(document.getElementById("vega-specs").textContent);
  const report = window.knockoutReport;
  report.expected = Object.keys(specs).length;
  for (const [id, spec] of Object.entries(specs)) {
    vegaEmbed("#" + id, spec, { actions: false, renderer: "canvas" })
      .then((result) => { report.views[id] = result.view; report.rendered += 1; })
      .catch((error) => { report.errors.push(id + ": " + error); console.error(id, error); });
  }
})();
