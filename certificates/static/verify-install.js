// Makes the verify pages installable and usable offline: registers the service worker that keeps the offline
// verifier, the published keys (trust list) and the last status lists (certificates/static/verify-sw.js).
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) { return; }
  navigator.serviceWorker.register("/verify-sw.js", {scope: "/"}).catch(function () { /* stays online-only */ });
})();
