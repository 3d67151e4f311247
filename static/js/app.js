// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // After htmx swaps a new step in, move focus to its heading and announce it, so
  // keyboard and screen-reader users know the page changed.
  function focusNewContent(root) {
    var target = root.querySelector("[data-focus]");
    if (!target) return;
    target.focus({ preventScroll: true });
    var announcer = document.getElementById("announcer");
    if (announcer) {
      announcer.textContent = "";
      window.setTimeout(function () { announcer.textContent = target.textContent.trim(); }, 50);
    }
  }

  function enhance(root) {
    root.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
    root.querySelectorAll("[data-share]").forEach(function (button) {
      if (!navigator.clipboard && !navigator.share) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var url = button.getAttribute("data-share-url");
        if (navigator.share) {
          navigator.share({ title: document.title, url: url }).catch(function () {});
        } else {
          navigator.clipboard.writeText(url).then(function () {
            button.textContent = button.getAttribute("data-copied");
          });
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var main = document.getElementById("main");
    if (event.detail.target === main) {
      enhance(main);
      focusNewContent(main);
    }
  });
})();
