// Every page of the support console (templates/admin/base_site.html): what the stock admin's scripts leave out.
(function () {
  "use strict";
  // The admin's two-list selector (SelectFilter2.js, built on "load") labels its search icons with an aria-label on
  // a plain span, which has no role to carry a name (axe: aria-prohibited-attr): the icon is an image.
  window.addEventListener("load", function () {
    document.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  });
})();
