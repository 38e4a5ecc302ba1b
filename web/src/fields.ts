// Field plumbing shared by every form of the page (create, edit, add speaker): each control
// names its JSON path (`data-path`), gets a space-reserving error slot wired with
// aria-describedby, and each FieldError, from the rulebook or the server, lands on the
// control or group whose path is the longest prefix of the error's `field`. No rule is
// written here: `validate` asks the rulebook.
import type { FieldError } from "onboard-rules";
import { $, $$, h, type Control, type Json, type Rules } from "./dom";

/** The rulebook once loaded (main.ts loads it after first paint). */
export let rules: Rules | undefined;
export function useRules(r: Rules) {
  rules = r;
  states.forEach((st) => refresh(st.form));
}

const slotOf = new WeakMap<Element, HTMLElement>();
let uid = 0;
export const nextId = () => ++uid;

/** Gives every control and scope under `root` its (empty, space-reserving) error slot. */
export function decorate(root: ParentNode) {
  for (const el of $$<Control>(root, "[data-path],[data-rel]")) {
    const host = el.closest(".field, .check")!;
    const ids = $$(host, ".hint").map((p, i) => (p.id ||= `${el.id}-hint${i}`));
    el.dataset.desc = ids.join(" ");
    if (ids.length) el.setAttribute("aria-describedby", el.dataset.desc);
    const slot = h("p", { class: "err", id: `${el.id}-err` });
    host.append(slot);
    slotOf.set(el, slot);
  }
  const scopes = $$(root, "[data-scope]");
  if (root instanceof Element && root.matches("[data-scope]")) scopes.unshift(root as HTMLElement);
  for (const el of scopes) {
    if (el.classList.contains("err")) slotOf.set(el, el);
    else {
      const slot = h("p", { class: "err", id: `scope${++uid}-err` });
      el.append(slot);
      slotOf.set(el, slot);
    }
  }
}

export function chips(input: Element): string[] {
  return $$(input.parentElement!, "li").map((li) => li.dataset.tag!);
}

export function addChip(input: HTMLInputElement, text: string) {
  text = text.trim();
  if (!text) return;
  const remove = h("button", { type: "button", "aria-label": `Remove tag ${text}` }, "×");
  const li = h("li", {}, h("span", {}, text), remove);
  li.dataset.tag = text;
  remove.onclick = () => {
    li.remove();
    input.focus();
    input.dataset.touched = "1";
    refresh(input.form!);
  };
  $(input.parentElement!, "ul").append(li);
}

/** Sets `value` at a JSON path like `speakers[1].tags` unless something is already there. */
export function put(obj: Json, path: string, value: unknown) {
  const keys = path.match(/[^.[\]]+/g)!;
  let cur: Json = obj;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) cur[k] ??= value;
    else cur = cur[k] ??= /^\d+$/.test(keys[i + 1]) ? [] : {};
  });
}

/** The value at a JSON path like `socials.twitter` (undefined when absent). */
export function get(obj: Json | undefined, path: string): unknown {
  let cur: any = obj;
  for (const k of path.match(/[^.[\]]+/g)!) cur = cur == null ? undefined : cur[k];
  return cur;
}

/** One control's value as JSON: undefined when empty, so the rulebook decides. */
export function valueOf(el: Control): unknown {
  const type = el.dataset.type;
  let v: unknown = el.value === "" ? undefined : type === "int" ? Number(el.value) : el.value;
  if (type === "bool") v = (el as HTMLInputElement).checked || undefined;
  if (type === "tags") {
    const list = chips(el);
    if (el.value.trim()) list.push(el.value.trim());
    v = list.length ? list : undefined;
  }
  return v;
}

/** The form as the API's JSON body: empty inputs are left out, so the rulebook decides. */
export function collect(form: HTMLFormElement): Json {
  const out: Json = {};
  $$(form, ".speaker").forEach((_, i) => put(out, `speakers[${i}]`, {}));
  for (const el of $$<Control>(form, "[data-path]")) {
    const v = valueOf(el);
    if (v !== undefined) put(out, el.dataset.path!, v);
  }
  return out;
}

