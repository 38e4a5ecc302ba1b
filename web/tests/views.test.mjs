// The People and Sponsors views in Debian's Chromium against the real `onboard serve`
// (embedded database, fresh data dir), plus the key field and the banners. Records are
// made and changed through the real API; expected messages come from the onboard-rules
// package (its Node build). Tests of routes this server does not have yet (the lifecycle
// API of issue 12) are skipped, saying which route is missing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import * as rules from "onboard-rules";
import { mapHeaders } from "onboard-rules/sheet";
import { API_KEY, DESKTOP, REPO, RESULTS, keySettled, launchBrowser, openPage, screenshot, startServer } from "./harness.mjs";

let server;
let browser;
/** Which lifecycle routes this server has (asked in `before`). */
const has = {};
const PHONE_360 = { width: 360, height: 740 };

async function api(path, { method, body, key = API_KEY, headers = {} } = {}) {
  const res = await fetch(server.url + path, {
    method: method ?? (body ? "POST" : "GET"),
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}), ...headers },
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  let json = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, body: json, text, headers: res.headers };
}

const NOID = "000000000000000000000000";
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  // A route exists when the server answers anything but 405 or its "No route" 404.
  const exists = (r) => r.status !== 405 && !(r.status === 404 && /No route/.test(r.body.message ?? ""));
  const merge = { "content-type": "application/merge-patch+json" };
  has.q = (await api("/v1/users?q=ab")).status === 200;
  has.patchUser = exists(await api(`/v1/users/${NOID}`, { method: "PATCH", body: {}, headers: merge }));
  has.deleteUser = exists(await api(`/v1/users/${NOID}`, { method: "DELETE" }));
  has.csv = ((await api("/v1/users", { headers: { accept: "text/csv" } })).headers.get("content-type") ?? "").includes("csv");
  has.patchSponsor = exists(await api(`/v1/sponsors/${NOID}`, { method: "PATCH", body: {}, headers: merge }));
  has.deleteSponsor = exists(await api(`/v1/sponsors/${NOID}`, { method: "DELETE" }));
  has.addSpeaker = exists(await api(`/v1/sponsors/${NOID}/speakers`, { body: { email: "x@example.com" } }));
  has.removeSpeaker = exists(await api(`/v1/sponsors/${NOID}/speakers/${NOID}`, { method: "DELETE" }));
  console.log(`lifecycle routes on this server: ${JSON.stringify(has)}`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const needs = (t, ...names) => {
  const missing = names.filter((n) => !has[n]);
  if (missing.length) t.skip(`this server lacks ${missing.join(", ")} (issue 12)`);
  return missing.length > 0;
};

async function eventually(check, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function assertNoAxeProblems(page, what) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `${what}: serious or critical accessibility violations`,
  );
}

let n = 0;
const uniq = () => `${Date.now().toString(36)}${++n}`;

async function makeUser(extra = {}) {
  const u = { email: `user.${uniq()}@example.com`, type: "Attendee", firstName: "Ada", lastName: "Lovelace", ...extra };
  const r = await api("/v1/users", { body: u });
  assert.equal(r.status, 201, r.text);
  return { ...u, id: r.body.id, password: r.body.password };
}

async function makeSponsor(extra = {}) {
  const s = { name: `Sponsor ${uniq()}`, level: 2, logo: "https://example.com/logo.png", ...extra };
  const r = await api("/v1/sponsors", { body: s });
  assert.equal(r.status, 201, r.text);
  return { ...s, ...r.body };
}

const activeText = (page) => page.evaluate(() => document.activeElement?.textContent ?? "");
const rowsOf = (page) => page.locator("#pp-table tbody tr");

async function openPeople(page, hash = "#/people") {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.locator("#pp-status", { hasText: /shown/ }).waitFor();
}

