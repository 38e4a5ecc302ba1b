// The organizer's page in Debian's Chromium against the real `onboard serve` (embedded
// database, fresh data dir). Expected messages come from the onboard-rules package itself
// (its Node build), so these tests also prove the browser shows the rulebook's words.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import * as rules from "onboard-rules";
import { API_KEY, DESKTOP, PHONE, keySettled, launchBrowser, openPage, screenshot, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Retries `check` (which throws on failure) until it passes or `ms` runs out. */
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

/** The rulebook's message for `field` on `payload` (validated by the package in Node). */
function ruleMessage(validate, payload, field) {
  const found = validate(payload).filter((e) => e.field === field);
  assert.ok(found.length, `the rulebook reports nothing on ${field}`);
  return found.map((e) => e.message).join(" ");
}

const errOf = (page, id) => page.locator(`#${id}-err`).textContent();
const attr = (page, sel, name) => page.locator(sel).getAttribute(name);
const activeId = (page) => page.evaluate(() => document.activeElement?.id ?? "");

async function api(path, body, key = API_KEY) {
  const res = await fetch(server.url + path, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

let n = 0;
const email = (who = "jane") => `${who}.${++n}@example.com`;

async function fillUser(page, { mail = email(), first = "Jane", last = "Doe" } = {}) {
  await page.fill("#u-email", mail);
  await page.fill("#u-first", first);
  await page.fill("#u-last", last);
  return mail;
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

describe("validation in the browser", () => {
  test("an invalid field shows the rulebook's message with no request sent; fixing it clears it", async () => {
    const page = await openPage(browser, server.url);
    const base = { email: "not-an-email", type: "Attendee", firstName: "Jane", lastName: "Doe" };

    await page.fill("#u-email", "not-an-email");
    assert.equal(await errOf(page, "u-email"), ruleMessage(rules.validateUser, base, "email"));
    assert.equal(await attr(page, "#u-email", "aria-invalid"), "true");
    assert.match(await attr(page, "#u-email", "aria-describedby"), /\bu-email-err\b/);
    // Untouched fields keep quiet until a submit is attempted...
    assert.equal(await errOf(page, "u-first"), "");

    await page.fill("#u-website", "http://jane.dev");
    assert.equal(await errOf(page, "u-website"), ruleMessage(rules.validateUser, { ...base, website: "http://jane.dev" }, "website"));

    // ...and the submit button counts every problem, shown or not.
    const all = rules.validateUser({ email: "not-an-email", type: "Attendee", website: "http://jane.dev" });
    assert.ok(all.length >= 4, JSON.stringify(all));
    assert.match(await page.locator("#user-form [type=submit]").textContent(), new RegExp(` ${all.length} problems left`));

    // A failed submit shows everything and moves focus to the first problem, still offline.
    await page.click("#user-form [type=submit]");
    assert.equal(await errOf(page, "u-first"), ruleMessage(rules.validateUser, {}, "firstName"));
    assert.equal(await activeId(page), "u-email");

    await page.fill("#u-email", "jane@example.com");
    assert.equal(await errOf(page, "u-email"), "");
    assert.equal(await attr(page, "#u-email", "aria-invalid"), null);
    await page.fill("#u-website", "https://jane.dev");
    assert.equal(await errOf(page, "u-website"), "");

    assert.deepEqual(page.apiRequests, [], "no API request may be sent while the rules find problems");
    assert.deepEqual(page.pageErrors, []);
    await page.context().close();
  });

  test("messages appear without moving the fields below them (desktop and phone)", async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const page = await openPage(browser, server.url, { viewport });
      const below = page.locator("#u-last");
      const y0 = (await below.boundingBox()).y;
      await page.fill("#u-email", "nope");
      await page.fill("#u-first", " ");
      assert.notEqual(await errOf(page, "u-email"), "");
      assert.notEqual(await errOf(page, "u-first"), "");
      assert.equal((await below.boundingBox()).y, y0, `layout moved at ${viewport.width}px`);
      await page.context().close();
    }
  });

  test("username and slug previews follow typing", async () => {
    const page = await openPage(browser, server.url);
    const preview = page.locator("#user-form [data-preview=username]");
    await page.fill("#u-first", "Jane");
    await page.fill("#u-last", "Doe");
    assert.equal(await preview.textContent(), `Will be generated: ${rules.previewUsername("Jane", "Doe")}`);
    assert.match(await preview.textContent(), /doe\.jane#····/);
    await page.fill("#u-first", "Zoë-Anne");
    await page.fill("#u-last", "Müller");
    assert.equal(await preview.textContent(), `Will be generated: ${rules.previewUsername("Zoë-Anne", "Müller")}`);
    // A chosen username is shown as it will be stored, and checked by the rulebook.
    await page.fill("#u-username", "  SuperJane ");
    assert.equal(await preview.textContent(), "Username: SuperJane");
    await page.fill("#u-username", "jane doe");
    assert.equal(await errOf(page, "u-username"), rules.checkUsername("jane doe").map((e) => e.message).join(" "));
    await page.fill("#u-username", "");
    assert.match(await preview.textContent(), /^Will be generated: muller\.zoeanne#····$/);

    await page.click("#tab-sponsor");
    const slug = page.locator("#sponsor-form [data-preview=slug]");
    await page.fill("#s-name", "Super Sponsor");
    assert.equal(await slug.textContent(), "Slug: super-sponsor");
    await page.fill("#s-name", "Ça va, Café & Co!");
    assert.equal(await slug.textContent(), `Slug: ${rules.slugify("Ça va, Café & Co!")}`);
    // A speaker's username preview reads that speaker's own names.
    await page.click(".add-speaker");
    const sp = page.locator(".speaker").first();
    await sp.locator("[name=firstName]").fill("Ada");
    await sp.locator("[name=lastName]").fill("Lovelace");
    assert.equal(await sp.locator("[data-preview=username]").textContent(), `Will be generated: ${rules.previewUsername("Ada", "Lovelace")}`);
    assert.deepEqual(page.apiRequests, []);
    await page.context().close();
  });
});

describe("creating against the server", () => {
  let created;

  test("a valid user is created; its password is shown once, with a copy button", async () => {
    const page = await openPage(browser, server.url);
    const mail = await fillUser(page);
    await page.selectOption("#u-type", "Speaker");
    await page.fill("#u-username", "SuperJane");
    await page.fill("#u-avatar", "https://domain.com/image-link.jpg");
    await page.fill("#u-job", "Tester");
    await page.fill("#u-company", "Comp Limited");
    await page.fill("#u-description", "Speaks about testing.\nTwice a year.");
    await page.fill("#u-tags", "Mentor");
    await page.press("#u-tags", "Enter");
    await page.locator("#u-tags").pressSequentially("Host,");
    assert.deepEqual(await page.locator("#user-form .chips li span").allTextContents(), ["Mentor", "Host"]);
    await page.fill("#u-timezone", "Europe/Paris");
    await page.fill("#u-country", "France");
    await page.fill("#u-city", "Paris");
    await page.selectOption("#u-status", "Employed");
    await page.fill("#u-website", "https://jane-doe.com");
    await page.fill("#u-facebook", "https://www.facebook.com/jane.doe");
    await page.fill("#u-linkedin", "https://www.linkedin.com/in/janedoe/");
    await page.fill("#u-twitter", "https://twitter.com/janedoe");
    await page.fill("#u-youtube", "https://www.youtube.com/@janedoe");
    await page.check("#u-highlight");
    await page.check("#u-endreg");
    assert.doesNotMatch(await page.locator("#user-form [type=submit]").textContent(), /problem/);

    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/users")),
      page.click("#user-form [type=submit]"),
    ]);
    assert.equal(res.status(), 201);
    const body = await res.json();
    const result = page.locator("#panel-user .result");
    await result.getByText(body.password).waitFor();
    assert.match(await result.textContent(), new RegExp(body.id));
    assert.match(await result.textContent(), /shown only once/i);
    assert.equal(await page.evaluate(() => document.activeElement.classList.contains("result")), true);
    await screenshot(page, "user-success-desktop");

    // The server stored what the form said.
    const stored = await api(`/v1/users/${body.id}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.body.email, mail);
    assert.equal(stored.body.type, "Speaker");
    assert.equal(stored.body.username, "SuperJane");
    assert.deepEqual(stored.body.tags, ["Mentor", "Host"]);
    assert.equal(stored.body.timezone, "Europe/Paris");
    assert.equal(stored.body.status, "Employed");
    assert.equal(stored.body.socials.youtube, "https://www.youtube.com/@janedoe");
    assert.deepEqual(stored.body.options, { highlight: true, endRegistration: true });

    // Copy works; the password is in no storage and gone once hidden or reloaded.
    await result.getByRole("button", { name: "Copy password" }).click();
    await result.getByRole("button", { name: "Copy password" }).filter({ hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), body.password);
    const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!storage.includes(body.password), "the password must not be stored");
    assert.equal(await page.inputValue("#u-email"), "", "the form is reset for the next user");
    await result.getByRole("button", { name: /hide/i }).click();
    assert.equal(await result.isHidden(), true);
    assert.equal(await page.locator(`text=${body.password}`).count(), 0);
    assert.equal(await activeId(page), "u-email");
    await page.reload();
    assert.ok(!(await page.content()).includes(body.password));
    created = { mail, body };
    assert.deepEqual(page.pageErrors, []);
    await page.context().close();
  });

  test("the same email again shows the server's 409 on the email field", async () => {
    assert.ok(created, "needs the user of the previous test");
    const page = await openPage(browser, server.url);
    await fillUser(page, { mail: created.mail.toUpperCase(), first: "Janet" });
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/users")),
      page.click("#user-form [type=submit]"),
    ]);
    assert.equal(res.status(), 409);
    const body = await res.json();
    const conflict = body.errors.find((e) => e.field === "email");
    assert.equal(conflict.code, "email_taken");
    await eventually(async () => assert.equal(await errOf(page, "u-email"), conflict.message));
    assert.equal(await attr(page, "#u-email", "aria-invalid"), "true");
    assert.equal(await activeId(page), "u-email");
    assert.equal(await page.locator("#panel-user .banner").textContent(), "", "a field error is not a banner");
    // Editing the field withdraws the server's verdict on it.
    await page.fill("#u-email", email());
    assert.equal(await errOf(page, "u-email"), "");
    await page.context().close();
  });

  test("a sponsor with two speakers, one invalid, shows the error on that speaker", async () => {
    const page = await openPage(browser, server.url);
    await page.click("#tab-sponsor");
    await page.fill("#s-name", "Super Sponsor");
    await page.fill("#s-logo", "https://domain.com/logo-link.jpg");
    await page.selectOption("#s-level", "3");
    await page.fill("#s-color", "#ff5733");
    await page.check("#s-haspage");
    await page.fill("#s-page", "<p>Empower <b>your</b> journey</p>");
    await page.check("#s-lobby");
    await page.click(".add-speaker");
    await page.click(".add-speaker");
    const [one, two] = [page.locator(".speaker").nth(0), page.locator(".speaker").nth(1)];
    assert.equal(await one.locator("legend").textContent(), "Speaker 1");
    assert.equal(await two.locator("legend").textContent(), "Speaker 2");
    const mail1 = email("ada");
    await one.locator("[data-rel='.email']").fill(mail1);
    await one.locator("[name=firstName]").fill("Ada");
    await one.locator("[name=lastName]").fill("Lovelace");
    await one.locator("[data-rel='.tags']").fill("Keynote,");
    await two.locator("[data-rel='.email']").fill("grace@");

    const payload = { name: "Super Sponsor", logo: "https://domain.com/logo-link.jpg", level: 3, speakers: [{ email: mail1 }, { email: "grace@" }] };
    const twoEmailErr = two.locator("[data-rel='.email'] ~ .err");
    assert.equal(await twoEmailErr.textContent(), ruleMessage(rules.validateSponsor, payload, "speakers[1].email"));
    assert.equal(await two.locator("[data-rel='.email']").getAttribute("aria-invalid"), "true");
    assert.equal(await one.locator("[data-rel='.email'] ~ .err").textContent(), "");
    await page.click("#sponsor-form [type=submit]");
    assert.equal(await page.evaluate(() => document.activeElement.dataset.path), "speakers[1].email");
    assert.deepEqual(page.apiRequests, [], "the rulebook caught it: nothing is sent");
    await screenshot(page, "sponsor-errors-desktop");

    // Valid for the rulebook, but a new speaker needs names: only the server knows the email
    // is new, and its 400 lands on that speaker's first name.
    await two.locator("[data-rel='.email']").fill(email("grace"));
    assert.equal(await twoEmailErr.textContent(), "");
    const [res400] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/sponsors")),
      page.click("#sponsor-form [type=submit]"),
    ]);
    assert.equal(res400.status(), 400);
    const errs = (await res400.json()).errors;
    const firstNameErr = errs.find((e) => e.field === "speakers[1].firstName");
    assert.ok(firstNameErr, JSON.stringify(errs));
    await eventually(async () => assert.equal(await two.locator("[name=firstName] ~ .err").textContent(), firstNameErr.message));
    assert.equal(await page.evaluate(() => document.activeElement.dataset.path), "speakers[1].firstName");
    assert.equal(await one.locator("[name=firstName] ~ .err").textContent(), "");

    await two.locator("[name=firstName]").fill("Grace");
    await two.locator("[name=lastName]").fill("Hopper");
    await two.locator("[data-rel='.highlighted']").check();
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/sponsors")),
      page.click("#sponsor-form [type=submit]"),
    ]);
    assert.equal(res.status(), 201);
    const body = await res.json();
    assert.equal(body.slug, "super-sponsor");
    const result = page.locator("#panel-sponsor .result");
    await result.waitFor();
    for (const s of body.speakers) {
      assert.ok(s.password, "both speakers are new accounts");
      await result.getByText(s.password).waitFor();
      await result.getByText(s.id).waitFor();
      await result.getByRole("button", { name: `Copy password of ${s.email}` }).waitFor();
    }
    assert.match(await result.textContent(), /super-sponsor/);
    assert.match(await result.textContent(), /shown only once/i);
    assert.equal(await page.locator(".speaker").count(), 0, "the form is reset");
    await screenshot(page, "sponsor-success-desktop");
    const stored = await api(`/v1/sponsors/${body.id}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.body.level, 3);
    await page.context().close();
  });

  test("a speaker who already has an account is linked, with no password shown", async () => {
    assert.ok(created, "needs the user of the first create test");
    const page = await openPage(browser, server.url);
    await page.click("#tab-sponsor");
    await page.fill("#s-name", "Linked Sponsor");
    await page.fill("#s-logo", "https://domain.com/linked.png");
    await page.selectOption("#s-level", "1");
    await page.click(".add-speaker");
    await page.locator(".speaker [data-rel='.email']").fill(created.mail);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/sponsors")),
      page.click("#sponsor-form [type=submit]"),
    ]);
    assert.equal(res.status(), 201);
    const body = await res.json();
    assert.equal(body.speakers[0].id, created.body.id);
    assert.equal(body.speakers[0].password, undefined);
    const result = page.locator("#panel-sponsor .result");
    await result.getByText(/existing account/).waitFor();
    assert.match(await result.textContent(), new RegExp(created.body.id));
    assert.equal(await result.getByRole("button", { name: /^Copy/ }).count(), 0);
    assert.doesNotMatch(await result.textContent(), /shown only once/i);
    await page.context().close();
  });

  test("removing a speaker renumbers the others", async () => {
    const page = await openPage(browser, server.url);
    await page.click("#tab-sponsor");
    for (let i = 0; i < 3; i++) await page.click(".add-speaker");
    await page.locator(".speaker").nth(2).locator("[data-rel='.email']").fill("third@");
    await page.getByRole("button", { name: "Remove speaker 2" }).click();
    assert.equal(await page.locator(".speaker").count(), 2);
    const last = page.locator(".speaker").nth(1);
    assert.equal(await last.locator("legend").textContent(), "Speaker 2");
    assert.equal(await last.locator("[data-rel='.email']").getAttribute("data-path"), "speakers[1].email");
    assert.equal(await last.locator("[data-rel='.email']").inputValue(), "third@");
    assert.equal(
      await last.locator("[data-rel='.email'] ~ .err").textContent(),
      ruleMessage(rules.validateSponsor, { speakers: [{}, { email: "third@" }] }, "speakers[1].email"),
    );
    await page.context().close();
  });
});

