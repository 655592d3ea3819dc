// The canned-reply picker on the seller's claim page (templates/sellers/_reply_picker.html). The server fills each
// reply in for the claim (claims.seller.replies) and embeds the texts; this inserts the chosen one into the reply box
// where the cursor was, instead of reloading the page with ?reply=<id> as the form does without JavaScript.
(function () {
  "use strict";
  var data = document.getElementById("canned-replies");
  if (!data) { return; }
  var texts = JSON.parse(data.textContent);

  document.querySelectorAll("form[data-reply-picker]").forEach(function (form) {
    var box = document.getElementById(form.getAttribute("data-target"));
    var status = form.querySelector("[data-picker-status]");
    var select = form.querySelector("select");
    if (!box || !select) { return; }
    var touched = false;  // the cursor counts only once the person has been in the box
    box.addEventListener("focus", function () { touched = true; });

    form.addEventListener("submit", function (event) {
      var text = texts[select.value];
      if (typeof text !== "string") { return; }  // unknown here: let the server fill it in
      event.preventDefault();
      var value = box.value;
      var start = touched ? box.selectionStart : value.length;
      var end = touched ? box.selectionEnd : value.length;
      var before = value.slice(0, start);
      // A reply is a paragraph of its own: after words on the same line it starts on a new one.
      if (before.trim() !== "" && !/\n\s*$/.test(before)) { text = "\n\n" + text; }
      box.value = before + text + value.slice(end);
      var caret = before.length + text.length;
      box.focus();
      box.setSelectionRange(caret, caret);
      box.dispatchEvent(new Event("input", { bubbles: true }));
      if (status) {
        status.textContent = "";
        window.setTimeout(function () { status.textContent = form.getAttribute("data-inserted"); }, 50);
      }
    });
  });
})();