/** Fills the controls from a record (the edit forms): text, selects, checkboxes and tag chips. */
export function fill(form: HTMLFormElement, record: Json) {
  for (const el of $$<Control>(form, "[data-path]")) {
    const v = get(record, el.dataset.path!);
    if (el.dataset.type === "bool") (el as HTMLInputElement).checked = v === true;
    else if (el.dataset.type === "tags") {
      $$(el.parentElement!, "li").forEach((li) => li.remove());
      el.value = "";
      for (const t of (v as string[] | undefined) ?? []) addChip(el as HTMLInputElement, t);
    } else el.value = v == null ? "" : String(v);
  }
}

/** The control or scope an error path lands on: the longest prefix of it the form has. */
export function target(form: HTMLFormElement, field: string): Element {
  for (let p = field; ; p = p.replace(/\.?[^.[\]]+$|\[\d+\]$/, "")) {
    const q = CSS.escape(p);
    const el = form.querySelector(`[data-path="${q}"],[data-scope="${q}"]`);
    if (el || !p) return el ?? $(form, ".form-err");
  }
}

// ---- One form: state, live validation, previews. ----
export interface State {
  form: HTMLFormElement;
  validate: (r: Rules, body: Json) => FieldError[];
  /** A create form's payload: a keystroke then checks only its field (validateField). */
  kind?: "user" | "sponsor";
  /** The rulebook's last answer, which a keystroke updates for its field alone. */
  local: FieldError[];
  submitted: boolean;
  server: FieldError[];
  busy: boolean;
}
const states = new Map<HTMLFormElement, State>();
export const stateOf = (form: HTMLFormElement) => states.get(form)!;

export function refresh(form: HTMLFormElement) {
  previews(form);
  render(states.get(form)!);
}

function previews(form: HTMLFormElement) {
  for (const p of $$(form, "[data-preview]")) {
    const scope = p.closest(".speaker") ?? form;
    const val = (name: string) => scope.querySelector<Control>(`[name=${name}]`)?.value ?? "";
    let text = "";
    if (p.dataset.preview === "slug") {
      if (rules && val("name").trim()) text = `Slug: ${rules.slugify(val("name"))}`;
    } else if (val("username").trim()) {
      text = `Username: ${val("username").trim()}`;
    } else if (rules && (val("firstName") + val("lastName")).trim()) {
      text = `Will be generated: ${rules.previewUsername(val("firstName"), val("lastName"))}`;
    }
    p.textContent = text;
  }
}

/** A keystroke in a create form: only the edited field is checked again (validateField,
 *  about a microsecond: bench/results.md), its errors replacing the ones it had; the form
 *  is the context its rules may read. Committed changes and submits check the whole payload. */
function refreshField(form: HTMLFormElement, el: Control) {
  const st = states.get(form)!;
  const path = el.dataset.path;
  if (!rules || !st.kind || !path) return refresh(form);
  const body = collect(form);
  const under = (f: string) => f === path || (f.startsWith(path) && ".[".includes(f[path.length]));
  const mine = rules.validateField(st.kind, path, get(body, path), body);
  previews(form);
  render(st, st.local.filter((e) => !under(e.field)).concat(mine));
}

/** Shows the rulebook's (`local`, or the whole payload checked now) and the server's
 *  messages; returns every problem (shown or not). */
