// Keyboard shortcuts for the console queue: j / k move the selection, Enter opens the selected case.
// Not while typing in a form field. Under the pages' strict CSP: a static file, no inline script.
(() => {
  "use strict";
  const rows = () => Array.from(document.querySelectorAll("#queue tbody tr[data-case-id]"));
  let index = -1;
  const select = (next) => {
    const all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, next));
    all.forEach((row, i) => {
      row.classList.toggle("selected", i === index);
      row.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    all[index].scrollIntoView({block: "nearest"});
    const link = all[index].querySelector("a");
    if (link) link.focus({preventScroll: true});
  };
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (target instanceof HTMLElement && target.closest("input, select, textarea, button")) return;
    if (event.key === "j") { select(index + 1); event.preventDefault(); }
    else if (event.key === "k") { select(index - 1); event.preventDefault(); }
    else if (event.key === "Enter" && index >= 0 && !(target instanceof HTMLAnchorElement)) {
      const link = rows()[index] && rows()[index].querySelector("a");
      if (link) { link.click(); event.preventDefault(); }
    }
  });
})();
