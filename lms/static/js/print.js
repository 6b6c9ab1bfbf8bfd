// Buttons marked data-print open the browser's print dialog (the page's print styles lay it out on A4).
document.querySelectorAll("[data-print]").forEach(function (b) {
  b.hidden = false;
  b.addEventListener("click", function () { window.print(); });
});
