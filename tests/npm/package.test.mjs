// The npm package as a consumer gets it: run from a scratch project where run.sh installed
// the packed tarball. Runs the same conformance corpus as the Rust tests and the server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as rules from "onboard-rules";

const corpus = JSON.parse(readFileSync(process.env.ONBOARD_CORPUS, "utf8"));
const pairs = (errors) =>
  errors.map((e) => `${e.field} ${e.code}`).sort();

test("the package resolves to the Node build from a plain import", () => {
  const pkg = createRequire(import.meta.url)("onboard-rules/package.json");
  assert.equal(pkg.name, "onboard-rules");
  assert.equal(typeof rules.validateUser, "function");
});

test("every corpus case gives the expected field paths and codes", () => {
  assert.ok(corpus.length > 100, "corpus loaded");
  const failures = [];
  for (const c of corpus) {
    const errors = {
      user: () => rules.validateUser(c.payload),
      sponsor: () => rules.validateSponsor(c.payload),
      user_json: () => rules.validateUserJson(c.text),
      sponsor_json: () => rules.validateSponsorJson(c.text),
      user_patch: () => rules.validateUserPatch(c.existing, c.patch),
      user_patch_json: () => rules.validateUserPatchJson(JSON.stringify(c.existing), c.text),
      sponsor_patch: () => rules.validateSponsorPatch(c.existing, c.patch),
      speaker: () => rules.validateSpeaker(c.payload),
    }[c.kind]();
    const expected = pairs(c.errors);
    if (JSON.stringify(pairs(errors)) !== JSON.stringify(expected)) {
      failures.push(`${c.name}: expected ${JSON.stringify(expected)} got ${JSON.stringify(errors)}`);
    }
    for (const e of errors) assert.ok(e.message.length > 5, `${c.name}: message`);
  }
  assert.deepEqual(failures, []);
});

test("object and JSON-text entry points agree on every payload case", () => {
  for (const c of corpus.filter((c) => c.kind === "user" || c.kind === "sponsor")) {
    const text = JSON.stringify(c.payload);
    const [a, b] = c.kind === "user"
      ? [rules.validateUser(c.payload), rules.validateUserJson(text)]
      : [rules.validateSponsor(c.payload), rules.validateSponsorJson(text)];
    assert.deepEqual(a, b, c.name);
  }
});

test("errors are plain objects with field, code and message", () => {
  const [e] = rules.validateUser({ email: "jane@domain.com", type: "Attendee", firstName: "Jane",
    lastName: "Doe", website: "http://jane.dev" });
  assert.deepEqual(Object.keys(e).sort(), ["code", "field", "message"]);
  assert.equal(e.field, "website");
  assert.equal(e.code, "url_not_https");
});

test("values JSON cannot hold are reported, not thrown", () => {
  const base = { email: "a@b.co", type: "Attendee", firstName: "A", lastName: "B" };
  const errors = rules.validateUser({ ...base, job: () => 1 });
  assert.deepEqual(pairs(errors), [" invalid_json"]);
  assert.deepEqual(pairs(rules.validateUser(Symbol("x"))), [" invalid_json"]);
  assert.deepEqual(pairs(rules.validateUser(undefined)), [" wrong_type"]);
  // A BigInt converts to a number, which is the wrong type for a text field.
  assert.deepEqual(pairs(rules.validateUser({ ...base, job: 10n })), ["job wrong_type"]);
});

test("a 100,000-element tags array is one error, quickly", () => {
  const tags = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
  const errors = rules.validateUser({ email: "a@b.co", type: "Attendee", firstName: "A", lastName: "B", tags });
  assert.deepEqual(pairs(errors), ["tags too_long"]);
});

test("username preview and generation follow the names", () => {
  assert.equal(rules.previewUsername("Jane", "Doe"), "doe.jane#····");
  assert.equal(rules.previewUsername("Zoë", "Łukasiewicz"), "lukasiewicz.zoe#····");
  assert.equal(rules.previewUsername("", ""), "user#····");
  const generated = rules.generateUsername("Jane", "Doe");
  assert.match(generated, /^doe\.jane#\d{4}$/);
  assert.deepEqual(rules.checkUsername(generated), []);
  assert.equal(rules.checkUsername("jane doe")[0].code, "username_invalid");
  assert.equal(rules.checkUsername("jane doe")[0].field, "username");
});

test("slugify", () => {
  assert.equal(rules.slugify("Super Sponsor"), "super-sponsor");
  assert.equal(rules.slugify("Café & Crème"), "cafe-and-creme");
});

test("passwords come from the policy and differ", () => {
  const pw = rules.generatePassword();
  assert.equal(pw.length, 20);
  assert.match(pw, /[a-z]/);
  assert.match(pw, /[A-Z]/);
  assert.match(pw, /[0-9]/);
  assert.match(pw, /[^a-zA-Z0-9]/);
  assert.notEqual(pw, rules.generatePassword());
  const digitsOnly = rules.generatePassword({ length: 12, lowercase: false, uppercase: false, symbols: false });
  assert.match(digitsOnly, /^[0-9]{12}$/);
  assert.throws(() => rules.generatePassword({ length: 3 }), /between 8 and 128/);
});

test("bulk validation flags duplicates in the batch", () => {
  const row = { email: "a@b.co", type: "Attendee", firstName: "A", lastName: "B" };
  const results = rules.validateUsers([row, { ...row, email: "A@B.CO" }, { ...row, email: "bad" }]);
  assert.deepEqual(results[0], []);
  assert.equal(results[1][0].code, "duplicate_in_batch");
  assert.equal(results[2][0].code, "email_invalid");
});

test("pickers get the accepted values", () => {
  assert.ok(rules.timezones().includes("Europe/Paris"));
  assert.deepEqual(rules.statuses(), ["Employed", "Looking for a job", "Student", "Freelancer", "Working for a startup"]);
});
