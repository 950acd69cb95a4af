/**
 * The overlay: a host element with a closed shadow root whose content is a `popover="manual"` shown in
 * the top layer and positioned over the media box from measured geometry. The page's media element is
 * never moved (frameworks keep their DOM); ancestors' z-index, overflow, clip-path, transform, filter,
 * opacity and zoom cannot cover, clip or shrink what the top layer paints. The host goes at the end of
 * <html> (or inside a player container such as video.js's), where no ancestor but <html> can style it.
 */

import { applyStyles } from "./styles";
import { h } from "./dom";

export type MediaKind = "video" | "audio" | "img";
type Media = HTMLMediaElement | HTMLImageElement;
/** Why a required label is not visible right now (null: it is). */
export type Why = "removed" | "hidden" | "small" | "offscreen" | "covered" | "pip" | "detached";

type IO2Init = IntersectionObserverInit & { trackVisibility?: boolean; delay?: number };
type IO2Entry = IntersectionObserverEntry & { isVisible?: boolean };

export class Frame {
  readonly host: HTMLElement;
  readonly root: ShadowRoot;
  /** The popover in the top layer. */
  readonly top: HTMLDivElement;
  /** Positioned exactly over the media box (below it for audio). */
  readonly box: HTMLDivElement;
  private readonly probe: HTMLDivElement;
  private readonly parent: Node;
  private readonly attrs = new Map<string, string | null>();
  private readonly io: IntersectionObserver | null = null;
  /** Last IntersectionObserver v2 answer per element; undefined until a fresh one after a change. */
  private readonly seen = new Map<Element, boolean | undefined>();
  private zoom = 1;
  private raisedAt = 0;
  private raf = 0;
  private last = "";
  /** Font size in px of every label text: max(14 px, 5 % of the media box's shortest side). */
  fontSize = 14;

  constructor(
    readonly media: Media,
    readonly kind: MediaKind,
    private readonly container: HTMLElement | undefined,
    signal: AbortSignal,
    private readonly onLayout: () => void,
  ) {
    this.host = document.createElement("avlabel-frame");
    // Closed: page script gets no handle on the label, the cover or the Report button.
    this.root = this.host.attachShadow({ mode: "closed" });
    applyStyles(this.root);
    this.top = h("div", { class: "top", popover: "manual" });
    this.box = h("div", { class: `box ${kind}` });
    this.probe = h("div", { class: "probe" });
    this.top.append(this.probe, this.box);
    this.root.append(this.top);
    this.parent = container ?? document.documentElement;
    // Picture-in-picture would show the video without its label.
    if (kind === "video") this.setAttr("disablepictureinpicture", "");
    const layout = () => this.layout();
    const ro = new ResizeObserver(layout);
    ro.observe(container ?? media);
    signal.addEventListener("abort", () => ro.disconnect());
    window.addEventListener("resize", layout, { signal });
    document.addEventListener("scroll", layout, { signal, capture: true, passive: true });
    // Whatever went fullscreen (the video, its player, an ancestor) is now above us: come back on top.
    // (webkitRequestFullscreen() fires only the prefixed event.)
    for (const type of ["fullscreenchange", "webkitfullscreenchange"]) {
      document.addEventListener(type, () => this.raise(), { signal });
    }
    this.top.addEventListener("toggle", () => this.place(), { signal });
    if ("IntersectionObserver" in window) {
      try {
        this.io = new IntersectionObserver((entries) => {
          for (const e of entries as IO2Entry[]) this.seen.set(e.target, e.isVisible ?? e.isIntersecting);
          this.onLayout();
        }, { trackVisibility: true, delay: 100 } as IO2Init);
        signal.addEventListener("abort", () => this.io?.disconnect());
      } catch {
        /* no IntersectionObserver v2: the hit tests below still run */
      }
    }
    // The page removing the overlay gets it back before the next frame is painted.
    const mo = new MutationObserver(() => this.host.parentNode !== this.parent && this.place());
    mo.observe(this.parent, { childList: true });
    signal.addEventListener("abort", () => mo.disconnect());
    this.place();
    this.loop(signal);
  }

  /** Elements whose visibility IntersectionObserver v2 tracks. */
  watch(...els: Element[]): void {
    for (const el of els) this.io?.observe(el);
  }

  /** Puts the host back where it belongs and the popover in the top layer, if the page took them away. */
  place(): boolean {
    if (this.host.parentNode !== this.parent) {
      if (!this.parent.isConnected) return false;
      this.parent.appendChild(this.host);
    }
    if (!this.top.matches(":popover-open")) {
      try {
        this.top.showPopover();
      } catch {
        return false;
      }
      this.forget();
    }
    this.layout();
    return true;
  }

  /** Moves the popover to the top of the top layer (after a fullscreen change or a page popover). */
  raise(): void {
    this.raisedAt = performance.now();
    try {
      if (this.top.matches(":popover-open")) this.top.hidePopover();
    } catch {
      /* not shown */
    }
    this.place();
  }

  /** Drops IntersectionObserver answers given before a change (an element shown, the overlay moved). */
  forget(): void {
    for (const k of this.seen.keys()) this.seen.set(k, undefined);
  }

