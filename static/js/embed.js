// The embedded wizard (wizard/embed.py) tells the page around it what happened, as
// postMessage events {"type": "pos-upgrade-doctor", "event": ..., ...}; see
// docs/api.md. Events go only to the integration's allowed origins
// (data-embed-origins), never to "*".
(function () {
  "use strict";

  var KEY = "pos-upgrade-doctor:parent-origin";
  var body = document.body;
  var allowed;
  try {
    allowed = JSON.parse(body.getAttribute("data-embed-origins") || "[]");
  } catch (error) {
    allowed = [];
  }
  if (window.parent === window || !allowed.length) return;

  function remembered() {
    try { return window.sessionStorage.getItem(KEY); } catch (error) { return null; }
  }

  function remember(origin) {
    try { window.sessionStorage.setItem(KEY, origin); } catch (error) { /* storage refused */ }
  }

  // The parent's origin: Chromium and Safari name it; otherwise the first page's referrer
  // does (later pages' referrer is the wizard itself), remembered for this frame.
  function parentOrigin() {
    var ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length) return ancestors[0];
    if (document.referrer) {
      var origin = new URL(document.referrer).origin;
      if (origin !== window.location.origin) return origin;
    }
    return remembered();
  }

  var origin = parentOrigin();
  var targets;
  if (origin) {
    targets = allowed.indexOf(origin) === -1 ? [] : [origin];
    if (targets.length) remember(origin);
  } else {
    // Unknown parent: offer the message to each allowed origin; the browser delivers it
    // only where the parent's origin is the one named.
    targets = allowed;
  }

  function send(message) {
    message.type = "pos-upgrade-doctor";
    message.integration = body.getAttribute("data-embed");
    targets.forEach(function (target) { window.parent.postMessage(message, target); });
  }

  var event = body.getAttribute("data-embed-event");
  if (event === "finished") {
    send({
      event: "finished",
      code: body.getAttribute("data-embed-code"),
      status: body.getAttribute("data-embed-status"),
      cause: body.getAttribute("data-embed-cause")
    });
  } else if (event === "escalated") {
    send({
      event: "escalated",
      code: body.getAttribute("data-embed-code"),
      reference: body.getAttribute("data-embed-reference")
    });
  }

  // The page's height, so that the parent can size the iframe to fit.
  var height = 0;
  function resized() {
    var now = document.documentElement.scrollHeight;
    if (now !== height) {
      height = now;
      send({ event: "resize", height: now });
    }
  }
  resized();
  if (window.ResizeObserver) new window.ResizeObserver(resized).observe(document.body);
})();
