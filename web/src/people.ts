// The People view (its own chunk, assets/people.js, fetched when the tab first opens): the
// users in a table with search (the API's `q` prefix search), type and tag filters, more
// rows on demand, a detail dialog with Edit (checked by the rulebook, saved with If-Match),
// Remove, New password, and the CSV export of the current filters.
import type { UserPatchPayload, UserRecord } from "onboard-rules";
import { banner, call, query, refusal, unreachable, type Answer } from "./api";
import { $, $$, h, onceWarning, plural, secret, type Json } from "./dom";
import { fill, get, refresh, setupForm } from "./fields";
import type { ViewModule } from "./main";
import {
  confirmDialog, date, day, dialog, discardForm, editForm, facts, loadPage, openDialog, patchOf, saveEdit,
  whenWritable, type EditHost, type ListState,
} from "./views";

const PAGE = 50;
/** Searches wait for this pause in typing, and for at least MIN_Q characters. */
const DEBOUNCE = 250;
const MIN_Q = 2;

const TEMPLATE = `
<div class="banner" role="alert"></div>
<form class="filters grid" role="search" aria-label="People" novalidate>
  <div class="field">
    <label for="pp-q">Search</label>
    <input id="pp-q" type="search" autocomplete="off" spellcheck="false" aria-describedby="pp-q-hint">
    <p class="hint" id="pp-q-hint">The start of a first or last name, e-mail or username (2 characters or more).</p>
  </div>
  <div class="field">
    <label for="pp-type">Type</label>
    <select id="pp-type"><option value="">Every type</option><option>Attendee</option><option>Speaker</option></select>
  </div>
  <div class="field">
    <label for="pp-tag">Tag</label>
    <select id="pp-tag"><option value="">Every tag</option></select>
  </div>
</form>
<div class="row list-head">
  <p id="pp-status" role="status" aria-live="polite"></p>
  <button type="button" id="pp-export" class="secondary">Export CSV</button>
</div>
<div class="table-wrap" role="region" aria-labelledby="tab-people" tabindex="0">
  <table id="pp-table" class="list">
    <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Type</th><th scope="col">Username</th><th scope="col">Tags</th><th scope="col">Created</th></tr></thead>
    <tbody></tbody>
  </table>
</div>
<div id="pp-empty" class="empty" hidden></div>
<button type="button" id="pp-more" class="secondary more" hidden>Load more</button>`;

/** The fields of a user in the detail, in the create form's order, with its labels. */
function labels(form: HTMLFormElement): [path: string, label: string][] {
  return $$<HTMLElement>(form, "[data-path]").map((el) => {
    const l = form.querySelector<HTMLLabelElement>(`label[for="${el.id}"]`);
    const text = l ? Array.from(l.childNodes).filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join("").trim() : el.dataset.path!;
    return [el.dataset.path!, text];
  });
}

const fullName = (u: Json) => `${u.firstName ?? ""} ${u.lastName ?? ""}`.trim() || u.email;

