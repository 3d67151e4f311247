// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // After htmx swaps a new step in, move focus to its heading (or to the confirmation of
  // what was just done, when the page marks that with data-focus) and announce it, so
  // keyboard and screen-reader users know the page changed. The view follows once htmx
  // has scrolled to the top: a confirmation far down the page is brought into view.
  function focusNewContent(root) {
    var target = root.querySelector("[data-focus]");
    if (!target) return;
    target.focus({ preventScroll: true });
    window.setTimeout(function () {
      var box = target.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) target.scrollIntoView({ block: "center" });
    }, 0);
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
  // back, R shows results, C takes the questions up again after them. Never while typing
  // in a field. A key pressed while a step is still being swapped in waits for it, so
  // fast typists never hit a stale button.
  var swapping = false;
  var pendingKey = null;

  function shortcut(console_, key) {
    if (/^[1-9]$/.test(key)) return console_.querySelector('[data-key="' + key + '"]');
    if (key === "Backspace") return console_.querySelector('[data-action="back"]');
    if (key === "r" || key === "R") return console_.querySelector('[data-action="results"]');
    if (key === "c" || key === "C") return console_.querySelector('[data-action="continue"]');
    return null;
  }

  document.addEventListener("keydown", function (event) {
    var console_ = document.querySelector("[data-console]");
    if (!console_ || event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (!shortcut(console_, event.key) && !swapping) return;
    event.preventDefault();
    if (swapping) {
      pendingKey = event.key;
      return;
    }
    shortcut(console_, event.key).click();
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "main") swapping = true;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful && event.detail.target && event.detail.target.id === "main") swapping = false;
  });

  // The language switch sits outside the swapped <main>: keep its "come back here"
  // address on the page the person is on now, so switching keeps the diagnosis.
  function followLocation() {
    var next = document.querySelector("form.language input[name=next]");
    if (next) next.value = window.location.pathname + window.location.search;
  }
  ["htmx:pushedIntoHistory", "htmx:replacedInHistory", "htmx:historyRestore", "popstate"].forEach(function (name) {
    (name === "popstate" ? window : document).addEventListener(name, followLocation);
  });

  // A server error (5xx) is not swapped by htmx (see htmx-config in base.html): show the
  // error page's content in place of the page, as a page would, instead of nothing at
  // all. Parsed, never run: no script in it executes.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var main = document.getElementById("main");
    if (!xhr || xhr.status < 500 || !main || event.detail.target !== main) return;
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var content = doc.querySelector("main") || doc.body;
    if (!content || !content.textContent.trim()) return;
    main.replaceChildren.apply(main, Array.prototype.slice.call(content.childNodes));
    swapping = false;
    var heading = main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.setAttribute("data-focus", "");
    }
    focusNewContent(main);
  });

  document.addEventListener("DOMContentLoaded", function () { enhance(document); enhanceCopy(document); });
  // Back and forward fetch the page afresh (htmx keeps no copies: historyCacheSize 0), so
  // it shows the answers as they are now; enhance it as any new page.
  document.addEventListener("htmx:historyRestore", function () {
    swapping = false;
    enhance(document);
    enhanceCopy(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var main = document.getElementById("main");
    if (event.detail.target === main) {
      swapping = false;
      enhance(main);
      enhanceCopy(main);
      focusNewContent(main);
      var console_ = document.querySelector("[data-console]");
      var key = pendingKey;
      pendingKey = null;
      var control = console_ && key && shortcut(console_, key);
      if (control) control.click();
    }
  });
})();
