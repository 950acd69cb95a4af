/** Which words the badge and the opening notice show for a label state, in the viewer's language. */

import type { LabelDocument, LabelState, LocalText } from "./api";
import type { Lang, TextKey } from "./i18n";

const NOTICE_STATES = new Set<LabelState>(["signed_synthetic", "possibly_synthetic", "refuted"]);

export function pick(text: LocalText | null | undefined, lang: Lang): string | null {
  if (!text) return null;
  return text[lang] || text.zh || text.en || null;
}

/** The label text and style class for the badge, or null when the state has no badge. */
export function badgeLabel(state: LabelState, doc: LabelDocument | null, t: Record<TextKey, string>,
  lang: Lang): [string, string] | null {
  if (state === "unavailable") return [t.unavailable, "unavailable"];
  if (!doc) return null;
  const shown = pick(doc.display, lang);
  switch (doc.state) {
    case "signed_synthetic":
      return [shown || t.signed_synthetic, "signed_synthetic"];
    case "possibly_synthetic":
      return [shown || t.possibly_synthetic, "possibly_synthetic"];
    case "tampered":
      return [shown || t.tampered, "tampered"];
    case "signed_not_synthetic":
      return [t.credentials, "signed_not_synthetic"];
    case "refuted":
      return shown ? [shown, "signed_synthetic"] : null;
    default:
      return null;
  }
}

/** The opening notice's text: the badge's, for the states that open with a notice. */
export function noticeText(state: LabelState, doc: LabelDocument | null, t: Record<TextKey, string>,
  lang: Lang): string | null {
  const b = badgeLabel(state, doc, t, lang);
  return b && NOTICE_STATES.has(state) ? b[0] : null;
}
