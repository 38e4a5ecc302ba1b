// The same export files through `onboard import --dry-run --json` (the CLI, natively) and
// through the npm package as the page's Import tab uses it (papaparse, then mapHeaders,
// rowsToUsers, validateUsers, suggestUrl): the same columns, payloads, errors and URL
// corrections, row by row. Run by tests/npm/run.sh from a scratch project where the packed
// package is installed; SHEETS_DIR is this directory, ONBOARD_BIN the built `onboard`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import Papa from "papaparse";
import * as main from "onboard-rules";
import * as sheet from "onboard-rules/sheet";

const rules = { ...main, ...sheet };

const dir = process.env.SHEETS_DIR;
const bin = process.env.ONBOARD_BIN;
const cases = JSON.parse(readFileSync(`${dir}/cases.json`, "utf8"));
const urlFields = new Set(rules.fieldCatalogue().filter((f) => f.kind === "url").map((f) => f.path));

/** As web/src/import.ts reads a file: UTF-8, else Windows-1252; papaparse; blank rows skipped. */
function readLikeThePage(bytes) {
  let text;
  let encoding = "UTF-8";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = new TextDecoder("windows-1252").decode(bytes);
    encoding = "Windows-1252";
  }
  const records = Papa.parse(text, { skipEmptyLines: false }).data;
  const blank = (r) => r.every((c) => !c.trim());
  const first = records.findIndex((r) => !blank(r));
  const headers = records[first].map((c) => c.trim());
  const rows = [];
  const nums = [];
  for (let i = first + 1; i < records.length; i++) {
    if (blank(records[i])) continue;
    rows.push(records[i]);
    nums.push(i + 1);
  }
  return { encoding, headers, rows, nums };
}

function cli(c) {
  const args = ["import", `${dir}/fixtures/${c.file}`, "--dry-run", "--json", "--type", c.type, "--url", "http://127.0.0.1:9"];
  if (c.typeFrom) args.push("--type-from", c.typeFrom);
  for (const v of c.speakerValues ?? []) args.push("--speaker-value", v);
  const env = { ...process.env };
  delete env.ONBOARD_API_KEY;
  const out = spawnSync(bin, args, { encoding: "utf8", env });
  assert.ok(out.status === 0 || out.status === 1, `exit ${out.status}: ${out.stderr}`);
  return { report: JSON.parse(out.stdout), stderr: out.stderr, status: out.status };
}

for (const c of cases) {
  test(`${c.file}: ${c.about}`, () => {
    const { report, stderr, status } = cli(c);
    const sheet = readLikeThePage(readFileSync(`${dir}/fixtures/${c.file}`));

    // The same file, read the same way.
    assert.equal(report.encoding, sheet.encoding);
    assert.equal(sheet.encoding, c.expect.encoding);
    if (sheet.encoding !== "UTF-8") assert.match(stderr, /read as Windows-1252/);
    assert.deepEqual(report.headers, sheet.headers);
    assert.deepEqual(report.rows.map((r) => r.row), sheet.nums);

    // The same fields: the page's columns are mapHeaders' answer, with the person's choice
    // of a type column where the CLI was given --type-from.
    let columns = rules.mapHeaders(sheet.headers);
    const typeValues = {};
    let otherType;
    if (c.typeFrom) {
      columns = columns.map((p) => (p === "type" ? null : p));
      columns[sheet.headers.indexOf(c.typeFrom)] = "type";
      for (const v of c.speakerValues) typeValues[v] = "Speaker";
      otherType = "Attendee";
    }
    assert.deepEqual(report.columns, columns);

    // The same payloads, the same errors.
    const payloads = rules.rowsToUsers(sheet.headers, sheet.rows, { type: c.type }, { columns, typeValues, otherType });
    assert.deepEqual(report.rows.map((r) => r.payload), payloads);
    const errors = rules.validateUsers(payloads);
    assert.deepEqual(report.rows.map((r) => r.errors), errors);

    // The same URL corrections offered.
    const offered = payloads.map((p) =>
      Object.entries({ ...p, ...Object.fromEntries(Object.entries(p.socials ?? {}).map(([k, v]) => [`socials.${k}`, v])) })
        .filter(([f, v]) => urlFields.has(f) && typeof v === "string")
        .flatMap(([field, value]) => {
          const suggestion = rules.suggestUrl(field, value);
          return suggestion === undefined ? [] : [{ field, value, suggestion }];
        }),
    );
    assert.deepEqual(report.rows.map((r) => r.suggestions), offered);

    // And the files hold what they were made to hold (so agreement on nothing cannot pass).
    const valid = errors.filter((e) => e.length === 0).length;
    assert.equal(payloads.length, c.expect.rows);
    assert.equal(valid, c.expect.valid, JSON.stringify(errors));
    assert.equal(report.valid, valid);
    assert.equal(status, valid === payloads.length ? 0 : 1);
    assert.equal(payloads.filter((p) => p.type === "Speaker").length, c.expect.speakers);
    assert.equal(report.rows.filter((r) => r.splitName).length, c.expect.split);
    assert.equal(offered.flat().length, c.expect.suggestions);
  });
}

test("the split of full names is the one the README documents", () => {
  const p = rules.rowsToUsers(["Name", "Email"], [["Doe, Jane", "a@example.com"], ["Jane van Doe", "b@example.com"]]);
  assert.deepEqual([p[0].firstName, p[0].lastName, p[1].firstName, p[1].lastName], ["Jane", "Doe", "Jane van", "Doe"]);
});
