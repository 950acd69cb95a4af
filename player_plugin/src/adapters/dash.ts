/** dash.js adapter: `dashAdapter(player, options)` for a `dashjs.MediaPlayer()`, before or after initialize(). */

import type { AttachOptions } from "../options";
import { before, Binding } from "./common";
import type { StreamAdapter } from "./common";

/** The little of dash.js (≥ 4) this adapter uses. */
export interface DashLike {
  getVideoElement(): HTMLMediaElement;
  getSource(): string | object | null;
  isDynamic(): boolean;
  on(event: string, fn: () => void): unknown;
  off(event: string, fn: () => void): unknown;
  destroy?(): unknown;
  reset(): unknown;
}

function quiet<T>(fn: () => T): T | null {
  try {
    return fn(); // dash.js throws before initialize() and attachSource()
  } catch {
    return null;
  }
}

export function dashAdapter(player: DashLike, options: AttachOptions = {}): StreamAdapter {
  const b = new Binding("dash.js", {
    source: () => {
      const s = quiet(() => player.getSource());
      return typeof s === "string" ? s : null;
    },
    live: () => !!quiet(() => player.isDynamic()),
  }, options);
  const sync = () => {
    b.bind(quiet(() => player.getVideoElement()));
    b.changed();
  };
  for (const event of ["manifestLoadingStarted", "manifestLoaded", "streamInitialized", "canPlay"]) {
    player.on(event, sync);
    b.on(() => player.off(event, sync));
  }
  before(b, player, "reset", () => b.bind(null));
  before(b, player, "destroy", () => b.dispose());
  sync();
  return b;
}
