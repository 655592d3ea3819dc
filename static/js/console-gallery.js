// The console claim page's evidence: a thumbnail (<a data-lightbox href="full image">) opens the full image in the
// page's <dialog id="case-lightbox">; Escape, the Close button or a click beside the image closes it, and the focus
// goes back to the thumbnail. Without JavaScript (or <dialog>) the link opens the image in a new tab.
(function () {
  "use strict";
  var dialog = document.getElementById("case-lightbox");
  if (!dialog || typeof dialog.showModal !== "function") { return; }
  var image = dialog.querySelector(".case-lightbox-image");
  var caption = dialog.querySelector(".case-lightbox-caption");
  var tab = dialog.querySelector(".case-lightbox-open");
  var close = dialog.querySelector("[data-lightbox-close]");
  var opener = null;

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-lightbox]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    var thumbnail = link.querySelector("img");
    opener = link;
    image.src = link.href;
    image.alt = thumbnail ? thumbnail.alt : "";
    caption.textContent = (thumbnail ? thumbnail.alt + " · " : "") + (link.getAttribute("data-caption") || "");
    tab.href = link.href;
    dialog.showModal();
    close.focus();
  });

  close.addEventListener("click", function () { dialog.close(); });
  // A click on the backdrop lands on the dialog itself, not on its content.
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) { dialog.close(); }
  });
  dialog.addEventListener("close", function () {
    image.src = "data:,";
    if (opener) { opener.focus(); opener = null; }
  });
})();
