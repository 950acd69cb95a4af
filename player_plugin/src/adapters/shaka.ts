/** Shaka Player adapter: `shakaAdapter(player, options)` for a `shaka.Player`, before or after attach()/load(). */

import type { AttachOptions } from "../options";
import { before, Binding } from "./common";
import type { StreamAdapter } from "./common";

/** The little of Shaka Player (≥ 4) this adapter uses. */
export interface ShakaLike {
  getMediaElement(): HTMLMediaElement | null;
  getAssetUri(): string | null;
  isLive(): boolean;
  addEventListener(type: string, fn: () => void): unknown;
  removeEventListener(type: string, fn: () => void): unknown;
  destroy(): unknown;
  detach?(): unknown;
}

export function shakaAdapter(player: ShakaLike, options: AttachOptions = {}): StreamAdapter {
  const b = new Binding("shaka", { source: () => player.getAssetUri(), live: () => player.isLive() }, options);
  const sync = () => {
    b.bind(player.getMediaElement());
    b.changed();
  };
  for (const type of ["loading", "manifestparsed", "loaded", "trackschanged"]) {
    player.addEventListener(type, sync);
    b.on(() => player.removeEventListener(type, sync));
  }
  before(b, player, "detach", () => b.bind(null));
  before(b, player, "destroy", () => b.dispose());
  sync();
  return b;
}
