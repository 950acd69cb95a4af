/** video.js adapter (HLS/DASH through its VHS tech): `videojsAdapter(player, options)`. */

import type { AttachOptions } from "../options";
import { Binding } from "./common";
import type { StreamAdapter } from "./common";

/** The little of video.js (≥ 7) this adapter uses. */
export interface VideojsStreamPlayer {
  el(): Element;
  currentSrc(): string;
  duration(): number;
  pause(): unknown;
  liveTracker?: { isLive(): boolean };
  on(event: string, fn: () => void): unknown;
  off(event: string, fn: () => void): unknown;
}

export function videojsAdapter(player: VideojsStreamPlayer, options: AttachOptions = {}): StreamAdapter {
  const container = player.el() as HTMLElement;
  const b = new Binding("video.js", {
    source: () => player.currentSrc(),
    live: () => player.duration() === Infinity || !!player.liveTracker?.isLive(),
  }, { container, pause: () => void player.pause(), ...options });
  const sync = () => {
    b.bind(container.querySelector<HTMLMediaElement>("video,audio"));
    b.changed();
  };
  const gone = () => b.dispose();
  for (const event of ["sourceset", "loadstart", "loadedmetadata"]) {
    player.on(event, sync);
    b.on(() => player.off(event, sync));
  }
  player.on("dispose", gone);
  b.on(() => player.off("dispose", gone));
  sync();
  return b;
}
