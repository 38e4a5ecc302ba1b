// The Sponsors view (its own chunk, assets/sponsors.js, fetched when the tab first opens):
// the sponsors with their level, slug and speaker count, more on demand; a detail dialog
// with the speakers, Edit (the rulebook's sponsor checks, saved with If-Match; the slug
// stays on a rename), Add speaker (e-mail first: an account is linked, a new one needs
// names), Remove from sponsor, Remove sponsor.
import type { SpeakerPayload, SponsorPatchPayload, SponsorRecord } from "onboard-rules";
import { banner, call, refusal, unreachable, type Answer } from "./api";
import { speakerFieldset } from "./create";
import { $, $$, h, onceWarning, plural, secret, type Json } from "./dom";
import { collect, fill, get, refresh, setupForm, serverErrors, settleChips, render, focusFirstError, type State } from "./fields";
import type { ViewModule } from "./main";
import {
  confirmDialog, date, dialog, discardForm, editForm, facts, loadPage, openDialog, patchOf, saveEdit, whenWritable,
  type EditHost, type ListState,
} from "./views";

const PAGE = 50;

const TEMPLATE = `
<div class="banner" role="alert"></div>
<div class="row list-head">
  <p id="sp-status" role="status" aria-live="polite"></p>
</div>
<div class="table-wrap" role="region" aria-labelledby="tab-sponsors" tabindex="0">
  <table id="sp-table" class="list">
    <thead><tr><th scope="col">Name</th><th scope="col">Level</th><th scope="col">Slug</th><th scope="col">Speakers</th></tr></thead>
    <tbody></tbody>
  </table>
</div>
<div id="sp-empty" class="empty" hidden></div>
<button type="button" id="sp-more" class="secondary more" hidden>Load more</button>`;

function labels(form: HTMLFormElement): [path: string, label: string][] {
  return $$<HTMLElement>(form, "[data-path]")
    .filter((el) => !el.dataset.path!.startsWith("speakers"))
    .map((el) => {
      const l = form.querySelector<HTMLLabelElement>(`label[for="${el.id}"]`);
      const text = l ? Array.from(l.childNodes).filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join("").trim() : el.dataset.path!;
      return [el.dataset.path!, text];
    });
}

const personName = (s: Json) => `${s.firstName ?? ""} ${s.lastName ?? ""}`.trim() || s.email;

