/* Redraw a chart whenever its own box changes size (a grid column, an opened table, printing), not only
   when the window does: plotly's "responsive" listens to the window alone, so a chart drawn before its
   neighbour existed kept the full width and was clipped by its column. No libraries but plotly.js. */
(function () {
  "use strict";
  if (!window.Plotly || !window.ResizeObserver) { return; }
  var observer = new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      var div = entry.target;
      var svg = div.querySelector(".main-svg");
      if (div._fullLayout && svg && Math.abs(svg.getBoundingClientRect().width - entry.contentRect.width) > 1) {
        window.Plotly.Plots.resize(div);
      }
    });
  });
  document.querySelectorAll(".plotly-graph-div").forEach(function (div) { observer.observe(div); });
})();
