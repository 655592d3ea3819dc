// The decide page of the support console: the fields that apply follow the chosen outcome
// (<div data-outcome-switch="select name"> with <... data-show-for="outcome outcome">). A field that does not apply
// is hidden and disabled, so nothing typed in it before is sent. Without JavaScript every field shows, and the
// service ignores those that do not apply to the outcome.
(function () {
  "use strict";

  document.querySelectorAll("[data-outcome-switch]").forEach(function (box) {
    var select = box.querySelector("select[name='" + box.getAttribute("data-outcome-switch") + "']");
    if (!select) {
      return;
    }
    function update() {
      box.querySelectorAll("[data-show-for]").forEach(function (el) {
        var show = el.getAttribute("data-show-for").split(" ").indexOf(select.value) !== -1;
        el.hidden = !show;
        el.querySelectorAll("input, select, textarea").forEach(function (control) {
          control.disabled = !show;
        });
      });
    }
    select.addEventListener("change", update);
    update();
  });
})();
