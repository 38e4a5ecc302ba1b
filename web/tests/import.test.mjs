// The Import tab in Debian's Chromium against the real `onboard serve`. Files come from
// import-fixtures.mjs; the expected verdicts from the onboard-rules package (Node build) on the
// payloads each file stands for, so the page is held to the rulebook's own answers.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import AxeBuilder from "@axe-core/playwright";
import Papa from "papaparse";
import * as main from "onboard-rules";
import * as sheet from "onboard-rules/sheet";
import { API_KEY, keySettled, PHONE, launchBrowser, openPage, screenshot, startServer } from "./harness.mjs";
import { csvFile, plantedCsv, sheetRow } from "./import-fixtures.mjs";

// The spreadsheet functions are the package's second module (onboard-rules/sheet).
const rules = { ...main, ...sheet };

let server;
let browser;
/** Whether this server has POST /v1/users/bulk (issue 8's server part) yet. */
let bulk = false;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const res = await fetch(`${server.url}/v1/users/bulk`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ users: [] }),
  });
  bulk = res.status === 200;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openImport(opts) {
  const page = await openPage(browser, server.url, opts);
  await page.click("#tab-import");
  await page.locator("#imp-file").waitFor();
  return page;
}

/** Loads `csv` through the file input and waits for the check to be shown. */
async function loadFile(page, name, csv) {
  await page.setInputFiles("#imp-file", csvFile(name, csv));
  await page.locator("#imp-summary .timing").waitFor();
}

const count = async (page, what) => Number((await page.locator(`#imp-summary [data-count=${what}]`).textContent()).replace(/,/g, ""));
const resultCount = async (page, status) =>
  Number((await page.locator(`#imp-results-summary [data-status="${status}"]`).textContent()).replace(/,/g, ""));

async function download(page, button) {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
  const text = readFileSync(await dl.path(), "utf8");
  const parsed = Papa.parse(text, { header: true, skipEmptyLines: true });
  assert.deepEqual(parsed.errors, []);
  return { name: dl.suggestedFilename(), rows: parsed.data };
}

/** What the rulebook says of a file: per-row errors and the counters the page must show. */
function verdict(payloads) {
  const errors = rules.validateUsers(payloads);
  const invalid = errors.filter((e) => e.length).length;
  const duplicates = errors.filter((e) => e.some((x) => x.code === "duplicate_in_batch")).length;
  return { errors, invalid, valid: payloads.length - invalid, duplicates };
}

const file500 = plantedCsv(500, { tag: "five" });
const expected500 = verdict(file500.payloads);

