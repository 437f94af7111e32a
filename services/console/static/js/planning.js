// Workforce planning: a form marked data-busy (computing a plan takes up to about 20 s) disables its button
// once sent and says what is happening, so a second click does not ask for a second plan.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-busy") || event.defaultPrevented) { return; }
    var button = form.querySelector("button[type=submit]");
    var status = form.querySelector("[data-busy-text]");
    if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    if (status) { status.textContent = status.getAttribute("data-busy-text"); }
    // disabled after the submit is under way (a disabled button would not be sent with the form)
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });
})();
