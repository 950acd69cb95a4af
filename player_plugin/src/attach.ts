/** One attached media element: fetches and polls its label document and shows what the state requires. */

import { fetchLabel, labelUrl } from "./api";
import type { LabelDocument, LabelState, LocalText } from "./api";
import { fillDetails } from "./details";
import { h } from "./dom";
import { Frame } from "./frame";
import type { MediaKind } from "./frame";
import { pickLang, texts } from "./i18n";
import type { Lang, TextKey } from "./i18n";
import { ReportDialog } from "./report";

export interface AttachOptions {
  /** A content id, or "auto" to look the label up by the media URL. Default: `data-avlabel`, else "auto". */
  contentId?: string;
  /** API base URL. Default: `data-avlabel-api`, the script tag's `data-api`, else the script's origin. */
  api?: string;
  /** "zh…" → Chinese, anything else → English. Default: `data-avlabel-lang`, else the nearest `lang`. */
  lang?: string;
  /** Seconds between label re-fetches; 0 turns polling off. Default: `data-avlabel-refresh`, else 5. */
  refreshSeconds?: number;
  /** How long the opening notice stays, in ms; never less than 3000. Default 4000. */
  noticeMs?: number;
  /** Audio only: a short audible prompt before playback of labelled audio. Default: `data-avlabel-audio-prompt`. */
  audioPrompt?: boolean;
  /** Draw over this element instead of wrapping the media (players that own their DOM, e.g. video.js). */
  container?: HTMLElement;
  /** How to pause playback (e.g. `() => player.pause()`). Default: the media element's pause(). */
  pause?: () => void;
}

export interface AvlabelHandle {
  readonly element: HTMLVideoElement | HTMLAudioElement | HTMLImageElement;
  /** The current label state ("unknown" until the first answer). */
  readonly state: LabelState;
  readonly label: LabelDocument | null;
  /** Re-fetches the label document now. */
  refresh(): Promise<void>;
  /** Removes everything the plugin added and restores the original DOM. */
  dispose(): void;
}

export interface Defaults {
  api: string;
  lang?: string;
  refreshSeconds: number;
}

const NOTICE_STATES = new Set<LabelState>(["signed_synthetic", "possibly_synthetic", "refuted"]);
const STOPPED = new Set<LabelState>(["blocked", "pending_label"]);
const FIRST_LOAD_WAIT_MS = 2500;

