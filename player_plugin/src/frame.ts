/**
 * The wrapper: a shadow host that either wraps the media (its own element is what goes fullscreen)
 * or, for players that own their DOM (video.js), overlays a container. Everything it changes on the
 * media is recorded so `restore()` gives back the original DOM.
 */

import { applyStyles } from "./styles";
import { h } from "./dom";

export type MediaKind = "video" | "audio" | "img";
type Media = HTMLMediaElement | HTMLImageElement;

export class Frame {
  readonly host: HTMLElement;
  readonly root: ShadowRoot;
  readonly box: HTMLDivElement;
  readonly layer: HTMLDivElement;
  private readonly overlay: boolean;
  private readonly attrs = new Map<string, string | null>();
  private fsOverridden = false;
  private ro: ResizeObserver | null = null;
  /** Font size in px of every label text: max(14 px, 5 % of the media box's shortest side). */
  fontSize = 14;

  constructor(
    readonly media: Media,
    readonly kind: MediaKind,
    container: HTMLElement | undefined,
    signal: AbortSignal,
  ) {
    this.overlay = !!container;
    this.host = document.createElement("avlabel-frame");
    this.root = this.host.attachShadow({ mode: "open" });
    applyStyles(this.root);
    this.layer = h("div", { class: "layer", part: "layer" });
    this.box = h("div", { class: `box ${kind}` });
    if (container) {
      this.host.setAttribute("data-overlay", "");
      this.box.append(this.layer);
      container.append(this.host);
    } else {
      if (getComputedStyle(media).display === "block") this.host.setAttribute("data-display", "block");
      this.box.append(h("slot"), this.layer);
      const target = this.wrapped;
      target.replaceWith(this.host); // same task: a playing media element keeps playing
      this.host.append(target);
    }
    this.root.append(this.box);
    // Picture-in-picture would show the video without its label.
    if (kind === "video") this.setAttr("disablepictureinpicture", "");
    if (kind === "video" && !container) this.guardFullscreen(media as HTMLVideoElement, signal);
    const layout = () => this.layout();
    this.ro = new ResizeObserver(layout);
    this.ro.observe(media);
    this.ro.observe(this.host);
    window.addEventListener("resize", layout, { signal });
    document.addEventListener("fullscreenchange", layout, { signal });
    this.layout();
  }

  /** What goes inside the wrapper: the media, or the <picture> that must stay its parent. */
  private get wrapped(): Element {
    const parent = this.media.parentElement;
    return parent && parent.tagName === "PICTURE" ? parent : this.media;
  }

  /** Places the label layer exactly over the rendered media box and sizes the label text from it. */
  layout(): void {
    const hr = this.host.getBoundingClientRect();
    const mr = this.overlay ? hr : this.media.getBoundingClientRect();
    const side = Math.min(mr.width, mr.height);
    this.fontSize = Math.max(14, Math.ceil(side * 0.05));
    this.box.style.setProperty("--fs", `${this.fontSize}px`);
    if (this.kind !== "audio") {
      const s = this.layer.style;
      s.left = `${mr.left - hr.left}px`;
      s.top = `${mr.top - hr.top}px`;
      s.width = `${mr.width}px`;
      s.height = `${mr.height}px`;
    }
  }

  /** False once the page removed the wrapper or took the media out of it. */
  get intact(): boolean {
    return this.host.isConnected && this.media.isConnected && (this.overlay || this.host.contains(this.media));
  }

  get isFullscreen(): boolean {
    return document.fullscreenElement === this.host;
  }

  toggleFullscreen(): void {
    if (this.isFullscreen) void document.exitFullscreen().catch(() => undefined);
    else void this.host.requestFullscreen().catch(() => undefined);
  }

  /** The wrapper, never the bare video, goes fullscreen, so the labels stay on screen. */
  private guardFullscreen(video: HTMLVideoElement, signal: AbortSignal): void {
    this.setAttr("controlslist", `${video.getAttribute("controlslist") ?? ""} nofullscreen`.trim());
    if (!Object.prototype.hasOwnProperty.call(video, "requestFullscreen")) {
      const host = this.host;
      Object.defineProperty(video, "requestFullscreen", {
        configurable: true,
        writable: true,
        value: (o?: FullscreenOptions) => host.requestFullscreen(o),
      });
      this.fsOverridden = true;
    }
    document.addEventListener(
      "fullscreenchange",
      () => {
        if (document.fullscreenElement === video) {
          void document.exitFullscreen().then(() => this.host.requestFullscreen()).catch(() => undefined);
        }
      },
      { signal },
    );
  }

  private setAttr(name: string, value: string): void {
    if (!this.attrs.has(name)) this.attrs.set(name, this.media.getAttribute(name));
    this.media.setAttribute(name, value);
  }

  /** Removes the wrapper and gives back the media exactly as it was. */
  restore(): void {
    this.ro?.disconnect();
    this.ro = null;
    if (this.isFullscreen) void document.exitFullscreen().catch(() => undefined);
    for (const [name, value] of this.attrs) {
      if (value === null) this.media.removeAttribute(name);
      else this.media.setAttribute(name, value);
    }
    this.attrs.clear();
    if (this.fsOverridden) delete (this.media as Partial<HTMLVideoElement>).requestFullscreen;
    this.fsOverridden = false;
    if (this.overlay) this.host.remove();
    else if (this.wrapped.parentNode === this.host) this.host.replaceWith(this.wrapped);
  }
}
