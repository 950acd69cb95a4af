/** Which elements are attached, plus scan() and the MutationObserver that catches media added later. */

import { Attachment } from "./attach";
import type { AttachOptions, AvlabelHandle, Defaults } from "./attach";

const SELECTOR = "video[data-avlabel],audio[data-avlabel],img[data-avlabel]";
const defaults: Defaults = { api: "", refreshSeconds: 5 };
const handles = new Map<Element, Attachment>();
let observer: MutationObserver | null = null;

export function configure(options: Partial<Defaults>): void {
  Object.assign(defaults, options);
}

export function attach(el: Element, opts: AttachOptions = {}): AvlabelHandle {
  const existing = handles.get(el);
  if (existing) return existing;
  if (!(el instanceof HTMLMediaElement || el instanceof HTMLImageElement)) {
    throw new TypeError("avlabel.attach needs a <video>, <audio> or <img> element");
  }
  const handle = new Attachment(el as HTMLVideoElement | HTMLAudioElement | HTMLImageElement, opts, defaults,
    (a) => handles.delete(a.element));
  handles.set(el, handle);
  return handle;
}

export function handleOf(el: Element): AvlabelHandle | undefined {
  return handles.get(el);
}

/** Attaches to every media element under `root` that carries `data-avlabel` (video.js players excepted). */
export function scan(root: ParentNode = document): AvlabelHandle[] {
  const found: AvlabelHandle[] = [];
  const candidates = root instanceof Element && root.matches(SELECTOR) ? [root] : [];
  candidates.push(...Array.from(root.querySelectorAll(SELECTOR)));
  for (const el of candidates) {
    if (handles.has(el) || el.closest(".video-js")) continue;
    try {
      found.push(attach(el));
    } catch (err) {
      console.warn("avlabel:", err);
    }
  }
  return found;
}

function onMutations(records: MutationRecord[]): void {
  for (const r of records) {
    if (r.type === "attributes") {
      const el = r.target as Element;
      const handle = handles.get(el);
      if (handle && el.getAttribute("data-avlabel") !== r.oldValue) handle.dispose();
      if (el.hasAttribute("data-avlabel")) scan(el);
      continue;
    }
    for (const node of Array.from(r.addedNodes)) {
      if (node instanceof Element) scan(node);
    }
  }
  for (const handle of Array.from(handles.values())) {
    if (handle.detached) handle.dispose();
  }
}

/** Scans now and keeps attaching to media added later. */
export function observe(root: ParentNode = document): void {
  scan(root);
  if (observer) return;
  observer = new MutationObserver(onMutations);
  observer.observe(root instanceof Document ? root.documentElement : (root as Node), {
    childList: true,
    subtree: true,
    attributes: true,
    attributeOldValue: true,
    attributeFilter: ["data-avlabel"],
  });
}

/** Stops observing and disposes every attachment. */
export function disconnect(): void {
  observer?.disconnect();
  observer = null;
  for (const handle of Array.from(handles.values())) handle.dispose();
}
