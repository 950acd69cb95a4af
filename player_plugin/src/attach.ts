/** One attached media element: fetches and polls its label document and shows what the state requires. */

import { fetchLabel, labelUrl } from "./api";
import type { LabelDocument, LabelState } from "./api";
import { fillDetails } from "./details";
import { h } from "./dom";
import { Frame } from "./frame";
import type { MediaKind, Why } from "./frame";
import { pickLang, texts } from "./i18n";
import type { Lang, TextKey } from "./i18n";
import { badgeLabel, noticeText, pick } from "./label_text";
import { playPrompt } from "./prompt";
import type { AttachOptions, AvlabelHandle, Defaults } from "./options";
import { ReportDialog } from "./report";
import { imageCandidates, mediaUrlOf, pageMediaUrls } from "./media_urls";

const STOPPED = new Set<LabelState>(["blocked", "pending_label"]);
const HOLD_SECONDS = 5;

type Media = HTMLVideoElement | HTMLAudioElement | HTMLImageElement;
// Taken when the plugin loads, so page script that replaces them later cannot keep media playing.
const nativePause = HTMLMediaElement.prototype.pause;
const pausedOf = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, "paused")!.get!;
const playing = (m: HTMLMediaElement): boolean => !pausedOf.call(m);
/** Media whose label must be seen: played while out of the page, they are paused. */
const mustLabel = new WeakMap<Element, boolean>();
const guarded = new WeakSet<Element>();

function holdOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^(off|false|0)$/i.test(value)) return 0;
  if (/^(strict|always|)$/i.test(value)) return value ? Infinity : HOLD_SECONDS;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : HOLD_SECONDS;
}

export class Attachment implements AvlabelHandle {
  private readonly ac = new AbortController();
  private readonly frame: Frame;
  private readonly kind: MediaKind;
  private readonly t: Record<TextKey, string>;
  private readonly lang: Lang;
  private readonly api: string;
  private readonly contentId: string;
  private readonly noticeMs: number;
  private readonly audioPrompt: boolean;
  private readonly holdMs: number;
  private readonly refreshMs: number;
  private readonly pauseMedia: () => void;
  private readonly badge = h("button", { type: "button", class: "badge", "aria-expanded": "false", hidden: true });
  private readonly notice = h("div", { class: "notice", role: "status", hidden: true });
  private readonly why = h("div", { class: "why", role: "alert", hidden: true });
  private readonly cover = h("div", { class: "cover", role: "alert", hidden: true });
  private readonly refute = h("div", { class: "refute", role: "note", hidden: true });
  private readonly panel = h("div", { class: "panel", role: "region", hidden: true });
  private readonly reportButton: HTMLButtonElement;
  private report: ReportDialog | null = null;
  private doc: LabelDocument | null = null;
  private last: { etag: string | null; body: string } | null = null;
  /** The label document (or a 404) has answered at least once. */
  private loaded = false;
  /** No answer yet and the hold is over, or the last attempt failed before any answer. */
  private unavailable = false;
  private holdUntil = 0;
  private waiting = false;
  private prompted = false;
  private checking = false;
  private lastUrl = "";
  private shownState: LabelState = "unknown";
  private noticeTimer = 0;
  private pollTimer = 0;
  private retryTimer = 0;
  private failures = 0;
  private inflight: AbortController | null = null;
  /** A streaming adapter's source: the manifest/playlist URL the player loaded (not its blob: src). */
  private sourceOf: (() => string | null | undefined) | null = null;
  private sourceless = false;

