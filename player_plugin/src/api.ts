/** The two endpoints the plugin talks to (docs/contracts.md): label documents and reports. */

import type {
  Integrity,
  IssuerTrust,
  LabelState as ServerLabelState,
  ReportCategory,
  ReportStatus,
  Signature,
  Tier,
} from "./vocabulary";

// "unavailable" is the plugin's own: the label document could not be fetched.
export type LabelState = ServerLabelState | "unavailable";

export interface LocalText {
  zh?: string | null;
  en?: string | null;
}

export interface LabelDocument {
  content_id: string | null;
  state: LabelState;
  display?: LocalText | null;
  issuer?: string | null;
  publisher?: string | null;
  generator?: string | null;
  digital_source_type?: string | null;
  signed_at?: string | null;
  signature?: Signature | null;
  tier?: Tier | null;
  tier_display?: (LocalText & { short?: string }) | null;
  issuer_trust?: IssuerTrust | null;
  integrity?: Integrity | null;
  verify_url?: string | null;
  refutation?: (LocalText & { url?: string | null }) | null;
  block?: (LocalText & { reason?: string | null }) | null;
  complaint_contact?: string | null;
  updated_at?: string | null;
  /** A registered stream (POST /v1/streams): its declaration and the monitor's latest fragment C2PA result. */
  stream?: {
    live?: boolean;
    declaration?: string;
    c2pa?: { state?: "Trusted" | "Valid" | "Invalid" | null; issuer?: string | null } | null;
  } | null;
}

export interface ReportRequest {
  category: ReportCategory;
  description: string;
  content_id?: string;
  media_url?: string;
  playback_time?: number;
  contact?: string;
  good_faith: true;
  time_range?: { start: number; end: number };
  items?: { content_id?: string; media_url?: string }[];
}

export interface ReportReceipt {
  id: string;
  secret?: string;
  status?: ReportStatus;
  status_url?: string;
  follow_url?: string;
}

export const UNKNOWN: LabelDocument = { content_id: null, state: "unknown", signature: "none" };

/** Query parameters that only track the viewer; the service decides the match, this is a hint. */
const TRACKING = /^(utm_.*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|igshid|mc_cid|mc_eid|_ga|_gl|spm|share_source|share_medium|share_from|vd_source)$/i;

export function stripTracking(url: string): string {
  try {
    const u = new URL(url);
    for (const k of Array.from(u.searchParams.keys())) if (TRACKING.test(k)) u.searchParams.delete(k);
    return u.href;
  } catch {
    return url;
  }
}

/** `mediaUrls`: the URL shown first, then other candidates for the same element (the service takes the first it knows). */
export function labelUrl(api: string, contentId: string, mediaUrls: string[]): string {
  if (contentId === "auto") {
    const q = Array.from(new Set(mediaUrls.map(stripTracking)), (u) => `src=${encodeURIComponent(u)}`).slice(0, 8);
    return `${api}/v1/labels?${q.join("&")}`;
  }
  return `${api}/v1/labels/${encodeURIComponent(contentId)}`;
}

/**
 * Fetches a label document; null when unchanged. Same-origin requests carry If-None-Match themselves
 * (a 304 costs no body). Cross-origin ones leave revalidation to the HTTP cache (`no-cache`), because
 * a custom header would need a CORS preflight.
 */
export async function fetchLabel(
  url: string,
  previous: { etag: string | null; body: string } | null,
  signal: AbortSignal,
): Promise<{ doc: LabelDocument; body: string; etag: string | null } | null> {
  const sameOrigin = new URL(url, location.href).origin === location.origin;
  const headers: Record<string, string> = {};
  if (sameOrigin && previous?.etag) headers["If-None-Match"] = previous.etag;
  const res = await fetch(url, { cache: sameOrigin ? "no-store" : "no-cache", credentials: "omit", headers, signal });
  if (res.status === 304) return null;
  if (res.status === 404) return previous?.body === "404" ? null : { doc: UNKNOWN, body: "404", etag: null };
  if (!res.ok) throw new Error(`label request failed: HTTP ${res.status}`);
  const body = await res.text();
  if (body === previous?.body) return null;
  const doc = JSON.parse(body) as LabelDocument;
  if (!doc || typeof doc.state !== "string") throw new Error("malformed label document");
  return { doc, body, etag: res.headers.get("ETag") };
}

export async function postReport(api: string, report: ReportRequest, signal: AbortSignal): Promise<ReportReceipt> {
  const res = await fetch(`${api}/v1/reports`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(report),
    credentials: "omit",
    signal,
  });
  const data = (await res.json().catch(() => null)) as
    | (ReportReceipt & { error?: { code?: string } })
    | null;
  if (!res.ok || !data || typeof data.id !== "string") throw new ApiFailure(res.status, data?.error?.code);
  return data;
}

/** A refused request: the HTTP status and the service's error code (the dialog translates both). */
export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code?: string) {
    super(`HTTP ${status}${code ? ` ${code}` : ""}`);
  }
}

/** Resolves a path like /verify/c_1 against the API base; only http(s) URLs are ever used as links. */
export function safeUrl(api: string, url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url, api + "/");
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}
