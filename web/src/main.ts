// The organizer's page. Every rule lives in the onboard-rules package (the same rulebook the
// server runs); this file only gathers the form into a payload, asks the rulebook (or, until
// the wasm is ready, the server) and puts each message beside the field its path names.
import "./style.css";
import type { FieldError, SponsorPayload, UserPayload } from "onboard-rules";

type Rules = typeof import("onboard-rules");
type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
type Json = Record<string, any>;

let rules: Rules | undefined;
const KEY = "onboard.apiKey";

const $ = <T extends Element = HTMLElement>(root: ParentNode, sel: string): T => root.querySelector<T>(sel)!;
const $$ = <T extends Element = HTMLElement>(root: ParentNode, sel: string): T[] =>
  Array.from(root.querySelectorAll<T>(sel));

function h(tag: string, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const k in attrs) el.setAttribute(k, attrs[k]);
  el.append(...kids);
  return el;
}

// ---- API key: sessionStorage only, so it dies with the tab and never reaches a URL. ----
const keyInput = $<HTMLInputElement>(document, "#api-key");
keyInput.value = sessionStorage.getItem(KEY) ?? "";
keyInput.addEventListener("input", () => sessionStorage.setItem(KEY, keyInput.value.trim()));

// ---- Tabs (WAI-ARIA tabs pattern: arrows move between tabs, Tab goes into the panel). ----
const tabs = $$<HTMLButtonElement>(document, "[role=tab]");
function selectTab(tab: HTMLButtonElement) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(document, "#" + t.getAttribute("aria-controls")).hidden = !on;
  }
  if (tab.id === "tab-import") openImport();
  tab.focus();
}
tabs.forEach((t, i) => {
  t.onclick = () => selectTab(t);
  t.onkeydown = (e) => {
    const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (d) {
      e.preventDefault();
      selectTab(tabs[(i + d + tabs.length) % tabs.length]);
    }
  };
});

// ---- Field plumbing: error slots, aria-describedby, payload paths. ----
const slotOf = new WeakMap<Element, HTMLElement>();
let uid = 0;

/** Gives every control and scope under `root` its (empty, space-reserving) error slot. */
function decorate(root: ParentNode) {
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

function chips(input: Element): string[] {
  return $$(input.parentElement!, "li").map((li) => li.dataset.tag!);
}

function addChip(input: HTMLInputElement, text: string) {
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
function put(obj: Json, path: string, value: unknown) {
  const keys = path.match(/[^.[\]]+/g)!;
  let cur: Json = obj;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) cur[k] ??= value;
    else cur = cur[k] ??= /^\d+$/.test(keys[i + 1]) ? [] : {};
  });
}

/** The form as the API's JSON body: empty inputs are left out, so the rulebook decides. */
function collect(form: HTMLFormElement): Json {
  const out: Json = {};
  $$(form, ".speaker").forEach((_, i) => put(out, `speakers[${i}]`, {}));
  for (const el of $$<Control>(form, "[data-path]")) {
    const type = el.dataset.type;
    let v: unknown = el.value === "" ? undefined : type === "int" ? Number(el.value) : el.value;
    if (type === "bool") v = (el as HTMLInputElement).checked || undefined;
    if (type === "tags") {
      const list = chips(el);
      if (el.value.trim()) list.push(el.value.trim());
      v = list.length ? list : undefined;
    }
    if (v !== undefined) put(out, el.dataset.path!, v);
  }
  return out;
}

/** The control or scope an error path lands on: the longest prefix of it the form has. */
function target(form: HTMLFormElement, field: string): Element {
  for (let p = field; ; p = p.replace(/\.?[^.[\]]+$|\[\d+\]$/, "")) {
    const q = CSS.escape(p);
    const el = form.querySelector(`[data-path="${q}"],[data-scope="${q}"]`);
    if (el || !p) return el ?? $(form, ".form-err");
  }
}

