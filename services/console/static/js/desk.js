// Day of operation. The status board reads itself again every data-refresh-seconds (the service says how
// often; at most 3 minutes), in place, while the tab is visible; without JavaScript the page's
// <noscript> meta refresh does the same. Help requests' waiting clocks count on from what the service
// said when the page was read (not from the browser's own clock, which may be off).
(function () {
  "use strict";
  function zh() { return (document.documentElement.lang || "zh-CN").indexOf("zh") === 0; }

  function waitedText(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (zh()) {
      return "已等待 " + (h ? h + " 小时 " + m + " 分钟" : (m ? m + " 分 " + s + " 秒" : s + " 秒"));
    }
    return "waiting " + (h ? h + " h " + m + " min" : (m ? m + " min " + s + " s" : s + " s"));
  }

  var loaded = Date.now();
  function tickWaiting() {
    var elapsed = Math.floor((Date.now() - loaded) / 1000);
    document.querySelectorAll("[data-waiting-seconds]").forEach(function (node) {
      var waited = parseInt(node.getAttribute("data-waiting-seconds"), 10);
      if (isNaN(waited)) { return; }
      node.textContent = waitedText(Math.max(0, waited + elapsed));
    });
  }

  function startBoard(board) {
    var url = board.getAttribute("data-refresh-url");
    var seconds = parseInt(board.getAttribute("data-refresh-seconds"), 10) || 60;
    seconds = Math.min(Math.max(seconds, 15), 180);
    var busy = false;
    function refresh() {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          // signed out, or a service down: keep what is shown (it says when it was read)
          if (!response.ok || response.redirected) { return null; }
          return response.text();
        })
        .then(function (html) { if (html) { board.innerHTML = html; } })
        .catch(function () { /* the network is down: try again at the next tick */ })
        .then(function () { busy = false; });
    }
    setInterval(refresh, seconds * 1000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var board = document.querySelector("[data-refresh-url]");
    if (board) { startBoard(board); }
    tickWaiting();
    setInterval(tickWaiting, 1000);
  });
})();