describe("the key field and the banners", () => {
  test("the key field says where a key comes from and what the entered key may do", async () => {
    const page = await openPage(browser, server.url, { key: null });
    assert.match(await page.locator("#api-key-hint").textContent(), /onboard serve/);
    await page.fill("#api-key", API_KEY);
    await keySettled(page);
    assert.match(await page.locator("#api-key-status").textContent(), /Standard key/);
    await page.fill("#api-key", "not-a-key");
    await keySettled(page);
    assert.match(await page.locator("#api-key-status").textContent(), /not accepted/);
    await page.context().close();
  });

  test("the 401 banner goes away once a good key is entered", async () => {
    const page = await openPage(browser, server.url, { key: "wrong-key" });
    await page.fill("#u-email", `nokey.${uniq()}@example.com`);
    await page.fill("#u-first", "Jane");
    await page.fill("#u-last", "Doe");
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/v1/users")), page.click("#user-form [type=submit]")]);
    assert.equal(res.status(), 401);
    const banner = page.locator("#panel-user .banner");
    await eventually(async () => assert.match(await banner.textContent(), /401/));
    await page.fill("#api-key", API_KEY);
    await keySettled(page);
    await eventually(async () => assert.equal(await banner.textContent(), ""));
    assert.equal(await banner.isVisible(), false);
    await page.context().close();
  });

  test("People with a wrong key: the 401 banner, no blank panel; a good key brings the list and clears the banner", async () => {
    const u = await makeUser();
    const page = await openPage(browser, server.url, { key: "wrong-key" });
    await page.evaluate(() => (location.hash = "#/people"));
    const banner = page.locator("#panel-people .banner");
    await eventually(async () => assert.match(await banner.textContent(), /could not be listed \(401\).*API key/));
    assert.match(await page.locator("#pp-status").textContent(), /could not be loaded/);
    await page.fill("#api-key", API_KEY);
    await keySettled(page);
    await eventually(async () => assert.ok((await page.locator("#pp-table tbody").textContent()).includes(u.email)));
    assert.equal(await banner.textContent(), "");
    await page.context().close();
  });

  test("after a create the generated username is shown with the password", async () => {
    const page = await openPage(browser, server.url);
    await page.fill("#u-email", `grace.${uniq()}@example.com`);
    await page.fill("#u-first", "Grace");
    await page.fill("#u-last", "Hopper");
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/v1/users") && r.request().method() === "POST"), page.click("#user-form [type=submit]")]);
    const body = await res.json();
    const stored = await api(`/v1/users/${body.id}`);
    const result = page.locator("#panel-user .result");
    await result.getByText(body.password).waitFor();
    assert.match(stored.body.username, /grace/i);
    assert.ok((await result.textContent()).includes(stored.body.username), await result.textContent());
    await page.context().close();
  });

  test("a sponsor linking an existing Attendee says the account was granted the Speaker role", async () => {
    const attendee = await makeUser();
    const page = await openPage(browser, server.url);
    await page.click("#tab-sponsor");
    await page.fill("#s-name", `Role Sponsor ${uniq()}`);
    await page.fill("#s-logo", "https://example.com/logo.png");
    await page.selectOption("#s-level", "2");
    await page.click(".add-speaker");
    await page.locator(".speaker [data-rel='.email']").fill(attendee.email);
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/v1/sponsors") && r.request().method() === "POST"), page.click("#sponsor-form [type=submit]")]);
    assert.equal(res.status(), 201);
    const result = page.locator("#panel-sponsor .result");
    await result.waitFor();
    assert.match(await result.textContent(), new RegExp(`${attendee.email.replace(/\./g, "\\.")}.*granted the Speaker role`));
    assert.equal((await api(`/v1/users/${attendee.id}`)).body.type, "Speaker");
    await page.context().close();
  });
});

