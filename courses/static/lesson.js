// Video lessons: report the largest share watched (the furthest point reached), at most every 10 s and on
// pause/end, so that a trainee's progress survives scrubbing and reloads.
(function () {
  "use strict";
  var v = document.getElementById("lesson-video");
  if (!v || !v.dataset.track) { return; }
  var best = 0, sent = 0, last = 0;
  function send(force) {
    if (!v.duration || !isFinite(v.duration)) { return; }
    best = Math.max(best, v.currentTime / v.duration);
    var now = Date.now();
    if (!force && (now - last < 10000 || best - sent < 0.01)) { return; }
    last = now; sent = best;
    fetch(v.dataset.progressUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": v.dataset.csrf },
      body: JSON.stringify({ watched_share: Math.min(1, best) })
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
      var el = document.getElementById("watched");
      if (d && el) { el.textContent = "已观看 " + Math.round(d.watched_share * 100) + "%" + (d.completed ? "（已学完）" : ""); }
    }).catch(function () {});
  }
  v.addEventListener("timeupdate", function () { send(false); });
  v.addEventListener("pause", function () { send(true); });
  v.addEventListener("ended", function () { best = 1; send(true); });
})();