export const mount: ViewModule["mount"] = (panel, ctx) => {
  panel.innerHTML = TEMPLATE;
  const q = $<HTMLInputElement>(panel, "#pp-q");
  const typeSel = $<HTMLSelectElement>(panel, "#pp-type");
  const tagSel = $<HTMLSelectElement>(panel, "#pp-tag");
  const status = $(panel, "#pp-status");
  const tbody = $<HTMLTableElement>(panel, "#pp-table").tBodies[0];
  const empty = $(panel, "#pp-empty");
  const more = $<HTMLButtonElement>(panel, "#pp-more");
  const exportButton = $<HTMLButtonElement>(panel, "#pp-export");
  const fields = labels(ctx.pristine.user);
  const list: ListState = { items: [], next: null, loading: false };
  let writable = true;
  let abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let shown = ""; // the query string of the list on screen
  let failed = false; // the first page was refused or did not come

  const filters = () => ({ q: q.value.trim().length >= MIN_Q ? q.value.trim() : "", type: typeSel.value, tag: tagSel.value });
  const listPath = () => `/v1/users${query({ ...filters(), limit: String(PAGE) })}`;

  /** Keeps the URL in step with the filters, without a history entry per keystroke. */
  function syncHash() {
    const f = { q: q.value.trim(), type: typeSel.value, tag: tagSel.value };
    history.replaceState(null, "", `#/people${query(f)}`);
  }

  /** The tag filter's choices: every tag (pages of 100), asked again each time the view shows. */
  async function loadTags() {
    const names: string[] = [];
    try {
      let after = "";
      for (let i = 0; i < 20; i++) {
        const a = await call("GET", `/v1/tags?limit=100${after ? `&after=${after}` : ""}`);
        if (!a.ok) return;
        names.push(...(a.data.items ?? []).map((t: Json) => String(t.name)));
        if (!a.data.next) break;
        after = a.data.next;
      }
    } catch {
      return; // The filter still works with the tag named in the URL; the list shows any error.
    }
    const want = tagSel.value;
    names.sort((x, y) => x.localeCompare(y));
    if (want && !names.includes(want)) names.unshift(want);
    tagSel.replaceChildren(tagSel.options[0], ...names.map((t) => new Option(t, t)));
    tagSel.value = want;
  }

  function draw() {
    tbody.replaceChildren(...list.items.map(row));
    const n = list.items.length;
    more.hidden = !list.next;
    empty.hidden = n > 0;
    const f = filters();
    if (!n) {
      empty.replaceChildren(
        ...(f.q || f.type || f.tag
          ? [h("p", {}, h("strong", {}, "Nobody matches. "), "Try fewer letters, or another type or tag.")]
          : [h("p", {}, h("strong", {}, "No one yet. "), "People appear here once they are created, one by one in ", h("a", { href: "#/new-user" }, "New user"), " or from a list in ", h("a", { href: "#/import" }, "Import"), ".")]),
      );
    }
    status.textContent = `${n ? plural(n, "person", "people") : "Nobody"} shown${list.next ? "; more on demand" : ""}.`;
  }

  function row(u: Json): HTMLElement {
    const open = h("button", { type: "button", class: "link", "data-id": u.id }, fullName(u));
    open.onclick = () => void detail(u.id);
    return h(
      "tr",
      { "data-id": u.id },
      h("th", { scope: "row" }, open),
      h("td", {}, u.email),
      h("td", {}, u.type),
      h("td", {}, u.username ?? ""),
      h("td", {}, (u.tags ?? []).join(", ")),
      h("td", {}, day(u.createdAt)),
    );
  }

  /** Loads the first page for the current filters (or the next page with `more`). */
  async function load(next = false) {
    const path = listPath();
    if (!next) {
      abort.abort();
      abort = new AbortController();
      shown = path;
      status.textContent = "Loading…";
      panel.setAttribute("aria-busy", "true");
    } else {
      more.setAttribute("aria-busy", "true");
    }
    const ok = await loadPage(panel, list, path, next, abort.signal, "people");
    if (path !== shown) return; // superseded by a newer search
    panel.removeAttribute("aria-busy");
    more.removeAttribute("aria-busy");
    failed = !ok && !next;
    if (ok) draw();
    else if (!next) {
      list.items = [];
      list.next = null;
      tbody.replaceChildren();
      more.hidden = true;
      empty.hidden = true;
      status.textContent = "The list could not be loaded (see above).";
    }
  }

  function changed() {
    syncHash();
    clearTimeout(timer);
    const text = q.value.trim();
    if (text.length > 0 && text.length < MIN_Q) {
      status.textContent = `Type at least ${MIN_Q} characters to search.`;
      return;
    }
    if (listPath() === shown) return;
    timer = setTimeout(() => void load(), DEBOUNCE);
  }
  q.addEventListener("input", changed);
  typeSel.addEventListener("change", () => void (syncHash(), load()));
  tagSel.addEventListener("change", () => void (syncHash(), load()));
  $(panel, ".filters").addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(timer);
    void load();
  });
  more.onclick = async () => {
    const before = list.items.length;
    await load(true);
    // Keyboard users land on the first new row.
    tbody.rows[before]?.querySelector<HTMLElement>("button")?.focus();
  };

  // ---- Export: the server's CSV of the current filters, downloaded with the key. ----
  exportButton.onclick = async () => {
    const { type, tag, q: text } = filters();
    exportButton.setAttribute("aria-busy", "true");
    status.textContent = "Preparing the CSV…";
    let a: Answer;
    let blob: Blob;
    try {
      a = await call("GET", `/v1/users${query({ q: text, type, tag })}`, { accept: "text/csv" });
      blob = await a.res.blob();
    } catch {
      exportButton.removeAttribute("aria-busy");
      return unreachable(panel, "export again.");
    }
    exportButton.removeAttribute("aria-busy");
    if (!a.ok || !(a.res.headers.get("content-type") ?? "").includes("csv")) {
      status.textContent = "";
      if (a.ok) return banner(panel, "other", h("strong", {}, "Not exported. "), "This server does not export CSV yet.");
      return refusal(panel, "Not exported", a);
    }
    const name = /filename="?([^";]+)"?/.exec(a.res.headers.get("content-disposition") ?? "")?.[1] ?? "people.csv";
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.textContent = `Exported ${name}.`;
  };

  // ---- The detail: every field, Edit, New password, Remove. ----
  const heading = "pp-detail-h";
  const box = h("div", { class: "detail-body" });
  const detailDialog = dialog(heading, h("div", { class: "banner", role: "alert" }), box);
  // Escape or Close with a form open drops the form (and its unsaved changes).
  detailDialog.addEventListener("close", () => $$<HTMLFormElement>(box, "form").forEach(discardForm));
  let current: { user: Json; etag: string | null } | undefined;
  const rowButton = (id: string) => tbody.querySelector<HTMLElement>(`button[data-id="${CSS.escape(id)}"]`) ?? q;

  async function detail(id: string) {
    banner(detailDialog);
    box.replaceChildren(h("h2", { id: heading, tabindex: "-1" }, "Loading…"));
    if (!detailDialog.open) openDialog(detailDialog, () => rowButton(id));
    let a: Answer;
    try {
      a = await call("GET", `/v1/users/${encodeURIComponent(id)}`);
    } catch {
      box.replaceChildren(h("h2", { id: heading }, "Not loaded"), closeButton());
      return unreachable(detailDialog, "open the person again.");
    }
    if (!a.ok) {
      box.replaceChildren(h("h2", { id: heading }, a.status === 404 ? "Not found" : "Not loaded"), ...(a.status === 404 ? [h("p", {}, "This person no longer exists: someone removed them meanwhile.")] : []), closeButton());
      if (a.status === 404) dropRow(id);
      else refusal(detailDialog, "Not loaded", a);
      return;
    }
    current = { user: a.data, etag: a.etag };
    updateRow(a.data);
    view();
  }

  function closeButton() {
    const b = h("button", { type: "button", class: "secondary" }, "Close");
    b.onclick = () => detailDialog.close();
    return b;
  }

  function view(note?: HTMLElement) {
    const u = current!.user;
    const actions = h("div", { class: "row actions" });
    if (writable) {
      const edit = h("button", { type: "button", class: "primary" }, "Edit");
      edit.onclick = () => editUser();
      const pw = h("button", { type: "button", class: "secondary" }, "New password");
      pw.onclick = () => void newPassword(pw);
      const rm = h("button", { type: "button", class: "danger" }, "Remove…");
      rm.onclick = () => void remove();
      actions.append(edit, pw, rm);
    }
    actions.append(closeButton());
    box.replaceChildren(
      h("h2", { id: heading, tabindex: "-1" }, fullName(u)),
      ...(note ? [note] : []),
      facts([
        ...fields.map(([p, l]): [string, unknown] => [l, p === "tags" ? u.tags : get(u, p)]),
        ["Username", u.username],
        ["Id", h("code", {}, u.id)],
        ["Created", date(u.createdAt)],
        ["Updated", date(u.updatedAt)],
      ]),
      actions,
    );
    $(box, "h2").focus();
  }

  function updateRow(u: Json) {
    const i = list.items.findIndex((x) => x.id === u.id);
    if (i < 0) return;
    list.items[i] = u;
    tbody.rows[i]?.replaceWith(row(u));
  }
  function dropRow(id: string) {
    const i = list.items.findIndex((x) => x.id === id);
    if (i < 0) return;
    list.items.splice(i, 1);
    draw();
  }

  async function newPassword(button: HTMLElement) {
    const u = current!.user;
    button.setAttribute("aria-busy", "true");
    let a: Answer;
    try {
      a = await call("POST", `/v1/users/${encodeURIComponent(u.id)}/password`);
    } catch {
      return unreachable(detailDialog, "ask again.");
    } finally {
      button.removeAttribute("aria-busy");
    }
    if (!a.ok) return refusal(detailDialog, "No new password", a);
    const note = h(
      "div",
      { class: "result", tabindex: "-1" },
      h("h3", {}, "New password"),
      h("dl", {}, h("dt", {}, "Password"), secret(a.data.password, `new password of ${u.email}`)),
      onceWarning(1, `it to ${fullName(u)}`),
      h("p", {}, "The previous password no longer works."),
    );
    view(note);
    note.focus();
  }

  async function remove() {
    const u = current!.user;
    const name = fullName(u);
    const ok = await confirmDialog(
      `Remove ${name}?`,
      [
        h("p", {}, `This erases ${name} (${u.email}) for good: the account, every personal detail, and their place among any sponsor's speakers. The e-mail and username become free at once.`),
        "It cannot be undone.",
      ],
      `Remove ${name}`,
    );
    if (!ok) return;
    let a: Answer;
    try {
      a = await call("DELETE", `/v1/users/${encodeURIComponent(u.id)}`, { ifMatch: current!.etag });
    } catch {
      return unreachable(detailDialog, "remove again.");
    }
    if (a.status === 204 || a.status === 404) {
      const i = list.items.findIndex((x) => x.id === u.id);
      dropRow(u.id);
      current = undefined;
      detailDialog.close();
      status.textContent = `${name} was removed.`;
      // Focus goes to the row that took its place, or the search box.
      (tbody.rows[Math.min(i, tbody.rows.length - 1)]?.querySelector<HTMLElement>("button") ?? q).focus();
      return;
    }
    if (a.status === 412) {
      await detail(u.id);
      return banner(detailDialog, "other", h("strong", {}, "Not removed. "), `${name} was changed by someone else since you opened this; check the details below, then remove again if you still mean to.`);
    }
    refusal(detailDialog, "Not removed", a);
  }

  const editHost: EditHost = {
    dialog: detailDialog,
    get url() {
      return `/v1/users/${encodeURIComponent(current!.user.id)}`;
    },
    noun: "this person",
    labels: fields,
    held: () => ({ data: current!.user, etag: current!.etag }),
    set(x) {
      current = { user: x.data, etag: x.etag };
      updateRow(x.data);
    },
    gone: () => dropRow(current!.user.id),
    done: (note) => view(note),
  };

  function editUser() {
    const u = current!.user;
    const form = editForm(ctx.pristine.user, "pe", "Save changes");
    setupForm(
      form,
      // The rulebook checks the patch against the loaded version, as the server will.
      (r) => r.validateUserPatch(current!.user as UserRecord, patchOf(form, current!.user) as UserPatchPayload),
      (s) => void saveEdit(editHost, s),
    );
    fill(form, u);
    refresh(form);
    $(form, ".cancel").onclick = () => {
      discardForm(form);
      view();
    };
    box.replaceChildren(h("h2", { id: heading, tabindex: "-1" }, `Edit ${fullName(u)}`), form);
    $<HTMLElement>(form, "[data-path]").focus();
  }

  // ---- Read-only keys: no edit controls. ----
  whenWritable(panel, (w, accepted) => {
    writable = w;
    // A list refused for want of a good key comes back once one is entered.
    if (accepted && failed && !panel.hidden) void load();
    if (current && detailDialog.open && !box.querySelector("form")) view();
  });

  return {
    show(params) {
      q.value = params.get("q") ?? "";
      typeSel.value = params.get("type") ?? "";
      const tag = params.get("tag") ?? "";
      if (tag && ![...tagSel.options].some((o) => o.value === tag)) tagSel.append(new Option(tag, tag));
      tagSel.value = tag;
      void loadTags();
      if (q.value.trim().length > 0 && q.value.trim().length < MIN_Q) {
        status.textContent = `Type at least ${MIN_Q} characters to search.`;
        if (shown) return;
      }
      if (listPath() !== shown || !list.items.length) void load();
    },
  };
};
