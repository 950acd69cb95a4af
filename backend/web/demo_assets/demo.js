// The video.js example: the plugin registered itself as `player.avlabel` when it loaded.
(function () {
  "use strict";
  if (!window.videojs || !document.getElementById("vjs-demo")) return;
  window.videojs("vjs-demo").avlabel({ contentId: "demo-video" });
})();

// The upload form: POST /v1/ingest with the user's declaration; the answer is shown as text only.
(function () {
  "use strict";
  var form = document.getElementById("ingest-form");
  var out = document.getElementById("ingest-result");
  if (!form || !out) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = new FormData();
    body.append("file", form.elements.file.files[0]);
    body.append("uploader", form.elements.uploader.value);
    body.append("declared_ai", form.elements.declared_ai.checked ? "true" : "false");
    out.textContent = "…";
    fetch("/v1/ingest", { method: "POST", body: body,
                          headers: { Authorization: "Bearer " + form.elements.key.value } })
      .then(function (resp) { return resp.json(); })
      .then(function (answer) {
        var label = answer.label || {};
        out.textContent = answer.error ? answer.error.code + ": " + answer.error.message
          : "tier: " + answer.tier + "\n" + ((label.display && (label.display.zh + " / " + label.display.en)) || "")
            + "\ncontent id: " + answer.content_id + "\nlabelled file: " + answer.media_url;
      })
      .catch(function (err) { out.textContent = String(err); });
  });
})();
