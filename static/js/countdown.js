// Live countdowns: <time class="countdown" datetime="ISO">server text</time>. The server's text stays
// for readers without JavaScript; this keeps it current.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var words = {
    en: { left: "left", overdue: "overdue", d: "d", h: "h", m: "min", s: "s" },
    de: { left: "verbleibend", overdue: "überfällig", d: "T", h: "Std", m: "Min", s: "s" }
  }[lang.slice(0, 2)] || null;
  if (!words) { words = { left: "left", overdue: "overdue", d: "d", h: "h", m: "min", s: "s" }; }

  function format(ms) {
    var past = ms < 0, t = Math.abs(ms) / 1000;
    var d = Math.floor(t / 86400), h = Math.floor((t % 86400) / 3600), m = Math.floor((t % 3600) / 60);
    var s = Math.floor(t % 60), parts = [];
    if (d) { parts.push(d + " " + words.d); }
    if (d || h) { parts.push(h + " " + words.h); }
    parts.push(m + " " + words.m);
    if (!d) { parts.push(s + " " + words.s); }
    return parts.join(" ") + " " + (past ? words.overdue : words.left);
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("datetime")) - now;
      el.textContent = format(ms);
      el.classList.toggle("overdue", ms < 0);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
