/* The import job page (templates/refills/import/job.html): polls the job's JSON status
   and moves the progress bar, then reloads the page once the job has finished, which
   shows the result. Without JavaScript the page refreshes itself (a noscript meta refresh). */
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-progress-text");
  var state = box.querySelector("[data-job-status]");
  var delay = 1000;

  function describe(s) {
    if (s.rows_total === null) {
      return s.status === "queued" ? "Waiting for the worker to start." : "Reading the file.";
    }
    if (s.rows_checked >= s.rows_total) {
      return "All " + s.rows_total + " rows checked; " + (s.kind === "import" ? "writing them." : "preparing the preview.");
    }
    return s.rows_checked + " of " + s.rows_total + " rows checked (" + s.percent + "%).";
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      if (request.status !== 200) { return later(5000); }
      var s;
      try { s = JSON.parse(request.responseText); } catch (e) { return later(5000); }
      if (s.finished) { window.location.reload(); return; }
      if (s.rows_total !== null) {
        bar.max = Math.max(s.rows_total, 1);
        bar.value = s.rows_checked;
        bar.textContent = s.percent + "%";
      }
      state.textContent = s.status_text.toLowerCase();
      var message = describe(s);
      if (text.textContent !== message) { text.textContent = message; }
      later(delay);
    };
    request.onerror = function () { later(5000); };
    request.send();
  }

  function later(ms) { window.setTimeout(poll, ms); }
  later(delay);
})();
