// The report form of the verification pages: posts to POST /v1/reports (the plugin's report flow) and links
// the reporter's follow page. On /verify it reports the file just checked: by its registered id or its hash,
// and, with "attach the file" ticked, the file itself (multipart). Errors are shown by their code; text only.
(function () {
  "use strict";
  const form = document.getElementById("report");
  const wordsEl = document.getElementById("report-words");
  if (!form || !wordsEl) return;
  const W = JSON.parse(wordsEl.textContent || "{}");
  const status = document.getElementById("report-status");
  const done = document.getElementById("report-done");
  const follow = document.getElementById("report-follow");
  const attach = document.getElementById("report-attach");
  const attachRow = document.getElementById("report-attach-row");
  const say = (code) => W.errors[code] || W.errors.generic;
  let checked = null; // {file, answer, registered} from verify.js
  document.addEventListener("avlabel:checked", (e) => {
    checked = e.detail || null;
    if (attach && attachRow && checked) {
      attach.checked = !checked.registered; // an unregistered file is only known to moderators by its bytes
      attachRow.hidden = false;
    }
    status.textContent = "";
    done.hidden = true;
  });
  const target = () => {
    const id = form.getAttribute("data-content-id");
    if (id) return { content_id: id };
    if (!checked) return {};
    const answer = checked.answer || {};
    if (checked.registered && answer.content_id) return { content_id: String(answer.content_id) };
    return answer.sha256 ? { sha256: String(answer.sha256) } : {};
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const goodFaith = document.getElementById("report-good-faith").checked;
    if (!goodFaith) { status.textContent = say("good_faith_required"); return; }
    const fields = Object.assign({
      category: document.getElementById("report-category").value,
      description: document.getElementById("report-description").value,
    }, target());
    let init;
    if (attach && attach.checked && checked && checked.file) {
      const body = new FormData();
      Object.keys(fields).forEach((k) => body.append(k, fields[k]));
      body.append("good_faith", "true");
      body.append("file", checked.file, checked.file.name || "upload");
      init = { method: "POST", body };
    } else {
      fields.good_faith = true;
      init = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(fields) };
    }
    status.textContent = "";
    fetch("/v1/reports", init)
      .then((r) => r.json().then((answer) => ({ r, answer })))
      .then(({ r, answer }) => {
        if (!r.ok) { status.textContent = say(((answer || {}).error || {}).code); return; }
        status.textContent = W.ui.sent;
        follow.href = String(answer.follow_url || "#");
        done.hidden = false;
      })
      .catch(() => { status.textContent = say("network"); });
  });
})();
