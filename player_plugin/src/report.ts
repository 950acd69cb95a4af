/**
 * The report dialog (Art. 15): a native modal <dialog> (top layer, rest of the page inert) with an
 * explicit focus trap, Escape to close and focus returned to whatever opened it.
 */

import { ApiFailure, postReport, safeUrl } from "./api";
import type { ReportReceipt } from "./api";
import { h } from "./dom";
import { CATEGORIES } from "./i18n";
import type { ReportCategory, TextKey } from "./i18n";

export interface ReportContext {
  api: string;
  contentId: string | null;
  mediaUrl: string;
  playbackTime: number | null;
  complaintContact: string | null;
  /** Other media on the page (a feed) the viewer may add to the same report. */
  others?: { contentId: string | null; mediaUrl: string }[];
}

const MAX_OTHERS = 19; // the server takes 20 items per report: this one and 19 more

let serial = 0;

export class ReportDialog {
  readonly dialog: HTMLDialogElement;
  private readonly form: HTMLFormElement;
  private readonly category: HTMLSelectElement;
  private readonly description: HTMLTextAreaElement;
  private readonly contact: HTMLInputElement;
  private readonly meta: HTMLDivElement;
  private readonly goodFaith: HTMLInputElement;
  private readonly start: HTMLInputElement;
  private readonly end: HTMLInputElement;
  private readonly othersBox: HTMLFieldSetElement;
  private readonly status: HTMLDivElement;
  private readonly submit: HTMLButtonElement;
  private ctx: ReportContext | null = null;
  private opener: HTMLElement | null = null;
  private inflight: AbortController | null = null;

  constructor(
    parent: Node,
    private readonly t: Record<TextKey, string>,
    signal: AbortSignal,
    private readonly onSent: (r: ReportReceipt) => void,
  ) {
    const id = `avl-report-${++serial}`;
    this.category = h("select", { id: `${id}-cat`, required: true });
    for (const c of CATEGORIES) {
      // Typed, not cast: a category without a text in i18n.ts fails the type check.
      this.category.append(h("option", { value: c }, t[`cat_${c}` as const]));
    }
    this.description = h("textarea", { id: `${id}-desc`, required: true, maxlength: "4000" });
    this.contact = h("input", { id: `${id}-contact`, type: "text", maxlength: "200", autocomplete: "email" });
    this.meta = h("div", { class: "meta" });
    const num = (name: string) =>
      h("input", { id: `${id}-${name}`, type: "number", min: "0", step: "0.1", inputmode: "decimal" });
    this.start = num("start");
    this.end = num("end");
    this.goodFaith = h("input", { id: `${id}-gf`, type: "checkbox", required: true, class: "gf" });
    this.othersBox = h("fieldset", { class: "others", hidden: true });
    this.status = h("div", { class: "status", role: "status", "aria-live": "polite" });
    this.submit = h("button", { type: "submit" }, t.submit);
    const cancel = h("button", { type: "button", value: "cancel" }, t.cancel);
    this.form = h(
      "form",
      { method: "dialog", novalidate: true },
      h("h2", { id: `${id}-title` }, t.reportTitle),
      h("label", { for: `${id}-cat` }, t.category),
      this.category,
      h("label", { for: `${id}-desc` }, t.description),
      this.description,
      h("label", { for: `${id}-contact` }, t.contact),
      this.contact,
      h("div", { class: "range", role: "group", "aria-label": t.range },
        h("span", {}, t.range),
        h("label", { for: `${id}-start` }, t.rangeStart), this.start,
        h("label", { for: `${id}-end` }, t.rangeEnd), this.end),
      this.othersBox,
      h("label", { for: `${id}-gf`, class: "check" }, this.goodFaith, t.goodFaith),
      this.meta,
      this.status,
      h("div", { class: "row" }, cancel, this.submit),
    );
    this.dialog = h("dialog", { role: "dialog", "aria-modal": "true", "aria-labelledby": `${id}-title` }, this.form);
    parent.appendChild(this.dialog);
    cancel.addEventListener("click", () => this.close(), { signal });
    this.form.addEventListener("submit", (e) => this.send(e), { signal });
    this.dialog.addEventListener("keydown", (e) => this.trap(e), { signal });
    this.dialog.addEventListener("close", () => this.restoreFocus(), { signal });
  }

  get isOpen(): boolean {
    return this.dialog.open;
  }

