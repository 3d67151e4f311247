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

  function enhanceCopy(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy"));
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.textContent = button.getAttribute("data-copied");
        });
      });
    });
  }

  // The agent console answers from the keyboard: digits pick an answer, Backspace goes
  // back, R shows results. Never while typing in a field.
  document.addEventListener("keydown", function (event) {
    var console_ = document.querySelector("[data-console]");
    if (!console_ || event.ctrlKey || event.altKey || event.metaKey) return;
    var target = event.target;
    if (target.closest("input, textarea, select, [contenteditable]")) return;
    var control = null;
    if (/^[1-9]$/.test(event.key)) {
      control = console_.querySelector('[data-key="' + event.key + '"]');
    } else if (event.key === "Backspace") {
      control = console_.querySelector('[data-action="back"]');
    } else if (event.key === "r" || event.key === "R") {
      control = console_.querySelector('[data-action="results"]');
    }
    if (control) {
      event.preventDefault();
      control.click();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { enhance(document); enhanceCopy(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var main = document.getElementById("main");
    if (event.detail.target === main) {
      enhance(main);
      enhanceCopy(main);
      focusNewContent(main);
    }
  });
})();
