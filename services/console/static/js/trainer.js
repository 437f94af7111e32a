// The assessment grid: spreadsheet-like keys. Tab already walks across a row (DOM order); Enter moves to
// the same column of the next row (Shift+Enter: previous row) instead of submitting the whole grid early.
(function () {
  "use strict";
  function cellsOf(column, grid) {
    return Array.prototype.slice.call(grid.querySelectorAll('[data-col="' + column + '"]'));
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || !target.getAttribute) { return; }
    var column = target.getAttribute("data-col");
    var grid = target.closest && target.closest(".assessment-grid");
    if (!column || !grid) { return; }
    event.preventDefault();
    var cells = cellsOf(column, grid);
    var next = cells[cells.indexOf(target) + (event.shiftKey ? -1 : 1)];
    if (next) { next.focus(); if (next.select) { next.select(); } }
  });
  // A changed cell is marked (a class, not a colour alone: the marker adds a visible border style).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.getAttribute && target.getAttribute("data-col") && target.closest(".assessment-grid")) {
      target.classList.add("changed");
    }
  });
})();
