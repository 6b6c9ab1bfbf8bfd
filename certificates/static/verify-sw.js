// The verify pages' service worker. Online it changes nothing (network first) and refreshes its copies of the
// trust list and the status lists; offline, a certificate link (/v/<cid>#<signed part> or /C/<TOKEN>) opens the
// offline verifier, which checks the signature in the browser against the kept trust list.
"use strict";
var CACHE = "cqo-verify-v2";  // a new name re-installs the worker and its copies: v2 reads compact format 3 (the photo)
var SHELL = "/verify-offline";
var DATA = ["/.well-known/cqo-certificate-keys.json", "/status-lists/revocation", "/status-lists/suspension"];
var ASSETS = [SHELL, "/certificates/static/verify-offline.js", "/certificates/static/verify-offline.css",
  "/certificates/static/verify-install.js", "/certificates/static/vendor/noble-ed25519.js", "/verify.webmanifest", "/certificates/static/icons/verify-192.png",
  "/certificates/static/icons/verify-512.png"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(ASSETS).then(function () {
      return Promise.all(DATA.map(function (u) { return cache.add(u).catch(function () {}); }));
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function isCertificateLink(path) { return /^\/(v|C)\/./.test(path); }

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  if (req.mode === "navigate" && isCertificateLink(url.pathname)) {
    event.respondWith(fetch(req).then(function (resp) {
      // Online: the server's page, and fresh copies of the trust list and status lists for later.
      caches.open(CACHE).then(function (cache) {
        DATA.forEach(function (u) { fetch(u).then(function (r) { if (r.ok) { cache.put(u, r); } }).catch(function () {}); });
      });
      return resp;
    }).catch(function () { return caches.match(SHELL); }));
    return;
  }
  if (DATA.indexOf(url.pathname) >= 0) {
    event.respondWith(fetch(req).then(function (resp) {
      if (resp.ok) { var copy = resp.clone(); caches.open(CACHE).then(function (c) { c.put(url.pathname, copy); }); }
      return resp;
    }).catch(function () { return caches.match(url.pathname); }));
    return;
  }
  if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(fetch(req).catch(function () { return caches.match(url.pathname); }));
  }
});
