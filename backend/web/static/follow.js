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
  const WORDS = { received: "已收到 · Received", in_review: "审核中 · In review", decided: "已处理 · Decided" };
  // The handling steps and the service-level deadlines, as text.
  const steps = (body) => {
    const list = document.getElementById("steps");
    const heading = document.getElementById("steps-heading");
    const level = document.getElementById("service-level");
    if (!list || !Array.isArray(body.steps)) return;
    list.replaceChildren(...body.steps.map((s) => {
      const li = document.createElement("li");
      li.setAttribute("data-step", String(s.step));
      li.className = s.done ? "done" : "pending";
      const name = document.createElement("strong");
      name.textContent = WORDS[s.step] || String(s.step);
      li.append(name);
      if (s.at) li.append(" — " + String(s.at));
      if (s.due && !s.done) li.append(" — 期限 · due by " + String(s.due));
      return li;
    }));
    list.hidden = false;
    if (heading) heading.hidden = false;
    const lv = body.service_levels;
    if (level && lv) {
      level.textContent = "服务承诺：收到举报后 " + Math.round(lv.acknowledge_hours) + " 小时内开始审核，" +
        Math.round(lv.decide_hours) + " 小时内作出处理决定（本举报的处理期限：" + String(lv.decide_due) + "）。" +
        "Service level: review starts within " + Math.round(lv.acknowledge_hours) + " hours and a decision is made " +
        "within " + Math.round(lv.decide_hours) + " hours of a report (this report: by " + String(lv.decide_due) + ").";
      level.hidden = false;
    }
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
        const range = body.time_range;
        put("time_range", range ? range.start + " s – " + range.end + " s" : "—");
        steps(body);
        facts.hidden = false;
        const form = section.querySelector("form");
        if (form) form.hidden = true;
      })
      .catch(() => { if (status) status.textContent = "could not load the report"; });
  load();
  setInterval(load, 30000);
})();