describe("banners for the server's refusals", () => {
  test("a wrong key shows the 401 banner; a missing key too", async () => {
    const page = await openPage(browser, server.url, { key: "wrong-key" });
    await fillUser(page);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/users")),
      page.click("#user-form [type=submit]"),
    ]);
    assert.equal(res.status(), 401);
    const banner = page.locator("#panel-user .banner");
    await eventually(async () => assert.match(await banner.textContent(), /401/));
    const text = await banner.textContent();
    assert.ok(text.includes((await res.json()).message), text);
    assert.match(text, /API key/);
    assert.equal(await page.locator("#panel-user .banner").getAttribute("role"), "alert");
    assert.equal(await errOf(page, "u-email"), "", "an auth problem is not put on a field");

    await page.fill("#api-key", "");
    const [res2] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/users")),
      page.click("#user-form [type=submit]"),
    ]);
    assert.equal(res2.status(), 401);
    assert.equal(res2.request().headers().authorization, undefined);
    const missing = (await res2.json()).message;
    await eventually(async () => assert.ok((await banner.textContent()).includes(missing)));
    await page.context().close();
  });

  test("a read-only key: the forms say so and send nothing; a 403 still gets its banner", async () => {
    const made = await api("/v1/keys", { description: "web test read-only", privilege: "restricted" });
    assert.equal(made.status, 201);
    const page = await openPage(browser, server.url, { key: made.body.key });
    await fillUser(page);
    const note = page.locator("#panel-user .readonly-note");
    assert.equal(await note.isVisible(), true);
    assert.match(await note.textContent(), /Read-only key/);
    assert.equal(await page.locator("#user-form [type=submit]").isDisabled(), true);
    await page.click("#tab-sponsor");
    assert.equal(await page.locator("#panel-sponsor .readonly-note").isVisible(), true);
    assert.equal(await page.locator("#sponsor-form [type=submit]").isDisabled(), true);
    assert.deepEqual(page.apiRequests, []);
    await page.context().close();

    // Had the page not known the key (its check failed), the server's 403 is a banner.
    const blind = await openPage(browser, server.url, {
      key: made.body.key,
      setup: (p) => p.route(/\/v1\/keys/, (route) => route.abort()),
    });
    await fillUser(blind);
    const [res] = await Promise.all([
      blind.waitForResponse((r) => r.url().endsWith("/v1/users")),
      blind.click("#user-form [type=submit]"),
    ]);
    assert.equal(res.status(), 403);
    await eventually(async () => assert.match(await blind.locator("#panel-user .banner").textContent(), /403/));
    assert.ok((await blind.locator("#panel-user .banner").textContent()).includes((await res.json()).message));
    await blind.context().close();
  });

  test("429 tells when to retry", async () => {
    const limited = await startServer({ ONBOARD_RATE_LIMIT: "1", ONBOARD_READ_RATE_LIMIT: "1" });
    try {
      const page = await openPage(browser, limited.url, { key: null });
      await fillUser(page);
      // The one read and the one write of the minute go to these requests; the page's
      // check of the key (a read) and its create (a write) get a 429.
      const auth = { authorization: `Bearer ${API_KEY}` };
      const first = await fetch(`${limited.url}/v1/users/000000000000000000000000`, { headers: auth });
      assert.notEqual(first.status, 429);
      const write = await fetch(`${limited.url}/v1/users/000000000000000000000000`, { method: "DELETE", headers: auth });
      assert.notEqual(write.status, 429);
      await page.fill("#api-key", API_KEY);
      await keySettled(page);
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/v1/users")),
        page.click("#user-form [type=submit]"),
      ]);
      assert.equal(res.status(), 429);
      const retry = res.headers()["retry-after"];
      assert.match(retry, /^\d+$/);
      const banner = page.locator("#panel-user .banner");
      await eventually(async () => assert.match(await banner.textContent(), /429/));
      const s = Math.max(Number(retry), 1);
      assert.match(await banner.textContent(), new RegExp(`Try again in ${s} second`));
      await page.context().close();
    } finally {
      await limited.stop();
    }
  });
});

