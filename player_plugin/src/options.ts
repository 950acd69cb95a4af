/** What embedding code passes to attach(), and the handle it gets back. */

import type { LabelDocument, LabelState } from "./api";

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
  /**
   * Hold playback until the label document answered, at most this many seconds (0: no hold;
   * Infinity: until it answers). Default: `data-avlabel-hold` ("off", seconds or "strict"), else 5.
   */
  holdSeconds?: number;
  /** Draw over this element instead of the media, and keep the overlay inside it (e.g. video.js). */
  container?: HTMLElement;
  /** How to pause playback (e.g. `() => player.pause()`). Default: the media element's pause(). */
  pause?: () => void;
  /** The URL to look the label up by (a stream's manifest URL), read at each fetch. Default: the media's src. */
  source?: () => string | null | undefined;
}

export interface AvlabelHandle {
  readonly element: HTMLVideoElement | HTMLAudioElement | HTMLImageElement;
  /** The current label state ("unknown" until the first answer). */
  readonly state: LabelState;
  readonly label: LabelDocument | null;
  /** Re-fetches the label document now. */
  refresh(): Promise<void>;
  /**
   * Removes everything the plugin added and restores the original DOM. Only the handle returned to
   * the code whose `attach()` call made the attachment can do this; on any other handle it does nothing.
   */
  dispose(): void;
}

export interface Defaults {
  api: string;
  lang?: string;
  refreshSeconds: number;
}
