// The page's one way to the server: the API key, requests with the error shape the server
// answers ({code, message, errors}), versions (ETag / If-Match) and the banners that say
// why a request was refused. Banners carry their cause, so they go away when it is fixed:
// an auth banner when a key is accepted, a 429 banner when Retry-After has passed, an
// unreachable-server banner at the next answer.
import { $, $$, h, type Json } from "./dom";

const KEY = "onboard.apiKey";

// ---- The key: sessionStorage only, so it dies with the tab and never reaches a URL. ----
export const keyInput = $<HTMLInputElement>(document, "#api-key");
keyInput.value = sessionStorage.getItem(KEY) ?? "";
export const apiKey = () => keyInput.value.trim();

/** What the server says of the key in the field: `standard` may change, `restricted` reads. */
export type Privilege = "none" | "checking" | "standard" | "restricted" | "invalid" | "unknown";
let privilege: Privilege = "none";
const watchers = new Set<(p: Privilege) => void>();
export const currentPrivilege = () => privilege;
/** Calls `fn` now and at every change of the key's privilege; returns the unsubscribe. */
export function onPrivilege(fn: (p: Privilege) => void): () => void {
  watchers.add(fn);
  fn(privilege);
  return () => watchers.delete(fn);
}

const keyStatus = $(document, "#api-key-status");
const KEY_TEXT: Record<Privilege, string> = {
  none: "",
  checking: "Checking the key…",
  standard: "Standard key: can read, create, change and remove.",
  restricted: "Read-only key: lists and details only; creating, editing and removing need a standard key.",
  invalid: "This key is not accepted by the server.",
  unknown: "The key could not be checked now; the server checks it with each request.",
};
function setPrivilege(p: Privilege) {
  privilege = p;
  keyStatus.textContent = KEY_TEXT[p];
  keyStatus.dataset.state = p;
  if (p === "standard") clearBanners("auth", "forbidden");
  if (p === "restricted") clearBanners("auth");
  watchers.forEach((fn) => fn(p));
}

/**
 * Asks the server what the key may do: listing keys needs a standard key, so 200 means
 * standard, 403 restricted, 401 not accepted. A newer probe supersedes an older one.
 */
let probeId = 0;
async function probe() {
  const mine = ++probeId;
  if (!apiKey()) return setPrivilege("none");
  setPrivilege("checking");
  let p: Privilege = "unknown";
  try {
    const res = await fetch("/v1/keys?limit=1", { headers: { authorization: `Bearer ${apiKey()}` } });
    p = res.status === 200 ? "standard" : res.status === 403 ? "restricted" : res.status === 401 ? "invalid" : "unknown";
  } catch {
    p = "unknown";
  }
  if (mine === probeId) setPrivilege(p);
}
let typing: ReturnType<typeof setTimeout> | undefined;
keyInput.addEventListener("input", () => {
  sessionStorage.setItem(KEY, apiKey());
  clearTimeout(typing);
  setPrivilege(apiKey() ? "checking" : "none");
  typing = setTimeout(() => void probe(), 300);
});
void probe();

/**
 * A line after `host`'s banner that shows while the key is read-only, saying that `what`
 * needs a standard key; `then` also hears every change (true: may change records).
 */
export function readOnlyNote(host: Element, what: string, then?: (writable: boolean, p: Privilege) => void) {
  const note = h("p", { class: "readonly-note", hidden: "" }, h("strong", {}, "Read-only key. "), `This key may list and read; ${what} need${what.endsWith("s") ? "" : "s"} a standard key (enter one at the top of the page).`);
  $(host, ".banner").after(note);
  onPrivilege((p) => {
    note.hidden = p !== "restricted";
    then?.(p !== "restricted", p);
  });
}

// ---- Requests. ----
export interface Answer {
  status: number;
  ok: boolean;
  /** The JSON body ({} when there is none or it is not JSON). */
  data: Json;
  /** The record's version, for a later If-Match. */
  etag: string | null;
  res: Response;
}

