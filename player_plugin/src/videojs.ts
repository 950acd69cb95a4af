/** `player.avlabel({...})` for pages using video.js (an optional peer dependency). */

import type { AttachOptions, AvlabelHandle } from "./attach";
import { attach } from "./registry";

/** The little of video.js this plugin uses. */
export interface VideojsPlayer {
  el(): Element;
  pause(): unknown;
  ready(fn: () => void): unknown;
  on(event: string, fn: () => void): unknown;
}
export interface Videojs {
  registerPlugin(name: string, plugin: (this: VideojsPlayer, options?: AttachOptions) => unknown): unknown;
  getPlugin?(name: string): unknown;
}

export function registerVideojsPlugin(videojs: Videojs): void {
  if (videojs.getPlugin?.("avlabel")) return;
  videojs.registerPlugin("avlabel", function avlabel(this: VideojsPlayer, options: AttachOptions = {}) {
    const player = this;
    const container = player.el() as HTMLElement;
    const media = container.querySelector("video,audio");
    if (!media) throw new Error("avlabel: the video.js player has no media element");
    const handle: AvlabelHandle = attach(media, {
      contentId: (media as HTMLElement).dataset.avlabel ?? container.dataset.avlabel,
      ...options,
      container,
      pause: () => void player.pause(),
    });
    player.on("dispose", () => handle.dispose());
    return handle;
  });
}
