// Seller dashboard behaviours. Without JavaScript every field shows and every form posts normally.
(function () {
  "use strict";

  // The offer form shows the amount only for kinds that have one, and the return fields only for kinds that
  // send the item back: <form data-kind-switch="radio name"> with <... data-show-for="kind kind">.
  document.querySelectorAll("form[data-kind-switch]").forEach(function (form) {
    var name = form.getAttribute("data-kind-switch");
    function update() {
      var checked = form.querySelector("input[type=radio][name='" + name + "']:checked");
      form.querySelectorAll("[data-show-for]").forEach(function (el) {
        var kinds = el.getAttribute("data-show-for").split(" ");
        el.hidden = Boolean(checked) && kinds.indexOf(checked.value) === -1;
      });
    }
    form.querySelectorAll("input[type=radio][name='" + name + "']").forEach(function (radio) {
      radio.addEventListener("change", update);
    });
    update();
  });

  // Ask before a form that also uploads files: this runs in the capture phase, before the upload script takes
  // the submit over, so "Cancel" stops both.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm-first");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
