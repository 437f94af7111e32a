// The merchant's pages: wizard autosave ordering, FAQ rows, drag-and-drop upload with progress.
// No inline scripts (Content-Security-Policy); every page also works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // --- wizard: a "save and continue" clicked while the autosave of the last field is still running waits
  // for it, so it sends the project version that autosave produced (else the service answers 412).
  function wizard() {
    var form = document.querySelector("[data-testid='wizard-form'][hx-post]");
    if (!form) { return; }
    var waiting = null;
    form.addEventListener("submit", function (event) {
      if (!form.classList.contains("htmx-request")) { return; }
      event.preventDefault();
      waiting = event.submitter || null;
    });
    form.addEventListener("htmx:afterRequest", function () {
      if (!waiting) { return; }
      var button = waiting;
      waiting = null;
      // after the swap of the new version field has settled
      window.setTimeout(function () {
        if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
      }, 30);
    });
  }

  // --- FAQ sheet: one more row for the shop's own questions
  function faq() {
    var button = document.getElementById("add-own-row");
    var body = document.getElementById("own-rows");
    var count = document.getElementById("own-count");
    if (!button || !body || !count) { return; }
    button.addEventListener("click", function () {
      var i = parseInt(count.value, 10) || 0;
      var n = String(i + 1);
      var row = document.createElement("tr");
      row.setAttribute("data-testid", "own-row");
      function cell(label, control) {
        var td = document.createElement("td");
        td.setAttribute("data-label", label);
        td.appendChild(control);
        return td;
      }
      var heads = document.querySelectorAll("[data-testid='faq-own'] thead th");
      var q = document.createElement("input");
      q.type = "text"; q.name = "own_q_" + i;
      q.setAttribute("aria-label", button.getAttribute("data-label-question").replace("{n}", n));
      var a = document.createElement("textarea");
      a.name = "own_a_" + i; a.rows = 2;
      a.setAttribute("aria-label", button.getAttribute("data-label-answer").replace("{n}", n));
      var d = document.createElement("input");
      d.type = "checkbox"; d.name = "own_del_" + i; d.value = "1";
      d.setAttribute("aria-label", button.getAttribute("data-label-remove").replace("{n}", n));
      row.appendChild(cell(heads[0] ? heads[0].textContent : "", q));
      row.appendChild(cell(heads[1] ? heads[1].textContent : "", a));
      row.appendChild(cell(heads[2] ? heads[2].textContent : "", d));
      body.appendChild(row);
      count.value = String(i + 1);
      q.focus();
    });
  }

  // --- materials: drop zone and file input, uploaded one by one with a progress bar
  function uploads() {
    var form = document.getElementById("upload-form");
    var zone = document.getElementById("dropzone");
    var input = document.getElementById("f-file");
    var bar = document.getElementById("upload-progress");
    var list = document.getElementById("materials-list");
    if (!form || !zone || !input || !bar || !list) { return; }
    var token = form.querySelector("input[name='csrf_token']").value;

    function show(html, replaceList) {
      if (replaceList) { list.innerHTML = html; return; }
      // an error page fragment (e.g. the console's own size limit): keep the list, show the message above it
      var old = list.querySelector("[data-testid='upload-error'], .flash-error");
      if (old) { old.remove(); }
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var message = holder.firstElementChild;
      if (message) {
        message.setAttribute("data-testid", "upload-error");
        list.insertBefore(message, list.firstChild);
      }
    }

    function send(files, index) {
      if (index >= files.length) {
        bar.hidden = true;
        input.value = "";
        return;
      }
      var data = new FormData();
      data.append("csrf_token", token);
      data.append("file", files[index], files[index].name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("HX-Request", "true");
      bar.hidden = false;
      bar.value = 0;
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) { bar.value = Math.round((event.loaded / event.total) * 100); }
      });
      xhr.addEventListener("load", function () {
        bar.value = 100;
        var html = xhr.responseText || "";
        show(html, html.indexOf("id=\"h-files\"") !== -1);
        send(files, index + 1);
      });
      xhr.addEventListener("error", function () {
        bar.hidden = true;
        show("<div class=\"flash flash-error\" role=\"alert\">" + (zone.getAttribute("data-network-error") || "Network error") + "</div>", false);
      });
      xhr.send(data);
    }

    form.addEventListener("submit", function (event) {
      if (!input.files || !input.files.length) { return; }  // the server says to choose a file
      event.preventDefault();
      send(input.files, 0);
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) { send(event.dataTransfer.files, 0); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { wizard(); faq(); uploads(); });
})();