describe("without the wasm rulebook", () => {
  test("the form still works and the server's 400 lands on the same fields with the same words", async () => {
    const page = await openPage(browser, server.url, {
      waitRules: false,
      setup: (p) => p.route(/\.wasm$/, (route) => route.abort()),
    });
    await page.locator("#rules-status", { hasText: "could not be loaded" }).waitFor();
    await page.fill("#u-email", "not-an-email");
    await page.fill("#u-website", "http://jane.dev");
    assert.equal(await errOf(page, "u-email"), "", "nothing to check with yet");
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/users")),
      page.click("#user-form [type=submit]"),
    ]);
    assert.equal(res.status(), 400);
    assert.equal((await res.json()).code, "validation_failed");
    const payload = { email: "not-an-email", type: "Attendee", website: "http://jane.dev" };
    await eventually(async () => assert.equal(await errOf(page, "u-email"), ruleMessage(rules.validateUser, payload, "email")));
    assert.equal(await errOf(page, "u-website"), ruleMessage(rules.validateUser, payload, "website"));
    assert.equal(await errOf(page, "u-first"), ruleMessage(rules.validateUser, payload, "firstName"));
    assert.equal(await activeId(page), "u-email");
    // Fixing a field withdraws the server's message on it until the next submit.
    await page.fill("#u-email", "jane@example.com");
    assert.equal(await errOf(page, "u-email"), "");
    assert.equal(await errOf(page, "u-website"), ruleMessage(rules.validateUser, payload, "website"));

    await page.fill("#u-website", "");
    await fillUser(page);
    const [ok] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/users")),
      page.click("#user-form [type=submit]"),
    ]);
    assert.equal(ok.status(), 201);
    await page.locator("#panel-user .result").getByText((await ok.json()).password).waitFor();
    await page.context().close();
  });
});

