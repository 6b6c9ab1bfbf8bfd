// Disable the confirm button once tapped so a double tap sends one request (the server records once anyway).
(function () {
  "use strict";
  var form = document.getElementById("confirm-form");
  if (!form) { return; }
  form.addEventListener("submit", function () {
    var b = document.getElementById("confirm-checkin");
    setTimeout(function () { b.disabled = true; }, 0);
  });
})();
