// Accessible names the admin's own widgets leave out, for screen readers (and axe):
// - the searchable selects (select2, for autocomplete fields) render a combobox named by
//   the chosen value only, so an empty one has no name: give it its field's name;
// - the two-list picker's search icons carry an aria-label on a plain span: make them
//   images, which may have one.
(function () {
  "use strict";
  function fieldName(select) {
    var own = select.getAttribute("aria-label");
    if (own) return own;
    var label = select.id && document.querySelector('label[for="' + select.id + '"]');
    return label ? label.textContent.trim().replace(/[:：]$/, "") : "";
  }
  function name(root) {
    root.querySelectorAll(".select2-container").forEach(function (container) {
      var select = container.previousElementSibling;
      if (!select || select.tagName !== "SELECT") return;
      var text = fieldName(select);
      if (!text) return;
      container.querySelectorAll('[role="combobox"], [role="textbox"]').forEach(function (element) {
        if (!element.hasAttribute("aria-label")) element.setAttribute("aria-label", text);
      });
    });
    root.querySelectorAll("span[aria-label]:not([role])").forEach(function (element) {
      element.setAttribute("role", "img");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    name(document);
    // select2 and the picker draw themselves after the page loads, and again for every
    // inline row added.
    new MutationObserver(function () { name(document); }).observe(document.body, {
      childList: true,
      subtree: true,
    });
  });
})();