describe("keyboard and accessibility", () => {
  async function tabTo(page, selector, max = 60) {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
    }
    assert.fail(`Tab never reached ${selector}`);
  }

  test("the whole user form is completed with the keyboard alone", async () => {
    const page = await openPage(browser, server.url, { key: null });
    const mail = email("keys");
    const kb = page.keyboard;
    await tabTo(page, "#api-key");
    await kb.type(API_KEY);
    await tabTo(page, "#u-email");
    await kb.type(mail);
    await kb.press("Tab");
    assert.equal(await activeId(page), "u-type");
    await kb.press("ArrowDown");
    assert.equal(await page.inputValue("#u-type"), "Speaker");
    await tabTo(page, "#u-first");
    await kb.type("Katherine");
    await tabTo(page, "#u-last");
    await kb.type("Johnson");
    await tabTo(page, "#u-tags");
    await kb.type("Mentor");
    await kb.press("Enter");
    await kb.type("NASA,");
    assert.deepEqual(await page.locator("#user-form .chips li span").allTextContents(), ["Mentor", "NASA"]);
    await kb.type("Oops");
    await kb.press("Enter");
    await kb.press("Backspace");
    assert.deepEqual(await page.locator("#user-form .chips li span").allTextContents(), ["Mentor", "NASA"]);
    await tabTo(page, "#u-timezone");
    await kb.type("America/New_York");
    await tabTo(page, "#u-status");
    await kb.press("ArrowDown");
    assert.equal(await page.inputValue("#u-status"), "Employed");
    await tabTo(page, "#u-highlight");
    await kb.press("Space");
    assert.equal(await page.isChecked("#u-highlight"), true);
    assert.deepEqual(page.apiRequests, []);
    await tabTo(page, "#user-form [type=submit]");
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/v1/users")), kb.press("Enter")]);
    assert.equal(res.status(), 201);
    const body = await res.json();
    const result = page.locator("#panel-user .result");
    await result.getByText(body.password).waitFor();
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement.classList.contains("result")), true));
    await kb.press("Tab");
    await kb.press("Enter");
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), body.password);
    await kb.press("Tab");
    await kb.press("Enter");
    assert.equal(await result.isHidden(), true);
    assert.equal(await activeId(page), "u-email");

    const stored = await api(`/v1/users/${body.id}`);
    assert.equal(stored.body.email, mail);
    assert.equal(stored.body.type, "Speaker");
    assert.deepEqual(stored.body.tags, ["Mentor", "NASA"]);
    assert.equal(stored.body.timezone, "America/New_York");
    assert.equal(stored.body.status, "Employed");
    assert.equal(stored.body.options.highlight, true);

    // The sponsor tab and its speakers list work from the keyboard too.
    await kb.press("Shift+Tab");
    assert.equal(await activeId(page), "tab-user");
    await kb.press("ArrowRight");
    assert.equal(await activeId(page), "tab-sponsor");
    assert.equal(await page.locator("#panel-sponsor").isVisible(), true);
    await tabTo(page, ".add-speaker");
    await kb.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement.dataset.path), "speakers[0].email");
    await page.context().close();
  });

  test("the API key lives in sessionStorage only", async () => {
    const page = await openPage(browser, server.url);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("onboard.apiKey")), API_KEY);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.ok(!page.url().includes(API_KEY));
    await page.reload();
    assert.equal(await page.inputValue("#api-key"), API_KEY, "kept for this tab");
    const other = await openPage(browser, server.url, { key: null });
    assert.equal(await other.inputValue("#api-key"), "", "a new session starts without it");
    await page.context().close();
    await other.context().close();
  });

  test("axe finds no serious or critical violation (empty, errors, sponsor, success)", async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const page = await openPage(browser, server.url, { viewport });
      await assertNoAxeProblems(page, "empty user form");
      await page.fill("#u-email", "nope");
      await page.click("#user-form [type=submit]");
      await assertNoAxeProblems(page, "user form with errors");
      await page.click("#tab-sponsor");
      await page.click(".add-speaker");
      await page.fill("#s-name", "Axe Sponsor");
      await page.locator(".speaker [data-rel='.email']").fill("bad@");
      await page.fill("#s-color", "red");
      await assertNoAxeProblems(page, "sponsor form with a speaker and errors");
      await page.click("#tab-user");
      await fillUser(page);
      await page.click("#user-form [type=submit]");
      await page.locator("#panel-user .result").waitFor();
      await assertNoAxeProblems(page, "success");
      await page.context().close();
    }
  });
});

