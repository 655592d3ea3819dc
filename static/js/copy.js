// Copy buttons next to a key or a secret shown once (templates/sellers/_copy_field.html). Without JavaScript the
// button stays hidden and the field, read-only, is selected and copied by hand.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var id = button.getAttribute("data-copy");
    var field = document.getElementById(id);
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (!field) { return; }
    button.hidden = false;
    field.addEventListener("focus", function () { field.select(); });

    function say(text) {
      if (!status) { return; }
      status.textContent = "";  // the same words again must be announced again
      window.setTimeout(function () { status.textContent = text; }, 50);
    }

    function byHand() {
      var done = false;
      field.focus();
      field.select();
      try { done = document.execCommand("copy"); } catch (error) { done = false; }
      say(button.getAttribute(done ? "data-copied" : "data-not-copied"));
    }

    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () {
          say(button.getAttribute("data-copied"));
        }, byHand);
      } else {
        byHand();
      }
    });
  });
})();
