// Small page behaviours, kept out of the HTML so a strict Content-Security-Policy can forbid inline script.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // After a refused form, take keyboard and screen-reader users straight to what went wrong.
  var errors = document.getElementById("form-errors");
  if (errors) { errors.focus(); }
  // Ask before irreversible actions (closing a claim, accepting an offer).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