// ---- One form: state, live validation, previews, submit. ----
interface State {
  form: HTMLFormElement;
  kind: "user" | "sponsor";
  validate: (r: Rules, body: Json) => FieldError[];
  /** The rulebook's answer: whole on submit and on change, one field per keystroke. */
  local: FieldError[];
  submitted: boolean;
  server: FieldError[];
  busy: boolean;
}
const states = new Map<HTMLFormElement, State>();

/** The whole payload checked again (submit, change events, speakers and chips). */
function refresh(form: HTMLFormElement) {
  const st = states.get(form)!;
  st.local = rules ? st.validate(rules, collect(form)) : [];
  previews(form);
  render(st);
}

/** A keystroke: only the edited field is checked again (validateField, well under a
 *  microsecond), its errors replacing the ones it had; the form is the rules' context. */
function refreshField(form: HTMLFormElement, el: Control) {
  const st = states.get(form)!;
  const path = el.dataset.path;
  if (!rules || !path) return refresh(form);
  const body = collect(form);
  let value: unknown = body;
  for (const k of path.match(/[^.[\]]+/g)!) value = (value as Json | undefined)?.[k];
  const under = (f: string) => f === path || (f.startsWith(path) && ".[".includes(f[path.length]));
  st.local = st.local.filter((e) => !under(e.field)).concat(rules.validateField(st.kind, path, value, body));
  previews(form);
  render(st);
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

function render(st: State): FieldError[] {
  const { form } = st;
  const local = st.local;
  const all = local.concat(st.server.filter((s) => !local.some((l) => l.field === s.field && l.code === s.code)));
  const shown = new Map<Element, Set<string>>();
  for (const e of all) {
    const t = target(form, e.field);
    const touched = t.matches("[data-touched]") || !!t.querySelector("[data-touched]");
    if (!st.submitted && !touched) continue;
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
  $(form, ".count").textContent = rules && n ? ` · ${n} problem${n > 1 ? "s" : ""} left` : "";
  return all;
}

/** Focus the first field (in page order) that shows a message. */
function focusFirstError(form: HTMLFormElement) {
  for (const t of $$(form, "[data-path],[data-scope]")) {
    if (!slotOf.get(t)!.textContent) continue;
    const el = t.dataset.scope === undefined ? t : (t.querySelector<HTMLElement>("[data-path]") ?? slotOf.get(t)!);
    el.focus();
    return;
  }
}

function banner(panel: Element, ...content: (Node | string)[]) {
  $(panel, ".banner").replaceChildren(...(content.length ? [h("p", {}, ...content)] : []));
}

/** `Retry-After` as a sentence, whether it is a number of seconds or an HTTP date. */
function retryAfter(res: Response): string {
  const v = res.headers.get("retry-after");
  if (!v) return " Try again in a moment.";
  const s = /^\d+$/.test(v) ? Number(v) : Math.ceil((Date.parse(v) - Date.now()) / 1000);
  return Number.isFinite(s) ? ` Try again in ${Math.max(s, 1)} second${s === 1 ? "" : "s"}.` : " Try again in a moment.";
}

function copyButton(value: string, what: string): HTMLElement {
  const b = h("button", { type: "button", "aria-label": `Copy ${what}` }, "Copy");
  b.onclick = () =>
    navigator.clipboard.writeText(value).then(
      () => (b.textContent = "Copied"),
      () => (b.textContent = "Select and copy by hand"),
    );
  return b;
}

function secret(value: string, what: string, ...before: (Node | string)[]): HTMLElement {
  return h("dd", { class: "secret" }, ...before, h("code", {}, value), " ", copyButton(value, what));
}

function showResult(st: State, d: Json) {
  const panel = st.form.closest(".panel")!;
  const box = $(panel, ".result");
  const user = st.form.id === "user-form";
  const rows: Node[] = [h("dt", {}, "Id"), h("dd", {}, h("code", {}, d.id))];
  let passwords = 0;
  if (user) {
    rows.push(h("dt", {}, "Email"), h("dd", {}, d.email), h("dt", {}, "Password"), secret(d.password, "password"));
    passwords = 1;
  } else {
    rows.push(h("dt", {}, "Slug"), h("dd", {}, h("code", {}, d.slug)));
    for (const s of d.speakers ?? []) {
      const id = [`id `, h("code", {}, s.id), ", password "];
      rows.push(
        h("dt", {}, s.email),
        s.password
          ? secret(s.password, `password of ${s.email}`, ...id)
          : h("dd", {}, ...id.slice(0, 2), ": existing account, linked as is (no new password)."),
      );
      if (s.password) passwords++;
    }
  }
  const side: Json[] = d.sideErrors ?? [];
  const done = h("button", { type: "button" }, passwords ? "I have copied it, hide" : "Hide");
  done.onclick = () => {
    box.hidden = true;
    box.replaceChildren();
    $<HTMLElement>(st.form, "[data-path]").focus();
  };
  box.replaceChildren(
    h("h2", {}, user ? "User created" : "Sponsor created"),
    h("dl", {}, ...rows),
    ...(passwords
      ? [h("p", { class: "warn" }, h("strong", {}, "Shown only once. "), `Copy the password${passwords > 1 ? "s" : ""} now and send ${passwords > 1 ? "them to each speaker" : "it to the user"}: the server keeps only a hash and cannot show ${passwords > 1 ? "them" : "it"} again.`)]
      : []),
    ...(side.length
      ? [h("p", {}, "Created, but some follow-up steps failed:"), h("ul", { class: "side" }, ...side.map((s) => h("li", {}, `${s.message}${s.error ? `: ${s.error}` : ""}`)))]
      : []),
    done,
  );
  box.hidden = false;
  box.focus();
}

function resetForm(st: State) {
  st.form.reset();
  $$(st.form, ".chips li, .speaker").forEach((el) => el.remove());
  $$(st.form, "[data-touched]").forEach((el) => delete el.dataset.touched);
  $$(st.form, ".swatch").forEach((el) => (el.style.background = ""));
  st.submitted = false;
  st.server = [];
  refresh(st.form);
}

async function submit(st: State) {
  const { form } = st;
  const panel = form.closest(".panel")!;
  const button = $(form, "[type=submit]");
  if (st.busy) return;
  for (const el of $$<HTMLInputElement>(form, "[data-type=tags]")) {
    addChip(el, el.value);
    el.value = "";
  }
  st.submitted = true;
  st.server = [];
  banner(panel);
  refresh(form);
  if (render(st).length) return focusFirstError(form);

  const body = collect(form);
  const key = keyInput.value.trim();
  st.busy = true;
  button.setAttribute("aria-busy", "true");
  let res: Response;
  let data: Json = {};
  try {
    res = await fetch(form.dataset.endpoint!, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });
    data = await res.json().catch(() => ({}));
  } catch {
    return banner(panel, h("strong", {}, "The server could not be reached. "), "Check that onboard is running, then submit again.");
  } finally {
    st.busy = false;
    button.removeAttribute("aria-busy");
  }
  const msg: string = data.message ?? res.statusText;
  if (res.ok) {
    resetForm(st);
    return showResult(st, data);
  }
  if (res.status === 400 || res.status === 409 || res.status === 422) {
    st.server = (data.errors ?? [{ field: "", code: data.code }]).map((e: Json) => ({ ...e, message: e.message ?? msg }));
    render(st);
    return focusFirstError(form);
  }
  const advice: Record<number, string> = {
    401: " Enter a valid API key at the top of the page.",
    403: " This key may only read; use a key with the standard privilege.",
    429: retryAfter(res),
    503: retryAfter(res),
  };
  const id = res.headers.get("x-request-id");
  banner(
    panel,
    h("strong", {}, `Not created (${res.status}). `),
    msg,
    advice[res.status] ?? (id ? ` Request id: ${id}.` : ""),
  );
}

function setupForm(form: HTMLFormElement, kind: State["kind"], validate: State["validate"]) {
  const st: State = { form, kind, validate, local: [], submitted: false, server: [], busy: false };
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
  // Committed edits check the whole payload again, for the rules across fields (a type
  // that forbids a highlight, a speaker e-mail that another speaker repeats).
  form.addEventListener("change", () => refresh(form));
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
    void submit(st);
  });
  refresh(form);
}

