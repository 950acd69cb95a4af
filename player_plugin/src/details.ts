/** The provenance panel behind the badge (progressive disclosure). Manifest strings are text only. */

import type { LabelDocument } from "./api";
import { safeUrl } from "./api";
import { h } from "./dom";
import type { TextKey } from "./i18n";

export function fillDetails(
  panel: HTMLElement,
  doc: LabelDocument,
  t: Record<TextKey, string>,
  api: string,
  stateText: string,
  onClose: () => void,
): void {
  const rows: [string, string | null | undefined][] = [
    [t.state, stateText],
    [t.issuer, doc.issuer],
    [t.publisher, doc.publisher],
    [t.generator, doc.generator],
    [t.signedAt, formatTime(doc.signed_at)],
    [t.signature, t[`sig_${doc.signature ?? "none"}` as TextKey] ?? String(doc.signature)],
  ];
  const dl = h("dl");
  for (const [name, value] of rows) {
    if (value) dl.append(h("dt", {}, name), h("dd", {}, value));
  }
  const close = h("button", { type: "button", class: "tool", "aria-label": t.close }, t.close);
  close.addEventListener("click", onClose);
  const verify = safeUrl(api, doc.verify_url);
  panel.replaceChildren(
    h("h2", {}, t.details),
    dl,
    ...(verify ? [h("p", {}, h("a", { href: verify, target: "_blank", rel: "noopener noreferrer" }, t.verify))] : []),
    close,
  );
}

function formatTime(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
