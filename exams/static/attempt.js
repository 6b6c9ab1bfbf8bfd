/* The attempt page: every answer is sent as it is given, with a per-question sequence number so a stale
   tab cannot overwrite a newer answer; while offline the answers wait in localStorage and go out when the
   connection returns. The timer only shows the server's deadline. Without this script the page still works
   by plain form posts. */
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form) { return; }
  var msg = document.getElementById("attempt-messages").dataset;
  var attemptId = form.dataset.attempt;
  var saveUrl = form.dataset.saveUrl;
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var storeKey = "cqo-exam-attempt-" + attemptId;
  var deadline = Date.parse(form.dataset.deadline);
  var skew = Date.parse(form.dataset.now) - Date.now();
  var netStatus = document.getElementById("net-status");
  var timer = document.getElementById("timer");
  var flushing = false;
  var submitting = false;
  var closed = false;

  function loadPending() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { return {}; }
  }
  function storePending(p) {
    try {
      if (Object.keys(p).length) { localStorage.setItem(storeKey, JSON.stringify(p)); }
      else { localStorage.removeItem(storeKey); }
    } catch (e) { /* private mode: the in-memory copy still flushes */ }
  }
  var pending = loadPending();

  function fieldset(qid) { return form.querySelector("fieldset[data-question='" + qid + "']"); }
  function seqInput(qid) { return form.querySelector("input[name='s-" + qid + "']"); }
  function setState(qid, text, cls) {
    var el = form.querySelector("[data-state-for='" + qid + "']");
    if (!el) { return; }
    el.textContent = text;
    el.classList.remove("saved", "pending", "error");
    if (cls) { el.classList.add(cls); }
  }
  function readAnswer(fs) {
    var qid = fs.dataset.question;
    if (fs.dataset.type === "short_answer") {
      return { selected: [], text: fs.querySelector("textarea").value };
    }
    var sel = [];
    fs.querySelectorAll("input[name='q-" + qid + "']:checked").forEach(function (i) { sel.push(i.value); });
    return { selected: sel, text: "" };
  }
  function showAnswer(qid, selected, text) {
    var fs = fieldset(qid);
    if (!fs) { return; }
    if (fs.dataset.type === "short_answer") { fs.querySelector("textarea").value = text || ""; return; }
    fs.querySelectorAll("input[name='q-" + qid + "']").forEach(function (i) {
      i.checked = (selected || []).indexOf(i.value) >= 0;
    });
  }
  function setNet(online) {
    netStatus.textContent = online ? msg.online : msg.offline;
    netStatus.className = "small " + (online ? "text-success" : "text-danger");
  }

  function record(fs) {
    if (closed) { return; }
    var qid = fs.dataset.question;
    var input = seqInput(qid);
    var prev = pending[qid] ? pending[qid].seq : 0;
    var seq = Math.max(parseInt(input.value || "0", 10), prev) + 1;
    var a = readAnswer(fs);
    pending[qid] = { question: parseInt(qid, 10), selected: a.selected, text: a.text, seq: seq };
    storePending(pending);
    setState(qid, msg.pending, "pending");
    flush();
  }

  function send(item) {
    return fetch(saveUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(item)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) { return { status: resp.status, body: body }; });
    });
  }

  function flush() {
    if (flushing) { return Promise.resolve(); }
    var keys = Object.keys(pending);
    if (!keys.length) { return Promise.resolve(); }
    flushing = true;
    var qid = keys[0];
    var item = pending[qid];
    return send(item).then(function (r) {
      flushing = false;
      var current = pending[qid];
      if (r.status === 200) {
        seqInput(qid).value = String(Math.max(r.body.seq, parseInt(seqInput(qid).value || "0", 10)));
        if (current && current.seq > item.seq) {
          current.seq = Math.max(current.seq, r.body.seq + 1);  // answered again meanwhile: send that next
        } else {
          delete pending[qid];
          if (r.body.saved) { setState(qid, msg.saved, "saved"); }
          else { showAnswer(qid, r.body.selected, r.body.text); setState(qid, msg.newer, "error"); }
        }
      } else if (r.status === 409) {
        closed = true; pending = {}; setState(qid, (r.body && r.body.message) || msg.closed, "error");
      } else if (r.status >= 400 && r.status < 500) {
        delete pending[qid]; setState(qid, (r.body && r.body.message) || "", "error");
      } else {
        storePending(pending);
        return;  // server trouble: keep it and retry on the next tick
      }
      storePending(pending);
      setNet(true);
      return flush();
    }, function () {
      flushing = false;  // no network: keep everything queued
      setNet(false);
    });
  }

  form.addEventListener("change", function (ev) {
    var fs = ev.target.closest("fieldset[data-question]");
    if (fs && fs.dataset.type !== "short_answer") { record(fs); }
  });
  var typing = {};
  form.addEventListener("input", function (ev) {
    var fs = ev.target.closest("fieldset[data-question]");
    if (!fs || fs.dataset.type !== "short_answer") { return; }
    clearTimeout(typing[fs.dataset.question]);
    typing[fs.dataset.question] = setTimeout(function () { record(fs); }, 800);
  });

  form.addEventListener("submit", function (ev) {
    var submitter = ev.submitter;
    if (!submitter || submitter.value !== "submit" || submitting) { return; }
    ev.preventDefault();
    document.body.dataset.dialog = "1";  // integrity.js: the confirm box is not a departure from the page
    var sure = window.confirm(msg.confirm);
    delete document.body.dataset.dialog;
    if (!sure) { return; }
    finish(submitter);
  });

  function finish(submitter) {
    flush().then(function () {
      if (Object.keys(pending).length && !closed) {
        document.body.dataset.dialog = "1";
        window.alert(msg.wait);
        delete document.body.dataset.dialog;
        return;
      }
      submitting = true;
      storePending({});
      // Later than this microtask: while the first submit event is still being dispatched, the browser
      // ignores a new requestSubmit().
      setTimeout(function () { form.requestSubmit(submitter || document.getElementById("submit-exam")); }, 0);
    });
  }

  function tick() {
    var left = Math.max(0, Math.floor((deadline - (Date.now() + skew)) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    timer.textContent = msg.left + " " + (h ? h + ":" : "") + (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
    timer.className = "badge " + (left < 300 ? "text-bg-danger" : "text-bg-secondary");
    if (left === 0 && !submitting) {
      timer.textContent = msg.timeup;
      submitting = true;
      flush().then(function () {
        storePending({});
        setTimeout(function () { form.requestSubmit(document.getElementById("submit-exam")); }, 0);
      });
    }
  }

  // Answers queued by an earlier visit (offline, tab closed) are shown and sent first.
  Object.keys(pending).forEach(function (qid) {
    var p = pending[qid];
    if (!fieldset(qid)) { delete pending[qid]; return; }
    showAnswer(qid, p.selected, p.text);
    setState(qid, msg.pending, "pending");
  });
  window.addEventListener("online", function () { setNet(true); flush(); });
  window.addEventListener("offline", function () { setNet(false); });
  setNet(navigator.onLine !== false);
  setInterval(function () { if (Object.keys(pending).length) { flush(); } }, 4000);
  setInterval(tick, 1000);
  tick();
  flush();
})();