  private loop(signal: AbortSignal): void {
    // Transitions and animations move media without resize or scroll events: follow every frame.
    const tick = () => {
      if (signal.aborted) return;
      if (this.host.parentNode !== this.parent) this.place();
      this.layout();
      this.onLayout();
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
    signal.addEventListener("abort", () => cancelAnimationFrame(this.raf));
  }

  /** The rendered box the labels belong to. */
  get rect(): DOMRect {
    return (this.container ?? this.media).getBoundingClientRect();
  }

  /** Places the box over the rendered media and sizes the label text from it, in viewport px. */
  layout(): void {
    // Cancel any zoom the page put on <html> or the host's ancestors: measure a 100 px probe.
    const pw = this.probe.getBoundingClientRect().width;
    if (pw > 0 && Math.abs(pw - 100) > 0.5) {
      this.zoom = (this.zoom * 100) / pw;
      this.top.style.zoom = String(this.zoom);
    }
    const r = this.rect;
    const side = Math.min(r.width, r.height);
    const fs = Math.max(14, Math.ceil(side * 0.05));
    const audio = this.kind === "audio";
    const noBox = r.width < 1 && r.height < 1;
    const key = [r.left, r.top, r.width, r.height, fs, innerHeight].join();
    if (key === this.last) return;
    this.last = key;
    this.fontSize = fs;
    // Media the page does not render at all gets no label either (and may not play: see violation()).
    this.box.hidden = !audio && noBox;
    const s = this.box.style;
    s.setProperty("--fs", `${fs}px`);
    if (audio) {
      // Under the player, or at the bottom left of the window for audio without controls.
      s.left = `${noBox ? 8 : r.left}px`;
      s.top = noBox ? "" : `${r.bottom + 4}px`;
      s.bottom = noBox ? "8px" : "";
      s.width = `${Math.max(r.width, 240)}px`;
    } else {
      s.left = `${r.left}px`;
      s.top = `${r.top}px`;
      s.width = `${r.width}px`;
      s.height = `${r.height}px`;
      // Keep the badge bar in view while the top of the media is scrolled off.
      s.setProperty("--bt", `${Math.max(0, Math.min(-r.top, r.height - fs * 2.2 - 8))}px`);
    }
    this.forget();
  }

  /**
   * Null when every element in `els` is painted, at least its px height tall, on screen and on top at its
   * centre and corners; otherwise the reason. Covered, the overlay is raised back to the top.
   */
  violation(els: [HTMLElement, number][]): Why | null {
    const media = this.media;
    if (media.ownerDocument !== document || !media.isConnected) return "detached";
    if (document.pictureInPictureElement === media) return "pip";
    if (!this.place()) return "removed";
    const m = this.rect;
    if (this.kind !== "audio" && (m.width < 2 || m.height < 2)) return "hidden";
    for (const [el, minPx] of els) {
      const r = el.getBoundingClientRect();
      if (r.width < 1 || r.height < minPx - 0.5) return "small";
      if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return "hidden";
      const cover = el.classList.contains("cover");
      const area = cover ? clampToView(m) : r;
      if (!area) return "offscreen";
      if (!cover && (r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight)) return "offscreen";
      if (!this.onTop(el, area)) {
        // Back on top for the viewer, but playback stops: a page that covers the label once will again.
        this.raise();
        return "covered";
      }
      if (this.seen.get(el) === false) return "covered";
    }
    return null;
  }

  private onTop(el: HTMLElement, r: { left: number; top: number; right: number; bottom: number }): boolean {
    // Chromium paints top-layer content over a fullscreen <video> but hit-tests only the video:
    // there, IntersectionObserver v2 (what is painted) decides alone.
    if (document.fullscreenElement instanceof HTMLVideoElement) {
      // Answers about the frames before our last raise() are stale.
      if (this.seen.get(el) === false && performance.now() - this.raisedAt > 400) return false;
      if (this.seen.get(el) === false) this.seen.set(el, undefined);
      return true;
    }
    const xs = [r.left + 3, (r.left + r.right) / 2, r.right - 3];
    const ys = [r.top + 3, (r.top + r.bottom) / 2, r.bottom - 3];
    for (const [i, j] of [[1, 1], [0, 0], [2, 0], [0, 2], [2, 2]]) {
      const x = xs[i];
      const y = ys[j];
      if (document.elementFromPoint(x, y) !== this.host) return false;
      const hit = this.root.elementFromPoint(x, y);
      if (!hit || !el.contains(hit)) return false;
    }
    return true;
  }

  get isFullscreen(): boolean {
    return document.fullscreenElement === this.media;
  }

  toggleFullscreen(): void {
    if (this.isFullscreen) void document.exitFullscreen().catch(() => undefined);
    else void (this.media as HTMLVideoElement).requestFullscreen().catch(() => undefined);
  }

  private setAttr(name: string, value: string): void {
    if (!this.attrs.has(name)) this.attrs.set(name, this.media.getAttribute(name));
    this.media.setAttribute(name, value);
  }

  /** Removes the overlay and gives back the media's attributes exactly as they were. */
  restore(): void {
    for (const [name, value] of this.attrs) {
      if (value === null) this.media.removeAttribute(name);
      else this.media.setAttribute(name, value);
    }
    this.attrs.clear();
    try {
      this.top.hidePopover();
    } catch {
      /* not shown */
    }
    this.host.remove();
  }
}

function clampToView(r: DOMRect): { left: number; top: number; right: number; bottom: number } | null {
  const left = Math.max(0, r.left);
  const top = Math.max(0, r.top);
  const right = Math.min(innerWidth, r.right);
  const bottom = Math.min(innerHeight, r.bottom);
  return right - left > 6 && bottom - top > 6 ? { left, top, right, bottom } : null;
}
