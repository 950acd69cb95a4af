/**
 * Native HLS (`<video src="….m3u8">`, where the browser plays it itself): `nativeAdapter(video)`.
 * The playlist URL is the media's own src; the adapter adds the shared adapter API and live().
 */

import type { AttachOptions } from "../options";
import { Binding } from "./common";
import type { StreamAdapter } from "./common";

/** True when this browser plays HLS without Media Source Extensions. */
export function playsNativeHls(media: HTMLMediaElement): boolean {
  return media.canPlayType("application/vnd.apple.mpegurl") !== "";
}

export function nativeAdapter(media: HTMLMediaElement, options: AttachOptions = {}): StreamAdapter {
  const b = new Binding("native", {
    source: () => media.currentSrc || media.getAttribute("src"),
    live: () => media.duration === Infinity,
  }, options);
  const sync = () => b.changed();
  media.addEventListener("loadstart", sync);
  b.on(() => media.removeEventListener("loadstart", sync));
  b.bind(media);
  return b;
}