  constructor(
    readonly element: Media,
    opts: AttachOptions,
    defaults: Defaults,
    private readonly onDispose: (a: Attachment) => void,
  ) {
    const ds = element.dataset;
    const signal = this.ac.signal;
    this.kind = element.tagName.toLowerCase() as MediaKind;
    this.contentId = (opts.contentId ?? ds.avlabel ?? "").trim() || "auto";
    this.api = (opts.api ?? ds.avlabelApi ?? defaults.api ?? location.origin).replace(/\/+$/, "");
    this.lang = pickLang(opts.lang, ds.avlabelLang, defaults.lang, element.closest("[lang]")?.getAttribute("lang"));
    this.t = texts(this.lang);
    const refresh = opts.refreshSeconds ?? (ds.avlabelRefresh ? Number(ds.avlabelRefresh) : defaults.refreshSeconds);
    this.refreshMs = refresh > 0 ? refresh * 1000 : 0;
    this.noticeMs = Math.max(3000, opts.noticeMs ?? 4000);
    const prompt = ds.avlabelAudioPrompt;
    this.audioPrompt = opts.audioPrompt ?? (prompt !== undefined && prompt !== "false");
    this.holdMs = 1000 * (opts.holdSeconds ?? holdOf(ds.avlabelHold) ?? HOLD_SECONDS);
    const media = element as HTMLMediaElement;
    this.pauseMedia = opts.pause ?? (() => nativePause.call(media));
    this.sourceOf = opts.source ?? null;

    this.frame = new Frame(element, this.kind, opts.container, signal, () => this.guard());
    const t = this.t;
    this.panel.id = "avl-details";
    this.badge.setAttribute("aria-controls", this.panel.id);
    this.reportButton = h("button", { type: "button", class: "tool report" }, t.report);
    const tools = h("span", { class: "tools" }, this.reportButton);
    if (this.kind === "video" && !opts.container) {
      const fs = h("button", { type: "button", class: "tool fullscreen" }, t.fullscreen);
      fs.addEventListener("click", () => this.frame.toggleFullscreen(), { signal });
      document.addEventListener(
        "fullscreenchange",
        () => (fs.textContent = this.frame.isFullscreen ? t.exitFullscreen : t.fullscreen),
        { signal },
      );
      tools.append(fs);
    }
    this.frame.box.append(
      this.cover,
      this.refute,
      this.notice,
      this.why,
      h("div", { class: "bar" }, this.badge, tools),
      this.panel,
    );
    this.frame.watch(this.badge, this.reportButton, this.cover);
    this.badge.addEventListener("click", () => this.togglePanel(), { signal });
    this.frame.box.addEventListener("keydown", (e) => e.key === "Escape" && this.togglePanel(false, true), { signal });
    this.reportButton.addEventListener("click", () => this.openReport(), { signal });
    // A click on the plugin's own controls never reaches the page (an enclosing link, a card's handler).
    this.frame.root.addEventListener("click", (e) => {
      e.stopPropagation();
      const target = e.target as Element;
      if (!target.closest("a,button,input,select,textarea,label,summary")) e.preventDefault();
    }, { signal });
    if (this.kind !== "img") {
      element.addEventListener("play", () => this.onPlay(true), { signal });
      element.addEventListener("playing", () => this.onPlay(false), { signal });
      element.addEventListener("timeupdate", () => this.guard(), { signal });
      element.addEventListener("loadstart", () => this.contentId === "auto" && this.mediaUrl() !== this.lastUrl
        && void this.refresh(), { signal });
      element.addEventListener("enterpictureinpicture", () => this.guard(), { signal });
      if (!guarded.has(element)) {
        guarded.add(element);
        // Outlives this attachment: labelled media taken out of the page must not play there unlabelled.
        element.addEventListener("play", () => !element.isConnected && mustLabel.get(element) && nativePause.call(media));
      }
    }
    // Backstop for what no event reports (a page popover drawn above ours, a class toggled on an ancestor).
    const tick = window.setInterval(() => this.guard(), 250);
    signal.addEventListener("abort", () => clearInterval(tick));
    if (this.holdMs > 0) this.startHold();
    void this.refresh();
    if (this.kind !== "img" && playing(media)) this.onPlay(true);
  }

  get state(): LabelState {
    if (this.unavailable && !this.loaded) return "unavailable";
    return this.doc?.state ?? "unknown";
  }

  get label(): LabelDocument | null {
    return this.doc;
  }

  /**
   * Looks the label up by `source()` (a streaming player's manifest URL) instead of the media's own
   * src, and re-fetches when that URL changes; null goes back to the media's src.
   */
  setSource(source: (() => string | null | undefined) | null): void {
    this.sourceOf = source;
    if (this.contentId === "auto" && this.mediaUrl() !== this.lastUrl) void this.refresh();
  }

  mediaUrl(): string {
    return mediaUrlOf(this.element, this.sourceOf);
  }

  /** An image's other URLs (its `src`, its and its <picture>'s `srcset` entries): a 2× file is the same image. */
  private candidates(): string[] {
    return imageCandidates(this.element);
  }

