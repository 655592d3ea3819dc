// The canned-reply picker of the support console (templates/admin/claims/claim/_macro_picker.html): inserts the
// chosen macro, already filled in for the claim in the chosen language, at the cursor of its textarea, and records
// which macro it was in the form's hidden "macro" input, so the console counts it when the form is saved.
(function () {
  "use strict";

  document.querySelectorAll("[data-macro-picker]").forEach(function (picker) {
    if (picker.hasAttribute("data-macro-ready")) {
      return;  // the partial brings this script along: included twice, it runs twice
    }
    picker.setAttribute("data-macro-ready", "");
    var target = document.getElementById(picker.getAttribute("data-target"));
    var data = document.getElementById(picker.getAttribute("data-texts"));
    if (!target || !data) {
      return;
    }
    var texts = JSON.parse(data.textContent);
    var macro = picker.querySelector("[data-macro-select]");
    var language = picker.querySelector("[data-macro-language]");
    var status = picker.querySelector("[data-macro-status]");
    var form = target.form;

    // Who reads the text decides the language offered first: internal notes the agent, messages the buyer.
    function audience() {
      var visibility = form && form.querySelector("input[name=visibility]:checked");
      if (visibility) {
        return visibility.value === "internal" ? "agent" : "buyer";
      }
      return picker.getAttribute("data-audience") || "agent";
    }
    function preselect() {
      var code = picker.getAttribute("data-lang-" + audience());
      if (code && language.querySelector("option[value='" + code + "']")) {
        language.value = code;
      }
    }
    if (form) {
      form.querySelectorAll("input[name=visibility]").forEach(function (radio) {
        radio.addEventListener("change", preselect);
      });
    }
    preselect();

    picker.querySelector("[data-macro-insert]").addEventListener("click", function () {
      var text = (texts[macro.value] || {})[language.value];
      if (!text) {
        status.textContent = picker.getAttribute("data-choose-first") || "";
        macro.focus();
        return;
      }
      var start = target.selectionStart, end = target.selectionEnd;
      if (typeof start !== "number") {
        start = end = target.value.length;
      }
      target.setRangeText(text, start, end, "end");
      target.dispatchEvent(new Event("input", {bubbles: true}));
      target.focus();
      if (form) {
        var used = form.querySelector("input[name=macro]");
        if (!used) {
          used = document.createElement("input");
          used.type = "hidden";
          used.name = "macro";
          form.appendChild(used);
        }
        used.value = macro.value;
      }
      status.textContent = picker.getAttribute("data-inserted") || "";
    });
    picker.hidden = false;
  });
})();
