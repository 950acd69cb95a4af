/** The provenance panel behind the badge (progressive disclosure). Manifest strings are text only. */

import type { LabelDocument } from "./api";
import { safeUrl } from "./api";
import { h } from "./dom";
import type { Lang, TextKey } from "./i18n";

export function fillDetails(
  panel: HTMLElement,
  doc: LabelDocument,
  t: Record<TextKey, string>,
  api: string,
  stateText: string,
  onClose: () => void,
  lang: Lang = "zh",
): void {
  const tierText = doc.tier_display ? doc.tier_display[lang] || doc.tier_display.zh || doc.tier_display.en : null;
  const rows: [string, string | null | undefined][] = [
    [t.state, stateText],
    [t.tier, tierText],
    [t.issuer, doc.issuer],
    [t.publisher, doc.publisher],
    [t.generator, doc.generator],
    [t.signedAt, formatTime(doc.signed_at)],
    [t.signature, t[`sig_${doc.signature ?? "none"}` as TextKey] ?? String(doc.signature)],
    [t.streamC2pa, streamCredentials(doc, t)],
    // issuer trust and integrity are their own rows: neither changes the AI label above
    [t.issuerTrust, doc.issuer_trust ? (t[`trust_${doc.issuer_trust}` as TextKey] ?? doc.issuer_trust) : null],
    [t.integrity, doc.integrity ? (t[`integrity_${doc.integrity}` as TextKey] ?? doc.integrity) : null],
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

/** The monitor's latest check of the stream's fragmented-MP4 C2PA (server-side, c2pa's fragment reader). */
function streamCredentials(doc: LabelDocument, t: Record<TextKey, string>): string | null {
  const c2pa = doc.stream?.c2pa;
  if (!c2pa?.state) return null;
  const text = t[`c2pa_${c2pa.state}` as TextKey] ?? String(c2pa.state);
  return c2pa.issuer ? `${text} — ${c2pa.issuer}` : text;
}

function formatTime(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
