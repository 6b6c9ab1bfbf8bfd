// An accepted import runs in the background; this polls its progress into the progress bar and reloads the
// page when it is done, so the roster shows the imported results.
(function () {
  "use strict";
  var box = document.getElementById("import-progress-box");
  if (!box) { return; }
  var bar = document.getElementById("import-progress");
  var text = document.getElementById("import-status");

  function show(p) {
    box.hidden = false;
    bar.value = p.percent;
    box.setAttribute("data-status", p.status);
    var key = p.status === "done" ? "data-label-done" : (p.status === "failed" ? "data-label-failed" : "data-label-running");
    text.textContent = box.getAttribute(key) + "：" + p.done + "/" + p.total + (p.message ? "（" + p.message + "）" : "");
  }

  function poll(url, reload) {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        show(p);
        if (p.status === "pending" || p.status === "running") {
          window.setTimeout(function () { poll(url, true); }, 500);
        } else if (reload) {
          window.setTimeout(function () { window.location.reload(); }, 800);
        }
      })
      .catch(function () { window.setTimeout(function () { poll(url, reload); }, 2000); });
  }

  var url = box.getAttribute("data-progress-url");
  var status = box.getAttribute("data-status");
  if (url && (status === "pending" || status === "running")) { poll(url, true); }
})();
