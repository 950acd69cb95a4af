// The reporter's follow page: the access code comes in the URL fragment (#secret=…), which is never
// sent to the server in the request line; it is sent only as an Authorization header. Text only.
(function () {
  "use strict";
  const section = document.getElementById("report");
  if (!section) return;
  const facts = section.querySelector("dl.facts");
  const status = section.querySelector(".status");
  const secret = new URLSearchParams(location.hash.replace(/^#/, "")).get("secret");
  if (!secret || !facts || !facts.hidden) return;
  const id = section.getAttribute("data-report-id");
  const put = (name, value) => {
    const el = facts.querySelector('[data-field="' + name + '"]');
    if (el) el.textContent = value == null ? "" : String(value);
  };
  const load = () =>
    fetch("/v1/reports/" + encodeURIComponent(id), { headers: { Authorization: "Bearer " + secret } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) {
          if (status) status.textContent = (body && body.error && body.error.message) || "not found";
          return;
        }
        put("status", body.status);
        put("category", body.category);
        put("content_id", body.content_id || body.media_url || body.sha256);
        put("created_at", body.created_at);
        put("description", body.description);
        put("outcome", body.outcome ? body.outcome.action : "not decided yet");
        put("reasons", body.outcome ? body.outcome.reasons : "");
        facts.hidden = false;
        const form = section.querySelector("form");
        if (form) form.hidden = true;
      })
      .catch(() => { if (status) status.textContent = "could not load the report"; });
  load();
  setInterval(load, 30000);
})();