  async refresh(): Promise<void> {
    if (this.ac.signal.aborted) return;
    this.inflight?.abort();
    clearTimeout(this.retryTimer);
    clearTimeout(this.pollTimer);
    const inflight = (this.inflight = new AbortController());
    const abort = () => inflight.abort();
    this.ac.signal.addEventListener("abort", abort, { once: true });
    this.lastUrl = this.mediaUrl();
    // No URL yet (a stream player before its manifest): nothing to look up, nothing unavailable.
    const wasSourceless = this.sourceless;
    this.sourceless = this.contentId === "auto" && !this.lastUrl;
    if (this.sourceless) return this.settle();
    if (wasSourceless && !this.loaded && this.holdMs > 0) this.startHold(); // the hold counts from the first URL
    let ok = false;
    try {
      const got = await fetchLabel(labelUrl(this.api, this.contentId, [this.lastUrl, ...this.candidates()]),
        this.last, inflight.signal);
      ok = true;
      this.failures = 0;
      this.loaded = true;
      this.unavailable = false;
      if (got) {
        this.doc = got.doc;
        this.last = { etag: got.etag, body: got.body };
      }
    } catch (err) {
      if (inflight.signal.aborted) return;
      if (!this.loaded) console.warn("avlabel:", err);
      this.failures++;
      // Retry soon after a failure (1, 2, 4 … 30 s), whether or not polling is on.
      this.retryTimer = window.setTimeout(() => void this.refresh(), Math.min(30_000, 500 * 2 ** this.failures));
    } finally {
      this.ac.signal.removeEventListener("abort", abort);
    }
    if (inflight.signal.aborted) return;
    if (ok && this.refreshMs) {
      this.pollTimer = window.setTimeout(() => void (document.hidden ? this.schedule() : this.refresh()), this.refreshMs);
    }
    this.settle();
  }

  private schedule(): void {
    this.pollTimer = window.setTimeout(() => void (document.hidden ? this.schedule() : this.refresh()), this.refreshMs);
  }

  private get holding(): boolean {
    // Nothing to wait for without a URL (MSE media with no adapter): such media is not held.
    return !this.loaded && !this.sourceless && Date.now() < this.holdUntil;
  }

  private startHold(): void {
    this.holdUntil = Date.now() + this.holdMs;
    if (Number.isFinite(this.holdMs)) window.setTimeout(() => this.settle(), this.holdMs + 10);
  }

  /** After an answer, a failure or the end of the hold: show what we know, resume a held play. */
  private settle(): void {
    if (this.ac.signal.aborted) return;
    if (!this.loaded && !this.sourceless && (!this.holding || this.failures > 0)) this.unavailable = true;
    this.render();
    if (this.waiting && !this.holding) {
      this.waiting = false;
      if (!STOPPED.has(this.state)) void (this.element as HTMLMediaElement).play()?.catch(() => undefined);
    }
  }

  private onPlay(start: boolean): void {
    const media = this.element as HTMLMediaElement;
    if (!playing(media) || this.ac.signal.aborted) return;
    if (this.holding) {
      this.pauseMedia();
      this.waiting = true;
      return;
    }
    if (STOPPED.has(this.state)) {
      this.pauseMedia();
      return;
    }
    if (!this.guard()) return;
    this.why.hidden = true;
    const text = this.noticeText();
    if (!text) return;
    if (this.kind === "audio" && this.audioPrompt && !this.prompted) {
      this.prompted = true;
      this.pauseMedia();
      this.showNotice(text);
      void playPrompt().then(() => media.play()).catch(() => undefined);
      return;
    }
    if (this.notice.hidden && (start || media.currentTime < 1)) this.showNotice(text);
  }

  /** The elements that must be seen for this state: the cover, or the badge and the Report button. */
  private required(): [HTMLElement, number][] {
    if (!this.cover.hidden) return [[this.cover, 1]];
    return this.badge.hidden ? [] : [[this.badge, this.frame.fontSize], [this.reportButton, 14]];
  }

  /**
   * Viewability as a condition of playback: labelled or blocked media plays only while its label is
   * painted on top at its required size. False (and the media paused, the reason shown) otherwise.
   */
  private guard(): boolean {
    if (!this.frame || this.checking || this.ac.signal.aborted) return true;
    const required = this.required();
    mustLabel.set(this.element, required.length > 0);
    if (this.kind === "img") {
      if (required.length) this.frame.place();
      return true;
    }
    const media = this.element as HTMLMediaElement;
    if (document.pictureInPictureElement === media) void document.exitPictureInPicture().catch(() => undefined);
    if (!playing(media) || document.hidden || this.report?.isOpen) return true;
    if (this.holding || STOPPED.has(this.state)) {
      this.waiting ||= this.holding;
      this.pauseMedia();
      return false;
    }
    if (!required.length) return true;
    this.checking = true;
    let why: Why | null;
    try {
      why = this.frame.violation(required);
    } finally {
      this.checking = false;
    }
    if (!why) return true;
    this.pauseMedia();
    this.why.textContent = this.t[`why_${why}` as TextKey];
    this.why.hidden = false;
    console.warn(`avlabel: paused ${this.mediaUrl()}: label not visible (${why})`);
    return false;
  }

