/**
 * Script-tag entry (IIFE): `<script src="…/plugin/avlabel-player.js" data-api="https://labels.example">`
 * sets `window.avlabel`, attaches to media with `data-avlabel` (now and later) and registers the
 * video.js plugin when video.js is on the page.
 */

import * as avlabel from "./index";
import { second } from "./registry";
import type { Videojs } from "./videojs";

declare global {
  interface Window {
    avlabel?: typeof avlabel;
    videojs?: Videojs;
  }
}

const script = document.currentScript as HTMLScriptElement | null;
if (second) console.warn("avlabel: the plugin is loaded twice; the first copy keeps the labels");
let origin = location.origin;
try {
  if (script?.src) origin = new URL(script.src, location.href).origin;
} catch {
  /* keep the page origin */
}
const refresh = Number(script?.dataset.avlabelRefresh);
if (!second) avlabel.configure({
  api: script?.dataset.api || origin,
  lang: script?.dataset.avlabelLang,
  ...(Number.isFinite(refresh) && script?.dataset.avlabelRefresh ? { refreshSeconds: refresh } : {}),
});
window.avlabel ??= avlabel;

function start(): void {
  if (window.videojs) avlabel.registerVideojsPlugin(window.videojs);
  avlabel.observe(document);
}

if (window.videojs) avlabel.registerVideojsPlugin(window.videojs);
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
else start();
