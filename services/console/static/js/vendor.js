// Vendor pages: the talent-pool import posts the file itself so the person sees the upload progress
// (htmx shows none), then puts the console's answer (a summary, or the table of bad rows) in place.
(function () {
  "use strict";
  function setup(form) {
    var progress = form.querySelector("[data-import-progress]");
    var bar = form.querySelector("progress");
    var result = document.querySelector("[data-import-result]");
    var button = form.querySelector("button[type=submit]");
    var zone = form.querySelector("[data-dropzone]");
    var input = form.querySelector("input[type=file]");
    if (zone && input) {
      zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("dragover"); });
      zone.addEventListener("dragleave", function () { zone.classList.remove("dragover"); });
      zone.addEventListener("drop", function (e) {
        e.preventDefault();
        zone.classList.remove("dragover");
        if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
      });
    }
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest || !result) { return; } // plain form post instead
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("HX-Request", "true"); // the console answers with the result fragment only
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && bar) { bar.value = Math.round((e.loaded / e.total) * 100); }
      });
      xhr.addEventListener("load", function () {
        if (progress) { progress.hidden = true; }
        if (button) { button.disabled = false; }
        result.innerHTML = xhr.responseText;
        if (xhr.status === 200) {
          // the list below shows the new people after a reload; keep the summary visible meanwhile
          var refresh = document.createElement("a");
          refresh.href = window.location.pathname;
          refresh.textContent = form.getAttribute("data-reload-text") || "↻";
          result.appendChild(refresh);
        }
      });
      xhr.addEventListener("error", function () {
        if (progress) { progress.hidden = true; }
        if (button) { button.disabled = false; }
        form.submit(); // the network failed: fall back to the plain post, which shows a full page
      });
      if (bar) { bar.value = 0; }
      if (progress) { progress.hidden = false; }
      if (button) { button.disabled = true; }
      xhr.send(new FormData(form));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-import-form]").forEach(setup);
  });
})();
