// "Get help" and message forms: previews of chosen photos and video, and a progress bar while uploading.
// Without JavaScript the form posts normally.
(function () {
  "use strict";

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
      bar.hidden = false; bar.value = 0;
      if (submit) { submit.disabled = true; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          if (status) { status.textContent = bar.value + "%"; }
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
        if (status) { status.textContent = form.getAttribute("data-network-error"); }
      });
      xhr.send(new FormData(form));
    });
  });
})();
