// The projector: reload the QR image every few seconds (the token changes every 15 s) and poll the live
// list of check-ins. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var root = document.getElementById("projector");
  if (!root) { return; }
  var img = document.getElementById("qr-image");
  var qrUrl = root.dataset.qrUrl, liveUrl = root.dataset.liveUrl;
  var step = parseInt(root.dataset.step, 10) || 15;
  function refreshQr() {
    if (img) { img.src = qrUrl + "?_=" + Date.now(); }
  }
  function text(tag, cls, value) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    el.textContent = value;
    return el;
  }
  function refreshLive() {
    fetch(liveUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        document.getElementById("live-count").textContent = data.attended;
        document.getElementById("live-roster").textContent = data.roster;
        var list = document.getElementById("live-list");
        list.replaceChildren();
        data.items.forEach(function (item) {
          var li = text("li", "list-group-item d-flex justify-content-between align-items-center live-item", "");
          li.appendChild(text("span", "live-name", item.name));
          var right = text("span", "", "");
          right.appendChild(text("span", "badge bg-secondary me-1", item.status_label));
          right.appendChild(text("small", "text-muted", item.at));
          if (item.device_flag) { right.appendChild(text("span", "badge bg-danger ms-1 flag-device", "同一设备多人签到")); }
          if (item.address_flag) { right.appendChild(text("span", "badge bg-warning text-dark ms-1 flag-address", "同一地址多人签到")); }
          li.appendChild(right);
          list.appendChild(li);
        });
      })
      .catch(function () { /* the next poll tries again */ });
  }
  refreshLive();
  setInterval(refreshLive, 3000);
  setInterval(refreshQr, Math.max(3, Math.floor(step / 3)) * 1000);
})();
