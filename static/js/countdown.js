// Countdowns: <time class="countdown" datetime="ISO">server text</time>. The server's text stays for readers without
// JavaScript; this keeps it current, in days, hours and minutes only: the text changes at most once a minute (WCAG
// 2.2.2, nothing moves every second), and no countdown is a live region, so a screen reader never announces it on
// its own (it reads the current text when the reader gets to it).
// The sentence around the time is the page's language's, from the script tag: data-left="{time} left" and
// data-overdue="{time} overdue" (templates/base.html); the units are the browser's own (Intl), in that language.
(function () {
  "use strict";
  var MINUTE = 60 * 1000;
  var script = document.currentScript;
  var sentences = {
    left: (script && script.getAttribute("data-left")) || "{time} left",
    overdue: (script && script.getAttribute("data-overdue")) || "{time} overdue"
  };
  var lang = document.documentElement.lang || "en";

  function units(parts) {
    // "2 days, 3 hr, 5 min" as the language writes it; older browsers: each unit on its own.
    if (window.Intl && Intl.DurationFormat) {
      return new Intl.DurationFormat(lang, { style: "short" }).format(parts);
    }
    var words = [];
    [["days", "day"], ["hours", "hour"], ["minutes", "minute"]].forEach(function (pair) {
      if (parts[pair[0]] === undefined) { return; }
      try {
        words.push(new Intl.NumberFormat(lang, { style: "unit", unit: pair[1], unitDisplay: "short" })
          .format(parts[pair[0]]));
      } catch (e) {
        words.push(parts[pair[0]] + " " + pair[1] + (parts[pair[0]] === 1 ? "" : "s"));
      }
    });
    return words.join(", ");
  }

  function text(ms) {
    var minutes = Math.floor(Math.abs(ms) / MINUTE);
    var d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    var parts = d ? { days: d, hours: h } : h ? { hours: h, minutes: m } : { minutes: m };
    return sentences[ms < 0 ? "overdue" : "left"].replace("{time}", units(parts));
  }

  function update() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("datetime")) - now;
      if (isNaN(ms)) { return; }
      var words = text(ms);
      if (el.textContent !== words) { el.textContent = words; }  // unchanged text is left alone
      el.classList.toggle("overdue", ms < 0);
    });
  }

  update();
  window.setInterval(update, MINUTE);
})();
