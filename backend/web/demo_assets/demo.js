// The video.js example: the plugin registered itself as `player.avlabel` when it loaded.
(function () {
  "use strict";
  if (!window.videojs || !document.getElementById("vjs-demo")) return;
  window.videojs("vjs-demo").avlabel({ contentId: "demo-video" });
})();
