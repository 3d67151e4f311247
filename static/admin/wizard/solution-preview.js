// Live preview of a solution's Markdown steps, one per language, right under its field:
// rendered by the same sanitiser as the wizard (server side), so what the editor sees is
// what merchants get.
(function () {
  "use strict";
  function csrfToken() {
    // The CSRF cookie is HttpOnly: take the token from the change form itself.
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function follow(preview) {
    var field = document.getElementById(preview.getAttribute("data-preview-for"));
    if (!field) return;
    var timer = null;
    field.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        fetch(preview.getAttribute("data-preview-url"), {
          method: "POST",
          headers: { "X-CSRFToken": csrfToken() },
          body: new URLSearchParams({ steps: field.value }),
          credentials: "same-origin",
        })
          .then(function (response) { return response.json(); })
          .then(function (data) {
            preview.innerHTML = data.html;
            preview.setAttribute("data-previewed", field.value);
          });
      }, 300);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".steps-preview[data-preview-for]").forEach(follow);
  });
})();
