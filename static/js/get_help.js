// The Get help form: a reason that cannot be used now for one of the chosen items is switched off, with the sentence
// the server would refuse it with (data from the server: #reason-refusals); the defect's own fields show only for a
// defect. Without JavaScript everything shows, and the server refuses what is not possible and ignores the rest.
(function () {
  "use strict";
  var form = document.querySelector("form[data-get-help]");
  var data = document.getElementById("reason-refusals");
  if (!form || !data) { return; }
  var refusals = JSON.parse(data.textContent);

  function chosenItems() {
    var boxes = form.querySelectorAll("input[type=checkbox][name=items]");
    return Array.prototype.filter.call(boxes, function (box) { return box.checked; })
      .map(function (box) { return box.value; });
  }

  function update() {
    var items = chosenItems();
    form.querySelectorAll("input[type=radio][name=reason]").forEach(function (radio) {
      var refused = refusals[radio.value] || {};
      var why = items.filter(function (pk) { return refused[pk]; }).map(function (pk) { return refused[pk]; });
      var note = document.getElementById(radio.id + "-not-now");
      radio.disabled = why.length > 0;
      if (radio.disabled) { radio.checked = false; }
      if (note) {
        note.hidden = why.length === 0;
        note.textContent = why.join(" ");
      }
    });
    var reason = form.querySelector("input[type=radio][name=reason]:checked");
    form.querySelectorAll("[data-show-for]").forEach(function (el) {
      el.hidden = !reason || el.getAttribute("data-show-for").split(" ").indexOf(reason.value) === -1;
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "items" || event.target.name === "reason") { update(); }
  });
  update();
})();