setupForm($(document, "#user-form"), "user", (r, body) => r.validateUser(body as UserPayload));
const sponsorForm = $<HTMLFormElement>(document, "#sponsor-form");
setupForm(sponsorForm, "sponsor", (r, body) => r.validateSponsor(body as SponsorPayload));

// ---- Sponsor extras: the color swatch and the speakers list. ----
const color = $<HTMLInputElement>(sponsorForm, "[name=color]");
color.addEventListener("input", () => ($(sponsorForm, ".swatch").style.background = color.value));

const speakerList = $(sponsorForm, ".speaker-list");
function reindex() {
  $$(speakerList, ".speaker").forEach((fs, i) => {
    fs.dataset.scope = `speakers[${i}]`;
    $(fs, "legend").textContent = `Speaker ${i + 1}`;
    $(fs, ".remove-speaker").setAttribute("aria-label", `Remove speaker ${i + 1}`);
    for (const el of $$(fs, "[data-rel]")) el.dataset.path = `speakers[${i}]${el.dataset.rel}`;
  });
}
$(sponsorForm, ".add-speaker").onclick = () => {
  const fs = ($<HTMLTemplateElement>(document, "#speaker-template").content.cloneNode(true) as DocumentFragment)
    .firstElementChild as HTMLElement;
  const n = ++uid;
  for (const el of $$(fs, "[data-id]")) el.id = `sp${n}-${el.dataset.id}`;
  for (const l of $$<HTMLLabelElement>(fs, "label[data-for]")) l.htmlFor = `sp${n}-${l.dataset.for}`;
  decorate(fs);
  $(fs, ".remove-speaker").onclick = () => {
    fs.remove();
    reindex();
    const st = states.get(sponsorForm)!;
    st.server = st.server.filter((s) => !s.field.startsWith("speakers"));
    refresh(sponsorForm);
    $(sponsorForm, ".add-speaker").focus();
  };
  speakerList.append(fs);
  reindex();
  refresh(sponsorForm);
  $(fs, "input").focus();
};

