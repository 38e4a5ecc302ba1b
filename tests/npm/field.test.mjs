// validateField (issue 16) through the packed package, as the page calls it on each
// keystroke: for every corpus case and every path of it, the field's errors must be the
// whole payload's errors at or under that path (the same objects, in the same order), with
// the whole payload as the context.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as rules from "onboard-rules";

const corpus = JSON.parse(readFileSync(process.env.ONBOARD_CORPUS, "utf8"));
// Members the rules check inside; an unknown member is reported whole, never inside.
const KNOWN = {
  user: ["email", "type", "firstName", "lastName", "username", "avatar", "description", "job", "company",
    "tags", "timezone", "country", "city", "status", "website", "socials", "options"],
  sponsor: ["name", "logo", "level", "hasPage", "pageContent", "website", "speakers", "icon", "color", "options"],
};

const under = (field, path) =>
  path === "" || field === path || (field.startsWith(path) && ".[".includes(field[path.length]));

function walk(v, path, out) {
  if (v === null || typeof v !== "object") return;
  const entries = Array.isArray(v) ? v.map((x, i) => [`${path}[${i}]`, x]) : Object.keys(v).map((k) => [`${path}.${k}`, v[k]]);
  for (const [p, child] of entries) {
    out.set(p, child);
    walk(child, p, out);
  }
}

