// Small behaviours shared by every page (no inline scripts: the Content-Security-Policy forbids them).
(function () {
  "use strict";
  // <form data-confirm="…">: ask before submitting (approve a payroll run, confirm a project …)
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);
  // <time data-countdown="ISO instant">: a live "due in 3 h 12 min" / "overdue by …" (the server renders
  // the first value, so the page reads right without JavaScript)
  function tick() {
    var nodes = document.querySelectorAll("[data-countdown]");
    var now = Date.now();
    nodes.forEach(function (node) {
      var due = Date.parse(node.getAttribute("data-countdown"));
      if (isNaN(due)) { return; }
      var left = Math.round((due - now) / 60000);
      var abs = Math.abs(left), h = Math.floor(abs / 60), m = abs % 60;
      var lang = document.documentElement.lang || "zh-CN";
      var zh = lang.indexOf("zh") === 0;
      var span = (h ? h + (zh ? " 小时 " : " h ") : "") + m + (zh ? " 分钟" : " min");
      node.textContent = left >= 0 ? (zh ? "剩余 " + span : span + " left") : (zh ? "已超时 " + span : "overdue by " + span);
      node.classList.toggle("bad", left < 0);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 30000); });
  document.addEventListener("htmx:afterSwap", tick);
})();