  private badgeLabel(): [string, string] | null {
    return badgeLabel(this.state, this.doc, this.t, this.lang);
  }

  private noticeText(): string | null {
    return noticeText(this.state, this.doc, this.t, this.lang);
  }

  private render(): void {
    const t = this.t;
    const state = this.state;
    const doc = this.doc;
    const badge = this.badgeLabel();
    if (this.badge.hidden === !!badge || this.cover.hidden === STOPPED.has(state)) this.frame.forget();
    this.badge.hidden = !badge;
    if (badge) {
      this.badge.textContent = badge[0];
      this.badge.className = `badge ${badge[1]}`;
      this.notice.className = `notice ${badge[1]}`;
    } else {
      this.togglePanel(false);
    }
    if (!this.noticeText()) this.hideNotice();
    else if (!this.notice.hidden) this.notice.textContent = this.noticeText();

    const stopped = STOPPED.has(state);
    this.cover.hidden = !stopped;
    if (stopped) {
      const reason = doc?.block?.reason;
      this.cover.replaceChildren(
        h("div", {}, pick(doc?.block, this.lang) || t[state as TextKey]),
        ...(reason ? [h("div", { class: "reason" }, reason)] : []),
      );
      this.why.hidden = true;
      if (this.kind !== "img" && playing(this.element as HTMLMediaElement)) this.pauseMedia();
    }
    const refutation = state === "refuted" ? doc?.refutation : null;
    this.refute.hidden = state !== "refuted";
    if (state === "refuted") {
      const url = refutation?.url && /^https?:/i.test(refutation.url) ? refutation.url : null;
      this.refute.replaceChildren(
        h("span", {}, pick(refutation, this.lang) || t.refuted),
        ...(url ? [h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, t.more)] : []),
      );
    }
    if (!this.panel.hidden) this.fillPanel();
    if (state !== this.shownState) {
      const previous = this.shownState;
      this.shownState = state;
      // However late the answer, labelled media already playing gets its opening notice now.
      const text = this.noticeText();
      if (text && this.kind !== "img" && playing(this.element as HTMLMediaElement)) this.showNotice(text);
      this.emit("avlabel:statechange", { state, previous, label: doc });
    }
    this.guard();
  }

  private emit(type: string, detail: unknown): void {
    this.element.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true, detail }));
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = window.setTimeout(() => this.hideNotice(), this.noticeMs);
  }

  private hideNotice(): void {
    clearTimeout(this.noticeTimer);
    this.notice.hidden = true;
  }

  private fillPanel(): void {
    if (this.doc) {
      const text = this.badgeLabel()?.[0] ?? this.state;
      fillDetails(this.panel, this.doc, this.t, this.api, text, () => this.togglePanel(false, true), this.lang);
    }
  }

  private togglePanel(open = this.panel.hidden, refocus = open === false): void {
    if (open === !this.panel.hidden) return;
    if (open && !this.doc) return;
    if (open) this.fillPanel();
    this.panel.hidden = !open;
    this.badge.setAttribute("aria-expanded", String(open));
    if (refocus && !open) this.badge.focus();
  }

  private openReport(): void {
    if (!this.report) {
      this.report = new ReportDialog(this.frame.root, this.t, this.ac.signal, (r) =>
        this.emit("avlabel:report", { id: r.id, status: r.status ?? null, contentId: this.doc?.content_id ?? null }));
    }
    const doc = this.doc;
    const media = this.element as HTMLMediaElement;
    // Reporting pauses playback: the playback time sent is the moment the viewer chose.
    if (this.kind !== "img" && playing(media)) this.pauseMedia();
    this.report.open(
      {
        api: this.api,
        contentId: doc?.content_id ?? (this.contentId === "auto" ? null : this.contentId),
        mediaUrl: this.mediaUrl(),
        playbackTime: this.kind === "img" ? null : media.currentTime,
        complaintContact: doc?.complaint_contact ?? null,
        others: pageMediaUrls(this.element),
      },
      this.reportButton,
    );
  }

  dispose(): void {
    if (this.ac.signal.aborted) return;
    this.ac.abort();
    this.inflight?.abort();
    clearTimeout(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.hideNotice();
    this.report?.close();
    this.frame.restore();
    this.onDispose(this);
  }

  /** True when the page removed the media from the document. */
  get detached(): boolean {
    return !this.element.isConnected;
  }
}
