/* The top navigation (templates/base.html): its menus are native <details> and work without
   JavaScript. This only closes an open menu on Escape (focus back on its button) and when
   the user clicks or tabs outside it. */
(function () {
  "use strict";
  var menus = document.querySelectorAll("details[data-nav]");
  if (!menus.length) { return; }

  function closeOutside(target) {
    menus.forEach(function (menu) {
      if (menu.open && !menu.contains(target)) { menu.open = false; }
    });
  }

  document.addEventListener("click", function (event) { closeOutside(event.target); });
  document.addEventListener("focusin", function (event) { closeOutside(event.target); });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = Array.prototype.filter.call(menus, function (menu) {
      return menu.open && menu.contains(document.activeElement);
    });
    if (!open.length) {  // a menu opened with the mouse: close them all
      open = Array.prototype.filter.call(menus, function (menu) { return menu.open; });
      open.forEach(function (menu) { menu.open = false; });
      return;
    }
    var inner = open[open.length - 1]; // the innermost open menu holding the focus
    inner.open = false;
    inner.querySelector("summary").focus();
    event.preventDefault();
  });
})();
