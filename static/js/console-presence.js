// The console claim page's presence and collision warning (templates/admin/claims/claim/_presence.html).
// While the page is visible a heartbeat says who else has the claim open; when the claim changed since the page
// loaded, a warning says what changed, and a submit of the page's forms is held until the agent chooses to reload
// or to submit anyway. Text typed on the page survives the reload (sessionStorage, per claim and field).
// Every sentence comes from the page or the server, translated. Without this script the page works as before.
(function () {
  "use strict";
  var root = document.getElementById("console-presence");
  if (!root || !window.fetch || !window.URLSearchParams) { return; }
  var data = root.dataset;
  var interval = Math.max(1, parseInt(data.interval, 10) || 30) * 1000;
  var prefix = "console-draft:" + data.claim + ":";
  var others = root.querySelector("[data-presence-others]");
  var restored = root.querySelector("[data-presence-restored]");
  var banner = root.querySelector("[data-presence-banner]");
  var warning = root.querySelector("[data-presence-warning]");
  var held = root.querySelector("[data-presence-held]");
  var reload = root.querySelector("[data-presence-reload]");
  var reloadFirst = root.querySelector("[data-presence-reload-first]");
  var anyway = root.querySelector("[data-presence-submit-anyway]");
  var timer = null;
  var checking = false;
  var holding = null; // the submit held back: {form, submitter}
  var sending = false;

  // --- the heartbeat ---------------------------------------------------------------------------------------------

  function ask() {
    return fetch(data.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": data.csrf, "Accept": "application/json" },
      body: new URLSearchParams({ version: data.version })
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("application/json") !== 0) { throw new Error("presence " + response.status); }
      return response.json();
    }).then(function (answer) {
      show(answer);
      return answer;
    });
  }

  function show(answer) {
    // A polite live region: written only when the sentence changes, so an unchanged one is not announced again.
    if (others.textContent !== answer.others_text) { others.textContent = answer.others_text; }
    others.classList.toggle("console-presence-busy", answer.others.length > 0);
    if (answer.changed) { warn(answer.change, holding !== null); } // a held submit keeps its two choices
  }

  function schedule() {
    window.clearTimeout(timer);
    if (document.visibilityState === "visible") { timer = window.setTimeout(beat, interval); }
  }

  function beat() {
    ask().catch(function () { /* offline or logged out: try again at the next beat */ }).then(schedule);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { beat(); } else { window.clearTimeout(timer); }
  });
  schedule();

  // --- the warning -----------------------------------------------------------------------------------------------

  function warn(change, hold) {
    var text = warning.getAttribute("data-template").replace("%(change)s", change);
    banner.hidden = false;
    held.hidden = !hold;
    reload.hidden = hold;
    reloadFirst.hidden = !hold;
    anyway.hidden = !hold;
    // Written after the banner shows, so the alert is announced; focus goes there when a submit was held back.
    window.setTimeout(function () {
      if (warning.textContent !== text) { warning.textContent = text; }
      if (hold) { warning.focus(); }
    }, 0);
  }

  function inScope(form) {
    if (!form || (form.getAttribute("method") || "get").toLowerCase() !== "post") { return false; }
    var action = new URL(form.getAttribute("action") || window.location.href, window.location.href);
    return action.origin === window.location.origin && action.pathname.indexOf(data.scope) === 0;
  }

  // Every POST to this claim's pages (the note or message, the assignment, the action buttons) is checked first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (sending || !inScope(form)) { return; }
    event.preventDefault();
    if (checking) { return; }
    checking = true;
    holding = { form: form, submitter: event.submitter || null };
    ask().then(function (answer) {
      checking = false;
      if (answer.changed) { warn(answer.change, true); } else { send(); }
    }, function () {
      checking = false;
      send(); // the check itself failed: submit as the page would without this script
    });
  });

  function send() {
    var pending = holding;
    holding = null;
    if (!pending) { return; }
    sending = true;
    try {
      if (pending.form.requestSubmit) {
        pending.form.requestSubmit(pending.submitter);
      } else {
        pending.form.submit();
      }
    } finally {
      sending = false;
    }
  }

  // --- the text on the page survives the reload --------------------------------------------------------------------

  function keyOf(field) {
    var name = field.name || field.id;
    if (!name || name === "csrfmiddlewaretoken") { return null; }
    var where = field.form ? new URL(field.form.getAttribute("action") || window.location.href,
                                     window.location.href).pathname : "";
    return prefix + where + "|" + name;
  }

  function saveDrafts() {
    try {
      document.querySelectorAll("textarea").forEach(function (area) {
        if (!area.value.trim() || (area.form && !inScope(area.form))) { return; }
        // With the text go the form's choices (a note stays a note, not a message to the buyer and the seller).
        var fields = area.form ? Array.prototype.slice.call(area.form.elements) : [area];
        fields.forEach(function (field) {
          var key = keyOf(field);
          var kept = field.tagName === "TEXTAREA" || field.tagName === "SELECT" ||
                     (field.type === "radio" && field.checked);
          if (key && kept) { window.sessionStorage.setItem(key, field.value); }
        });
      });
    } catch (error) { /* storage blocked or full: the reload goes ahead */ }
  }

  function restoreDrafts() {
    var back = false;
    try {
      document.querySelectorAll("textarea, select, input[type=radio]").forEach(function (field) {
        var key = keyOf(field);
        var value = key ? window.sessionStorage.getItem(key) : null;
        if (value === null) { return; }
        if (field.type === "radio") {
          if (field.value === value) { field.checked = true; }
        } else if (field.tagName === "SELECT") {
          field.value = value;
        } else if (!field.value.trim()) {
          field.value = value;
          back = true;
        }
      });
      Object.keys(window.sessionStorage).forEach(function (key) {
        if (key.indexOf(prefix) === 0) { window.sessionStorage.removeItem(key); }
      });
    } catch (error) { return; }
    if (back && restored) { restored.textContent = restored.getAttribute("data-text"); }
  }

  function reloadKeepingText() {
    saveDrafts();
    window.location.reload();
  }

  reload.addEventListener("click", reloadKeepingText);
  reloadFirst.addEventListener("click", reloadKeepingText);
  anyway.addEventListener("click", function () {
    banner.hidden = true;
    send();
  });
  restoreDrafts();
})();
