// The upload box of /verify: posts the file to POST /v1/verify (polling the job for large media) and puts
// the answer into words. Every value from the answer is written with textContent: manifests are hostile.
(function () {
  "use strict";
  const form = document.getElementById("upload");
  const input = document.getElementById("file");
  const status = document.getElementById("status");
  const result = document.getElementById("result");
  const wordsEl = document.getElementById("verify-words");
  if (!form || !input || !status || !result || !wordsEl) return;
  const W = JSON.parse(wordsEl.textContent || "{}");
  const lang = W.lang === "en" ? "en" : "zh";
  const other = lang === "zh" ? "en" : "zh";
  const ui = W.ui[lang];
  const say = (table, key) => {
    const entry = key == null ? null : table[key];
    return entry ? entry[lang] : (key == null || key === "" ? "—" : String(key));
  };
  const put = (name, value) => {
    const el = result.querySelector('[data-field="' + name + '"]');
    if (el) el.textContent = value == null || value === "" ? "—" : String(value);
  };
  const show = (answer, file) => {
    const manifest = answer.manifest || {};
    const registry = answer.registry || {};
    const tier = answer.tier_display || null;
    const moderated = ["blocked", "pending_label", "refuted"].indexOf(answer.label_state) >= 0;
    const words = moderated ? W.states[answer.label_state] : (tier || answer.display || null);
    document.getElementById("result-tier").textContent = words ? words[lang] : ui.no_label;
    document.getElementById("result-tier-other").textContent = words ? words[other] : W.ui[other].no_label;
    result.setAttribute("data-tier", answer.tier || "none");
    result.setAttribute("data-verdict", answer.verdict || "");
    put("verdict", say(W.verdict, answer.verdict));
    put("issuer", manifest.issuer || registry.issuer);
    put("trust", say(W.trust, answer.issuer_trust));
    put("integrity", say(W.integrity, answer.integrity));
    put("generator", manifest.generator || manifest.claim_generator || registry.generator);
    put("publisher", manifest.publisher || registry.publisher);
    put("signed_at", manifest.signed_at || registry.signed_at);
    const link = document.getElementById("details-link");
    const registered = Boolean(answer.content_id && (answer.registry || (answer.detection || {}).match));
    link.href = registered ? "/verify/" + encodeURIComponent(answer.content_id) + "?lang=" + lang : "#";
    document.getElementById("registered").hidden = !registered;
    document.getElementById("unregistered").hidden = registered;
    result.hidden = false;
    status.textContent = "";
    // The report form (verify_report.js) offers to report this very file.
    document.dispatchEvent(new CustomEvent("avlabel:checked", { detail: { file, answer, registered } }));
  };
  const fail = (body) => {
    const err = (body && body.error) || {};
    status.textContent = ui.error + (err.code ? " (" + String(err.code) + ")" : "") + ": " +
      (err.message ? String(err.message) : ui.generic_error);
    status.className = "status error";
  };
  const poll = (url, tries, file) =>
    fetch(url).then((r) => r.json()).then((job) => {
      if (job.status === "done" && job.result) return show(job.result, file);
      if (job.status === "failed" || tries > 600) return fail({ error: job.error || {} });
      status.textContent = ui.queued + " " + Math.round((job.progress || 0) * 100) + "%";
      return new Promise((ok) => setTimeout(ok, 1000)).then(() => poll(url, tries + 1, file));
    });
  const send = (file) => {
    if (!file) return;
    result.hidden = true;
    status.className = "status";
    status.textContent = ui.checking;
    const body = new FormData();
    body.append("file", file, file.name || "upload");
    fetch("/v1/verify", { method: "POST", body })
      .then((r) => r.json().then((answer) => ({ r, answer })))
      .then(({ r, answer }) => {
        if (r.status === 202 && answer.status_url) {
          status.textContent = ui.queued;
          return poll(answer.status_url, 0, file);
        }
        return r.ok ? show(answer, file) : fail(answer);
      })
      .catch(() => fail(null));
  };
  input.addEventListener("change", () => send(input.files && input.files[0]));
  form.addEventListener("submit", (e) => { e.preventDefault(); send(input.files && input.files[0]); });
  ["dragenter", "dragover"].forEach((t) => form.addEventListener(t, (e) => {
    e.preventDefault(); form.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((t) => form.addEventListener(t, () => form.classList.remove("over")));
  form.addEventListener("drop", (e) => {
    e.preventDefault();
    const files = e.dataTransfer && e.dataTransfer.files;
    if (files && files[0]) send(files[0]);
  });
})();
