/** hls.js adapter: `hlsAdapter(hls, options)`, before or after `attachMedia`/`loadSource`. */

import type { AttachOptions } from "../options";
import { Binding } from "./common";
import type { StreamAdapter } from "./common";

/** The little of hls.js (≥ 1.0) this adapter uses. */
export interface HlsLike {
  readonly media: HTMLMediaElement | null;
  readonly url: string | null;
  readonly latestLevelDetails?: { live: boolean } | null;
  readonly levels?: ({ details?: { live: boolean } } | undefined)[];
  readonly currentLevel?: number;
  on(event: string, fn: (event: string, data: { media?: HTMLMediaElement }) => void): unknown;
  off(event: string, fn: (event: string, data: { media?: HTMLMediaElement }) => void): unknown;
  startLoad(): unknown;
  stopLoad(): unknown;
}

export function hlsAdapter(hls: HlsLike, options: AttachOptions = {}): StreamAdapter {
  const b = new Binding("hls.js", {
    source: () => hls.url,
    live: () => !!(hls.latestLevelDetails ?? hls.levels?.[Math.max(0, hls.currentLevel ?? 0)]?.details)?.live,
    // A blocked stream stops downloading segments too, and starts again when the block is lifted.
    stop: (stopped) => void (stopped ? hls.stopLoad() : hls.startLoad()),
  }, options);
  const listen = (event: string, fn: (event: string, data: { media?: HTMLMediaElement }) => void) => {
    hls.on(event, fn);
    b.on(() => hls.off(event, fn));
  };
  listen("hlsMediaAttaching", (_e, data) => b.bind(data?.media ?? hls.media));
  listen("hlsMediaAttached", (_e, data) => b.bind(data?.media ?? hls.media));
  listen("hlsMediaDetached", () => b.bind(null));
  listen("hlsManifestLoading", () => b.changed());
  listen("hlsManifestLoaded", () => b.changed());
  listen("hlsDestroying", () => b.dispose());
  b.bind(hls.media);
  return b;
}
