// Live preview of a solution's Markdown steps, rendered by the same sanitiser as the
// wizard (server side), so what the editor sees is what merchants get.
(function () {
  "use strict";
  function csrfToken() {
    // The CSRF cookie is HttpOnly: take the token from the change form itself.
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  document.addEventListener("DOMContentLoaded", function () {
    var preview = document.querySelector(".steps-preview[data-preview-url]");
    if (!preview) return;
    var fields = document.querySelectorAll("textarea[name^='steps']");
    var timer = null;
    fields.forEach(function (field) {
      field.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          var body = new URLSearchParams({ steps: field.value });
          fetch(preview.getAttribute("data-preview-url"), {
            method: "POST",
            headers: { "X-CSRFToken": csrfToken() },
            body: body,
            credentials: "same-origin",
          })
            .then(function (response) { return response.json(); })
            .then(function (data) { preview.innerHTML = data.html; });
        }, 300);
      });
    });
  });
})();
