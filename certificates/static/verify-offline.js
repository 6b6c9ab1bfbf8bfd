// The offline verifier in the browser (the phone's counterpart of `python -m certificates.verify`): reads the
// certificate link in the address bar — /v/<cid>#<signed part> (certificates/signing.py) or /C/<TOKEN>
// (certificates/compact.py) — checks its Ed25519 signature with WebCrypto against the kept trust list
// (/.well-known/cqo-certificate-keys.json), the key's window and the expiry, and says how old the kept status
// lists are; where the link carries the certificate's status-list index (compact format 2), it reads the
// certificate's bit in the kept revocation and suspension lists; where it carries the holder's photo fingerprint
// (format 3), it shows it and ends with the photo line, as the command line does. It never sends anything anywhere.
(function () {
  "use strict";
  var root = document.getElementById("offline");
  if (!root) { return; }
  var T = JSON.parse(document.getElementById("offline-texts").textContent);
  var TIERS = ["basic", "advanced", "senior"];
  var COMPACT_DOMAIN = new TextEncoder().encode("CQO-CERT-QR-v1\u0000");

  function $(id) { return document.getElementById(id); }
  function say(id, text, state) { var el = $(id); el.textContent = text; if (state) { el.setAttribute("data-state", state); } }

  function b64u(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  function b32(text) {
    var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", bits = 0, value = 0, out = [];
    for (var i = 0; i < text.length; i++) {
      var v = alphabet.indexOf(text.charAt(i));
      if (v < 0) { throw new Error("malformed"); }
      value = (value << 5) | v; bits += 5;
      if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
    }
    if (bits && (value & ((1 << bits) - 1))) { throw new Error("malformed"); }
    return new Uint8Array(out);
  }
  function concat(a, b) { var o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; }
  function isoDay(days) { return new Date(Date.UTC(2000, 0, 1) + days * 86400000).toISOString().slice(0, 10); }

  function fromFragment() {
    var part = window.location.hash.replace(/^#/, "");
    var pieces = part.split(".");
    if (pieces.length !== 2) { throw new Error("malformed"); }
    var body = b64u(pieces[0]), sig = b64u(pieces[1]);
    var f = JSON.parse(new TextDecoder("utf-8", {fatal: true}).decode(body));
    ["holder_name", "number", "tier", "issued_on", "valid_until", "kid"].forEach(function (k) {
      if (typeof f[k] !== "string") { throw new Error("malformed"); }
    });
    return {fields: f, message: body, sig: sig, keyMatches: function (k) { return k.kid === f.kid; }};
  }

  function fromCompact(token) {
    var raw = b32(token.toUpperCase());
    if (raw.length < 13 + 64) { throw new Error("malformed"); }
    var body = raw.slice(0, raw.length - 64), sig = raw.slice(raw.length - 64);
    var version = body[0] >> 4;
    if (version < 1 || version > 3 || (body[0] & 15) > 2) { throw new Error("malformed"); }
    var tag = body.slice(1, 5), issued = (body[5] << 8) | body[6], until = (body[7] << 8) | body[8];
    var dec = new TextDecoder("utf-8", {fatal: true}), p = 9, index = null;
    if (version >= 2) {  // the status-list index: canonical unsigned LEB128, at most 5 bytes (compact.py)
      index = 0;
      for (var i = 0; ; i++) {
        if (i >= 5 || p >= body.length) { throw new Error("malformed"); }
        var byte = body[p++];
        index += (byte & 127) * Math.pow(2, 7 * i);
        if (!(byte & 128)) { if (i && byte === 0) { throw new Error("malformed"); } break; }
      }
      if (index > 4294967295) { throw new Error("malformed"); }
    }
    var photo = null;
    if (version === 3) {  // the holder's photo fingerprint: 8 bytes, shown as 4 groups of 4 hex digits (compact.py)
      if (p + 8 > body.length) { throw new Error("malformed"); }
      var hex = Array.prototype.map.call(body.slice(p, p + 8), function (b) { return (b < 16 ? "0" : "") + b.toString(16); })
        .join("").toUpperCase();
      photo = hex.match(/.{4}/g).join("-"); p += 8;
    }
    var nlen = body[p]; var number = dec.decode(body.slice(p + 1, p + 1 + nlen)); p += 1 + nlen;
    var hlen = body[p]; var name = dec.decode(body.slice(p + 1, p + 1 + hlen)); p += 1 + hlen;
    if (p !== body.length) { throw new Error("malformed"); }
    var fields = {holder_name: name, number: number, tier: TIERS[body[0] & 15], issued_on: isoDay(issued),
                  valid_until: isoDay(until), kid: ""};
    if (photo) { fields.photo = photo; }
    return {fields: fields, message: concat(COMPACT_DOMAIN, body), sig: sig, tag: tag, keyMatches: null, index: index};
  }

  function tagOf(kid) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(kid)).then(function (d) { return new Uint8Array(d).slice(0, 4); });
  }
  function importKey(jwk) {
    return crypto.subtle.importKey("jwk", {kty: "OKP", crv: "Ed25519", x: jwk.x}, {name: "Ed25519"}, false, ["verify"]);
  }
  // Browsers without WebCrypto Ed25519 (older Safari, some WebViews) use the vendored @noble/ed25519
  // (certificates/static/vendor, MIT, audited), in strict RFC 8032 mode like the server's library.
  var noble = null;
  function nobleVerify(jwk, sig, message) {
    noble = noble || import("/certificates/static/vendor/noble-ed25519.js");
    return noble.then(function (ed) { return ed.verifyAsync(sig, message, b64u(jwk.x), {zip215: false}); })
      .catch(function () { return false; });
  }
  function verifyWith(jwk, sig, message) {
    if (window.__cqoForceNoble) { return nobleVerify(jwk, sig, message); }  // tests exercise the fallback
    return importKey(jwk).then(function (key) {
      return crypto.subtle.verify({name: "Ed25519"}, key, sig, message);
    }, function () { return nobleVerify(jwk, sig, message); });
  }

  // Try every published key the link names (compact links name it by a 4-byte tag); the first that verifies wins.
  // Resolves to {key, candidates}: no candidate is an unknown key, candidates but no key a forged signature.
  function check(cert, keys) {
    var candidates = keys.filter(function (k) { return k.kty === "OKP" && k.crv === "Ed25519"; });
    return Promise.all(candidates.map(function (k) { return tagOf(k.kid).then(function (t) { return {k: k, t: t}; }); }))
      .then(function (tagged) {
        var pool = tagged.filter(function (x) {
          if (cert.keyMatches) { return cert.keyMatches(x.k); }
          return x.t.every(function (b, i) { return b === cert.tag[i]; });
        });
        return pool.reduce(function (prev, x) {
          return prev.then(function (found) {
            if (found) { return found; }
            return verifyWith(x.k, cert.sig, cert.message).then(function (ok) { return ok ? x.k : null; });
          });
        }, Promise.resolve(null)).then(function (key) { return {key: key, candidates: pool.length}; });
      });
  }

  function getJSON(url) { return fetch(url).then(function (r) { if (!r.ok) { throw new Error(url); } return r.json(); }); }
  function getText(url) { return fetch(url).then(function (r) { if (!r.ok) { throw new Error(url); } return r.text(); }); }

  // The bit at ``index`` of a list's encodedList (multibase "u" + base64url of GZIP; bit 0 = the left-most bit
  // of the first byte), or null where the browser cannot decompress (no DecompressionStream) or the list is short.
  function statusBit(payload, index) {
    var encoded = ((payload.credentialSubject || {}).encodedList) || "";
    if (index === null || encoded.charAt(0) !== "u" || typeof DecompressionStream === "undefined") { return Promise.resolve(null); }
    var stream = new Blob([b64u(encoded.slice(1))]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).arrayBuffer().then(function (buf) {
      var bytes = new Uint8Array(buf), at = Math.floor(index / 8);
      return at < bytes.length ? (bytes[at] >> (7 - index % 8)) & 1 : null;
    }).catch(function () { return null; });
  }

  // A kept status list: its JWT's signature checked with the trust list, then its age and (index known) the bit.
  function statusList(keys, purpose, index) {
    return getText("/status-lists/" + purpose).then(function (token) {
      var parts = token.split(".");
      var header = JSON.parse(new TextDecoder().decode(b64u(parts[0])));
      var payload = JSON.parse(new TextDecoder().decode(b64u(parts[1])));
      var kid = String(header.kid || "").split("/").pop();
      var key = keys.filter(function (k) { return k.kid === kid; })[0];
      if (!key || header.alg !== "EdDSA") { return null; }
      return verifyWith(key, b64u(parts[2]), new TextEncoder().encode(parts[0] + "." + parts[1])).then(function (ok) {
        if (!ok || (payload.credentialSubject || {}).statusPurpose !== purpose) { return null; }
        return statusBit(payload, index).then(function (bit) { return {time: payload.validFrom, bit: bit}; });
      });
    }).catch(function () { return null; });
  }

  // Beijing time, as the command line prints a status list's date: "YYYY-MM-DD HH:MM".
  function beijing(iso) { return new Date(new Date(iso).getTime() + 8 * 3600000).toISOString().slice(0, 16).replace("T", " "); }

  function show(cert, checked, today, revocation, suspension) {
    var f = cert.fields, key = checked.key;
    say("holder-name", f.holder_name); say("cert-number", f.number); say("issued-on", f.issued_on);
    say("valid-until", f.valid_until); say("tier", T.tiers[f.tier] || f.tier);
    if (f.photo && $("photo-fp")) { say("photo-fp", f.photo); $("photo-fp-row").hidden = false; }
    $("offline-details").hidden = false;
    var verdict, state, compare = true, listTime = revocation ? revocation.time : null;
    if (!key) { verdict = checked.candidates ? T.bad_signature : T.unknown_key; state = "invalid"; compare = false; }
    else if ((key.valid_until && f.issued_on > key.valid_until.slice(0, 10)) ||
             (key.valid_from && f.issued_on < key.valid_from.slice(0, 10))) {
      verdict = T.outside_window; state = "invalid"; compare = false;
    }
    else if (revocation && revocation.bit === 1) { verdict = T.revoked; state = "revoked"; }
    else if (suspension && suspension.bit === 1) { verdict = T.suspended; state = "suspended"; }
    else if (f.valid_until < today) { verdict = T.expired; state = "expired"; }
    else { verdict = T.valid; state = "valid"; }
    say("offline-verdict", verdict, state);
    root.setAttribute("data-verdict", state);
    var age = listTime ? T.status_age.replace("%(t)s", beijing(listTime)) : T.no_status_list;
    if (listTime && (cert.index === null || cert.index === undefined || revocation.bit === null)) { age += T.no_index; }
    say("offline-status", age, listTime ? "dated" : "none");
    // Always last, as on the command line: what to compare with the paper.
    say("offline-compare", compare ? T.compare + T.expected.replace("%(name)s", f.holder_name)
      .replace("%(number)s", f.number).replace("%(start)s", f.issued_on).replace("%(end)s", f.valid_until)
      + (f.photo ? T.photo_compare.replace("%(fp)s", f.photo) : "")
      : T.compare_nothing);
  }

  var today = new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10);  // China Standard Time
  var path = window.location.pathname, cert;
  try {
    if (path.indexOf("/C/") === 0) { cert = fromCompact(decodeURIComponent(path.slice(3))); }
    else if (path.indexOf("/v/") === 0) { cert = fromFragment(); }
    else { say("offline-verdict", T.no_link, "none"); return; }
  } catch (e) {
    say("offline-verdict", T.malformed, "invalid"); root.setAttribute("data-verdict", "invalid"); return;
  }
  getJSON("/.well-known/cqo-certificate-keys.json").then(function (doc) {
    var keys = doc.keys || [];
    var index = cert.index === undefined ? null : cert.index;
    return Promise.all([check(cert, keys), statusList(keys, "revocation", index),
                        statusList(keys, "suspension", index)]).then(function (r) {
      show(cert, r[0], today, r[1], r[2]);
    });
  }).catch(function () {
    say("offline-verdict", T.no_trust_list, "none"); root.setAttribute("data-verdict", "unknown");
  });
})();