describe("screenshots", () => {
  test("empty, errors and success at desktop and phone widths go to web/test-results/", async () => {
    for (const [name, viewport] of [["desktop", DESKTOP], ["phone", PHONE]]) {
      const page = await openPage(browser, server.url, { viewport });
      await screenshot(page, `empty-${name}`);
      await page.fill("#u-email", "jane@");
      await page.fill("#u-website", "http://jane-doe.com");
      await page.click("#user-form [type=submit]");
      await screenshot(page, `errors-${name}`);
      await fillUser(page);
      await page.fill("#u-website", "https://jane-doe.com");
      await page.fill("#u-tags", "Mentor,Host,");
      await page.click("#user-form [type=submit]");
      await page.locator("#panel-user .result").waitFor();
      await screenshot(page, `success-${name}`);
      if (name === "desktop") {
        // The README's picture (docs/screenshot-web.png is a copy): a result and live checks.
        await page.fill("#u-email", "grace@");
        await page.fill("#u-first", "Grace");
        await page.fill("#u-last", "Hopper");
        await page.fill("#u-avatar", "http://example.com/grace.png");
        await page.locator("#panel-user .result").scrollIntoViewIfNeeded();
        await screenshot(page, "readme", { fullPage: false });
      }
      await page.context().close();
    }
  });
});
