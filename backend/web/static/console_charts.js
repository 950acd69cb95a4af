// Console charts: the page embeds its figures as JSON (#chart-data); Chart.js (vendored, /static/) draws
// them. No inline script, so the strict page CSP holds.
(function () {
  "use strict";
  const holder = document.getElementById("chart-data");
  if (!holder || typeof window.Chart === "undefined") return;
  const data = JSON.parse(holder.textContent || "{}");
  const bar = (canvas, labels, values, label) =>
    new window.Chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ label, data: values }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const kind = canvas.getAttribute("data-chart");
    let chart = null;
    if (kind === "reports" && data.reports) {
      const cats = data.reports.by_category;
      chart = bar(canvas, Object.keys(cats), Object.values(cats), "reports");
    } else if (kind === "actions" && data.actions) {
      const types = data.actions.by_type;
      chart = bar(canvas, Object.keys(types), Object.values(types), "actions");
    } else if (kind === "appeals" && data.appeals) {
      const outcomes = data.appeals.by_outcome;
      chart = bar(canvas, Object.keys(outcomes), Object.values(outcomes), "appeals");
    } else if (kind === "agreement" && data.models) {
      chart = bar(canvas, data.models.map((m) => m.model),
        data.models.map((m) => (m.confirmation_rate == null ? 0 : m.confirmation_rate * 100)), "% confirmed");
    }
    if (chart) canvas.setAttribute("data-drawn", "true");
  });
})();