describe("People", () => {
  let tagged;
  before(async () => {
    // 60 people tagged for this describe (more than one page of 50), through the bulk route.
    const tag = `Batch${uniq()}`;
    const users = Array.from({ length: 60 }, (_, i) => ({
      email: `batch.${i}.${uniq()}@example.com`,
      type: i % 3 ? "Attendee" : "Speaker",
      firstName: `Person${i}`,
      lastName: "Batch",
      tags: [tag],
    }));
    const r = await api("/v1/users/bulk", { body: { users } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.counts.created, 60);
    tagged = { tag, users };
  });

  test("the list, its type and tag filters, load more, and the URL keeping them", async () => {
    const page = await openPage(browser, server.url);
    const fetched = [];
    page.on("request", (r) => r.url().includes("/assets/people.js") && fetched.push(r.url()));
    await page.click("#tab-people");
    await page.locator("#pp-status", { hasText: /shown/ }).waitFor();
    assert.equal(fetched.length, 1, "the People view's code is fetched when the tab opens");
    assert.match(page.url(), /#\/people$/);

    const batch = new Set(tagged.users.map((u) => u.email));
    const shownEmails = () => page.locator("#pp-table tbody td:nth-child(2)").allTextContents();
    await page.selectOption("#pp-tag", tagged.tag);
    await eventually(async () => {
      const emails = await shownEmails();
      assert.equal(emails.length, 50);
      assert.ok(emails.every((e) => batch.has(e)), "only the tag's people");
      assert.match(await page.locator("#pp-status").textContent(), /shown/);
    });
    assert.match(page.url(), new RegExp(`#/people\\?tag=${tagged.tag}$`));
    assert.equal(await page.locator("#pp-more").isVisible(), true);
    assert.match(await page.locator("#pp-status").textContent(), /50 people shown; more on demand/);
    await page.click("#pp-more");
    await eventually(async () => assert.equal(await rowsOf(page).count(), 60));
    assert.equal(await page.locator("#pp-more").isVisible(), false);
    const emails = await page.locator("#pp-table tbody td:nth-child(2)").allTextContents();
    assert.deepEqual(new Set(emails), new Set(tagged.users.map((u) => u.email)));

    await page.selectOption("#pp-type", "Speaker");
    await eventually(async () => {
      assert.equal(await rowsOf(page).count(), 20);
      assert.ok((await page.locator("#pp-table tbody td:nth-child(3)").allTextContents()).every((t) => t === "Speaker"));
    });
    assert.match(page.url(), /type=Speaker/);

    // A reload (or a shared link) shows the same list.
    await page.reload();
    await page.locator("#pp-status", { hasText: /shown/ }).waitFor();
    assert.equal(await page.inputValue("#pp-type"), "Speaker");
    await eventually(async () => assert.equal(await page.inputValue("#pp-tag"), tagged.tag));
    assert.equal(await rowsOf(page).count(), 20);
    assert.equal(await page.locator("#panel-people").isVisible(), true);

    // A filter nobody matches: the empty state says so.
    await page.selectOption("#pp-type", "Attendee");
    await page.goto(`${server.url}/#/people?tag=NoSuchTag${uniq()}`);
    await page.locator("#pp-empty", { hasText: "Nobody matches" }).waitFor();
    assert.deepEqual(page.pageErrors, []);
    await page.context().close();
  });

  test("search: no request under 2 characters, one per pause, results by name or e-mail prefix", async (t) => {
    if (needs(t, "q")) return;
    const who = await makeUser({ firstName: "Zebulon", lastName: `Quartz${uniq()}` });
    const page = await openPage(browser, server.url);
    await openPeople(page);
    page.apiRequests.length = 0;
    await page.locator("#pp-q").pressSequentially("z");
    await page.waitForTimeout(600);
    assert.deepEqual(page.apiRequests.filter((r) => r.includes("q=")), [], "one character sends nothing");
    assert.match(await page.locator("#pp-status").textContent(), /at least 2 characters/);
    await page.locator("#pp-q").pressSequentially("ebul");
    await eventually(async () => assert.ok((await page.locator("#pp-table tbody").textContent()).includes(who.email)));
    const searches = page.apiRequests.filter((r) => r.includes("q="));
    assert.ok(searches.length <= 2, `debounced: ${searches.join(", ")}`);
    assert.match(page.url(), /#\/people\?q=zebul/);
    await page.fill("#pp-q", who.email.slice(0, 12).toUpperCase());
    await eventually(async () => assert.ok((await page.locator("#pp-table tbody").textContent()).includes(who.email)));
    await page.context().close();
  });

  test("detail: every field, focus into it and back to the row; Escape closes", async () => {
    const u = await makeUser({ type: "Speaker", job: "Analyst", company: "Engines Ltd", tags: ["Mathematics"], city: "London", options: { highlight: true } });
    const page = await openPage(browser, server.url);
    await openPeople(page, "#/people?tag=Mathematics");
    const open = page.locator(`#pp-table button[data-id="${u.id}"]`);
    await open.focus();
    await page.keyboard.press("Enter");
    const dialog = page.locator("dialog.detail[open]");
    await dialog.locator("h2", { hasText: "Ada Lovelace" }).waitFor();
    assert.equal(await activeText(page), "Ada Lovelace");
    const text = await dialog.textContent();
    for (const v of [u.email, "Speaker", "Analyst", "Engines Ltd", "Mathematics", "London", u.id]) assert.ok(text.includes(v), `${v} in ${text}`);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" }).catch(() => {});
    assert.equal(await page.locator("dialog.detail[open]").count(), 0);
    // The dialog's close event (which moves focus) is a task of its own: wait for it.
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.dataset.id), u.id, "focus is back on the row"));
    await page.context().close();
  });

  test("new password: shown once with a copy button, and the server's answer", async () => {
    const u = await makeUser({ tags: [`Pw${uniq()}`] });
    const page = await openPage(browser, server.url);
    await openPeople(page, `#/people?tag=${u.tags[0]}`);
    await page.click(`#pp-table button[data-id="${u.id}"]`);
    const dialog = page.locator("dialog.detail[open]");
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/v1/users/${u.id}/password`)),
      dialog.getByRole("button", { name: "New password" }).click(),
    ]);
    assert.equal(res.status(), 200);
    const { password } = await res.json();
    assert.notEqual(password, u.password);
    await dialog.getByText(password).waitFor();
    assert.match(await dialog.textContent(), /shown only once/i);
    await dialog.getByRole("button", { name: /Copy new password/ }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), password);
    await page.context().close();
  });

  test("edit: the form holds the record (saving it untouched sends nothing); a rule error shows on its field before any request; Cancel", async () => {
    const u = await makeUser({
      tags: [`Ed${uniq()}`, "Mentor"], type: "Speaker", description: "Two lines.\nSecond.", status: "Employed", timezone: "Europe/Paris",
      socials: { twitter: "https://twitter.com/ada" }, options: { highlight: true, endRegistration: false }, website: "https://ada.example.com",
    });
    const page = await openPage(browser, server.url);
    await openPeople(page, `#/people?tag=${u.tags[0]}`);
    await page.click(`#pp-table button[data-id="${u.id}"]`);
    const dialog = page.locator("dialog.detail[open]");
    await dialog.getByRole("button", { name: "Edit" }).click();
    assert.equal(await page.inputValue("#pe-email"), u.email, "the form holds the record");
    assert.equal(await page.inputValue("#pe-status"), "Employed");
    assert.equal(await page.inputValue("#pe-twitter"), "https://twitter.com/ada");
    assert.equal(await page.isChecked("#pe-highlight"), true);
    assert.deepEqual(await dialog.locator(".chips li span").allTextContents(), u.tags);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "pe-email");
    page.apiRequests.length = 0;
    await dialog.getByRole("button", { name: /Save changes/ }).click();
    await dialog.locator(".ok-note", { hasText: "Nothing was changed" }).waitFor();
    assert.deepEqual(page.apiRequests, [], "an untouched form is no patch");
    await dialog.getByRole("button", { name: "Edit" }).click();
    await page.fill("#pe-email", "not-an-email");
    await page.fill("#pe-website", "http://insecure.example.com");
    // The package's validateUserPatch on the stored user and this patch says the same.
    const existing = (await api(`/v1/users/${u.id}`)).body;
    const errors = rules.validateUserPatch(existing, { email: "not-an-email", website: "http://insecure.example.com" });
    const expected = (field) => errors.filter((e) => e.field === field).map((e) => e.message).join(" ");
    assert.ok(expected("email") && expected("website"), JSON.stringify(errors));
    assert.equal(await page.locator("#pe-email-err").textContent(), expected("email"));
    assert.equal(await page.locator("#pe-website-err").textContent(), expected("website"));
    await dialog.getByRole("button", { name: /Save changes/ }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), "pe-email");
    assert.deepEqual(page.apiRequests, [], "the rulebook caught it: nothing is sent");
    await assertNoAxeProblems(page, "edit form with errors");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.locator("h2", { hasText: "Ada Lovelace" }).waitFor();
    assert.equal((await api(`/v1/users/${u.id}`)).body.email, u.email);
    await page.context().close();
  });

  test("edit: Save sends only what changed, with If-Match; the table follows", async (t) => {
    if (needs(t, "patchUser")) return;
    const u = await makeUser({ company: "Old Co", tags: [`Sv${uniq()}`] });
    const page = await openPage(browser, server.url);
    await openPeople(page, `#/people?tag=${u.tags[0]}`);
    await page.click(`#pp-table button[data-id="${u.id}"]`);
    const dialog = page.locator("dialog.detail[open]");
    await dialog.getByRole("button", { name: "Edit" }).click();
    await page.fill("#pe-last", "King");
    await page.fill("#pe-company", "");
    await page.fill("#pe-city", "Ockham");
    const [req] = await Promise.all([
      page.waitForRequest((r) => r.method() === "PATCH"),
      dialog.getByRole("button", { name: /Save changes/ }).click(),
    ]);
    assert.deepEqual(req.postDataJSON(), { lastName: "King", company: null, city: "Ockham" });
    assert.ok(req.headers()["if-match"], "sent with If-Match");
    assert.match(req.headers()["content-type"], /merge-patch\+json/);
    await dialog.locator(".ok-note", { hasText: "Saved" }).waitFor();
    const stored = (await api(`/v1/users/${u.id}`)).body;
    assert.equal(stored.lastName, "King");
    assert.equal(stored.company ?? null, null);
    assert.equal(stored.city, "Ockham");
    await page.keyboard.press("Escape");
    await eventually(async () => assert.match(await page.locator(`#pp-table tr[data-id="${u.id}"]`).textContent(), /Ada King/));
    await page.context().close();
  });

  test("edit: a taken e-mail shows the server's 409 on the e-mail field", async (t) => {
    if (needs(t, "patchUser")) return;
    const other = await makeUser();
    const u = await makeUser({ tags: [`Tk${uniq()}`] });
    const page = await openPage(browser, server.url);
    await openPeople(page, `#/people?tag=${u.tags[0]}`);
    await page.click(`#pp-table button[data-id="${u.id}"]`);
    const dialog = page.locator("dialog.detail[open]");
    await dialog.getByRole("button", { name: "Edit" }).click();
    await page.fill("#pe-email", other.email.toUpperCase());
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "PATCH"),
      dialog.getByRole("button", { name: /Save changes/ }).click(),
    ]);
    assert.equal(res.status(), 409);
    const conflict = (await res.json()).errors.find((e) => e.field === "email");
    assert.equal(conflict.code, "email_taken");
    await eventually(async () => assert.equal(await page.locator("#pe-email-err").textContent(), conflict.message));
    assert.equal(await page.getAttribute("#pe-email", "aria-invalid"), "true");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "pe-email");
    await page.context().close();
  });

  test("edit: a change made meanwhile is a 412; the page shows it, then reloads or overwrites", async (t) => {
    if (needs(t, "patchUser")) return;
    const u = await makeUser({ city: "Paris", tags: [`Cf${uniq()}`] });
    const page = await openPage(browser, server.url);
    await openPeople(page, `#/people?tag=${u.tags[0]}`);
    await page.click(`#pp-table button[data-id="${u.id}"]`);
    const dialog = page.locator("dialog.detail[open]");
    await dialog.getByRole("button", { name: "Edit" }).click();
    // Someone else changes the record between the load and the save.
    const theirs = await api(`/v1/users/${u.id}`, { method: "PATCH", body: { city: "Lyon" }, headers: { "content-type": "application/merge-patch+json" } });
    assert.equal(theirs.status, 200, theirs.text);
    await page.fill("#pe-job", "Poet");
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "PATCH"),
      dialog.getByRole("button", { name: /Save changes/ }).click(),
    ]);
    assert.equal(res.status(), 412);
    assert.equal((await res.json()).code, "precondition_failed");
    const box = dialog.locator(".conflict");
    await box.waitFor();
    const text = await box.textContent();
    assert.match(text, /someone else changed this person/);
    assert.match(text, /City.*Paris.*Lyon/);
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains("conflict")), true);
    await assertNoAxeProblems(page, "412 conflict");
    // Overwrite: only the fields changed here are written, against their version.
    const [again] = await Promise.all([
      page.waitForRequest((r) => r.method() === "PATCH"),
      box.getByRole("button", { name: "Save mine over theirs" }).click(),
    ]);
    assert.deepEqual(again.postDataJSON(), { job: "Poet" });
    await dialog.locator(".ok-note", { hasText: "Saved" }).waitFor();
    const stored = (await api(`/v1/users/${u.id}`)).body;
    assert.equal(stored.city, "Lyon", "their change is kept");
    assert.equal(stored.job, "Poet");

    // Reload instead: their version shows, nothing of mine is sent.
    await dialog.getByRole("button", { name: "Edit" }).click();
    await api(`/v1/users/${u.id}`, { method: "PATCH", body: { city: "Nice" }, headers: { "content-type": "application/merge-patch+json" } });
    await page.fill("#pe-job", "Painter");
    await dialog.getByRole("button", { name: /Save changes/ }).click();
    await box.waitFor();
    await box.getByRole("button", { name: /Reload/ }).click();
    await dialog.locator(".ok-note", { hasText: "Reloaded" }).waitFor();
    assert.match(await dialog.textContent(), /Nice/);
    assert.equal((await api(`/v1/users/${u.id}`)).body.job, "Poet");
    await page.context().close();
  });

  test("remove: a confirmation names the person and says it erases them; then they are gone", async (t) => {
    if (needs(t, "deleteUser")) return;
    const u = await makeUser({ firstName: "Erase", lastName: "Me", tags: [`Rm${uniq()}`] });
    const keep = await makeUser({ firstName: "Keep", lastName: "Me", tags: u.tags });
    const page = await openPage(browser, server.url);
    await openPeople(page, `#/people?tag=${u.tags[0]}`);
    await page.click(`#pp-table button[data-id="${u.id}"]`);
    await page.locator("dialog.detail[open]").getByRole("button", { name: "Remove…" }).click();
    const confirm = page.locator("dialog.confirm[open]");
    assert.match(await confirm.textContent(), /Remove Erase Me\?.*erases Erase Me/);
    // Escape (or Cancel) removes nothing.
    await page.keyboard.press("Escape");
    assert.equal((await api(`/v1/users/${u.id}`)).status, 200);
    await page.locator("dialog.detail[open]").getByRole("button", { name: "Remove…" }).click();
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "DELETE"),
      page.locator("dialog.confirm[open]").getByRole("button", { name: "Remove Erase Me" }).click(),
    ]);
    assert.equal(res.status(), 204);
    assert.ok(res.request().headers()["if-match"]);
    await page.locator("#pp-status", { hasText: "Erase Me was removed" }).waitFor();
    assert.equal(await page.locator(`#pp-table tr[data-id="${u.id}"]`).count(), 0);
    assert.equal(await page.locator(`#pp-table tr[data-id="${keep.id}"]`).count(), 1);
    assert.equal((await api(`/v1/users/${u.id}`)).status, 404);
    await page.context().close();
  });

  test("export: the server's CSV of the current filters is downloaded", async () => {
    assert.ok(has.csv, "GET /v1/users answers text/csv to Accept: text/csv");
    const tag = `Ex${uniq()}`;
    const a = await makeUser({ firstName: "Csv", lastName: "One", tags: [tag] });
    const b = await makeUser({ firstName: "Csv", lastName: "Two", tags: [tag], type: "Speaker" });
    const page = await openPage(browser, server.url);
    await openPeople(page, `#/people?tag=${tag}`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#pp-export")]);
    const path = join(RESULTS, `export-${tag}.csv`);
    mkdirSync(RESULTS, { recursive: true });
    await download.saveAs(path);
    const csv = readFileSync(path, "utf8");
    assert.ok(csv.includes(a.email) && csv.includes(b.email), csv);
    assert.equal(csv.trim().split(/\r?\n/).length, 3, "a header and the two people of the filter");
    assert.ok(!csv.includes(a.password) && !/password/i.test(csv.split(/\r?\n/)[0]), "no password in an export");
    // The header row maps back to the catalogue's fields, as the Import tab reads it.
    const header = csv.replace(/^\ufeff/, "").split(/\r?\n/)[0].split(",");
    const mapped = mapHeaders(header);
    assert.deepEqual(mapped.slice(0, 4), ["email", "type", "firstName", "lastName"]);
    assert.equal(mapped.at(-1), null, "the id column is ignored");
    const row = csv.split(/\r?\n/).find((l) => l.startsWith(b.email)).split(",");
    assert.equal(row[1], "Speaker");
    assert.equal(row[header.indexOf("Tags")], tag);
    assert.equal(row.at(-1), b.id);
    await page.context().close();
  });
});

