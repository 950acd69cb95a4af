/** The URLs a media element is looked up by: what it plays, an image's other sizes, a feed's other media. */

/** The absolute URL the media plays ("" for none yet, or for a MediaSource's blob: URL). */
export function mediaUrlOf(el: HTMLElement, source: (() => string | null | undefined) | null): string {
  const src = source?.() || (el as HTMLMediaElement).currentSrc || el.getAttribute("src")
    || el.querySelector("source[src]")?.getAttribute("src") || "";
  // A MediaSource's blob: URL names nothing the service knows; wait for the adapter's source.
  if (!src || src.startsWith("blob:")) return "";
  try {
    return new URL(src, document.baseURI).href;
  } catch {
    return src;
  }
}

/** An image's other URLs (its `src`, its and its <picture>'s `srcset` entries): a 2× file is the same image. */
export function imageCandidates(el: HTMLElement): string[] {
  if (!(el instanceof HTMLImageElement)) return [];
  const sets = [el, ...Array.from(el.parentElement?.tagName === "PICTURE"
    ? el.parentElement.querySelectorAll("source") : [])].map((e) => e.getAttribute("srcset") ?? "");
  const urls = [el.getAttribute("src") ?? "", ...sets.flatMap((s) => s.split(",").map((c) => c.trim().split(/\s+/)[0]))];
  const out: string[] = [];
  for (const u of urls) {
    if (!u || /^(blob|data):/i.test(u)) continue;
    try {
      out.push(new URL(u, document.baseURI).href);
    } catch {
      /* not a URL */
    }
  }
  return out;
}

/** The page's other labelled media (a feed), which the viewer may add to the same report. */
export function pageMediaUrls(self: Element): { contentId: string | null; mediaUrl: string }[] {
  const out: { contentId: string | null; mediaUrl: string }[] = [];
  for (const el of Array.from(document.querySelectorAll<HTMLElement>("[data-avlabel]"))) {
    if (el === self) continue;
    const id = el.getAttribute("data-avlabel");
    const src = (el as HTMLMediaElement).currentSrc || el.getAttribute("src") || "";
    const mediaUrl = src ? new URL(src, document.baseURI).href : "";
    if ((id && id !== "auto") || mediaUrl) out.push({ contentId: id && id !== "auto" ? id : null, mediaUrl });
  }
  return out;
}