describe("checking a file in the browser", () => {
  test("a 500-row file with planted problems: counters, cell errors, filter, problems CSV, no request", async () => {
    // The planted problems are really there (else this test would prove little).
    assert.equal(expected500.duplicates, 4);
    assert.ok(expected500.invalid > 30 && expected500.valid > 400, JSON.stringify(expected500.invalid));

    const page = await openImport();
    await loadFile(page, "attendees.csv", file500.csv);
    assert.equal(await count(page, "rows"), 500);
    assert.equal(await count(page, "valid"), expected500.valid);
    assert.equal(await count(page, "invalid"), expected500.invalid);
    assert.equal(await count(page, "duplicates"), expected500.duplicates);
    assert.match(await page.locator("#imp-summary .timing").textContent(), /^500 rows checked in [\d,]+ ms\.$/);
    assert.match(await page.locator("#imp-parse").textContent(), /Separator: ";"/);
    // The BOM did not stick to the first column name.
    assert.equal(await page.inputValue("#imp-col-0"), "email");
    assert.equal(await page.locator("#imp-start").textContent(), `Import ${expected500.valid} valid rows`);

    // Each planted problem is on its own cell, in the rulebook's words.
    const cellErr = (i, field) => page.locator(`#imp-table tr[data-row="${sheetRow(i)}"] td[data-field="${field}"] .cell-err`);
    const msg = (i, field) => expected500.errors[i].filter((e) => e.field === field).map((e) => e.message).join(" ");
    for (const [i, field, code] of [[3, "email", "email_invalid"], [7, "website", "url_not_https"], [11, "type", "invalid_choice"], [20, "email", "duplicate_in_batch"]]) {
      assert.ok(expected500.errors[i].some((e) => e.field === field && e.code === code), `row ${i}: ${JSON.stringify(expected500.errors[i])}`);
      assert.equal(await cellErr(i, field).textContent(), msg(i, field));
    }
    assert.equal(await page.locator(`#imp-table tr[data-row="${sheetRow(0)}"] .cell-err`).count(), 0, "a valid row shows no error");
    assert.equal(await page.locator("#imp-table tbody tr").count(), 50, "a page of 50 rows");

    // Only the rows with problems, in file order, paged.
    await page.check("#imp-only");
    const problemRows = expected500.errors.flatMap((e, i) => (e.length ? [String(sheetRow(i))] : []));
    const shown = await page.locator("#imp-table tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.row));
    assert.deepEqual(shown, problemRows.slice(0, 50));
    assert.equal(await page.locator("#imp-table tbody tr:not(.bad-row)").count(), 0);
    assert.match(await page.locator("#panel-import .pager").first().textContent(), new RegExp(`of ${problemRows.length}`));
    // The README's picture (docs/screenshot-import.png is a copy): mapping, counters, cell errors.
    await page.locator("#imp-check-h").evaluate((el) => el.scrollIntoView());
    await screenshot(page, "import-problems-desktop", { fullPage: false });
    await screenshot(page, "import-problems-desktop-full");

    // The problems CSV: one line per error, with the spreadsheet's row number.
    const { name, rows } = await download(page, "#imp-problems");
    assert.equal(name, "attendees.problems.csv");
    const want = expected500.errors.flatMap((errs, i) => errs.map((e) => [String(sheetRow(i)), e.field, e.message, e.code]));
    assert.deepEqual(rows.map((r) => [r.row, r.field, r.message, r.code]), want);
    assert.equal(rows.find((r) => r.row === String(sheetRow(3)) && r.field === "email").value, file500.payloads[3].email);

    assert.deepEqual(page.apiRequests, [], "checking a file sends no request");
    assert.deepEqual(page.pageErrors, []);
    await page.context().close();
  });

  test("column names in French or variants map to fields; correcting a mapping checks again", async () => {
    const page = await openImport();
    const csv = [
      "Adresse e-mail,FIRST NAME,Surname,User type,Time zone,LinkedIn URL,Société,Options.Highlight,Mail pro,Whatever",
      "ada@example.com,Ada,Lovelace,Speaker,Europe/London,https://www.linkedin.com/in/ada,Analytical,yes,ada@work.example.com,x",
    ].join("\n");
    await page.fill("#imp-paste", csv);
    await page.click("#imp-read");
    await page.locator("#imp-summary .timing").waitFor();
    const mapped = [];
    for (let c = 0; c < 10; c++) mapped.push(await page.inputValue(`#imp-col-${c}`));
    assert.deepEqual(mapped, ["email", "firstName", "lastName", "type", "timezone", "socials.linkedin", "company", "options.highlight", "", ""]);
    assert.equal(await count(page, "valid"), 1);

    // A file whose email column has an unknown name: every row lacks an email until mapped.
    const other = "Mail pro;Prénom;Nom;Mise en avant\nada@work.example.com;Ada;Lovelace;oui\ngrace@work.example.com;Grace;Hopper;non\n";
    await page.fill("#imp-paste", other);
    await page.click("#imp-read");
    await page.locator("#imp-summary .timing").waitFor();
    assert.equal(await page.inputValue("#imp-col-0"), "");
    assert.equal(await page.inputValue("#imp-col-3"), "options.highlight");
    assert.equal(await count(page, "invalid"), 2);
    const required = rules.validateUsers([{ type: "Attendee", firstName: "Grace", lastName: "Hopper", options: { highlight: false } }])[0];
    assert.equal(await page.locator('#imp-table tr[data-row="3"] td:last-child .cell-err').textContent(), `Email: ${required.find((e) => e.field === "email").message}`);

    await page.selectOption("#imp-col-0", "email");
    // Ada is highlighted but has no type: an Attendee by default, which the rulebook refuses.
    const ada = { email: "ada@work.example.com", type: "Attendee", firstName: "Ada", lastName: "Lovelace", options: { highlight: true } };
    const adaErr = rules.validateUser(ada);
    assert.deepEqual(adaErr.map((e) => e.code), ["speaker_only"]);
    assert.equal(await count(page, "valid"), 1);
    assert.equal(await page.locator('#imp-table tr[data-row="2"] td[data-field="options.highlight"] .cell-err').textContent(), adaErr[0].message);
    // The default type is part of the check too.
    await page.selectOption("#imp-type", "Speaker");
    assert.equal(await count(page, "valid"), 2);
    assert.equal(await page.locator("#imp-table .cell-err").count(), 0);

    // One column per field: giving "email" to another column takes it from the first.
    await page.selectOption("#imp-col-1", "email");
    assert.equal(await page.inputValue("#imp-col-0"), "");
    assert.equal(await count(page, "valid"), 0);
    assert.deepEqual(page.apiRequests, []);
    await page.context().close();
  });

  test("a full-name column is split, a ticket-type column gets a value table, URL corrections are offered", async () => {
    const page = await openImport();
    const csv = [
      "Name,Email,Ticket Type,LinkedIn",
      '"Doe, Jane",jane@example.com,Speaker Pass,linkedin.com/in/jane',
      "Jane van Doe,jvd@example.com,Early Bird,",
    ].join("\n");
    await page.fill("#imp-paste", csv);
    await page.click("#imp-read");
    await page.locator("#imp-summary .timing").waitFor();
    const mapped = [];
    for (let c = 0; c < 4; c++) mapped.push(await page.inputValue(`#imp-col-${c}`));
    assert.deepEqual(mapped, rules.mapHeaders(["Name", "Email", "Ticket Type", "LinkedIn"]).map((p) => p ?? ""));
    assert.deepEqual(mapped, ["fullName", "email", "", "socials.linkedin"]);
    // The split, shown before anything is imported.
    const split = (row) => page.locator(`#imp-table tr[data-row="${row}"] td[data-field="fullName"] .split`).textContent();
    assert.equal(await split(2), "First name: Jane · Last name: Doe");
    assert.equal(await split(3), "First name: Jane van · Last name: Doe");
    assert.equal(await page.locator("#imp-summary [data-count=split]").textContent(), "2");
    assert.ok(await page.locator("#imp-types").isHidden());

    // The ticket type read as type: its words are not types until a person says what they mean.
    await page.selectOption("#imp-col-2", "type");
    assert.ok(await page.locator("#imp-types").isVisible());
    assert.equal(await count(page, "valid"), 0);
    await page.selectOption('#imp-types select[data-value="Speaker Pass"]', "Speaker");
    await page.selectOption('#imp-types select[data-value="Early Bird"]', "Attendee");
    const payloads = rules.rowsToUsers(["Name", "Email", "Ticket Type", "LinkedIn"],
      [["Doe, Jane", "jane@example.com", "Speaker Pass", "linkedin.com/in/jane"], ["Jane van Doe", "jvd@example.com", "Early Bird", ""]],
      { type: "Attendee" }, { columns: ["fullName", "email", "type", "socials.linkedin"], typeValues: { "Speaker Pass": "Speaker", "Early Bird": "Attendee" } });
    assert.deepEqual(payloads.map((p) => p.type), ["Speaker", "Attendee"]);
    const expected = rules.validateUsers(payloads);
    assert.deepEqual(expected.map((e) => e.map((x) => x.code)), [["url_not_https"], []]);
    assert.equal(await count(page, "valid"), 1);

    // The bare LinkedIn link: a correction offered on its cell, applied only on a click.
    const fix = page.locator('#imp-table tr[data-row="2"] td[data-field="socials.linkedin"] button.fix');
    assert.equal(await fix.textContent(), "Use https://linkedin.com/in/jane");
    assert.equal(await page.locator("#imp-fix-all").textContent(), "Apply the 1 suggested URL correction");
    assert.equal(await page.locator('#imp-table tr[data-row="2"] td[data-field="socials.linkedin"] .cell-err').textContent(), expected[0][0].message);
    await fix.click();
    assert.equal(await count(page, "valid"), 2);
    assert.ok(await page.locator('#imp-table tr[data-row="2"] td[data-field="socials.linkedin"]').textContent().then((t) => t.startsWith("https://linkedin.com/in/jane")));
    assert.equal(await page.locator("#imp-fix-all").count(), 0);
    assert.deepEqual(page.apiRequests, []);
    assert.deepEqual(page.pageErrors, []);
    await page.context().close();
  });

  test("a file that is not UTF-8 is read as Windows-1252, and the page says so", async () => {
    const page = await openImport();
    const bytes = Buffer.from("Courriel;Pr\xe9nom;Nom\r\nelodie@example.fr;\xc9lodie;Dupr\xe9\r\n", "latin1");
    await page.setInputFiles("#imp-file", { name: "latin.csv", mimeType: "text/csv", buffer: bytes });
    await page.locator("#imp-summary .timing").waitFor();
    assert.match(await page.locator("#imp-parse").textContent(), /read as Windows-1252/);
    assert.equal(await page.inputValue("#imp-col-1"), "firstName");
    assert.equal(await page.locator('#imp-table tr[data-row="2"] td[data-field="firstName"]').textContent(), "Élodie");
    assert.equal(await count(page, "valid"), 1);
    await page.context().close();
  });

  test("keyboard and axe: the import view has no serious or critical violation", async () => {
    for (const viewport of [undefined, PHONE]) {
      const page = await openImport(viewport ? { viewport } : {});
      await page.focus("#tab-user");
      await page.keyboard.press("ArrowLeft");
      assert.equal(await page.evaluate(() => document.activeElement.id), "tab-import");
      await loadFile(page, "attendees.csv", plantedCsv(60, { tag: "axe" }).csv);
      await page.check("#imp-only");
      const { violations } = await new AxeBuilder({ page }).include("#panel-import").analyze();
      const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), []);
      if (viewport) await screenshot(page, "import-problems-phone");
      await page.context().close();
    }
  });

  test("the Import tab's code is fetched only when the tab opens", async () => {
    const page = await openPage(browser, server.url);
    const scripts = [];
    page.on("request", (r) => r.url().endsWith(".js") && scripts.push(new URL(r.url()).pathname));
    await page.waitForTimeout(200);
    assert.ok(!scripts.includes("/assets/import.js"));
    await page.click("#tab-import");
    await page.locator("#imp-file").waitFor();
    assert.ok(scripts.includes("/assets/import.js"), scripts.join(" "));
    await page.context().close();
  });
});