export function render(st: State, local?: FieldError[]): FieldError[] {
  const { form } = st;
  local ??= rules ? st.validate(rules, collect(form)) : [];
  st.local = local;
  const all = local.concat(st.server.filter((s) => !local.some((l) => l.field === s.field && l.code === s.code)));
  const shown = new Map<Element, Set<string>>();
  for (const e of all) {
    const t = target(form, e.field);
    const touched = t.matches("[data-touched]") || !!t.querySelector("[data-touched]");
    if (!st.submitted && !touched && !st.server.includes(e)) continue;
    if (!shown.has(t)) shown.set(t, new Set());
    shown.get(t)!.add(e.message);
  }
  for (const t of $$(form, "[data-path],[data-scope]")) {
    const m = shown.get(t);
    const slot = slotOf.get(t)!;
    slot.textContent = m ? [...m].join(" ") : "";
    if (t.dataset.scope !== undefined) {
      t.classList.toggle("invalid", !!m);
      continue;
    }
    const desc = m ? `${slot.id} ${t.dataset.desc}`.trim() : t.dataset.desc;
    if (m) t.setAttribute("aria-invalid", "true");
    else t.removeAttribute("aria-invalid");
    if (desc) t.setAttribute("aria-describedby", desc);
    else t.removeAttribute("aria-describedby");
  }
  const n = all.length;
  const count = form.querySelector(".count");
  if (count) count.textContent = rules && n ? ` · ${n} problem${n > 1 ? "s" : ""} left` : "";
  return all;
}

/** Focus the first field (in page order) that shows a message. */
export function focusFirstError(form: HTMLFormElement) {
  for (const t of $$(form, "[data-path],[data-scope]")) {
    if (!slotOf.get(t)!.textContent) continue;
    const el = t.dataset.scope === undefined ? t : (t.querySelector<HTMLElement>("[data-path]") ?? slotOf.get(t)!);
    el.focus();
    return;
  }
}

/** Turns what is left in tag inputs into chips (before a submit). */
export function settleChips(form: HTMLFormElement) {
  for (const el of $$<HTMLInputElement>(form, "[data-type=tags]")) {
    addChip(el, el.value);
    el.value = "";
  }
}

/** The server's field errors (400/409/422) on the form; true when there were any to show. */
export function serverErrors(st: State, data: Json, fallback: string) {
  st.server = (data.errors ?? [{ field: "", code: data.code }]).map((e: Json) => ({ ...e, message: e.message ?? data.message ?? fallback }));
  render(st);
  focusFirstError(st.form);
}

/**
 * Wires a form: live validation on input, tag chips (Enter/comma adds, Backspace removes),
 * and `onSubmit` when the submit button is used. Messages show for touched fields, and for
 * all after a submit attempt.
 */
export function setupForm(
  form: HTMLFormElement,
  validate: State["validate"],
  onSubmit: (st: State) => void,
  kind?: State["kind"],
): State {
  const st: State = { form, validate, kind, local: [], submitted: false, server: [], busy: false };
  states.set(form, st);
  decorate(form);
  $(form, "[type=submit]").append(h("span", { class: "count" }));
  form.addEventListener("input", (e) => {
    const el = e.target as Control;
    if (el.dataset.type === "tags" && el.value.includes(",")) {
      const parts = el.value.split(",");
      el.value = parts.pop()!;
      parts.forEach((p) => addChip(el as HTMLInputElement, p));
    }
    el.dataset.touched = "1";
    st.server = st.server.filter((s) => target(form, s.field) !== el);
    refreshField(form, el);
  });
  // A committed edit checks the whole payload again, for the rules across fields (a type
  // that forbids a highlight, a speaker e-mail another speaker repeats).
  if (kind) form.addEventListener("change", () => refresh(form));
  form.addEventListener("keydown", (e) => {
    const el = e.target as HTMLInputElement;
    if (el.dataset.type !== "tags") return;
    if (e.key === "Enter" && el.value.trim()) {
      e.preventDefault();
      addChip(el, el.value);
      el.value = "";
      refresh(form);
    } else if (e.key === "Backspace" && !el.value) {
      el.parentElement!.querySelector("li:last-child")?.remove();
      refresh(form);
    }
  });
  form.addEventListener("focusout", (e) => {
    const el = e.target as HTMLInputElement;
    if (el.dataset.type === "tags" && el.value.trim()) {
      addChip(el, el.value);
      el.value = "";
      refresh(form);
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    onSubmit(st);
  });
  refresh(form);
  return st;
}

/** Forgets a form (an edit form being thrown away). */
export function dropForm(form: HTMLFormElement) {
  states.delete(form);
}
