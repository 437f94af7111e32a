// Pay plan form: show only the inputs the chosen plan type uses (billing refuses the others). Without
// JavaScript every input stays visible and the console sends only the fields of the chosen type.
(function () {
  "use strict";
  function sync(form) {
    var type = form.querySelector("select[name=type]");
    if (!type) { return; }
    form.querySelectorAll("[data-plan-types]").forEach(function (block) {
      var types = block.getAttribute("data-plan-types").split(/\s+/);
      var shown = types.indexOf(type.value) !== -1;
      block.hidden = !shown;
      block.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !shown; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-plan-form]").forEach(function (form) {
      sync(form);
      form.addEventListener("change", function (event) {
        if (event.target && event.target.name === "type") { sync(form); }
      });
    });
  });
})();
