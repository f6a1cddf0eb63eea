// Uploads page: drop a file on a form's drop zone, and watch a progress bar while it
// uploads. The forms work without this file (a plain multipart POST); htmx sends them as
// multipart requests and reports upload progress, which this turns into the bar.
(function () {
  "use strict";

  function bar() {
    return document.getElementById("upload-progress");
  }

  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop]");
    if (zone) {
      event.preventDefault();
      zone.classList.add("dragging");
    }
  });

  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop]");
    if (zone) { zone.classList.remove("dragging"); }
  });

  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop]");
    if (!zone) { return; }
    event.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file]");
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      var hint = zone.querySelector(".drop-hint");
      if (hint) { hint.textContent = input.files[0].name; }
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var progress = bar();
    if (progress && event.target.matches("form[data-upload]")) {
      progress.value = 0;
      progress.hidden = false;
    }
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var progress = bar();
    if (progress && event.target.matches("form[data-upload]") && event.detail.lengthComputable && event.detail.total) {
      progress.value = Math.round((100 * event.detail.loaded) / event.detail.total);
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var progress = bar();
    if (progress && event.target.matches("form[data-upload]")) {
      progress.value = 100;
    }
  });

  // A file over the size limit is a 413 whose body says so: show it like a refused file.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.target.id === "upload-result" && event.detail.xhr.status === 413) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