export const mount: ViewModule["mount"] = (panel, ctx) => {
  panel.innerHTML = TEMPLATE;
  const status = $(panel, "#sp-status");
  const tbody = $<HTMLTableElement>(panel, "#sp-table").tBodies[0];
  const empty = $(panel, "#sp-empty");
  const more = $<HTMLButtonElement>(panel, "#sp-more");
  const fields = labels(ctx.pristine.sponsor);
  const list: ListState = { items: [], next: null, loading: false };
  let writable = true;
  let loaded = false;
  let failed = false; // the first page was refused or did not come
  const abort = new AbortController();

  function draw() {
    tbody.replaceChildren(...list.items.map(row));
    const n = list.items.length;
    more.hidden = !list.next;
    empty.hidden = n > 0;
    if (!n)
      empty.replaceChildren(h("p", {}, h("strong", {}, "No sponsors yet. "), "Sponsors appear here once they are created in ", h("a", { href: "#/new-sponsor" }, "New sponsor"), "."));
    status.textContent = `${n ? plural(n, "sponsor") : "No sponsor"} shown${list.next ? "; more on demand" : ""}.`;
  }

  function row(s: Json): HTMLElement {
    const open = h("button", { type: "button", class: "link", "data-id": s.id }, s.name);
    open.onclick = () => void detail(s.id);
    return h("tr", { "data-id": s.id }, h("th", { scope: "row" }, open), h("td", {}, String(s.level)), h("td", {}, h("code", {}, s.slug)), h("td", {}, String(s.speakers?.length ?? 0)));
  }

  async function load(next = false) {
    if (!next) {
      status.textContent = "Loading…";
      panel.setAttribute("aria-busy", "true");
    } else more.setAttribute("aria-busy", "true");
    const ok = await loadPage(panel, list, `/v1/sponsors?limit=${PAGE}`, next, abort.signal, "sponsors");
    panel.removeAttribute("aria-busy");
    more.removeAttribute("aria-busy");
    failed = !ok && !next;
    if (ok) {
      loaded = true;
      draw();
    } else if (!next) status.textContent = "The list could not be loaded (see above).";
  }
  more.onclick = async () => {
    const before = list.items.length;
    await load(true);
    tbody.rows[before]?.querySelector<HTMLElement>("button")?.focus();
  };

  // ---- The detail. ----
  const heading = "sp-detail-h";
  const box = h("div", { class: "detail-body" });
  const detailDialog = dialog(heading, h("div", { class: "banner", role: "alert" }), box);
  // Escape or Close with a form open drops the form (and its unsaved changes).
  detailDialog.addEventListener("close", () => $$<HTMLFormElement>(box, "form").forEach(discardForm));
  let current: { sponsor: Json; etag: string | null } | undefined;
  const rowButton = (id: string) => tbody.querySelector<HTMLElement>(`button[data-id="${CSS.escape(id)}"]`) ?? $<HTMLElement>(document, "#tab-sponsors");
  const url = () => `/v1/sponsors/${encodeURIComponent(current!.sponsor.id)}`;

  function closeButton() {
    const b = h("button", { type: "button", class: "secondary" }, "Close");
    b.onclick = () => detailDialog.close();
    return b;
  }

  async function detail(id: string, note?: HTMLElement) {
    if (!note) banner(detailDialog);
    if (!detailDialog.open) {
      box.replaceChildren(h("h2", { id: heading, tabindex: "-1" }, "Loading…"));
      openDialog(detailDialog, () => rowButton(id));
    }
    let a: Answer;
    try {
      a = await call("GET", `/v1/sponsors/${encodeURIComponent(id)}`);
    } catch {
      box.replaceChildren(h("h2", { id: heading }, "Not loaded"), closeButton());
      return unreachable(detailDialog, "open the sponsor again.");
    }
    if (!a.ok) {
      box.replaceChildren(h("h2", { id: heading }, a.status === 404 ? "Not found" : "Not loaded"), ...(a.status === 404 ? [h("p", {}, "This sponsor no longer exists: someone removed it meanwhile.")] : []), closeButton());
      if (a.status === 404) dropRow(id);
      else refusal(detailDialog, "Not loaded", a);
      return;
    }
    current = { sponsor: a.data, etag: a.etag };
    updateRow(a.data);
    view(note);
  }

  function updateRow(s: Json) {
    const i = list.items.findIndex((x) => x.id === s.id);
    if (i < 0) return;
    list.items[i] = s;
    tbody.rows[i]?.replaceWith(row(s));
  }
  function dropRow(id: string) {
    const i = list.items.findIndex((x) => x.id === id);
    if (i < 0) return;
    list.items.splice(i, 1);
    draw();
  }

  function view(note?: HTMLElement) {
    const s = current!.sponsor;
    const actions = h("div", { class: "row actions" });
    if (writable) {
      const edit = h("button", { type: "button", class: "primary" }, "Edit");
      edit.onclick = () => editSponsor();
      const add = h("button", { type: "button", class: "secondary" }, "Add speaker");
      add.onclick = () => addSpeaker();
      const rm = h("button", { type: "button", class: "danger" }, "Remove sponsor…");
      rm.onclick = () => void removeSponsor();
      actions.append(edit, add, rm);
    }
    actions.append(closeButton());
    const speakers: Json[] = s.speakers ?? [];
    box.replaceChildren(
      h("h2", { id: heading, tabindex: "-1" }, s.name),
      ...(note ? [note] : []),
      facts([
        ["Slug", h("span", {}, h("code", {}, s.slug), " (stays the same when the name changes)")],
        ...fields.map(([p, l]): [string, unknown] => [l, get(s, p)]),
        ["Id", h("code", {}, s.id)],
        ["Created", date(s.createdAt)],
        ["Updated", date(s.updatedAt)],
      ]),
      h("h3", { id: "sp-speakers-h" }, `Speakers (${speakers.length})`),
      speakers.length
        ? h("ul", { class: "speakers-list", "aria-labelledby": "sp-speakers-h" }, ...speakers.map(speakerItem))
        : h("p", { class: "empty" }, "No speakers yet.", writable ? " Add one with Add speaker." : ""),
      actions,
    );
    $(box, "h2").focus();
  }

  function speakerItem(p: Json): HTMLElement {
    const li = h("li", { "data-id": p.id }, h("span", {}, h("strong", {}, personName(p)), ` ${p.email}`, p.username ? ` · ${p.username}` : ""));
    if (writable) {
      const rm = h("button", { type: "button", class: "secondary small", "aria-label": `Remove ${personName(p)} from ${current!.sponsor.name}` }, "Remove from sponsor");
      rm.onclick = () => void unlink(p);
      li.append(rm);
    }
    return li;
  }

  async function unlink(p: Json) {
    const s = current!.sponsor;
    const ok = await confirmDialog(
      `Remove ${personName(p)} from ${s.name}?`,
      [`${personName(p)} will no longer be listed as a speaker of ${s.name}. Their account stays, with its password and details.`],
      "Remove from sponsor",
    );
    if (!ok) return;
    let a: Answer;
    try {
      a = await call("DELETE", `${url()}/speakers/${encodeURIComponent(p.id)}`);
    } catch {
      return unreachable(detailDialog, "try again.");
    }
    if (a.status === 204 || a.status === 404) return detail(s.id, h("p", { class: "ok-note", role: "status" }, `${personName(p)} is no longer a speaker of ${s.name}.`));
    refusal(detailDialog, "Not removed", a);
  }

  async function removeSponsor() {
    const s = current!.sponsor;
    const n = s.speakers?.length ?? 0;
    const ok = await confirmDialog(
      `Remove ${s.name}?`,
      [`This deletes the sponsor ${s.name} (${s.slug}) for good.${n ? ` Its ${plural(n, "speaker")} keep their accounts.` : ""}`, "It cannot be undone."],
      `Remove ${s.name}`,
    );
    if (!ok) return;
    let a: Answer;
    try {
      a = await call("DELETE", url(), { ifMatch: current!.etag });
    } catch {
      return unreachable(detailDialog, "remove again.");
    }
    if (a.status === 204 || a.status === 404) {
      const i = list.items.findIndex((x) => x.id === s.id);
      dropRow(s.id);
      current = undefined;
      detailDialog.close();
      status.textContent = `${s.name} was removed.`;
      (tbody.rows[Math.min(i, tbody.rows.length - 1)]?.querySelector<HTMLElement>("button") ?? $<HTMLElement>(document, "#tab-sponsors")).focus();
      return;
    }
    if (a.status === 412) {
      await detail(s.id);
      return banner(detailDialog, "other", h("strong", {}, "Not removed. "), `${s.name} was changed by someone else since you opened it; check the details, then remove again if you still mean to.`);
    }
    refusal(detailDialog, "Not removed", a);
  }

  // ---- Edit: the sponsor's own fields (speakers are added and removed one by one). ----
  const editHost: EditHost = {
    dialog: detailDialog,
    get url() {
      return url();
    },
    noun: "this sponsor",
    labels: fields,
    held: () => ({ data: current!.sponsor, etag: current!.etag }),
    set(x) {
      current = { sponsor: x.data, etag: x.etag };
      updateRow(x.data);
    },
    gone: () => dropRow(current!.sponsor.id),
    done: (note) => view(note),
  };

  function editSponsor() {
    const s = current!.sponsor;
    const form = editForm(ctx.pristine.sponsor, "se", "Save changes", [".speakers", "[data-preview]"]);
    $(form, "[name=name]").closest(".field")!.append(h("p", { class: "hint" }, "The slug stays ", h("code", {}, s.slug), " when the name changes."));
    setupForm(
      form,
      // The rulebook checks the patch against the loaded version, as the server will.
      (r) => r.validateSponsorPatch(current!.sponsor as SponsorRecord, patchOf(form, current!.sponsor) as SponsorPatchPayload),
      (st) => void saveEdit(editHost, st),
    );
    fill(form, s);
    const color = $<HTMLInputElement>(form, "[name=color]");
    const swatch = $(form, ".swatch");
    const paint = () => (swatch.style.background = color.value);
    color.addEventListener("input", paint);
    paint();
    refresh(form);
    $(form, ".cancel").onclick = () => {
      discardForm(form);
      view();
    };
    box.replaceChildren(h("h2", { id: heading, tabindex: "-1" }, `Edit ${s.name}`), form);
    $<HTMLElement>(form, "[data-path]").focus();
  }

  // ---- Add speaker: e-mail first; an existing account is linked, a new one needs names. ----
  function addSpeaker() {
    const s = current!.sponsor;
    const fs = speakerFieldset();
    $(fs, "legend").textContent = "New speaker";
    for (const el of $$(fs, "[data-rel]")) el.dataset.path = `speakers[0]${el.dataset.rel}`;
    fs.dataset.scope = "speakers[0]";
    $(fs, ".remove-speaker").remove();
    const form = h("form", { novalidate: "", class: "add-speaker-form" }, h("p", { class: "err form-err", tabindex: "-1", "data-scope": "" })) as HTMLFormElement;
    const found = h("p", { class: "hint found", role: "status" });
    const rest = $$(fs, ".field").filter((f) => !f.querySelector("[data-rel='.email']"));
    rest.forEach((f) => (f.hidden = true));
    const emailField = $(fs, "[data-rel='.email']").closest(".field")!;
    emailField.append(found);
    const next = h("button", { type: "submit", class: "primary" }, "Add speaker");
    const cancel = h("button", { type: "button", class: "secondary cancel" }, "Cancel");
    form.append(fs, h("div", { class: "row actions" }, next, cancel));
    let known: Json | null | undefined; // undefined: not looked up; null: no account
    let lookedUp = "";
    setupForm(
      form,
      (r, whole) => {
        const one = whole.speakers?.[0] ?? {};
        // An existing account is linked as it is: only its e-mail matters.
        const speaker = known ? { email: one.email } : one;
        // validateSpeaker's paths are relative to the speaker; this form's are speakers[0]….
        return r.validateSpeaker(speaker as SpeakerPayload).map((e) => ({ ...e, field: e.field ? `speakers[0].${e.field}` : "speakers[0]" }));
      },
      (x) => void submit(x),
    );
    const emailInput = $<HTMLInputElement>(fs, "[data-rel='.email']");
    emailInput.addEventListener("input", () => {
      if (emailInput.value.trim().toLowerCase() !== lookedUp) {
        known = undefined;
        found.textContent = "";
        rest.forEach((f) => (f.hidden = true));
        next.textContent = "Add speaker";
      }
    });

    async function lookup(email: string): Promise<boolean> {
      let a: Answer;
      try {
        a = await call("GET", `/v1/users?email=${encodeURIComponent(email)}&limit=1`);
      } catch {
        unreachable(detailDialog, "try again.");
        return false;
      }
      if (!a.ok) {
        refusal(detailDialog, "Not looked up", a);
        return false;
      }
      lookedUp = email.toLowerCase();
      known = a.data.items?.[0] ?? null;
      if (known) {
        found.textContent = `${personName(known)} already has an account (${known.type}): it will be linked as it is${known.type === "Attendee" ? " and granted the Speaker role" : ""}.`;
        next.textContent = `Link ${personName(known)}`;
      } else {
        found.textContent = "No account with this e-mail yet: a Speaker account will be created. First and last name are needed.";
        rest.forEach((f) => (f.hidden = false));
        next.textContent = "Create and add speaker";
      }
      refresh(form);
      return true;
    }

    async function submit(x: State) {
      if (x.busy) return;
      settleChips(form);
      x.submitted = true;
      x.server = [];
      banner(detailDialog);
      const email = emailInput.value.trim();
      // Step one: the e-mail alone, looked up once it is valid.
      if (known === undefined) {
        if (render(x).some((e) => e.field === "speakers[0].email")) return focusFirstError(form);
        x.busy = true;
        const ok = await lookup(email);
        x.busy = false;
        if (!ok) return;
        x.submitted = false;
        render(x);
        // Step two is the person's: link the account shown, or give the new account's names.
        if (known) next.focus();
        else $<HTMLElement>(fs, "[data-rel='.firstName']").focus();
        return;
      }
      x.submitted = true;
      if (render(x).length) return focusFirstError(form);
      const body = known ? { email } : collect(form).speakers[0];
      x.busy = true;
      next.setAttribute("aria-busy", "true");
      let a: Answer;
      try {
        a = await call("POST", `${url()}/speakers`, { body });
      } catch {
        return unreachable(detailDialog, "add again.");
      } finally {
        x.busy = false;
        next.removeAttribute("aria-busy");
      }
      if (a.ok) {
        discardForm(form);
        const who = known ? personName(known) : email;
        const note = a.data.password
          ? h(
              "div",
              { class: "result", tabindex: "-1" },
              h("h3", {}, "Speaker account created"),
              h("dl", {}, h("dt", {}, "Email"), h("dd", {}, a.data.email ?? email), h("dt", {}, "Password"), secret(a.data.password, `password of ${a.data.email ?? email}`)),
              onceWarning(1, "it to the speaker"),
            )
          : h("p", { class: "ok-note", role: "status" }, `${who} is now a speaker of ${s.name}${known?.type === "Attendee" ? "; the account was granted the Speaker role" : ""}.`);
        await detail(s.id, note);
        if (a.data.password) note.focus();
        return;
      }
      if (a.status === 400 || a.status === 409 || a.status === 422) {
        // The server names the speaker's fields without the sponsor's `speakers[0]`.
        const data = { ...a.data, errors: (a.data.errors ?? [{ field: "", code: a.data.code, message: a.data.message }]).map((e: Json) => ({ ...e, field: e.field?.startsWith("speakers") ? e.field : e.field ? `speakers[0].${e.field}` : "speakers[0].email" })) };
        return serverErrors(x, data, a.res.statusText);
      }
      if (a.status === 404) return banner(detailDialog, "other", h("strong", {}, "Not added. "), "This sponsor was removed meanwhile.");
      refusal(detailDialog, "Not added", a);
    }

    cancel.onclick = () => {
      discardForm(form);
      view();
    };
    box.replaceChildren(h("h2", { id: heading, tabindex: "-1" }, `Add a speaker to ${s.name}`), h("p", { class: "hint" }, "Start with the e-mail: an existing account is linked as it is; a new e-mail creates a Speaker account, whose password is shown once."), form);
    emailInput.focus();
  }

  whenWritable(panel, (w, accepted) => {
    writable = w;
    // A list refused for want of a good key comes back once one is entered.
    if (accepted && failed && !panel.hidden) void load();
    if (current && detailDialog.open && !box.querySelector("form")) view();
  });

  return {
    show() {
      if (!loaded && !list.loading) void load();
    },
  };
};
