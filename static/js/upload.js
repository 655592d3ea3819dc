// "Get help" and message forms: previews of chosen photos and video, and a progress bar while uploading.
// Without JavaScript the form posts normally.
// What a screen reader hears (WCAG 4.1.3): the form's status region (role="status", next to the bar) says how far the
// upload is at each quarter (not at every percent) and when everything is sent; an interrupted upload is an alert.
// The sentences are the page's language's, from the script tag (templates/_upload_script.html).
(function () {
  "use strict";
  var script = document.currentScript;
  var sentences = {
    sending: (script && script.getAttribute("data-sending")) || "Uploading your files: {percent} % sent.",
    sent: (script && script.getAttribute("data-sent")) || "All files are sent. Please wait while they are checked."
  };

  function say(region, words) {
    if (region && region.textContent !== words) { region.textContent = words; }
  }

  function alertAfter(anchor, words) {
    // A new element with role="alert" is announced at once; the one of an earlier failure is replaced.
    var id = anchor.id + "-alert", old = document.getElementById(id);
    if (old) { old.parentNode.removeChild(old); }
    var el = document.createElement("p");
    el.id = id; el.className = "form-errors"; el.setAttribute("role", "alert");
    el.textContent = words;
    anchor.parentNode.insertBefore(el, anchor.nextSibling);
  }

  // Browsers other than Safari cannot draw a HEIC photo (the iPhone's format; the server turns it into JPEG).
  var UNDRAWABLE = /\.(heic|heif)$/i;

  function named(file) {
    var el = document.createElement("span");
    el.className = "file"; el.textContent = file.name;
    return el;
  }

  function previews(input) {
    var box = document.getElementById(input.getAttribute("data-previews"));
    if (!box) { return; }
    box.innerHTML = "";
    Array.prototype.forEach.call(input.files, function (file) {
      var el;
      if (file.type.indexOf("video/") === 0) {
        el = document.createElement("video");
        el.muted = true; el.controls = true;
      } else if (file.type.indexOf("image/") === 0 && !/^image\/hei[cf]/.test(file.type) &&
                 !UNDRAWABLE.test(file.name)) {
        el = document.createElement("img");
        el.alt = file.name;
      } else {
        box.appendChild(named(file));
        return;
      }
      // Whatever the browser cannot show after all is named instead of drawn broken.
      el.addEventListener("error", function () { if (el.parentNode) { el.parentNode.replaceChild(named(file), el); } });
      el.src = URL.createObjectURL(file);
      box.appendChild(el);
    });
  }

  document.querySelectorAll("input[type=file][data-previews]").forEach(function (input) {
    input.addEventListener("change", function () { previews(input); });
  });

  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var hasFiles = Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (i) {
        return i.files && i.files.length;
      });
      if (!hasFiles || !window.FormData) { return; }
      event.preventDefault();
      var bar = document.getElementById(form.getAttribute("data-progress"));
      var status = document.getElementById(form.getAttribute("data-progress") + "-status");
      var submit = form.querySelector("[type=submit]");
      var quarter = -1;
      bar.hidden = false; bar.value = 0;
      if (submit) { submit.disabled = true; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          if (bar.value >= 100) {
            say(status, sentences.sent);
          } else if (Math.floor(bar.value / 25) > quarter) {
            quarter = Math.floor(bar.value / 25);
            say(status, sentences.sending.replace("{percent}", String(quarter * 25)));
          }
        }
      });
      xhr.addEventListener("load", function () {
        // The browser already followed the redirect (success) or got the form back with its errors: show
        // that response as the page, at its own address, without asking the server a second time.
        if (xhr.responseURL && xhr.responseURL !== window.location.href) {
          window.history.replaceState(null, "", xhr.responseURL);
        }
        document.open(); document.write(xhr.responseText); document.close();
        window.scrollTo(0, 0);
      });
      xhr.addEventListener("error", function () {
        if (submit) { submit.disabled = false; }
        bar.hidden = true;
        say(status, "");
        alertAfter(status || bar, form.getAttribute("data-network-error"));
      });
      xhr.send(new FormData(form));
    });
  });
})();
