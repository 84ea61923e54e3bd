/* Convene registration widget.
 * <script src="https://HOST/embed.js" data-event="SLUG"></script>
 * Inserts the event's registration form in an iframe right after this tag and
 * resizes it to its content (the widget reports its height by postMessage). */
(function () {
  var script = document.currentScript;
  if (!script) return;
  var slug = script.getAttribute("data-event");
  if (!slug) return;
  var origin = new URL(script.src).origin;
  var iframe = document.createElement("iframe");
  iframe.src = origin + "/e/" + encodeURIComponent(slug) + "/widget";
  iframe.title = "Registration";
  iframe.setAttribute("data-convene-widget", slug);
  iframe.style.cssText = "width:100%;border:0;min-height:240px;";
  script.parentNode.insertBefore(iframe, script.nextSibling);
  window.addEventListener("message", function (e) {
    if (e.origin !== origin || e.source !== iframe.contentWindow) return;
    if (typeof e.data === "string" && e.data.indexOf("convene:height:") === 0) {
      var h = parseInt(e.data.slice(15), 10);
      if (h > 0 && h < 20000) iframe.style.height = h + "px";
    }
  });
})();
