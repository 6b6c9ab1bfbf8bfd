// The jobs page: while a run started from here (or by the scheduler) is running, poll its status every two
// seconds, show how long it has run, and reload the page with its result once it has finished.
(function () {
  "use strict";
  const bars = document.querySelectorAll(".job-progress[data-run-url]");
  bars.forEach(function (bar) {
    const note = bar.parentElement.querySelector(".job-elapsed");
    function poll() {
      fetch(bar.dataset.runUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (run) {
          if (!run) { return; }
          if (run.status !== "running") { window.location.reload(); return; }
          if (note) { note.textContent = bar.dataset.running.replace("{s}", run.elapsed); }
          window.setTimeout(poll, 2000);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    poll();
  });
}());
