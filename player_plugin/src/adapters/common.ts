/**
 * What every streaming adapter shares (player_plugin/README.md, "Streaming adapters"): it labels the
 * player's media element by the manifest or playlist URL the player loaded, follows source switches,
 * and gives the element back as it found it on dispose(). Adapters use the page's one plugin core
 * (the registry on `window`), so they stay a few hundred bytes and never label an element twice.
 */

import type { AttachOptions, AvlabelHandle } from "../options";
import type { StreamBinding } from "../registry";

/** The API every adapter returns; monitoring (and page script that made the adapter) reads it. */
export interface StreamAdapter {
  /** Which player: "hls.js", "dash.js", "shaka", "video.js" or "native". */
  readonly player: string;
  /** The media element the label is drawn over; null until the player has one. */
  readonly media: HTMLMediaElement | null;
  /** The label handle (state, label document, refresh()); null until the player has media. */
  readonly handle: AvlabelHandle | null;
  /** The manifest/playlist URL the label is looked up by ("" before the player loaded one). */
  source(): string;
  /** True once the player knows the stream is live (a growing playlist, a dynamic MPD). */
  live(): boolean;
  /** Removes the label (if this adapter attached it), its listeners and any patched player method. */
  dispose(): void;
}

/** Streams re-fetch their label every 5 s unless the page says otherwise: a block stops a live stream within that. */
export const STREAM_REFRESH_SECONDS = 5;
const STOPPED = new Set(["blocked", "pending_label"]);
const KEY = Symbol.for("avlabel.registry");

interface Core {
  stream?(el: Element, source: () => string | null | undefined, opts?: AttachOptions): StreamBinding;
}

function core(): Required<Core> {
  const r = (window as unknown as Record<symbol, Core | undefined>)[KEY];
  if (!r?.stream) throw new Error("avlabel: load avlabel-player.js (or import @avlabel/player) before an adapter");
  return r as Required<Core>;
}

export class Binding implements StreamAdapter {
  private bound: StreamBinding | null = null;
  private el: HTMLMediaElement | null = null;
  private seen = "";
  private stopped = false;
  private done = false;
  private readonly undo: (() => void)[] = [];
  private readonly onState = (e: Event): void => {
    const stopped = STOPPED.has((e as CustomEvent<{ state: string }>).detail?.state);
    if (stopped !== this.stopped) this.hooks.stop?.((this.stopped = stopped));
  };

  constructor(
    readonly player: string,
    private readonly hooks: {
      source: () => string | null | undefined;
      live: () => boolean;
      /** Called with true when the label stops playback (blocked, paused for labelling), false after. */
      stop?: (stopped: boolean) => void;
    },
    private readonly opts: AttachOptions,
  ) {}

  get media(): HTMLMediaElement | null {
    return this.el;
  }

  get handle(): AvlabelHandle | null {
    return this.bound?.handle ?? null;
  }

  source(): string {
    try {
      return this.hooks.source() || "";
    } catch {
      return "";
    }
  }

  live(): boolean {
    try {
      return this.hooks.live();
    } catch {
      return false;
    }
  }

  /** The player's media element, now (null: it has none). */
  bind(media: HTMLMediaElement | null | undefined): void {
    if (this.done || (media ?? null) === this.el) return;
    this.unbind();
    if (!media) return;
    this.el = media;
    this.seen = this.source();
    media.addEventListener("avlabel:statechange", this.onState);
    this.bound = core().stream(media, () => this.source(), {
      refreshSeconds: STREAM_REFRESH_SECONDS,
      ...this.opts,
    });
  }

  /** The player loaded (or switched to) a source: look the label up again if its URL changed. */
  changed(): void {
    const now = this.source();
    if (this.bound && now !== this.seen) {
      this.seen = now;
      void this.bound.handle.refresh();
    }
  }

  /** Registers an undo step, run once on dispose. */
  on(undo: () => void): void {
    this.undo.push(undo);
  }

  private unbind(): void {
    this.el?.removeEventListener("avlabel:statechange", this.onState);
    this.bound?.release();
    this.bound = null;
    this.el = null;
    this.stopped = false;
  }

  dispose(): void {
    if (this.done) return;
    this.unbind();
    this.done = true;
    for (const fn of this.undo.splice(0)) fn();
  }
}

/** `obj[name]` runs `before()` first until the adapter is disposed (e.g. a player's destroy()). */
export function before(b: Binding, obj: object, name: string, fn: () => void): void {
  const o = obj as Record<string, unknown>;
  const original = o[name];
  if (typeof original !== "function") return;
  const own = Object.prototype.hasOwnProperty.call(o, name);
  o[name] = function (this: unknown, ...args: unknown[]) {
    fn();
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  b.on(() => (own ? (o[name] = original) : delete o[name]));
}

/** Exposes an adapter factory to script-tag pages as `window.avlabelAdapters[name]`. */
export function expose(name: string, factory: unknown): void {
  const w = window as unknown as { avlabelAdapters?: Record<string, unknown> };
  (w.avlabelAdapters ??= {})[name] = factory;
}