/** Every path of the payload with its value (undefined: not given). */
function paths(kind, payload, whole) {
  const out = new Map([["", payload]]);
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return out;
  for (const k of KNOWN[kind]) out.set(k, payload[k]);
  for (const k of Object.keys(payload)) {
    out.set(k, payload[k]);
    if (KNOWN[kind].includes(k)) walk(payload[k], k, out);
  }
  // The paths of the errors and their parents (a missing member inside a present object).
  for (const e of whole) {
    if (!out.has(e.field)) out.set(e.field, undefined);
    if (!KNOWN[kind].includes(e.field.split(/[.[]/)[0])) continue;
    for (let p = e.field; /[.[]/.test(p); ) {
      p = p.replace(/(\.[^.[]*|\[\d+\])$/, "");
      if (!out.has(p)) out.set(p, undefined);
    }
  }
  return out;
}

test("validateField gives the whole payload's errors on every path of every corpus case", () => {
  let checked = 0;
  for (const c of corpus) {
    if (c.kind !== "user" && c.kind !== "sponsor") continue;
    const whole = c.kind === "user" ? rules.validateUser(c.payload) : rules.validateSponsor(c.payload);
    // A capped whole answer lists only its first problems; a field's list starts with those
    // of its path and may go on.
    const capped = whole.some((e) => e.code === "too_many_errors");
    for (const [path, value] of paths(c.kind, c.payload, whole)) {
      const want = whole.filter((e) => under(e.field, path));
      let got = rules.validateField(c.kind, path, value, c.payload);
      if (capped) got = got.slice(0, want.length);
      assert.deepEqual(got, want, `${c.name}: ${JSON.stringify(path)}`);
      checked++;
    }
  }
  assert.ok(checked > 1000, `${checked} paths`);
});

test("validateField on a form's keystrokes", () => {
  assert.deepEqual(rules.validateField("user", "email", "jane@domain.com"), []);
  const [e] = rules.validateField("user", "email", "jane@");
  assert.deepEqual([e.field, e.code], ["email", "email_invalid"]);
  // One error at the path crosses as its code and message (the last one's text is sent
  // again): the same error again, or after another, is the same answer in fresh objects.
  const again = rules.validateField("user", "email", "jane@x");
  assert.deepEqual(again, [e]);
  assert.notEqual(again[0], e);
  again[0].message = "changed";
  assert.deepEqual(rules.validateField("user", "email", "").map((e) => e.code), ["blank"]);
  assert.deepEqual(rules.validateField("user", "email", "jane@"), [e]);
  assert.deepEqual(rules.validateField("user", "email", "jane@"), rules.validateUser({ email: "jane@" }).filter((e) => e.field === "email"));
  assert.deepEqual(rules.validateField("user", "firstName", undefined).map((e) => e.code), ["required"]);
  // Cross-field rules read the context they need.
  assert.deepEqual(rules.validateField("user", "options.highlight", true, { type: "Speaker" }), []);
  assert.deepEqual(rules.validateField("user", "options.highlight", true, { type: "Attendee" }).map((e) => e.code), ["speaker_only"]);
  const sponsor = { speakers: [{ email: "a@x.com" }, { email: "A@X.com" }] };
  assert.deepEqual(rules.validateField("sponsor", "speakers[0].email", "a@x.com", sponsor), []);
  assert.deepEqual(rules.validateField("sponsor", "speakers[1].email", "A@X.com", sponsor).map((e) => e.code), ["duplicate_email"]);
  // Of the other speakers only the earlier ones' e-mails cross, but the speaker itself whole:
  // its tags list too long is reported whole, not on an item.
  const tags = Array.from({ length: 60 }, (_, i) => `t${i}`);
  const many = { speakers: [{ email: "a@x.com", tags }, { email: "b@x.com", tags }] };
  const onItem = rules.validateSponsor(many).filter((e) => e.field.startsWith("speakers[1].tags[0]"));
  assert.deepEqual(rules.validateField("sponsor", "speakers[1].tags[0]", "t0", many), onItem);
  assert.deepEqual(onItem, []);
  // What JSON cannot hold is refused, as for the whole payload: a number like NaN, a string
  // with a lone surrogate (a string crosses as it is, unless it holds one).
  assert.deepEqual(rules.validateField("sponsor", "level", NaN).map((e) => e.code), ["invalid_json"]);
  assert.deepEqual(rules.validateField("user", "firstName", "Ja\ud800ne").map((e) => e.code), ["invalid_json"]);
  assert.deepEqual(rules.validateField("user", "firstName", "Ja\ud83d\ude00ne \ufffd"), []);
  assert.deepEqual(rules.validateField("user", "lastName", "Do\u0000e").map((e) => e.code), ["invalid_characters"]);
  assert.throws(() => rules.validateField("guest", "email", "x"), /kind/);
  // A string value crosses after the path in one string, split at the path's length: paths
  // that are not ASCII (unknown fields, whatever the value) cross apart, and are reported
  // whole, as the whole payload's check reports them.
  for (const path of ["é", "e\u{1f600}mail", "emaïl.x"]) {
    const want = rules.validateUser({ [path]: "x" }).filter((e) => under(e.field, path));
    assert.equal(want.length, 1);
    assert.deepEqual(rules.validateField("user", path, "x"), want, JSON.stringify(path));
  }
  // (A lone surrogate in a path crosses as U+FFFD, as any string into the package does.)
  assert.deepEqual(rules.validateField("user", "\ud800", "x").map((e) => [e.field, e.code]), [["\ufffd", "unknown_field"]]);
  // Each text field's own rule on a keystroke (valid, blank, too long, wrong), against the
  // whole payload's errors on its path.
  const texts = ["", " ", "x", "jane@domain.com", "jane@", "http://x.com", "https://x.com", "Europe/Paris", "Speaker", "y".repeat(300)];
  for (const path of ["email", "type", "firstName", "lastName", "username", "avatar", "description", "job", "company",
    "timezone", "country", "city", "status", "website", "socials.facebook", "socials.linkedin", "socials.twitter", "socials.youtube"]) {
    for (const text of texts) {
      const [top, key] = path.split(".");
      const payload = key ? { [top]: { [key]: text } } : { [top]: text };
      const want = rules.validateUser(payload).filter((e) => under(e.field, path));
      assert.deepEqual(rules.validateField("user", path, text), want, `${path} = ${JSON.stringify(text)}`);
    }
  }
  // The binding keeps the last 8 different errors it sent (wasm/src/lib.rs, `one_error`):
  // ten different ones by turns, three times over, are each still their own answer.
  const ten = [["email", "jane@"], ["email", ""], ["firstName", "y".repeat(300)], ["website", "http://x.com"], ["username", "a"],
    ["timezone", "Mars/Base"], ["type", "Pilot"], ["company", "x".repeat(300)], ["lastName", "Do\u0000e"], ["avatar", "https://"]];
  const wants = ten.map(([path, text]) => {
    const [top, key] = path.split(".");
    return rules.validateUser(key ? { [top]: { [key]: text } } : { [top]: text }).filter((e) => under(e.field, path));
  });
  assert.equal(new Set(wants.map((w) => `${w[0].code} ${w[0].message}`)).size, 10, JSON.stringify(wants));
  for (let round = 0; round < 3; round++) {
    ten.forEach(([path, text], i) => assert.deepEqual(rules.validateField("user", path, text), wants[i], `${round}: ${path}`));
  }
});
