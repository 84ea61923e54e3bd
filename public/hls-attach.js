// Plays HLS streams on Stage pages: <video data-hls-src="…m3u8">. Browsers with
// native HLS (Safari, Chrome on Android) get the URL as their src; others load
// hls.js (vendored from npm at build time into /vendor/) once and attach it.
(function () {
  "use strict";
  var loading = null;
  function loadHls() {
    if (window.Hls) return Promise.resolve(window.Hls);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = "/vendor/hls.min.js";
        s.onload = function () { resolve(window.Hls); };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return loading;
  }
  // A live stream's playlist appears a few seconds after it starts: a
  // stream that cannot be loaded is tried again every 2 s for a minute
  // before the failure is shown. False when it gave up.
  function retry(video, why) {
    var tries = Number(video.getAttribute("data-hls-tries") || "0");
    if (tries >= 30 || !video.isConnected) {
      video.setAttribute("data-hls-error", why);
      return false;
    }
    video.setAttribute("data-hls-tries", String(tries + 1));
    // Still marked attached while it waits, so the page's other changes
    // (each of which scans) do not attach it early; a new source meanwhile
    // was attached by the scan.
    var url = video.getAttribute("data-hls-attached");
    setTimeout(function () {
      if (video.getAttribute("data-hls-attached") !== url) return;
      video.removeAttribute("data-hls-attached");
      if (video.isConnected) attach(video);
    }, 2000);
    return true;
  }
  function attach(video) {
    var url = video.getAttribute("data-hls-src");
    if (!url || video.getAttribute("data-hls-attached") === url) return;
    video.setAttribute("data-hls-attached", url);
    if (!video.hasAttribute("data-hls-watched")) {
      // Once it plays, a later failure has the whole minute again.
      video.setAttribute("data-hls-watched", "");
      video.addEventListener("playing", function () { video.removeAttribute("data-hls-tries"); });
    }
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.addEventListener("error", function () { retry(video, "native"); }, { once: true });
      video.src = url;
      return;
    }
    loadHls().then(function (Hls) {
      if (!Hls || !Hls.isSupported()) {
        video.setAttribute("data-hls-error", "unsupported");
        return;
      }
      var hls = new Hls();
      hls.on(Hls.Events.ERROR, function (_e, data) {
        if (!data || !data.fatal) return;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
          hls.destroy();
          retry(video, data.type);
          return;
        }
        video.setAttribute("data-hls-error", data.type || "fatal");
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    }, function () {
      video.setAttribute("data-hls-error", "hls.js not available");
    });
  }
  function scan() {
    document.querySelectorAll("video[data-hls-src]").forEach(attach);
  }
  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
