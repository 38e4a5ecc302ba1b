// What the People and Sponsors views share: a dialog that gives focus back to where it was
// opened, a confirmation, edit forms made from the create forms' markup, merge patches of
// what changed, what changed meanwhile (after a 412), and lists paged by the API's `next`.
import { banner, call, readOnlyNote, refusal, unreachable, type Answer } from "./api";
import { $, $$, fmt, h, type Control, type Json } from "./dom";
import { dropForm, focusFirstError, get, put, render, serverErrors, settleChips, valueOf, type State } from "./fields";

// ---- Dialogs: native <dialog> (modal, Escape closes), focus back to the opener. ----
export function dialog(labelId: string, ...kids: (Node | string)[]): HTMLDialogElement {
  const d = h("dialog", { "aria-labelledby": labelId, class: "detail" }, ...kids) as HTMLDialogElement;
  document.body.append(d);
  return d;
}

/** Opens `d` modally; when it closes, focus goes back to `opener` (or its replacement). */
export function openDialog(d: HTMLDialogElement, opener: () => HTMLElement | null | undefined) {
  d.addEventListener("close", () => opener()?.focus(), { once: true });
  d.showModal();
}

/**
 * Asks to confirm `action` (the button's words), with `body` explaining what it does.
 * Resolves true when confirmed; Escape or Cancel resolve false.
 */
export function confirmDialog(title: string, body: (Node | string)[], action: string): Promise<boolean> {
  const id = `confirm-${Date.now()}`;
  const yes = h("button", { type: "button", class: "danger" }, action);
  const no = h("button", { type: "button", class: "secondary" }, "Cancel");
  const d = dialog(id, h("h2", { id }, title), ...body.map((b) => (typeof b === "string" ? h("p", {}, b) : b)), h("div", { class: "row actions" }, yes, no));
  d.classList.add("confirm");
  const back = document.activeElement as HTMLElement | null;
  return new Promise((ok) => {
    let answer = false;
    yes.onclick = () => ((answer = true), d.close());
    no.onclick = () => d.close();
    d.addEventListener("close", () => {
      d.remove();
      if (!answer) back?.focus();
      ok(answer);
    });
    d.showModal();
    no.focus();
  });
}

// ---- Read-only keys: edit controls are absent and a line says why. ----
/**
 * Calls `draw` now and whenever the key's privilege changes (writable: may change records;
 * accepted: the server took the key, so a list refused for its key may be asked again).
 */
export function whenWritable(panel: HTMLElement, draw: (writable: boolean, accepted: boolean) => void) {
  readOnlyNote(panel, "editing, removing and new passwords", (w, p) => draw(w, p === "standard" || p === "restricted"));
}

// ---- Edit forms, made from the create forms' markup (see create.ts `pristine`). ----
/**
 * A copy of a create form's fields as an edit form: ids get `prefix` instead of their own
 * (so labels still point at their controls), the submit says `submit`.
 */
export function editForm(from: HTMLFormElement, prefix: string, submit: string, drop: string[] = []): HTMLFormElement {
  const form = from.cloneNode(true) as HTMLFormElement;
  form.removeAttribute("id");
  delete form.dataset.endpoint;
  for (const sel of drop) $$(form, sel).forEach((el) => el.remove());
  for (const el of $$(form, "[id]")) el.id = el.id.replace(/^[a-z]+-/, `${prefix}-`);
  for (const l of $$<HTMLLabelElement>(form, "label[for]")) l.htmlFor = l.htmlFor.replace(/^[a-z]+-/, `${prefix}-`);
  const button = $(form, "[type=submit]");
  button.textContent = submit;
  const cancel = h("button", { type: "button", class: "secondary cancel" }, "Cancel");
  button.after(cancel);
  return form;
}