export interface CallOptions {
  body?: unknown;
  /** `application/merge-patch+json` for a PATCH, JSON otherwise. */
  contentType?: string;
  ifMatch?: string | null;
  accept?: string;
  signal?: AbortSignal;
}

/** Thrown when the server could not be reached at all (no HTTP answer). */
export class Unreachable extends Error {}

export async function call(method: string, path: string, o: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (apiKey()) headers.authorization = `Bearer ${apiKey()}`;
  if (o.body !== undefined) headers["content-type"] = o.contentType ?? "application/json";
  if (o.ifMatch) headers["if-match"] = o.ifMatch;
  if (o.accept) headers.accept = o.accept;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: o.signal,
    });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    throw new Unreachable(String(e));
  }
  clearBanners("offline", "unavailable");
  if (res.status !== 401) clearBanners("auth");
  const ctype = res.headers.get("content-type") ?? "";
  const data: Json = ctype.includes("json") ? await res.json().catch(() => ({})) : {};
  return { status: res.status, ok: res.ok, data, etag: res.headers.get("etag"), res };
}

/** Query string of the non-empty values, in the order given. */
export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// ---- Banners: one `.banner` (role=alert) per panel or dialog. ----
export type Cause = "auth" | "forbidden" | "rate" | "unavailable" | "offline" | "other";

/** `Retry-After` in seconds, whether it is a number of seconds or an HTTP date. */
export function retrySeconds(res: Response): number | undefined {
  const v = res.headers.get("retry-after");
  if (!v) return undefined;
  const s = /^\d+$/.test(v) ? Number(v) : Math.ceil((Date.parse(v) - Date.now()) / 1000);
  return Number.isFinite(s) ? Math.max(s, 1) : undefined;
}

export function retryAfter(res: Response): string {
  const s = retrySeconds(res);
  return s === undefined ? " Try again in a moment." : ` Try again in ${s} second${s === 1 ? "" : "s"}.`;
}

export function banner(host: Element, cause?: Cause, ...content: (Node | string)[]) {
  const box = $(host, ".banner");
  box.replaceChildren(...(content.length ? [h("p", {}, ...content)] : []));
  if (content.length && cause) box.dataset.cause = cause;
  else delete box.dataset.cause;
}

export function clearBanners(...causes: Cause[]) {
  for (const box of $$(document, ".banner[data-cause]"))
    if (causes.includes(box.dataset.cause as Cause)) {
      box.replaceChildren();
      delete box.dataset.cause;
    }
}

const CAUSE: Record<number, Cause> = { 401: "auth", 403: "forbidden", 429: "rate", 503: "unavailable" };

/**
 * A refusal that belongs to no field, as a banner: `what` starts it ("Not created",
 * "Not saved"...), then the status, the server's message and what to do about it.
 */
export function refusal(host: Element, what: string, a: Answer) {
  const msg: string = a.data.message ?? a.res.statusText;
  const advice: Record<number, string> = {
    401: " Enter a valid API key at the top of the page.",
    403: " This key may only read; use a key with the standard privilege.",
    429: retryAfter(a.res),
    503: retryAfter(a.res),
  };
  const id = a.res.headers.get("x-request-id");
  const cause = CAUSE[a.status] ?? "other";
  banner(host, cause, h("strong", {}, `${what} (${a.status}). `), msg, advice[a.status] ?? (id ? ` Request id: ${id}.` : ""));
  if (cause === "rate") {
    // The limit is lifted after Retry-After: the banner goes with it.
    const box = $(host, ".banner");
    const text = box.textContent;
    setTimeout(() => box.textContent === text && banner(host), (retrySeconds(a.res) ?? 5) * 1000);
  }
}

export function unreachable(host: Element, then = "try again.") {
  banner(host, "offline", h("strong", {}, "The server could not be reached. "), `Check that onboard is running, then ${then}`);
}