// ---- The rulebook: loaded after first paint; until then the server's answer is the check. ----
const status = $(document, "#rules-status");
// Not `import("onboard-rules")`: see src/rules.ts. The URL is the dev server's or the build's.
const RULES = import.meta.env.DEV ? "/src/rules.ts" : "/assets/rules.js";
const loading = import(/* @vite-ignore */ RULES) as Promise<Rules>;
loading.then(
  (r) => {
    rules = r;
    $(document, "#timezones").append(...r.timezones().map((t) => new Option(t)));
    for (const sel of $$<HTMLSelectElement>(document, "[name=status]")) {
      const v = sel.value;
      sel.replaceChildren(sel.options[0], ...r.statuses().map((s) => new Option(s)));
      sel.value = v;
    }
    status.textContent = "Fields are checked as you type, with the same rules the server applies.";
    states.forEach((st) => refresh(st.form));
  },
  () => {
    status.textContent = "The rules could not be loaded here; the server checks each form when you submit it.";
  },
);

// ---- The Import tab: its code and CSV parser (src/import.ts) are fetched when it first opens. ----
let imported: Promise<void> | undefined;
function openImport() {
  const panel = $(document, "#panel-import");
  imported ??= import(/* @vite-ignore */ import.meta.env.DEV ? "/src/import.ts" : "/assets/import.js").then(
    (m) => m.mount(panel, loading, keyInput),
    () => ($(panel, "p").textContent = "The import tool could not be loaded: reload the page to try again."),
  );
}
