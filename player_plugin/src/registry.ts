/**
 * Which elements are attached, plus scan() and the MutationObserver that catches media added later.
 * One registry per page: a second copy of the plugin (two script tags, script tag + ES module) hands
 * everything to the first, so no element is labelled twice.
 */

import { Attachment } from "./attach";
import type { AttachOptions, AvlabelHandle, Defaults } from "./options";

const SELECTOR = "video[data-avlabel],audio[data-avlabel],img[data-avlabel]";

/** What a streaming adapter holds: the handle, and how to give the element back as it found it. */
export interface StreamBinding {
  readonly handle: AvlabelHandle;
  /** Disposes the attachment if this call made it; otherwise only drops the source it set. */
  release(): void;
}

interface Registry {
  stream(el: Element, source: () => string | null | undefined, opts?: AttachOptions): StreamBinding;
  configure(options: Partial<Defaults>): void;
  attach(el: Element, opts?: AttachOptions): AvlabelHandle;
  handleOf(el: Element): AvlabelHandle | undefined;
  scan(root?: ParentNode): AvlabelHandle[];
  observe(root?: ParentNode): void;
  disconnect(): void;
}

/** What page script gets for media someone else attached: it can read and refresh, not remove. */
class View implements AvlabelHandle {
  constructor(
    private readonly a: Attachment,
    private readonly owner: boolean,
  ) {}
  get element() {
    return this.a.element;
  }
  get state() {
    return this.a.state;
  }
  get label() {
    return this.a.label;
  }
  refresh(): Promise<void> {
    return this.a.refresh();
  }
  dispose(): void {
    if (this.owner) this.a.dispose();
    else console.warn("avlabel: dispose() ignored: this handle did not attach the element");
  }
}

function local(): Registry {
  const defaults: Defaults = { api: "", refreshSeconds: 5 };
  const handles = new Map<Element, Attachment>();
  let observer: MutationObserver | null = null;

  const make = (el: Element, opts: AttachOptions): Attachment | null => {
    if (handles.has(el)) return null;
    if (!(el instanceof HTMLMediaElement || el instanceof HTMLImageElement)) {
      throw new TypeError("avlabel.attach needs a <video>, <audio> or <img> element");
    }
    const a = new Attachment(el as HTMLVideoElement | HTMLAudioElement | HTMLImageElement, opts, defaults,
      (x) => handles.delete(x.element));
    handles.set(el, a);
    return a;
  };

  const scan = (root: ParentNode = document): AvlabelHandle[] => {
    const found: AvlabelHandle[] = [];
    const candidates = root instanceof Element && root.matches(SELECTOR) ? [root] : [];
    candidates.push(...Array.from(root.querySelectorAll(SELECTOR)));
    for (const el of candidates) {
      if (handles.has(el) || el.closest(".video-js") || !el.isConnected) continue;
      try {
        const a = make(el, {});
        if (a) found.push(new View(a, false));
      } catch (err) {
        console.warn("avlabel:", err);
      }
    }
    return found;
  };

  const onMutations = (records: MutationRecord[]): void => {
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
    // Media the page took out of the document (a framework replacing nodes) lose their attachment;
    // put back, they are attached afresh. Moved within the page (insertBefore), they keep it.
    for (const handle of Array.from(handles.values())) {
      if (handle.detached) handle.dispose();
    }
  };

  return {
    configure: (options) => void Object.assign(defaults, options),
    stream(el, source, opts = {}) {
      const existing = handles.get(el);
      const a = existing ?? make(el, { ...opts, source })!;
      if (existing) existing.setSource(source);
      return {
        handle: new View(a, !existing),
        release: () => (existing ? a.setSource(null) : a.dispose()),
      };
    },
    attach(el, opts = {}) {
      const existing = handles.get(el);
      if (existing) return new View(existing, false);
      return new View(make(el, opts)!, true);
    },
    handleOf(el) {
      const a = handles.get(el);
      return a && !a.detached ? new View(a, false) : undefined;
    },
    scan,
    observe(root = document) {
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
    },
    disconnect() {
      observer?.disconnect();
      observer = null;
    },
  };
}

const KEY = Symbol.for("avlabel.registry");
type Holder = { [KEY]?: Registry };
const holder = window as unknown as Holder;
/** True when another copy of the plugin was already on the page (this one then only forwards). */
export const second = !!holder[KEY];
if (!second) Object.defineProperty(window, KEY, { value: local(), configurable: false, writable: false });
const registry = holder[KEY]!;

export function configure(options: Partial<Defaults>): void {
  registry.configure(options);
}

/**
 * Attaches to a media element. The returned handle can `dispose()` the attachment; if the element
 * was already attached (by the script tag, or other code), the handle can read and refresh only.
 */
export function attach(el: Element, opts: AttachOptions = {}): AvlabelHandle {
  return registry.attach(el, opts);
}

/**
 * For streaming adapters: labels `el` by the URL `source()` returns (the manifest or playlist the
 * player loaded), attaching it if nobody has. See player_plugin/README.md, "Streaming adapters".
 */
export function attachStream(el: Element, source: () => string | null | undefined,
  opts: AttachOptions = {}): StreamBinding {
  return registry.stream(el, source, opts);
}

/** A read-only handle: state, label, refresh(); its dispose() does nothing. */
export function handleOf(el: Element): AvlabelHandle | undefined {
  return registry.handleOf(el);
}

/** Attaches to every media element under `root` that carries `data-avlabel` (video.js players excepted). */
export function scan(root: ParentNode = document): AvlabelHandle[] {
  return registry.scan(root);
}

/** Scans now and keeps attaching to media added later. */
export function observe(root: ParentNode = document): void {
  registry.observe(root);
}

/** Stops attaching to media added later. Labels already shown stay (remove `data-avlabel` to drop one). */
export function disconnect(): void {
  registry.disconnect();
}
