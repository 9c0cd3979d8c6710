/* Sort the wijk table by clicking a column header; secret cells (".") stay at the bottom. No libraries. */
(function () {
  "use strict";
  document.querySelectorAll("table.sorteerbaar").forEach(function (table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, column) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var text = button.getAttribute("data-type") === "tekst";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].getAttribute("data-sort") || "";
          var y = b.cells[column].getAttribute("data-sort") || "";
          if (x === "" || y === "") { return (x === "") - (y === ""); }
          var order = text ? x.localeCompare(y, "nl") : parseFloat(x) - parseFloat(y);
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  /* On paper the tables behind the charts are part of the report. */
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.tabel-bij-grafiek").forEach(function (d) { d.open = true; });
  });
})();
