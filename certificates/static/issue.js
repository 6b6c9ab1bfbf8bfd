// Issuing runs in the background; this starts it and polls its progress into the progress bar.
(function () {
  "use strict";
  var box = document.getElementById("issue-progress-box");
  if (!box) { return; }
  var bar = document.getElementById("issue-progress");
  var text = document.getElementById("issue-status");

  function show(p) {
    box.hidden = false;
    bar.value = p.percent;
    box.setAttribute("data-status", p.status);
    var label = box.getAttribute(p.status === "done" ? "data-label-done" : "data-label-running");
    var summary = box.getAttribute("data-label-summary")
      .replace("{i}", p.issued).replace("{s}", p.skipped).replace("{f}", p.failed);
    text.textContent = label + "：" + p.done + "/" + p.total + "（" + summary + "）";
    if (p.status === "done") {
      window.setTimeout(function () { window.location.reload(); }, 1200);
    }
  }

  function poll(url) {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        show(p);
        if (p.status === "pending" || p.status === "running") { window.setTimeout(function () { poll(url); }, 600); }
      })
      .catch(function () { window.setTimeout(function () { poll(url); }, 2000); });
  }

  function start(form) {
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                        headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
      .then(function (res) {
        if (!res.ok) { box.hidden = false; text.textContent = res.body.message || ""; return; }
        box.setAttribute("data-status", "pending");
        poll(res.body.progress_url);
      });
  }

  document.querySelectorAll("#issue-form, form.issue-one").forEach(function (form) {
    form.addEventListener("submit", function (ev) { ev.preventDefault(); start(form); });
  });
  var url = box.getAttribute("data-progress-url");
  var status = box.getAttribute("data-status");
  if (url && (status === "pending" || status === "running")) { poll(url); }
})();