describe("importing through POST /v1/users/bulk", () => {
  // Decided when each test runs (after `before` asked the server), not when it is declared.
  const noBulk = (t) => !bulk && (t.skip("this server has no POST /v1/users/bulk yet (issue 8, server part)"), true);

  async function runImport(page) {
    await page.click("#imp-start");
    await page.locator("#imp-results").waitFor({ state: "visible", timeout: 240_000 });
  }

  test("the valid rows are created, reaching 100%; the results CSV has each new password", async (t) => {
    if (noBulk(t)) return;
    const page = await openImport();
    await loadFile(page, "attendees.csv", file500.csv);
    await runImport(page);
    const progress = page.locator("#imp-progress");
    assert.equal(await progress.getAttribute("value"), String(expected500.valid));
    assert.equal(await progress.getAttribute("max"), String(expected500.valid));
    assert.match(await page.locator("#imp-progress-text").textContent(), /^Import finished: .*\(100%\)/);
    assert.equal(await resultCount(page, "created"), expected500.valid);
    assert.equal(await resultCount(page, "exists"), 0);
    assert.equal(await resultCount(page, "failed"), 0);
    assert.equal(await resultCount(page, "not imported"), expected500.invalid);
    assert.match(await page.locator("#imp-warn").textContent(), /shown only now/i);
    assert.equal(await page.evaluate(() => document.activeElement.id), "imp-results-h");
    const chunks = Math.ceil(expected500.valid / 100);
    assert.deepEqual(page.apiRequests, Array(chunks).fill("POST /v1/users/bulk"));
    await screenshot(page, "import-results-desktop");

    const { name, rows } = await download(page, "#imp-results-csv");
    assert.equal(name, "attendees.results.csv");
    assert.equal(rows.length, 500);
    rows.forEach((r, i) => {
      assert.equal(r.row, String(sheetRow(i)));
      if (expected500.errors[i].length) {
        assert.equal(r.status, "not imported", `row ${r.row}`);
        assert.equal(r.password, "");
      } else {
        assert.equal(r.status, "created", `row ${r.row}: ${r.message}`);
        assert.equal(r.email.toLowerCase(), file500.payloads[i].email.toLowerCase());
        assert.match(r.id, /\S/);
        assert.ok(r.password.length >= 8, `row ${r.row} has its password`);
      }
    });
    // The server stored what the file said.
    const one = rows[1];
    const stored = await fetch(`${server.url}/v1/users/${one.id}`, { headers: { authorization: `Bearer ${API_KEY}` } }).then((r) => r.json());
    assert.equal(stored.email, one.email);
    assert.equal(stored.firstName, file500.payloads[1].firstName);
    assert.deepEqual(stored.tags, file500.payloads[1].tags);
    assert.ok(!JSON.stringify(await page.evaluate(() => ({ ...localStorage, ...sessionStorage }))).includes(one.password));

    // The same file again: nothing new, every valid row already there.
    await loadFile(page, "attendees.csv", file500.csv);
    assert.equal(await page.locator("#imp-results").isHidden(), true);
    await runImport(page);
    assert.equal(await resultCount(page, "created"), 0);
    assert.equal(await resultCount(page, "exists"), expected500.valid);
    assert.equal(await page.locator("#imp-warn").isHidden(), true);
    const again = await download(page, "#imp-results-csv");
    const existing = again.rows.filter((r) => r.status === "exists");
    assert.equal(existing.length, expected500.valid);
    assert.ok(existing.every((r) => r.password === "" && /\S/.test(r.id)));
    assert.deepEqual(existing.map((r) => r.id), rows.filter((r) => r.status === "created").map((r) => r.id), "the same users");
    assert.deepEqual(page.pageErrors, []);
    await page.context().close();
  });

  test("re-import: update applies the filled cells (updated / unchanged), fail refuses known emails; CSVs neutralise formulas", async (t) => {
    if (noBulk(t)) return;
    const create = (body) =>
      fetch(`${server.url}/v1/users`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    const get = (id) => fetch(`${server.url}/v1/users/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } }).then((r) => r.json());
    const ann = await create({ email: "ann.reimport@example.com", type: "Speaker", firstName: "Ann", lastName: "Lee", job: "Tester", city: "Lyon" });
    const ben = await create({ email: "ben.reimport@example.com", type: "Attendee", firstName: "Ben", lastName: "Ray" });
    // No type column: the page's default type fills only the new person.
    const csv = [
      "Email,First name,Last name,Job title,City",
      "ANN.reimport@example.com,,,Lead,", // only a job: an update of Ann
      "ben.reimport@example.com,Ben,Ray,,", // what Ben already has
      "new.reimport@example.com,New,Person,Host,",
      "=1+1,Bad,Email,,", // invalid whatever the choice: not sent
    ].join("\n");
    const page = await openImport();
    await page.selectOption("#imp-existing", "update");
    await loadFile(page, "reimport.csv", csv);
    assert.equal(await count(page, "maybe-updates"), 1);
    assert.equal(await page.locator("#imp-start").textContent(), "Import 3 rows");
    await runImport(page);
    assert.equal(await resultCount(page, "updated"), 1);
    assert.equal(await resultCount(page, "unchanged"), 1);
    assert.equal(await resultCount(page, "created"), 1);
    assert.equal(await resultCount(page, "not imported"), 1);
    const status = (row) => page.locator(`#imp-results-table tr[data-row="${row}"]`).getAttribute("data-status");
    assert.deepEqual([await status(2), await status(3), await status(4), await status(5)], ["updated", "unchanged", "created", "not imported"]);
    assert.match(await page.locator("#imp-progress-text").textContent(), /1 updated, 1 unchanged/);
    const after = await get(ann.id);
    assert.equal(after.job, "Lead");
    assert.equal(after.type, "Speaker", "the default type never replaces a person's type");
    assert.equal(after.city, "Lyon", "an empty cell changes nothing");
    const { rows } = await download(page, "#imp-results-csv");
    assert.deepEqual(rows.map((r) => r.status), ["updated", "unchanged", "created", "not imported"]);
    assert.equal(rows[0].id, ann.id);
    assert.equal(rows[1].id, ben.id);
    assert.equal((await get(rows[2].id)).type, "Attendee");
    // Every row carries its own errors, and a cell a spreadsheet would run is marked.
    assert.equal(rows[3].email, "'=1+1");
    assert.match(rows[3].message, /^Not sent: .*\(email_invalid\)/);
    const problems = await download(page, "#imp-problems");
    assert.equal(problems.rows.find((r) => r.field === "email").value, "'=1+1");

    // The same file, refusing known emails: Ben and the new person are taken now, Ann's row
    // (no names) cannot be a new person and is not sent.
    await page.selectOption("#imp-existing", "fail");
    await loadFile(page, "reimport.csv", csv);
    assert.equal(await page.locator("#imp-start").textContent(), "Import 2 valid rows");
    await runImport(page);
    assert.equal(await resultCount(page, "invalid"), 2);
    assert.equal(await resultCount(page, "not imported"), 2);
    const refused = await download(page, "#imp-results-csv");
    assert.ok(refused.rows.filter((r) => r.status === "invalid").every((r) => /^email: /.test(r.message)), JSON.stringify(refused.rows));
    assert.match(refused.rows[0].message, /^Not sent: .*\(required\)/);
    assert.deepEqual(page.pageErrors, []);
    await page.context().close();
  });

  test("Cancel sends no further chunk; the rows not sent are reported as not imported", async (t) => {
    if (noBulk(t)) return;
    const { csv } = plantedCsv(1000, { tag: "cancel", planted: false });
    const page = await openImport();
    await loadFile(page, "big.csv", csv);
    assert.equal(await count(page, "valid"), 1000);
    await page.click("#imp-start");
    await page.click("#imp-cancel");
    await page.locator("#imp-results").waitFor({ state: "visible", timeout: 240_000 });
    const sent = page.apiRequests.length;
    assert.ok(sent >= 1 && sent < 10, `${sent} chunks of 10 were sent`);
    assert.match(await page.locator("#imp-progress-text").textContent(), /^Import stopped/);
    assert.equal(await resultCount(page, "created"), sent * 100, "the chunks already sent were answered");
    assert.equal(await resultCount(page, "not imported"), 1000 - sent * 100);
    assert.equal(await page.locator("#imp-warn").isVisible(), true, "their passwords are shown");
    await page.waitForTimeout(500);
    assert.equal(page.apiRequests.length, sent, "nothing is sent after the end");
    await page.context().close();
  });

  test("a wrong key stops the import with the 401 banner", async (t) => {
    if (noBulk(t)) return;
    const page = await openImport({ key: "wrong-key" });
    await loadFile(page, "few.csv", plantedCsv(5, { tag: "nokey", planted: false }).csv);
    await runImport(page);
    const banner = page.locator("#panel-import .banner");
    assert.match(await banner.textContent(), /Import stopped \(401\)\..*API key/);
    assert.equal(await banner.getAttribute("role"), "alert");
    assert.equal(await resultCount(page, "not imported"), 5);
    assert.equal(page.apiRequests.length, 1);
    await page.context().close();
  });

  test("429: the chunk waits for Retry-After; Cancel ends the wait and nothing more is sent", async (t) => {
    if (noBulk(t)) return;
    const limited = await startServer({ ONBOARD_RATE_LIMIT: "1", ONBOARD_READ_RATE_LIMIT: "1" });
    try {
      const page = await openPage(browser, limited.url, { key: null });
      await page.click("#tab-import");
      await loadFile(page, "few.csv", plantedCsv(5, { tag: "limited", planted: false }).csv);
      // The one read and the one write of the minute go to these requests; the page's check
      // of the key (a read) and its bulk request (a write) get a 429.
      const auth = { authorization: `Bearer ${API_KEY}` };
      const first = await fetch(`${limited.url}/v1/users/000000000000000000000000`, { headers: auth });
      assert.notEqual(first.status, 429);
      const write = await fetch(`${limited.url}/v1/users/000000000000000000000000`, { method: "DELETE", headers: auth });
      assert.notEqual(write.status, 429);
      await page.fill("#api-key", API_KEY);
      await keySettled(page);
      const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/v1/users/bulk")), page.click("#imp-start")]);
      assert.equal(res.status(), 429);
      const s = Math.min(Math.max(Number(res.headers()["retry-after"]), 1), 60);
      await page.locator("#imp-progress-text", { hasText: `answered 429: trying again in ${s} second` }).waitFor();
      await page.click("#imp-cancel");
      await page.locator("#imp-results").waitFor({ state: "visible" });
      assert.equal(await resultCount(page, "not imported"), 5);
      assert.equal(await resultCount(page, "created"), 0);
      assert.deepEqual(page.apiRequests, ["POST /v1/users/bulk"]);
      await page.context().close();
    } finally {
      await limited.stop();
    }
  });
});
