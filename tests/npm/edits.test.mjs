// Issue 12 and 17 in the package: user and sponsor merge patches, one speaker, capped error lists and CSV
// cells, against the same corpus the server and the native rulebook run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as rules from "onboard-rules";

const corpus = JSON.parse(readFileSync(process.env.ONBOARD_CORPUS, "utf8"));
const found = (errors) => errors.map((e) => [e.field, e.code]);

test("user patch cases: the object and JSON-text entry points give the same list, in order", () => {
  const patches = corpus.filter((c) => c.kind === "user_patch");
  assert.ok(patches.length > 20);
  const sorted = (pairs) => pairs.map((p) => p.join(" ")).sort();
  for (const c of patches) {
    const obj = rules.validateUserPatch(c.existing, c.patch);
    const text = rules.validateUserPatchJson(JSON.stringify(c.existing), JSON.stringify(c.patch));
    assert.deepEqual(obj, text, c.name);
    assert.deepEqual(sorted(found(obj)), sorted(c.errors.map((e) => [e.field, e.code])), c.name);
  }
});

test("sponsor patch cases: validateSponsorPatch answers as the rulebook", () => {
  const patches = corpus.filter((c) => c.kind === "sponsor_patch");
  assert.ok(patches.length >= 5);
  const sorted = (pairs) => pairs.map((p) => p.join(" ")).sort();
  for (const c of patches) {
    const errors = rules.validateSponsorPatch(c.existing, c.patch);
    assert.deepEqual(sorted(found(errors)), sorted(c.errors.map((e) => [e.field, e.code])), c.name);
  }
  const existing = patches[0].existing;
  assert.deepEqual(found(rules.validateSponsorPatch(existing, { name: () => 1 })), [["", "invalid_json"]]);
});

test("speaker cases: validateSpeaker answers as the rulebook, paths relative to the speaker", () => {
  const speakers = corpus.filter((c) => c.kind === "speaker");
  assert.ok(speakers.length >= 3);
  const sorted = (pairs) => pairs.map((p) => p.join(" ")).sort();
  for (const c of speakers) {
    assert.deepEqual(sorted(found(rules.validateSpeaker(c.payload))), sorted(c.errors.map((e) => [e.field, e.code])), c.name);
  }
  assert.deepEqual(found(rules.validateSpeaker({ email: NaN })), [["", "invalid_json"]]);
});

test("a patch the server would refuse to parse is invalid_json; so is an unrepresentable one", () => {
  const existing = corpus.find((c) => c.kind === "user_patch").existing;
  assert.deepEqual(found(rules.validateUserPatchJson(JSON.stringify(existing), "{")), [["", "invalid_json"]]);
  assert.deepEqual(found(rules.validateUserPatch(existing, { job: () => 1 })), [["", "invalid_json"]]);
  assert.deepEqual(found(rules.validateUserPatch(existing, { job: 1n })), [["job", "wrong_type"]]);
});

test("a hostile payload gets 100 problems and too_many_errors, as the server", () => {
  const payload = { email: "a@b.co", type: "Attendee", firstName: "A", lastName: "B" };
  for (let i = 0; i < 20000; i++) payload[`k${i}`] = null;
  const errors = rules.validateUser(payload);
  assert.equal(errors.length, 101);
  assert.deepEqual(errors[100], { field: "", code: "too_many_errors", message: errors[100].message });
  // A full bulk request of rows with 200 problems each: the request's 10,000 are spent by
  // row 50, and every later row still says it is invalid.
  const row = { email: "a@b.co", type: "Attendee", firstName: "A", lastName: "B" };
  for (let i = 0; i < 200; i++) row[`k${i}`] = null;
  const rows = Array.from({ length: 1000 }, () => row);
  const perRow = rules.validateUsers(rows);
  const total = perRow.reduce((n, e) => n + e.length, 0);
  assert.ok(total <= 10000 + 1000, `${total}`);
  assert.ok(perRow.every((e) => e.length > 0));
  assert.deepEqual(found(perRow[999]), [["", "too_many_errors"]]);
});

test("csvSafe neutralises formulas and csvCellValue takes the mark off", () => {
  for (const cell of ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=x", "''@x"]) {
    const safe = rules.csvSafe(cell);
    assert.equal(safe, `'${cell}`);
    assert.equal(rules.csvCellValue(safe), cell);
  }
  for (const cell of ["Jane", "'t Hooft", "", "a=b"]) {
    assert.equal(rules.csvSafe(cell), cell);
    assert.equal(rules.csvCellValue(cell), cell);
  }
});

test("short strings cross both ways unchanged, ASCII or not (the glue's short-string paths)", () => {
  // wasm/build.sh copies a short ASCII string into wasm, and makes a short ASCII string out
  // of wasm, by a loop instead of TextEncoder/TextDecoder; anything else takes those. Every
  // length around the loops' limits, every kind of character at every position.
  const kinds = ["a", "Z", "~", "\u007f", "\u0080", "é", "\u07ff", "\u0800", "€", "\uffff", "\u{10000}", "\u{1f600}"];
  for (let len = 0; len <= 60; len++) {
    for (const odd of kinds) {
      for (const at of [0, Math.floor(len / 2), len - 1]) {
        const chars = Array.from({ length: len }, (_, i) => (i === at ? odd : String.fromCharCode(97 + (i % 26))));
        const cell = chars.join("");
        assert.equal(rules.csvSafe(cell), cell, JSON.stringify(cell));
        assert.equal(rules.csvCellValue(cell), cell, JSON.stringify(cell));
      }
    }
  }
});

test("generated passwords never start like a formula", () => {
  for (let i = 0; i < 5000; i++) {
    const pw = rules.generatePassword();
    assert.equal(rules.csvSafe(pw), pw, pw);
  }
  for (let i = 0; i < 2000; i++) {
    const pw = rules.generatePassword({ length: 8, lowercase: false, uppercase: false, digits: false });
    assert.ok(!/^[=+\-@]/.test(pw), pw);
  }
});

test("updateMayFix (onboard-rules/sheet): rows that only an existing user can complete", async () => {
  const sheet = await import("onboard-rules/sheet");
  const [partial, bad, dup] = rules.validateUsers([
    { email: "jane@domain.com", job: "Host" },
    { email: "nope", job: "Host" },
    { email: "JANE@domain.com", type: "Attendee", firstName: "J", lastName: "D" },
  ]);
  assert.equal(sheet.updateMayFix(partial), true);
  assert.equal(sheet.updateMayFix(bad), false);
  assert.equal(sheet.updateMayFix(dup), false);
  assert.equal(sheet.updateMayFix([]), false);
  // Also the sheet rows read a formula mark back off (csv_cell_value in sheet_rows).
  const [row] = sheet.rowsToUsers(["Email", "Job"], [["a@b.co", "'=Boss"]]);
  assert.equal(row.job, "=Boss");
});