type Media = HTMLVideoElement | HTMLAudioElement | HTMLImageElement;

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
  private readonly pauseMedia: () => void;
  private readonly badge = h("button", { type: "button", class: "badge", "aria-expanded": "false", hidden: true });
  private readonly notice = h("div", { class: "notice", role: "status", hidden: true });
  private readonly cover = h("div", { class: "cover", role: "alert", hidden: true });
  private readonly refute = h("div", { class: "refute", role: "note", hidden: true });
  private readonly panel = h("div", { class: "panel", role: "region", hidden: true });
  private readonly reportButton: HTMLButtonElement;
  private report: ReportDialog | null = null;
  private doc: LabelDocument | null = null;
  private last: { etag: string | null; body: string } | null = null;
  private loaded = false;
  private waiting = false;
  private prompted = false;
  private lastUrl = "";
  private noticeTimer = 0;
  private pollTimer = 0;
  private inflight: AbortController | null = null;

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
    this.noticeMs = Math.max(3000, opts.noticeMs ?? 4000);
    const prompt = ds.avlabelAudioPrompt;
    this.audioPrompt = opts.audioPrompt ?? (prompt !== undefined && prompt !== "false");
    this.pauseMedia = opts.pause ?? (() => (element as HTMLMediaElement).pause());

    this.frame = new Frame(element, this.kind, opts.container, signal);
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
    this.frame.layer.append(
      this.cover,
      this.refute,
      this.notice,
      h("div", { class: "bar" }, this.badge, tools),
      this.panel,
    );
    this.badge.addEventListener("click", () => this.togglePanel(), { signal });
    this.frame.layer.addEventListener("keydown", (e) => e.key === "Escape" && this.togglePanel(false, true), { signal });
    this.reportButton.addEventListener("click", () => this.openReport(), { signal });
    if (this.kind !== "img") {
      element.addEventListener("play", () => this.onPlay(), { signal });
      element.addEventListener("loadstart", () => this.contentId === "auto" && this.mediaUrl() !== this.lastUrl
        && void this.refresh(), { signal });
    }
    if (refresh > 0) {
      this.pollTimer = window.setInterval(() => document.hidden || void this.refresh(), refresh * 1000);
    }
    void this.refresh();
    if (this.kind !== "img" && !(element as HTMLMediaElement).paused) this.onPlay();
  }

  get state(): LabelState {
    return this.doc?.state ?? "unknown";
  }

  get label(): LabelDocument | null {
    return this.doc;
  }

  mediaUrl(): string {
    const el = this.element;
    const src = el.currentSrc || el.getAttribute("src") || el.querySelector("source[src]")?.getAttribute("src") || "";
    try {
      return new URL(src, document.baseURI).href;
    } catch {
      return src;
    }
  }

  async refresh(): Promise<void> {
    if (this.ac.signal.aborted) return;
    this.inflight?.abort();
    const inflight = (this.inflight = new AbortController());
    const abort = () => inflight.abort();
    this.ac.signal.addEventListener("abort", abort, { once: true });
    this.lastUrl = this.mediaUrl();
    try {
      const got = await fetchLabel(labelUrl(this.api, this.contentId, this.lastUrl), this.last, inflight.signal);
      if (got) {
        this.doc = got.doc;
        this.last = { etag: got.etag, body: got.body };
        this.render();
      }
    } catch (err) {
      if (!inflight.signal.aborted && !this.loaded) console.warn("avlabel:", err);
    } finally {
      this.ac.signal.removeEventListener("abort", abort);
      if (!inflight.signal.aborted) this.settle();
    }
  }

  /** After the first answer (or failure), a play held back while loading goes ahead if allowed. */
  private settle(): void {
    if (this.ac.signal.aborted) return;
    this.loaded = true;
    if (this.waiting) {
      this.waiting = false;
      if (!STOPPED.has(this.state)) void (this.element as HTMLMediaElement).play()?.catch(() => undefined);
    }
  }

  private onPlay(): void {
    const media = this.element as HTMLMediaElement;
    if (!this.loaded) {
      this.pauseMedia();
      if (!this.waiting) {
        this.waiting = true;
        window.setTimeout(() => this.settle(), FIRST_LOAD_WAIT_MS);
      }
      return;
    }
    if (STOPPED.has(this.state)) {
      this.pauseMedia();
      return;
    }
    const text = this.noticeText();
    if (!text) return;
    if (this.kind === "audio" && this.audioPrompt && !this.prompted) {
      this.prompted = true;
      this.pauseMedia();
      this.showNotice(text);
      void beep().then(() => media.play()).catch(() => undefined);
      return;
    }
    if (media.currentTime < 1 || this.notice.hidden) this.showNotice(text);
  }

  private pick(text: LocalText | null | undefined): string | null {
    if (!text) return null;
    return text[this.lang] || text.zh || text.en || null;
  }

  /** The label text and style class for the badge, or null when the state has no badge. */
  private badgeLabel(): [string, string] | null {
    const doc = this.doc;
    if (!doc) return null;
    const t = this.t;
    const shown = this.pick(doc.display);
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

  private noticeText(): string | null {
    const b = this.badgeLabel();
    return b && NOTICE_STATES.has(this.state) ? b[0] : null;
  }

  private render(): void {
    const doc = this.doc;
    if (!doc) return;
    const t = this.t;
    const badge = this.badgeLabel();
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

    const stopped = STOPPED.has(doc.state);
    this.cover.hidden = !stopped;
    if (stopped) {
      const reason = doc.block?.reason;
      this.cover.replaceChildren(
        h("div", {}, this.pick(doc.block) || t[doc.state as TextKey]),
        ...(reason ? [h("div", { class: "reason" }, reason)] : []),
      );
      if (this.kind !== "img" && !(this.element as HTMLMediaElement).paused) this.pauseMedia();
    }
    const refutation = doc.state === "refuted" ? doc.refutation : null;
    this.refute.hidden = doc.state !== "refuted";
    if (doc.state === "refuted") {
      const url = refutation?.url && /^https?:/i.test(refutation.url) ? refutation.url : null;
      this.refute.replaceChildren(
        h("span", {}, this.pick(refutation) || t.refuted),
        ...(url ? [h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, t.more)] : []),
      );
    }
    if (!this.panel.hidden) this.fillPanel();
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
      fillDetails(this.panel, this.doc, this.t, this.api, text, () => this.togglePanel(false, true));
    }
  }

  private togglePanel(open = this.panel.hidden, refocus = open === false): void {
    if (open === !this.panel.hidden) return;
    if (open) this.fillPanel();
    this.panel.hidden = !open;
    this.badge.setAttribute("aria-expanded", String(open));
    if (refocus && !open) this.badge.focus();
  }

  private openReport(): void {
    if (!this.report) this.report = new ReportDialog(this.frame.root, this.t, this.ac.signal);
    const doc = this.doc;
    this.report.open(
      {
        api: this.api,
        contentId: doc?.content_id ?? (this.contentId === "auto" ? null : this.contentId),
        mediaUrl: this.mediaUrl(),
        playbackTime: this.kind === "img" ? null : (this.element as HTMLMediaElement).currentTime,
        complaintContact: doc?.complaint_contact ?? null,
      },
      this.reportButton,
    );
  }

  dispose(): void {
    if (this.ac.signal.aborted) return;
    this.ac.abort();
    this.inflight?.abort();
    clearInterval(this.pollTimer);
    this.hideNotice();
    this.report?.close();
    this.frame.restore();
    this.onDispose(this);
  }

  /** True when the page removed the media or the wrapper from the document. */
  get detached(): boolean {
    return !this.frame.intact;
  }
}

/** A short two-tone prompt (GB 45438 allows a rhythm prompt for audio) before labelled audio plays. */
function beep(): Promise<void> {
  const Ctx = window.AudioContext;
  if (!Ctx) return Promise.resolve();
  const ctx = new Ctx();
  const now = ctx.currentTime;
  [880, 660].forEach((freq, i) => {
    const at = now + i * 0.25;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.22);
  });
  return new Promise((resolve) => window.setTimeout(() => void ctx.close().finally(resolve), 550));
}
