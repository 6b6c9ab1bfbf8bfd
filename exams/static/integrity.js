/* Exam integrity (issue 17): each departure from the exam page (the tab hidden or the window blurred, counted
   once until the trainee is back), each paste, copy and exit from full screen is numbered and kept in
   localStorage until the server has stored it, so the log survives going offline like the answers do. The
   server counts departures and may hand the attempt in at the exam's limit; the page then goes to the result.
   The watermark's clock follows the time. */
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form || !form.dataset.eventsUrl) { return; }
  var msg = document.getElementById("attempt-messages").dataset;
  var url = form.dataset.eventsUrl;
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var key = "cqo-exam-events-" + form.dataset.attempt;
  var seqKey = key + "-seq";
  var counter = document.getElementById("departure-count");
  var away = false;
  var sending = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }
  var queue = load();
  var memorySeq = 0;
  function nextSeq() {
    var n;
    try { n = parseInt(localStorage.getItem(seqKey) || "0", 10) + 1; localStorage.setItem(seqKey, String(n)); }
    catch (e) { n = ++memorySeq; }
    memorySeq = Math.max(memorySeq, n);
    return Math.max(n, memorySeq);
  }
  function store() {
    try {
      if (queue.length) { localStorage.setItem(key, JSON.stringify(queue)); } else { localStorage.removeItem(key); }
    } catch (e) { /* private mode: the in-memory queue still goes out */ }
  }
  function log(kind) {
    queue.push({ seq: nextSeq(), kind: kind, at: new Date().toISOString() });
    store();
    send();
  }
  function send() {
    if (sending || !queue.length) { return; }
    sending = true;
    var batch = queue.slice(0, 50);
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ events: batch })
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) { return { status: resp.status, body: body }; });
    }).then(function (r) {
      sending = false;
      if (r.status >= 500) { return; }  // keep the events and try again later
      var sent = {};
      batch.forEach(function (e) { sent[e.seq] = true; });
      queue = queue.filter(function (e) { return !sent[e.seq]; });
      store();
      if (r.status === 200) {
        if (counter) { counter.textContent = msg.departures.replace("{n}", r.body.departures); }
        if (r.body.submitted && r.body.result) {
          document.body.dataset.dialog = "1";
          window.alert(msg.autosubmitted);
          window.location.assign(r.body.result);
          return;
        }
      }
      send();
    }, function () { sending = false; });  // offline: kept in localStorage
  }

  function leave() {
    if (away || document.body.dataset.dialog) { return; }
    away = true;
    log(document.hidden ? "hidden" : "blur");
  }
  function back() { if (!document.hidden && document.hasFocus()) { away = false; send(); } }
  document.addEventListener("visibilitychange", function () { if (document.hidden) { leave(); } else { back(); } });
  window.addEventListener("blur", leave);
  window.addEventListener("focus", back);
  document.addEventListener("paste", function () { log("paste"); });
  document.addEventListener("copy", function () { log("copy"); });
  document.addEventListener("fullscreenchange", function () { if (!document.fullscreenElement) { log("fullscreen_exit"); } });
  window.addEventListener("online", send);
  setInterval(send, 5000);

  var clock = document.querySelectorAll(".wm-time");
  setInterval(function () {
    var d = new Date(Date.now() + 8 * 3600 * 1000).toISOString();  // shown in China's time, as the server printed it
    var text = d.slice(0, 10) + " " + d.slice(11, 16);
    clock.forEach(function (el) { el.textContent = text; });
  }, 30000);
  send();
})();
