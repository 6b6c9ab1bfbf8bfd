// Video lessons (issue 17): every few seconds while playing, and on pause, end or leaving the page, the player
// reports the stretch of the video it actually played since its last report; the server credits only what the
// wall clock allows and answers the totals. Seeking does not count as playing: a stretch ends where a seek
// starts. When the programme forbids it, seeking beyond the furthest point watched is undone here (and refused
// by the server whatever this script does). An attention check from the server pauses the video until answered.
(function () {
  "use strict";
  var v = document.getElementById("lesson-video");
  if (!v || !v.dataset.track) { return; }
  var msg = document.getElementById("lesson-messages").dataset;
  var furthest = parseFloat(v.dataset.furthest || "0");
  var noSkip = !!v.dataset.noSkip;
  var from = null, at = 0, pendingCheck = null, sending = false, lastSent = Date.now();
  var box = document.getElementById("attention-check");

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": v.dataset.csrf },
      body: JSON.stringify(body), keepalive: true
    }).then(function (r) { return r.json().catch(function () { return {}; }).then(function (d) { return { ok: r.ok, d: d }; }); });
  }
  function show(d) {
    var el = document.getElementById("watched");
    if (el) { el.textContent = msg.watched.replace("{p}", Math.round(d.watched_share * 100)) + (d.completed ? msg.done : ""); }
    furthest = Math.max(furthest, d.furthest || 0);
    if (d.check && d.check !== pendingCheck) { ask(d.check); }
  }
  function ask(code) {
    pendingCheck = code;
    v.pause();
    document.getElementById("attention-text").textContent = msg.check.replace("{code}", code);
    document.getElementById("attention-error").textContent = "";
    box.hidden = false;
    document.getElementById("attention-code").focus();
  }
  function beat() {
    if (from === null || sending) { return; }
    var start = from, end = at;
    from = v.paused ? null : at;
    lastSent = Date.now();
    if (end <= start) { return; }
    sending = true;
    post(v.dataset.heartbeatUrl, { token: v.dataset.token, start: start, end: end, duration: v.duration || 0 })
      .then(function (r) { sending = false; if (r.ok) { show(r.d); } }, function () { sending = false; });
  }
  v.addEventListener("play", function () {
    if (pendingCheck) { v.pause(); return; }
    from = v.currentTime; at = v.currentTime;
  });
  v.addEventListener("timeupdate", function () {
    if (v.seeking || from === null) { return; }
    at = v.currentTime;
    if (Date.now() - lastSent >= 10000) { beat(); }
  });
  v.addEventListener("seeking", function () {
    beat();  // the stretch played so far ends here
    if (noSkip && v.currentTime > furthest + 1) {
      v.currentTime = furthest;
      var el = document.getElementById("watched");
      if (el) { el.textContent = msg.skip; }
    }
  });
  v.addEventListener("seeked", function () { if (!v.paused) { from = v.currentTime; at = v.currentTime; } });
  v.addEventListener("pause", beat);
  v.addEventListener("ended", beat);
  document.addEventListener("visibilitychange", function () { if (document.hidden) { beat(); } });
  document.getElementById("attention-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    post(v.dataset.checkUrl, { token: v.dataset.token, code: document.getElementById("attention-code").value })
      .then(function (r) {
        if (r.ok) { pendingCheck = null; box.hidden = true; document.getElementById("attention-code").value = ""; v.play(); }
        else { document.getElementById("attention-error").textContent = (r.d && r.d.message) || ""; }
      });
  });
})();
