// The New user and New sponsor forms (static markup in index.html): gathered into the API's
// JSON by the field plumbing, checked by the rulebook on every keystroke, posted with the key.
import type { SponsorPayload, UserPayload } from "onboard-rules";
import { banner, call, readOnlyNote, refusal, unreachable, type Answer } from "./api";
import { $, $$, h, onceWarning, secret, type Json } from "./dom";
import { collect, decorate, nextId, refresh, render, focusFirstError, serverErrors, settleChips, setupForm, stateOf, type State } from "./fields";

const userForm = $<HTMLFormElement>(document, "#user-form");
const sponsorForm = $<HTMLFormElement>(document, "#sponsor-form");

/**
 * The forms' fields as written in index.html, before any error slot is added: the edit
 * forms of the People and Sponsors views are made from these, so a field has one markup.
 */
export const pristine = {
  user: userForm.cloneNode(true) as HTMLFormElement,
  sponsor: sponsorForm.cloneNode(true) as HTMLFormElement,
};

/** The accounts of these e-mails that exist now, by lower-cased e-mail (best effort). */
async function existing(emails: string[]): Promise<Map<string, Json>> {
  const found = new Map<string, Json>();
  await Promise.all(
    emails.map(async (e) => {
      try {
        const a = await call("GET", `/v1/users?email=${encodeURIComponent(e)}&limit=1`);
        if (a.ok && a.data.items?.[0]) found.set(e.toLowerCase(), a.data.items[0]);
      } catch {
        // Only used to word the result; the create itself decides.
      }
    }),
  );
  return found;
}

function showResult(st: State, d: Json, before: Map<string, Json>) {
  const panel = st.form.closest(".panel")!;
  const box = $(panel, ".result");
  const user = st.form === userForm;
  const rows: Node[] = [h("dt", {}, "Id"), h("dd", {}, h("code", {}, d.id))];
  let passwords = 0;
  if (user) {
    rows.push(h("dt", {}, "Email"), h("dd", {}, d.email));
    if (d.username) rows.push(h("dt", {}, "Username"), h("dd", {}, h("code", {}, d.username)));
    rows.push(h("dt", {}, "Password"), secret(d.password, "password"));
    passwords = 1;
  } else {
    rows.push(h("dt", {}, "Slug"), h("dd", {}, h("code", {}, d.slug)));
    for (const s of d.speakers ?? []) {
      const id = [`id `, h("code", {}, s.id), ", password "];
      const was = before.get(String(s.email).toLowerCase());
      const linked =
        was?.type === "Attendee"
          ? ": existing account (an Attendee), linked and granted the Speaker role (no new password)."
          : ": existing account, linked as is (no new password).";
      rows.push(
        h("dt", {}, s.email),
        s.password ? secret(s.password, `password of ${s.email}`, ...id) : h("dd", {}, ...id.slice(0, 2), linked),
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
    ...(passwords ? [onceWarning(passwords)] : []),
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
  settleChips(form);
  st.submitted = true;
  st.server = [];
  banner(panel);
  if (render(st).length) return focusFirstError(form);

  const body = collect(form);
  st.busy = true;
  button.setAttribute("aria-busy", "true");
  let a: Answer;
  let before = new Map<string, Json>();
  try {
    // Which speakers already have an account, and of which type: the result says when an
    // Attendee was granted the Speaker role by this sponsor.
    if (form === sponsorForm && body.speakers?.length) before = await existing(body.speakers.map((s: Json) => String(s.email ?? "")).filter(Boolean));
    a = await call("POST", form.dataset.endpoint!, { body });
    if (a.ok && form === userForm && !a.data.username) {
      // The 201 names no username: read the stored user for the generated one.
      const got = await call("GET", `/v1/users/${encodeURIComponent(a.data.id)}`).catch(() => undefined);
      if (got?.ok) a.data.username = got.data.username;
    }
  } catch {
    return unreachable(panel, "submit again.");
  } finally {
    st.busy = false;
    button.removeAttribute("aria-busy");
  }
  if (a.ok) {
    resetForm(st);
    return showResult(st, a.data, before);
  }
  if (a.status === 400 || a.status === 409 || a.status === 422) return serverErrors(st, a.data, a.res.statusText);
  refusal(panel, "Not created", a);
}

setupForm(userForm, (r, body) => r.validateUser(body as UserPayload), (st) => void submit(st), "user");
setupForm(sponsorForm, (r, body) => r.validateSponsor(body as SponsorPayload), (st) => void submit(st), "sponsor");

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

/** A speaker's fieldset from the template, with its own ids and error slots. */
export function speakerFieldset(): HTMLElement {
  const fs = ($<HTMLTemplateElement>(document, "#speaker-template").content.cloneNode(true) as DocumentFragment)
    .firstElementChild as HTMLElement;
  const n = nextId();
  for (const el of $$(fs, "[data-id]")) el.id = `sp${n}-${el.dataset.id}`;
  for (const l of $$<HTMLLabelElement>(fs, "label[data-for]")) l.htmlFor = `sp${n}-${l.dataset.for}`;
  return fs;
}

$(sponsorForm, ".add-speaker").onclick = () => {
  const fs = speakerFieldset();
  decorate(fs);
  $(fs, ".remove-speaker").onclick = () => {
    fs.remove();
    reindex();
    const st = stateOf(sponsorForm);
    st.server = st.server.filter((s) => !s.field.startsWith("speakers"));
    refresh(sponsorForm);
    $(sponsorForm, ".add-speaker").focus();
  };
  speakerList.append(fs);
  reindex();
  refresh(sponsorForm);
  $(fs, "input").focus();
};

// ---- Read-only keys: the forms say so before anything is sent, instead of a 403 after. ----
for (const form of [userForm, sponsorForm]) {
  const button = $<HTMLButtonElement>(form, "[type=submit]");
  readOnlyNote(form.closest(".panel")!, "creating", (writable) => (button.disabled = !writable));
}