describe("Sponsors", () => {
  test("list and detail with speakers; slug shown; focus back to the row", async () => {
    const speaker = await makeUser({ type: "Speaker", firstName: "Sam", lastName: "Speaks" });
    const s = await makeSponsor({ speakers: [{ email: speaker.email }] });
    const page = await openPage(browser, server.url);
    const fetched = [];
    page.on("request", (r) => r.url().includes("/assets/sponsors.js") && fetched.push(r.url()));
    await page.click("#tab-sponsors");
    await page.locator("#sp-status", { hasText: /shown/ }).waitFor();
    assert.equal(fetched.length, 1);
    const row = page.locator(`#sp-table tr[data-id="${s.id}"]`);
    assert.match(await row.textContent(), new RegExp(`${s.name}2${s.slug}1`));
    await row.getByRole("button").click();
    const dialog = page.locator("dialog.detail[open]");
    await dialog.locator("h2", { hasText: s.name }).waitFor();
    const text = await dialog.textContent();
    assert.ok(text.includes(s.slug) && text.includes("Sam Speaks") && text.includes(speaker.email), text);
    await assertNoAxeProblems(page, "sponsor detail");
    await page.keyboard.press("Escape");
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.dataset.id), s.id));
    await page.context().close();
  });

  test("edit: the rulebook checks the sponsor's fields; Save keeps the slug on a rename", async (t) => {
    const s = await makeSponsor();
    const page = await openPage(browser, server.url);
    await page.click("#tab-sponsors");
    await page.locator(`#sp-table tr[data-id="${s.id}"] button`).click();
    const dialog = page.locator("dialog.detail[open]");
    await dialog.getByRole("button", { name: "Edit" }).click();
    assert.equal(await page.inputValue("#se-name"), s.name);
    page.apiRequests.length = 0;
    await page.fill("#se-color", "red");
    const existing = (await api(`/v1/sponsors/${s.id}`)).body;
    const expected = rules.validateSponsorPatch(existing, { color: "red" }).filter((e) => e.field === "color").map((e) => e.message).join(" ");
    assert.ok(expected);
    assert.equal(await page.locator("#se-color-err").textContent(), expected);
    await dialog.getByRole("button", { name: /Save changes/ }).click();
    assert.deepEqual(page.apiRequests, []);
    if (needs(t, "patchSponsor")) return page.context().close();
    await page.fill("#se-color", "#123456");
    await page.fill("#se-name", `${s.name} Renamed`);
    const [req] = await Promise.all([page.waitForRequest((r) => r.method() === "PATCH"), dialog.getByRole("button", { name: /Save changes/ }).click()]);
    assert.deepEqual(req.postDataJSON(), { name: `${s.name} Renamed`, color: "#123456" });
    await dialog.locator(".ok-note", { hasText: "Saved" }).waitFor();
    const stored = (await api(`/v1/sponsors/${s.id}`)).body;
    assert.equal(stored.name, `${s.name} Renamed`);
    assert.equal(stored.slug, s.slug, "the slug is stable on a rename");
    await page.context().close();
  });

  test("add speaker: an existing Attendee is linked and granted the role; a new e-mail creates an account shown once; remove from sponsor", async (t) => {
    if (needs(t, "addSpeaker", "removeSpeaker")) return;
    const attendee = await makeUser({ firstName: "Atte", lastName: "Ndee" });
    const s = await makeSponsor();
    const page = await openPage(browser, server.url);
    await page.click("#tab-sponsors");
    await page.locator(`#sp-table tr[data-id="${s.id}"] button`).click();
    const dialog = page.locator("dialog.detail[open]");
    await dialog.getByRole("button", { name: "Add speaker" }).click();
    const email = dialog.locator("[data-rel='.email']");
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.rel), ".email");
    await email.fill(attendee.email);
    await dialog.getByRole("button", { name: "Add speaker" }).click();
    await dialog.locator(".found", { hasText: "granted the Speaker role" }).waitFor();
    const [linked] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/v1/sponsors/${s.id}/speakers`)),
      dialog.getByRole("button", { name: "Link Atte Ndee" }).click(),
    ]);
    assert.equal(linked.status(), 200);
    await dialog.locator(".ok-note", { hasText: "granted the Speaker role" }).waitFor();
    assert.equal((await api(`/v1/users/${attendee.id}`)).body.type, "Speaker");

    // A new e-mail: names are asked for, the password is shown once.
    await dialog.getByRole("button", { name: "Add speaker" }).click();
    const fresh = `new.${uniq()}@example.com`;
    await dialog.locator("[data-rel='.email']").fill(fresh);
    await dialog.getByRole("button", { name: "Add speaker" }).click();
    await dialog.locator(".found", { hasText: "No account" }).waitFor();
    // Without names, the server's answer (a new account needs them) lands on the name fields.
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/v1/sponsors/${s.id}/speakers`)),
      dialog.getByRole("button", { name: "Create and add speaker" }).click(),
    ]);
    assert.equal(refused.status(), 400);
    await eventually(async () => assert.notEqual(await dialog.locator(".field:has([data-rel='.firstName']) .err").textContent(), ""));
    await dialog.locator("[data-rel='.firstName']").fill("Nova");
    await dialog.locator("[data-rel='.lastName']").fill("Newman");
    const [created] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/v1/sponsors/${s.id}/speakers`)),
      dialog.getByRole("button", { name: "Create and add speaker" }).click(),
    ]);
    assert.equal(created.status(), 201);
    const body = await created.json();
    await dialog.getByText(body.password).waitFor();
    assert.match(await dialog.textContent(), /shown only once/i);

    // Already a speaker: the 409 lands on the e-mail field.
    await dialog.getByRole("button", { name: "Add speaker" }).click();
    await dialog.locator("[data-rel='.email']").fill(fresh);
    await dialog.getByRole("button", { name: "Add speaker" }).click();
    const [dup] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/v1/sponsors/${s.id}/speakers`)),
      dialog.getByRole("button", { name: /Link/ }).click(),
    ]);
    assert.equal(dup.status(), 409);
    await eventually(async () => assert.match(await dialog.locator(".field:has([data-rel='.email']) .err").textContent(), /\S/));
    await dialog.getByRole("button", { name: "Cancel" }).click();

    // Remove from sponsor: the account stays.
    await dialog.getByRole("button", { name: `Remove Atte Ndee from ${s.name}` }).click();
    const [gone] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "DELETE"),
      page.locator("dialog.confirm[open]").getByRole("button", { name: "Remove from sponsor" }).click(),
    ]);
    assert.equal(gone.status(), 204);
    await dialog.locator(".ok-note", { hasText: "no longer a speaker" }).waitFor();
    assert.equal((await api(`/v1/users/${attendee.id}`)).status, 200);
    assert.deepEqual((await api(`/v1/sponsors/${s.id}`)).body.speakers.map((x) => x.email), [fresh]);
    await page.context().close();
  });

  test("remove sponsor: confirmed, gone; its speakers keep their accounts", async (t) => {
    if (needs(t, "deleteSponsor")) return;
    const speaker = await makeUser({ type: "Speaker" });
    const s = await makeSponsor({ speakers: [{ email: speaker.email }] });
    const page = await openPage(browser, server.url);
    await page.click("#tab-sponsors");
    await page.locator(`#sp-table tr[data-id="${s.id}"] button`).click();
    await page.locator("dialog.detail[open]").getByRole("button", { name: "Remove sponsor…" }).click();
    const confirm = page.locator("dialog.confirm[open]");
    assert.match(await confirm.textContent(), /keep their accounts/);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "DELETE"),
      confirm.getByRole("button", { name: `Remove ${s.name}` }).click(),
    ]);
    assert.equal(res.status(), 204);
    await page.locator("#sp-status", { hasText: `${s.name} was removed` }).waitFor();
    assert.equal((await api(`/v1/sponsors/${s.id}`)).status, 404);
    assert.equal((await api(`/v1/users/${speaker.id}`)).status, 200);
    await page.context().close();
  });
});