  open(ctx: ReportContext, opener: HTMLElement | null): void {
    this.ctx = ctx;
    this.opener = opener;
    const t = this.t;
    const lines: [string, string][] = [[t.media, ctx.mediaUrl]];
    if (ctx.contentId) lines.push([t.contentId, ctx.contentId]);
    if (ctx.playbackTime !== null) lines.push([t.time, clock(ctx.playbackTime)]);
    if (ctx.complaintContact) lines.push([t.complaint, ctx.complaintContact]);
    this.meta.replaceChildren(...lines.map(([k, v]) => h("div", {}, `${k}${k.endsWith(" ") || k.endsWith("：") ? "" : ": "}`, v)));
    const others = (ctx.others ?? []).slice(0, MAX_OTHERS);
    this.othersBox.replaceChildren(
      h("legend", {}, t.others),
      ...others.map((o, i) =>
        h("label", { class: "check" },
          h("input", { type: "checkbox", "data-i": String(i) }), o.contentId ?? o.mediaUrl)),
    );
    this.othersBox.hidden = others.length === 0;
    this.status.replaceChildren();
    this.submit.disabled = false;
    if (!this.dialog.open) this.dialog.showModal();
    this.category.focus();
  }

  close(): void {
    this.inflight?.abort();
    if (this.dialog.open) this.dialog.close();
  }

  private restoreFocus(): void {
    const opener = this.opener;
    this.opener = null;
    if (opener && opener.isConnected) opener.focus();
  }

  /** Tab and Shift+Tab cycle inside the dialog. Escape is the dialog's own `cancel`. */
  private trap(e: KeyboardEvent): void {
    if (e.key !== "Tab") return;
    const items = Array.from(
      this.dialog.querySelectorAll<HTMLElement>("select,textarea,input,button:not([disabled]),a[href]"),
    ).filter((el) => el.getClientRects().length > 0);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    const active = (this.dialog.getRootNode() as ShadowRoot).activeElement;
    if (e.shiftKey && active === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    }
  }

  private async send(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const ctx = this.ctx;
    if (!ctx) return;
    const t = this.t;
    const description = this.description.value.trim();
    if (!description) {
      this.status.replaceChildren(h("span", { class: "error" }, t.needDescription));
      this.description.focus();
      return;
    }
    const error = (text: string, focus: HTMLElement) => {
      this.status.replaceChildren(h("span", { class: "error", role: "alert" }, text));
      focus.focus();
    };
    const [a, b] = [this.start.value.trim(), this.end.value.trim()];
    const range = a || b ? { start: Number(a), end: Number(b) } : null;
    if (range && !(a && b && range.start >= 0 && range.start < range.end)) {
      error(t.err_invalid_time_range, a ? this.end : this.start);
      return;
    }
    if (!this.goodFaith.checked) {
      error(t.needGoodFaith, this.goodFaith);
      return;
    }
    const others = ctx.others ?? [];
    const items = Array.from(this.othersBox.querySelectorAll<HTMLInputElement>("input:checked"), (box) => {
      const o = others[Number(box.dataset.i)];
      return o.contentId ? { content_id: o.contentId } : { media_url: o.mediaUrl };
    });
    this.submit.disabled = true;
    this.status.replaceChildren(t.sending);
    this.inflight = new AbortController();
    try {
      const receipt = await postReport(
        ctx.api,
        {
          category: this.category.value as ReportCategory,
          description,
          ...(ctx.contentId ? { content_id: ctx.contentId } : {}),
          ...(ctx.mediaUrl ? { media_url: ctx.mediaUrl } : {}),
          ...(ctx.playbackTime !== null ? { playback_time: ctx.playbackTime } : {}),
          ...(this.contact.value.trim() ? { contact: this.contact.value.trim() } : {}),
          ...(range ? { time_range: range } : {}),
          ...(items.length ? { items } : {}),
          good_faith: true,
        },
        this.inflight.signal,
      );
      this.showReceipt(ctx, receipt);
      this.onSent(receipt);
      this.description.value = "";
      this.goodFaith.checked = false;
    } catch (err) {
      this.submit.disabled = false;
      this.status.replaceChildren(h("span", { class: "error", role: "alert" }, t.failed + failure(t, err)));
    }
  }

  private showReceipt(ctx: ReportContext, r: ReportReceipt): void {
    const t = this.t;
    const follow = safeUrl(ctx.api, r.follow_url);
    const parts: Node[] = [h("div", {}, t.sent, h("strong", { "data-report-id": r.id }, r.id))];
    if (r.secret) parts.push(h("div", {}, t.secret, h("code", {}, r.secret)));
    const link = follow ? h("a", { href: follow, target: "_blank", rel: "noopener noreferrer" }, t.follow) : null;
    if (link) parts.push(h("div", {}, link));
    this.status.replaceChildren(...parts);
    link?.focus();
  }
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const mm = String(Math.floor(s / 60)).padStart(2, "0");
  return `${mm}:${String(s % 60).padStart(2, "0")} (${seconds.toFixed(1)} s)`;
}

/** The service's error codes, in the viewer's language; never the server's own (English) text. */
function failure(t: Record<TextKey, string>, err: unknown): string {
  if (!(err instanceof ApiFailure)) return t.err_network;
  const key = `err_${err.code}` as TextKey;
  if (err.code && key in t) return t[key];
  if (err.status === 429) return t.err_rate;
  if (err.status >= 500 || !err.status) return t.err_server;
  return `${t.err_other} (${err.code ?? err.status})`;
}
