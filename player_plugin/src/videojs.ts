/** `player.avlabel({...})` for pages using video.js (an optional peer dependency). */

import type { AttachOptions, AvlabelHandle } from "./options";
import { attach, handleOf } from "./registry";

/** The little of video.js this plugin uses. */
export interface VideojsPlayer {
  el(): Element;
  pause(): unknown;
  /** The source the player was given (a stream's manifest URL with VHS, not the tech's blob: src). */
  currentSrc?(): string;
  ready(fn: () => void): unknown;
  on(event: string, fn: () => void): unknown;
  off(event: string, fn: () => void): unknown;
  avlabel?: (options?: AttachOptions) => AvlabelHandle;
}
export interface Videojs {
  registerPlugin(name: string, plugin: (this: VideojsPlayer, options?: AttachOptions) => unknown): unknown;
  getPlugin?(name: string): unknown;
  hook?(type: string, fn: (player: VideojsPlayer) => void): unknown;
  getPlayers?(): Record<string, VideojsPlayer | null | undefined>;
}

const handles = new WeakMap<VideojsPlayer, AvlabelHandle>();
const hooked = new WeakSet<Videojs>();

/** `data-avlabel` on the player element (`<video-js>`, the wrapper video.js made) or on its media. */
function wanted(player: VideojsPlayer): string | undefined {
  const el = player.el() as HTMLElement;
  const media = el.querySelector<HTMLElement>("video,audio");
  return el.dataset.avlabel ?? media?.dataset.avlabel;
}

function plugin(this: VideojsPlayer, options: AttachOptions = {}): AvlabelHandle {
  const player = this;
  const container = player.el() as HTMLElement;
  const media = container.querySelector("video,audio");
  if (!media) throw new Error("avlabel: the video.js player has no media element");
  // Only the first caller owns the attachment; later callers get a handle that cannot remove it.
  if (handles.has(player)) return handleOf(media) ?? handles.get(player)!;
  const handle: AvlabelHandle = attach(media, {
    contentId: wanted(player),
    ...options,
    container,
    pause: () => void player.pause(),
    source: () => player.currentSrc?.(),
  });
  handles.set(player, handle);
  const onDispose = () => handle.dispose();
  player.on("dispose", onDispose);
  const dispose = handle.dispose.bind(handle);
  // Disposed by its owner first: stop listening to the player too.
  handle.dispose = () => {
    player.off("dispose", onDispose);
    handles.delete(player);
    dispose();
  };
  return handle;
}

/**
 * Registers `player.avlabel()` and attaches by itself to every player, now and created later, whose
 * element or media carries `data-avlabel`.
 */
export function registerVideojsPlugin(videojs: Videojs): void {
  if (hooked.has(videojs)) return;
  hooked.add(videojs);
  if (!videojs.getPlugin?.("avlabel")) videojs.registerPlugin("avlabel", plugin);
  const auto = (player: VideojsPlayer) => {
    if (wanted(player) !== undefined) player.ready(() => void player.avlabel?.());
  };
  videojs.hook?.("setup", auto);
  for (const player of Object.values(videojs.getPlayers?.() ?? {})) if (player) auto(player);
}
