// The signed part of a certificate link travels in the URL fragment, which browsers never send to the
// server; this script hands it to the JSON endpoint and shows whether the signature matches.
(function () {
  "use strict";
  var root = document.getElementById("verify");
  if (!root) { return; }
  var details = document.getElementById("verify-details");
  var failed = document.getElementById("verify-failed");
  var sig = document.getElementById("sig-result");
  var hash = window.location.hash.replace(/^#/, "");

  function fail() {
    details.hidden = true;
    failed.hidden = false;
    sig.setAttribute("data-state", "invalid");
  }

  var form = document.getElementById("holder-form");
  if (form) {
    // Keep the fragment across the holder check so the signature is checked again on the answer page.
    form.addEventListener("submit", function () { form.action = window.location.pathname + window.location.hash; });
  }
  if (root.getAttribute("data-sig-server") === "valid") { return; }  // /C/<TOKEN>: checked by the server
  if (!hash) {
    // A link without its fragment (typed from paper, cut by a chat app): the status above is the database's;
    // the signature was not checked, which is not the same as forged.
    sig.textContent = root.getAttribute("data-sig-none");
    sig.setAttribute("data-state", "unchecked");
    return;
  }
  fetch(root.getAttribute("data-api") + "?sig=" + encodeURIComponent(hash), {headers: {"Accept": "application/json"}})
    .then(function (r) {
      if (r.status === 429) { throw new Error("busy"); }
      return r.json().then(function (j) { return {status: r.status, body: j}; });
    })
    .then(function (res) {
      if (res.status !== 200 || res.body.signature_valid !== true) { fail(); return; }
      sig.textContent = root.getAttribute("data-sig-ok");
      sig.setAttribute("data-state", "valid");
    })
    .catch(function () {
      sig.textContent = root.getAttribute("data-sig-error");
      sig.setAttribute("data-state", "error");
    });
})();
