// The bad-input catalogue, through the npm package: every hostile input gets validation
// errors (or invalid_json), never an exception, a crash of the wasm instance, or a hang.
// The same catalogue runs through the server's HTTP API in the server's tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as rules from "onboard-rules";

const base = { email: "jane@domain.com", type: "Attendee", firstName: "Jane", lastName: "Doe" };
const codes = (errors) => errors.map((e) => `${e.field} ${e.code}`).sort();
const json = (text) => rules.validateUserJson(text);

// After each hostile input the module must still answer correctly: a wasm trap (stack
// overflow, unreachable) would leave it unusable.
const stillWorks = () => assert.deepEqual(rules.validateUser(base), []);

test("NUL bytes and control characters in strings", () => {
  assert.deepEqual(codes(rules.validateUser({ ...base, lastName: "Do\u0000e" })), ["lastName invalid_characters"]);
  assert.deepEqual(codes(json(JSON.stringify({ ...base, city: "Pa\u0000ris" }))), ["city invalid_characters"]);
});

test("lone surrogates (the JS form of invalid UTF-8)", () => {
  // In JSON text, an escaped lone surrogate is not valid Unicode: invalid_json.
  assert.deepEqual(codes(json(`{"email":"jane@domain.com","type":"Attendee","firstName":"\\ud800","lastName":"Doe"}`)), [" invalid_json"]);
  // A JS string holding one cannot reach Rust as is; it must not throw.
  const errors = rules.validateUser({ ...base, firstName: "Ja\ud800ne" });
  assert.ok(Array.isArray(errors));
  stillWorks();
});

test("a byte-order mark before the JSON", () => {
  assert.deepEqual(codes(json("\ufeff" + JSON.stringify(base))), [" invalid_json"]);
});

test("10,000-level nesting: text and object", () => {
  const text = '{"socials":' + "[".repeat(10_000) + "]".repeat(10_000) + "}";
  assert.deepEqual(codes(json(text)), [" invalid_json"]);
  let deep = {};
  for (let i = 0; i < 10_000; i++) deep = { a: deep };
  const errors = rules.validateUser({ ...base, socials: deep });
  assert.ok(errors.length >= 1, "reported, not crashed");
  stillWorks();
});

test("a 100,000-element tags array", () => {
  const tags = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
  assert.deepEqual(codes(rules.validateUser({ ...base, tags })), ["tags too_long"]);
  assert.deepEqual(codes(json(JSON.stringify({ ...base, tags }))), ["tags too_long"]);
});

test("numbers like 1e400, -0, NaN and Infinity for level", () => {
  const sponsor = { name: "Acme", logo: "https://acme.com/l.png" };
  assert.deepEqual(codes(rules.validateSponsorJson(JSON.stringify(sponsor).replace("}", ',"level":1e400}'))), [" invalid_json"]);
  assert.deepEqual(codes(rules.validateSponsorJson(JSON.stringify(sponsor).replace("}", ',"level":-0}'))), ["level out_of_range"]);
  assert.deepEqual(codes(rules.validateSponsor({ ...sponsor, level: -0 })), ["level out_of_range"]);
  // JSON has no Infinity or NaN (the server cannot receive them): the payload is not JSON.
  for (const level of [Infinity, -Infinity, NaN]) {
    assert.deepEqual(codes(rules.validateSponsor({ ...sponsor, level })), [" invalid_json"], String(level));
  }
  stillWorks();
});

test("duplicate JSON keys", () => {
  assert.deepEqual(codes(json('{"email":"a@b.co","email":"c@d.co","type":"Attendee","firstName":"A","lastName":"B"}')), [" invalid_json"]);
});

test("$-prefixed, dotted, __proto__ and constructor keys are unknown fields", () => {
  const text = '{"email":"jane@domain.com","type":"Attendee","firstName":"Jane","lastName":"Doe",' +
    '"$set":{"admin":true},"profile.admin":true,"__proto__":{"admin":true},"constructor":{"prototype":{}}}';
  const expected = ["$set unknown_field", "__proto__ unknown_field", "constructor unknown_field", "profile.admin unknown_field"];
  assert.deepEqual(codes(json(text)), expected);
  assert.deepEqual(codes(rules.validateUser(JSON.parse(text))), expected);
  assert.equal({}.admin, undefined, "no prototype pollution");
});

test("emoji and right-to-left text in names are kept valid", () => {
  assert.deepEqual(rules.validateUser({ ...base, firstName: "🎉 Zoë", lastName: "עִבְרִית عربى" }), []);
  assert.equal(rules.previewUsername("🎉", "عربى"), "user#····");
});

test("whitespace-only required fields are blank", () => {
  assert.deepEqual(codes(rules.validateUser({ ...base, firstName: " \t ", lastName: "\u00a0" })), ["firstName blank", "lastName blank"]);
});

test("emails with Unicode domains are refused with a pointer to punycode", () => {
  const [e] = rules.validateUser({ ...base, email: "jane@bücher.de" });
  assert.equal(e.code, "email_invalid");
  assert.match(e.message, /xn--/);
  assert.deepEqual(rules.validateUser({ ...base, email: "jane@xn--bcher-kva.de" }), []);
});

test("the wrong top-level type", () => {
  for (const payload of [null, 42, "text", [], true]) {
    assert.deepEqual(codes(rules.validateUser(payload)), [" wrong_type"], JSON.stringify(payload));
  }
  assert.deepEqual(codes(json("42")), [" wrong_type"]);
  assert.deepEqual(codes(json("")), [" invalid_json"]);
});