describe("read-only keys, keyboard, accessibility, narrow screens", () => {
  test("a restricted key: views are read-only, with a line saying so, and no edit control", async () => {
    const made = await api("/v1/keys", { body: { description: "views read-only", privilege: "restricted" } });
    assert.equal(made.status, 201);
    const u = await makeUser({ tags: [`Ro${uniq()}`] });
    const s = await makeSponsor();
    const page = await openPage(browser, server.url, { key: made.body.key });
    assert.match(await page.locator("#api-key-status").textContent(), /Read-only key/);
    await openPeople(page, `#/people?tag=${u.tags[0]}`);
    assert.equal(await page.locator("#panel-people .readonly-note").isVisible(), true);
    await page.click(`#pp-table button[data-id="${u.id}"]`);
    const dialog = page.locator("dialog.detail[open]");
    await dialog.locator("h2", { hasText: "Ada Lovelace" }).waitFor();
    for (const name of ["Edit", "New password", "Remove…"]) assert.equal(await dialog.getByRole("button", { name }).count(), 0, name);
    await page.keyboard.press("Escape");
    await page.click("#tab-sponsors");
    await page.locator(`#sp-table tr[data-id="${s.id}"] button`).click();
    await page.locator("dialog.detail[open] h2", { hasText: s.name }).waitFor();
    for (const name of ["Edit", "Add speaker", "Remove sponsor…"]) assert.equal(await page.locator("dialog.detail[open]").getByRole("button", { name }).count(), 0, name);
    assert.equal(await page.locator("#panel-sponsors .readonly-note").isVisible(), true);
    await page.keyboard.press("Escape");
    await page.click("#tab-import");
    await page.locator("#panel-import .readonly-note").waitFor();
    assert.match(await page.locator("#panel-import .readonly-note").textContent(), /importing needs a standard key/);
    await page.click("#tab-sponsors");
    // A standard key brings the controls back.
    await page.keyboard.press("Escape");
    await page.fill("#api-key", API_KEY);
    await keySettled(page);
    assert.equal(await page.locator("#panel-sponsors .readonly-note").isVisible(), false);
    await page.locator(`#sp-table tr[data-id="${s.id}"] button`).click();
    await page.locator("dialog.detail[open]").getByRole("button", { name: "Edit" }).waitFor();
    assert.deepEqual(page.pageErrors, []);
    await page.context().close();
  });

  test("keyboard only: to People, into the filters, a row, its detail and back", async () => {
    const u = await makeUser({ firstName: "Keyboard", lastName: "Only", tags: [`Kb${uniq()}`] });
    const page = await openPage(browser, server.url);
    const kb = page.keyboard;
    await page.focus("#tab-user");
    for (let i = 0; i < 2; i++) await kb.press("ArrowRight");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "tab-people");
    await page.locator("#pp-status", { hasText: /shown/ }).waitFor();
    await kb.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "pp-q");
    await kb.press("Tab");
    await kb.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "pp-tag");
    await page.selectOption("#pp-tag", u.tags[0]);
    await eventually(async () => assert.equal(await rowsOf(page).count(), 1));
    await page.focus("#pp-tag");
    let reached = false;
    for (let i = 0; i < 6 && !reached; i++) {
      await kb.press("Tab");
      reached = await page.evaluate((id) => document.activeElement?.dataset.id === id, u.id);
    }
    assert.ok(reached, "Tab reaches the row's button");
    await kb.press("Enter");
    await page.locator("dialog.detail[open] h2", { hasText: "Keyboard Only" }).waitFor();
    await kb.press("Escape");
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.dataset.id), u.id));
    await page.context().close();
  });

  test("axe finds nothing serious on the views, at 1280 px and 360 px, and nothing is wider than the screen", async () => {
    const u = await makeUser({ tags: [`Ax${uniq()}`] });
    const s = await makeSponsor();
    for (const viewport of [DESKTOP, PHONE_360]) {
      const page = await openPage(browser, server.url, { viewport });
      await openPeople(page);
      await assertNoAxeProblems(page, `people list ${viewport.width}`);
      const wide = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok((await wide()) <= 0, `the page scrolls sideways at ${viewport.width} px`);
      await page.goto(`${server.url}/#/people?tag=${u.tags[0]}`);
      await page.locator(`#pp-table button[data-id="${u.id}"]`).click();
      await page.locator("dialog.detail[open] h2", { hasText: "Ada Lovelace" }).waitFor();
      await assertNoAxeProblems(page, `person detail ${viewport.width}`);
      await page.locator("dialog.detail[open]").getByRole("button", { name: "Edit" }).click();
      await assertNoAxeProblems(page, `person edit ${viewport.width}`);
      await page.keyboard.press("Escape");
      await page.goto(`${server.url}/#/people?tag=NoSuch${uniq()}`);
      await page.locator("#pp-empty", { hasText: "Nobody matches" }).waitFor();
      await assertNoAxeProblems(page, `people empty ${viewport.width}`);
      await page.click("#tab-sponsors");
      await page.locator("#sp-status", { hasText: /shown/ }).waitFor();
      await assertNoAxeProblems(page, `sponsors list ${viewport.width}`);
      assert.ok((await wide()) <= 0, `the sponsors view scrolls sideways at ${viewport.width} px`);
      await page.locator(`#sp-table tr[data-id="${s.id}"] button`).click();
      await page.locator("dialog.detail[open]").getByRole("button", { name: "Add speaker" }).click();
      await assertNoAxeProblems(page, `add speaker ${viewport.width}`);
      await page.context().close();
    }
  });

  test("screenshots of the People and Sponsors views (docs/ copies for the README)", async () => {
    const tag = `Keynote${uniq()}`;
    const people = [
      ["Grace", "Hopper", "Speaker", "Navy Labs"],
      ["Katherine", "Johnson", "Speaker", "NASA"],
      ["Alan", "Turing", "Attendee", "Bletchley"],
      ["Radia", "Perlman", "Speaker", "Routing Inc"],
      ["Edsger", "Dijkstra", "Attendee", "THE"],
    ];
    const made = [];
    for (const [firstName, lastName, type, company] of people)
      made.push(await makeUser({ email: `${firstName}.${lastName}.${uniq()}@example.org`.toLowerCase(), firstName, lastName, type, company, tags: [tag, type === "Speaker" ? "Speaker track" : "Workshop"] }));
    await makeSponsor({ name: `Acme Cloud ${uniq()}`, level: 1, website: "https://acme.example.com", color: "#1f5fd1", speakers: made.filter((u) => u.type === "Speaker").map((u) => ({ email: u.email })) });
    const page = await openPage(browser, server.url, { viewport: { width: 1280, height: 760 } });
    await openPeople(page, `#/people?tag=${tag}`);
    await eventually(async () => assert.equal(await rowsOf(page).count(), people.length));
    await screenshot(page, "people", { fullPage: false });
    await page.click("#tab-sponsors");
    await page.locator("#sp-status", { hasText: /shown/ }).waitFor();
    await page.locator("#sp-table tbody tr button", { hasText: "Acme Cloud" }).click();
    await page.locator("dialog.detail[open] h2").waitFor();
    await screenshot(page, "sponsors", { fullPage: false });
    if (process.env.UPDATE_DOCS) {
      for (const name of ["people", "sponsors"]) copyFileSync(join(RESULTS, `${name}.png`), join(REPO, "docs", `screenshot-${name}.png`));
    }
    await page.context().close();
  });
});
