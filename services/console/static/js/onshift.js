// The agent's on-shift pages: small enhancements only (everything works without JavaScript).
(function () {
  "use strict";
  // <form data-once>: a second tap while the first request is on its way sends nothing (phones on a slow
  // network); the idempotency key covers a retry that still gets through
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once") || event.defaultPrevented) { return; }
    if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    var button = form.querySelector("button[type=submit]");
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });
  function ready() {
    // help: the amounts only for a disputed order
    var kinds = document.querySelectorAll("[data-help-kind]");
    var dispute = document.querySelector("[data-dispute-only]");
    function showDispute() {
      var chosen = document.querySelector("[data-help-kind]:checked");
      if (dispute) { dispute.hidden = !(chosen && chosen.value === "dispute"); }
    }
    kinds.forEach(function (input) { input.addEventListener("change", showDispute); });
    if (kinds.length) { showDispute(); }
    // an exception "not available all day" needs no hours
    var off = document.querySelector("[data-off]");
    var windows = document.querySelector("[data-windows]");
    function toggleWindows() { if (off && windows) { windows.disabled = off.checked; } }
    if (off) { off.addEventListener("change", toggleWindows); toggleWindows(); }
    // the weekly form's "clear all"
    var clear = document.querySelector("[data-clear-week]");
    if (clear) {
      clear.hidden = false;
      clear.addEventListener("click", function () {
        clear.form.querySelectorAll("input[type=text]").forEach(function (input) { input.value = ""; });
      });
    }
    // copy a calendar link
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.value).then(function () {
          button.textContent = button.getAttribute("data-copied");
        }, function () { source.select(); });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", ready);
})();