export function discardForm(form: HTMLFormElement) {
  dropForm(form);
  form.remove();
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * The JSON Merge Patch (RFC 7396) from `record` to what the form holds: changed fields
 * with their new value, emptied optional fields as null, untouched fields absent.
 */
export function patchOf(form: HTMLFormElement, record: Json): Json {
  const patch: Json = {};
  for (const el of $$<Control>(form, "[data-path]")) {
    const path = el.dataset.path!;
    const old = get(record, path);
    if (el.dataset.type === "bool") {
      const now = (el as HTMLInputElement).checked;
      if (now !== (old === true)) put(patch, path, now);
      continue;
    }
    const now = valueOf(el);
    const oldEmpty = old == null || (Array.isArray(old) && !old.length);
    if (now === undefined) {
      if (!oldEmpty) put(patch, path, null);
    } else if (!same(now, old)) put(patch, path, now);
  }
  return patch;
}

/** The fields whose value differs between two versions of a record, with both values. */
export function changes(before: Json, after: Json, paths: string[]): [path: string, was: unknown, now: unknown][] {
  return paths.filter((p) => !same(get(before, p), get(after, p))).map((p) => [p, get(before, p), get(after, p)]);
}

export const show = (v: unknown): string =>
  v == null || v === "" || (Array.isArray(v) && !v.length)
    ? "(empty)"
    : Array.isArray(v)
      ? v.join(", ")
      : typeof v === "boolean"
        ? v ? "Yes" : "No"
        : String(v);

/** A definition list of `[label, value]` rows; empty values say so. */
export function facts(rows: [string, unknown][]): HTMLElement {
  return h("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v instanceof Node ? v : show(v))]));
}

export function date(iso: unknown): string {
  const d = new Date(String(iso));
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/** The day alone, for a table's column. */
export function day(iso: unknown): string {
  const d = new Date(String(iso));
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleDateString("en-GB", { dateStyle: "medium" });
}

// ---- Lists paged by the API's keyset `next`. ----
export interface ListState {
  items: Json[];
  next: string | null;
  loading: boolean;
}

/**
 * Loads one page of `path` (with `after` for the next one) into `st`; shows a loading line
 * in `status`, refusals in the panel's banner. Returns false when the page did not come.
 */
export async function loadPage(panel: HTMLElement, st: ListState, path: string, more: boolean, signal: AbortSignal, noun: string): Promise<boolean> {
  st.loading = true;
  let a: Answer;
  try {
    const sep = path.includes("?") ? "&" : "?";
    a = await call("GET", more && st.next ? `${path}${sep}after=${st.next}` : path, { signal });
  } catch (e) {
    if (signal.aborted) return false;
    unreachable(panel, "try again.");
    return false;
  } finally {
    st.loading = false;
  }
  if (!a.ok) {
    refusal(panel, `The ${noun} could not be listed`, a);
    return false;
  }
  banner(panel);
  st.items = more ? st.items.concat(a.data.items ?? []) : (a.data.items ?? []);
  st.next = a.data.next ?? null;
  return true;
}

export const count = (n: number, one: string, many = `${one}s`) => `${fmt(n)} ${n === 1 ? one : many}`;

// ---- Saving an edit: PATCH with If-Match; a 412 shows what changed meanwhile. ----
export interface Held {
  data: Json;
  etag: string | null;
}
export interface EditHost {
  /** Where banners go (the detail dialog). */
  dialog: HTMLDialogElement;
  /** The record's URL (GET and PATCH). */
  url: string;
  /** "this person", "this sponsor". */
  noun: string;
  labels: [path: string, label: string][];
  held(): Held;
  /** A newer version of the record arrived (saved, or reloaded after a conflict). */
  set(h: Held): void;
  /** The record no longer exists. */
  gone(): void;
  /** Leaves the form and shows the record, with a note. */
  done(note?: HTMLElement): void;
}

const labelOf = (host: EditHost, p: string) => host.labels.find(([x]) => x === p)?.[1] ?? p;

/** Saves the form's changes; after a 412, `mine` is the patch to send over their version. */
export async function saveEdit(host: EditHost, st: State, mine?: Json) {
  const { form } = st;
  if (st.busy) return;
  settleChips(form);
  st.submitted = true;
  st.server = [];
  banner(host.dialog);
  if (render(st).length) return focusFirstError(form);
  const patch = mine ?? patchOf(form, host.held().data);
  if (!Object.keys(patch).length) {
    discardForm(form);
    return host.done(h("p", { class: "ok-note", role: "status" }, "Nothing was changed."));
  }
  const button = $(form, "[type=submit]");
  st.busy = true;
  button.setAttribute("aria-busy", "true");
  let a: Answer;
  try {
    a = await call("PATCH", host.url, { body: patch, contentType: "application/merge-patch+json", ifMatch: host.held().etag });
  } catch {
    return unreachable(host.dialog, "save again.");
  } finally {
    st.busy = false;
    button.removeAttribute("aria-busy");
  }
  if (a.ok) {
    const before = host.held().data;
    host.set({ data: a.data, etag: a.etag });
    discardForm(form);
    const changed = changes(before, a.data, host.labels.map(([p]) => p));
    return host.done(h("p", { class: "ok-note", role: "status" }, `Saved${changed.length ? `: ${changed.map(([p]) => labelOf(host, p)).join(", ")}` : ""}.`));
  }
  if (a.status === 412) return conflict(host, st, patch);
  if (a.status === 400 || a.status === 409 || a.status === 422) return serverErrors(st, a.data, a.res.statusText);
  if (a.status === 404) {
    host.gone();
    return banner(host.dialog, "other", h("strong", {}, "Not saved. "), `Someone removed ${host.noun} meanwhile.`);
  }
  refusal(host.dialog, "Not saved", a);
}

/** 412: someone changed the record since it was loaded. Say what, then reload or overwrite. */
async function conflict(host: EditHost, st: State, patch: Json) {
  const mine = host.held().data;
  let a: Answer;
  try {
    a = await call("GET", host.url);
  } catch {
    return unreachable(host.dialog, "save again.");
  }
  if (!a.ok) return refusal(host.dialog, "Not saved", a);
  const theirs: Held = { data: a.data, etag: a.etag };
  const diff = changes(mine, theirs.data, host.labels.map(([p]) => p));
  const reload = h("button", { type: "button", class: "secondary" }, "Reload (drop my changes)");
  const overwrite = h("button", { type: "button", class: "danger" }, "Save mine over theirs");
  const col = (t: string) => h("th", { scope: "col" }, t);
  const box = h(
    "div",
    { class: "conflict", tabindex: "-1" },
    h("p", {}, h("strong", {}, `Not saved: someone else changed ${host.noun} since you opened it. `), "Their version is kept until you choose."),
    diff.length
      ? h("div", { class: "table-wrap" }, h(
          "table",
          {},
          h("caption", {}, "Changed meanwhile"),
          h("thead", {}, h("tr", {}, col("Field"), col("When you opened it"), col("Now"), col("Yours"))),
          h("tbody", {}, ...diff.map(([p, was, now]) => {
            const yours = get(patch, p);
            return h("tr", {}, h("th", { scope: "row" }, labelOf(host, p)), h("td", {}, show(was)), h("td", {}, show(now)), h("td", {}, show(yours === undefined ? was : yours)));
          })),
        ))
      : h("p", {}, "No field shown here differs (the same values saved again)."),
    h("p", {}, "Save mine over theirs writes only the fields you changed."),
    h("div", { class: "row actions" }, reload, overwrite),
  );
  reload.onclick = () => {
    discardForm(st.form);
    host.set(theirs);
    host.done(h("p", { class: "ok-note", role: "status" }, "Reloaded: this is the current version."));
  };
  overwrite.onclick = () => {
    box.remove();
    host.set(theirs);
    void saveEdit(host, st, patch);
  };
  $$(host.dialog, ".conflict").forEach((c) => c.remove());
  st.form.before(box);
  box.focus();
}
