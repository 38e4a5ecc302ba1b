// The cross-check (issue 7): the server and the npm package must give the SAME verdict on
// the same payload. The conformance corpus plus a few thousand deterministic, seeded
// mutations of the valid samples go through a real `onboard serve` over HTTP and through
// the installed package (validateUser/validateSponsor on the object, *Json on the exact
// text sent), and the (field, code) lists must be identical, in order:
//   - 400 invalid_json / validation_failed: the server's errors == the package's errors;
//   - 201 created, 409 conflict (unique values, which only the server can see): package [];
//   - the one documented server-only rule: a speaker with no account yet must bring
//     firstName and lastName (400 `required` on exactly those, the package said []).
// Anything else (5xx, 413, a dropped connection, a panic in the server log) fails.
// Edits the same way (issue 12): a record made like the corpus case's `existing` (or one of a
// pool of records, for generated patches with seeded mutations), read back with GET, then
// PATCHed with If-Match; the server's errors == validateUserPatch(existing, patch) ==
// validateUserPatchJson(existingText, patchText) (validateSponsorPatch for sponsors), in
// order; 200 and 409 only where the package says valid. One speaker: POST
// /v1/sponsors/{id}/speakers against validateSpeaker (plus the server-only names rule).
//
// Run by tests/crosscheck/run.sh from a scratch project with the packed tarball installed.
// Env: ONBOARD_BIN (the server binary), ONBOARD_CORPUS (shared/corpus/cases.json),
// CROSSCHECK_COUNT (generated payloads, default 3000), CROSSCHECK_SEED (default 7),
// CROSSCHECK_CONCURRENCY (default 8), CROSSCHECK_PATCHES (generated patches, default 600).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync, openSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as rules from "onboard-rules";

const BIN = process.env.ONBOARD_BIN;
const CORPUS = JSON.parse(readFileSync(process.env.ONBOARD_CORPUS, "utf8"));
const COUNT = Number(process.env.CROSSCHECK_COUNT ?? 3000);
const SEED = Number(process.env.CROSSCHECK_SEED ?? 7);
const CONCURRENCY = Number(process.env.CROSSCHECK_CONCURRENCY ?? 8);
const PATCHES = Number(process.env.CROSSCHECK_PATCHES ?? 600);
const RUN = randomBytes(3).toString("hex"); // keeps unique values unique across runs

// ---------------------------------------------------------------- the server

let server, base, key, work, logPath;

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

before(async () => {
  assert.ok(BIN, "ONBOARD_BIN is set");
  work = mkdtempSync(join(tmpdir(), "onboard-crosscheck-"));
  logPath = join(work, "server.log");
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  key = `onb_${randomBytes(32).toString("hex")}`;
  const log = openSync(logPath, "w");
  server = spawn(BIN, ["serve"], {
    env: {
      ...process.env,
      ONBOARD_BIND: `127.0.0.1:${port}`,
      ONBOARD_DATA_DIR: join(work, "data"),
      ONBOARD_API_KEY: key,
      ONBOARD_RATE_LIMIT: "0",
      RUST_LOG: process.env.RUST_LOG ?? "warn",
    },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  let exited = null;
  server.once("exit", (code, signal) => (exited = `exit ${code ?? signal}`));
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`onboard serve stopped (${exited}):\n${readFileSync(logPath, "utf8")}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {}
    if (i > 600) throw new Error(`onboard serve not ready after 120 s:\n${readFileSync(logPath, "utf8")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const done = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    const timer = setTimeout(() => server.kill("SIGKILL"), 20_000);
    await done;
    clearTimeout(timer);
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

async function post(route, text, { method = "POST", headers = {} } = {}) {
  const r = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: text,
  });
  const raw = await r.text();
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    body = { unparsable: raw.slice(0, 200) };
  }
  return { status: r.status, body, etag: r.headers.get("etag") };
}

async function get(route) {
  const r = await fetch(`${base}${route}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: r.status, body: await r.json(), etag: r.headers.get("etag") };
}

// ---------------------------------------------------------------- comparing

const pairs = (errors) => (errors ?? []).map((e) => `${e.field} ${e.code}`);

const isBlank = (v) => typeof v !== "string" || v.trim() === "";

/** The server-only account check: `speakers[i].firstName|lastName required` for names absent
 *  (or blank, which the rules treat as absent) in the payload. */
function onlyAccountErrors(payload, serverPairs) {
  if (serverPairs.length === 0) return false;
  return serverPairs.every((p) => {
    const m = /^speakers\[(\d+)\]\.(firstName|lastName) required$/.exec(p);
    const speaker = m && payload?.speakers?.[Number(m[1])];
    return Boolean(m && speaker && isBlank(speaker[m[2]]));
  });
}

const stats = { total: 0, byStatus: {}, accountOnly: 0, objectChecked: 0, orderOnly: 0, patches: 0 };
const orderExamples = [];
const failures = [];

/** One payload through both. `obj` is the JS object when the text is its JSON.stringify. */
async function check(label, kind, text, obj) {
  const route = kind === "user" ? "/v1/users" : "/v1/sponsors";
  const pkgText = pairs(kind === "user" ? rules.validateUserJson(text) : rules.validateSponsorJson(text));
  const show = () => (text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text);
  if (obj !== undefined) {
    stats.objectChecked++;
    const pkgObj = pairs(kind === "user" ? rules.validateUser(obj) : rules.validateSponsor(obj));
    if (JSON.stringify(pkgObj) !== JSON.stringify(pkgText)) {
      failures.push(`${label}: package object API ${JSON.stringify(pkgObj)} != JSON API ${JSON.stringify(pkgText)}\n  ${show()}`);
    }
  }
  let res;
  try {
    res = await post(route, text);
  } catch (e) {
    failures.push(`${label}: POST ${route} failed (${e.cause?.code ?? e.message})\n  ${show()}`);
    return;
  }
  stats.total++;
  stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
  const srv = pairs(res.body.errors);
  const fail = (why) =>
    failures.push(`${label}: ${why}\n  POST ${route} ${show()}\n  server ${res.status} ${JSON.stringify(res.body).slice(0, 600)}\n  package ${JSON.stringify(pkgText)}`);
  if (res.status === 201 || res.status === 409) {
    if (pkgText.length !== 0) fail(`server ${res.status}, package reports errors`);
  } else if (res.status === 400 && (res.body.code === "validation_failed" || res.body.code === "invalid_json")) {
    if (JSON.stringify(srv) === JSON.stringify(pkgText)) return;
    if (JSON.stringify([...srv].sort()) === JSON.stringify([...pkgText].sort())) {
      // Same pairs in another order. The rulebook fixes the order (fields in its own order,
      // unknown fields sorted by key), so the two must agree exactly: this is a failure.
      stats.orderOnly++;
      if (orderExamples.length < 3) orderExamples.push(`${label}: server ${JSON.stringify(srv)} package ${JSON.stringify(pkgText)}`);
      fail("same errors in a different order");
      return;
    }
    if (kind === "sponsor" && pkgText.length === 0 && onlyAccountErrors(obj ?? safeParse(text), srv)) {
      stats.accountOnly++;
      return;
    }
    fail("different errors");
  } else {
    fail(`unexpected status ${res.status}${serverLogFor(res.body)}`);
  }
}

/** The server log's lines for an internal error's request id (the body quotes it), so a
 *  failure here says what went wrong inside without the log at hand. */
function serverLogFor(body) {
  const id = /request id ([0-9a-f]+)/.exec(body?.message ?? "")?.[1];
  if (!id) return "";
  const lines = readFileSync(logPath, "utf8").split("\n").filter((l) => l.includes(id));
  return lines.length ? `\n  server log:\n    ${lines.slice(0, 5).join("\n    ")}` : "";
}

function safeParse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function pool(jobs, n) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) await jobs[next++]();
    }),
  );
}

// ---------------------------------------------------------------- generated payloads

// mulberry32: small, fast and deterministic for a given seed.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED_USER = {
  email: "speaker-email@domain.com", type: "Speaker", firstName: "Jane", lastName: "Doe",
  username: "SuperJane", avatar: "https://domain.com/image-link.jpg", job: "Tester",
  company: "Comp Limited", tags: ["Mentor", "Host"], timezone: "Europe/Paris", country: "France",
  city: "Paris", status: "Employed", website: "https://jane-doe.com",
  socials: { facebook: "https://www.facebook.com/jane.doe", linkedin: "https://www.linkedin.com/in/janedoe/",
    twitter: "https://twitter.com/janedoe", youtube: "https://www.youtube.com/@janedoe" },
  options: { highlight: false, endRegistration: false },
};
/** SEED_USER as GET shows a stored user: what a lone e-mail or username patch is checked on. */
const SEED_USER_SHOWN = { id: "665f1c2e8b3e4a0012345678", ...SEED_USER, description: null,
  createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:00.000Z" };
const SEED_SPEAKER = {
  email: "speaker@domain.com", firstName: "Jane", lastName: "Doe", username: "SuperJane",
  avatar: "https://domain.com/image-link.jpg", job: "Tester", company: "Comp Limited",
  tags: ["Mentor", "Host"], timezone: "Europe/Paris", highlighted: false,
};
const SEED_SPONSOR = {
  name: "Super Sponsor", logo: "https://domain.com/logo-link.jpg", level: 3, hasPage: true,
  pageContent: "Empower Your Journey", website: "https://domain.com", speakers: [SEED_SPEAKER],
  icon: "https://domain.com/icon-link.jpg", color: "#ff5733",
  options: { displayInLobby: true, highlight: false },
};

const long = (n, c = "a") => c.repeat(n);
const nested = (depth, object) => {
  let v = object ? { a: 1 } : [1];
  for (let i = 1; i < depth; i++) v = object ? { a: v } : [v];
  return v;
};
const TEXT = ["", " ", "\t\n", "x", "Jane", "🎉 Zoë", "👩‍👩‍👧", "עִבְרִית عربى", "\u0000", "a\u0000b", "\u202eenaJ",
  "Zoe\u0308", "\u200b", "a\u0007b", "a\nb", "a\r\nb", "\u00a0", "\u3000", "<script>alert(1)</script>", "<b>bold</b>",
  "$set", "a.b", "__proto__", "null", "\ufeffJane", "\u{1F600}".repeat(60),
  ...[2, 3, 39, 40, 41, 49, 50, 51, 99, 100, 101, 199, 200, 201, 254, 255, 2048, 2049, 5000, 5001].map((n) => long(n)),
  long(100, "é"), long(101, "é"), long(201, "字")];
const URLS = ["https://domain.com/x.png", "http://domain.com", "https://", "https:/€/x", "ftp://x.com",
  "https://a b.com", "javascript:alert(1)", "https://bücher.de/x", "HTTPS://DOMAIN.COM/X", "//domain.com",
  "https://user:pw@domain.com", "https://[::1]/", "https://domain.com:99999", "https://-a.com", "https://a",
  "https://domain.com/" + long(2020), "https://domain.com/" + long(2040), "https:/€€/", "https://€",
  "data:image/png;base64,AAAA", " https://domain.com", "https://domain.com/\u0000"];
const EMAILS = ["jane@domain.com", "nope", "a@b", "@domain.com", "jane@", "jane@bücher.de", "JANE@DOMAIN.COM",
  " jane@domain.com", "jane@domain.com ", "jane..doe@domain.com", "jane@domain..com", long(250) + "@b.co",
  long(64) + "@domain.com", long(65) + "@domain.com", "jane+tag@domain.com", "jane@xn--bcher-kva.de",
  "jäne@domain.com", '"quoted"@domain.com', "jane@domain", "jane@-domain.com", "jane@domain.c", "a@b.co",
  "jane@@domain.com", "jane@domain.com\u0000", "known@domain.com"];
const POOLS = {
  type: ["Attendee", "Speaker", "attendee", "SPEAKER", "Guest", "", " Speaker"],
  status: ["Employed", "Looking for a job", "Student", "Freelancer", "Working for a startup", "employed", "Unemployed", ""],
  timezone: ["Europe/Paris", "UTC", "Etc/UTC", "America/New_York", "europe/paris", "Mars/Base", "Europe/Pariss", "+02:00", "", "Asia/Kolkata"],
  color: ["#ff5733", "#f53", "#FF5733", "#ff573", "ff5733", "#gggggg", "#ff5733ff", "red", "#", "", "#F5a"],
  level: [1, 2, 3, 4, 5, 0, 6, -1, 3.5, -0, 1e10, "3", null, true, [], {}, 2.0, 1e-300, 5.000001],
  tags: [[], ["Mentor"], ["Mentor", "mentor"], ["Mentor", " Mentor "], Array.from({ length: 50 }, (_, i) => `t${i}`),
    Array.from({ length: 51 }, (_, i) => `t${i}`), [""], [" "], [long(50)], [long(51)], [1], [null], "Mentor",
    [["a"]], ["🎉", "עברית"], ["a\u0000"], [{ $gt: "" }], null],
  username: ["SuperJane", "ab", "abc", long(40), long(41), "jane doe", "_jane", "jane#1", "Jäne", "jane.doe-1_2#3", "", null, 42],
  bool: [true, false, null, "true", 0, 1, [], {}],
  object: [null, {}, [], "x", 1, { unknown: 1 }, { $where: "1" }, { "a.b": 1 }],
};
const URL_FIELDS = new Set(["avatar", "website", "facebook", "linkedin", "twitter", "youtube", "logo", "icon"]);
const BOOL_FIELDS = new Set(["highlight", "endRegistration", "hasPage", "displayInLobby", "highlighted"]);
const WRONG = [0, 1, -1, 1.5, true, false, null, [], {}, ["x"], { a: 1 }, "x", 1e300, -0];
const UNKNOWN_KEYS = ["extra", "$set", "$where", "a.b", "__proto__", "constructor", "Email", "first_name", "", " ", "🎉", "\u0000"];
const USER_KEYS = Object.keys(SEED_USER);
const SPONSOR_KEYS = Object.keys(SEED_SPONSOR);
const SPEAKER_KEYS = Object.keys(SEED_SPEAKER);

function setKey(o, k, v) {
  // defineProperty so "__proto__" becomes an own key (JSON.stringify shows it), never the prototype.
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function makeGenerator(seed) {
  const r = rng(seed);
  const int = (n) => Math.floor(r() * n);
  const pick = (a) => a[int(a.length)];
  const clone = (v) => structuredClone(v);

  function valueFor(k) {
    const roll = r();
    if (roll < 0.15) return pick(WRONG);
    if (roll < 0.22) return nested(pick([2, 5, 64, 127, 128, 129, 200]), r() < 0.5);
    if (roll < 0.35) return pick(TEXT);
    if (k === "email") return pick(EMAILS);
    if (URL_FIELDS.has(k)) return pick(URLS);
    if (BOOL_FIELDS.has(k)) return pick(POOLS.bool);
    if (k === "socials" || k === "options") return pick(POOLS.object);
    if (k === "speakers") return speakersList();
    if (k === "firstName" || k === "lastName" || k === "name") return pick(TEXT);
    return POOLS[k] ? clone(pick(POOLS[k])) : pick(TEXT);
  }

  function freshSpeaker(n) {
    return { ...clone(SEED_SPEAKER), email: `new${n}.${RUN}.${int(1e9)}@domain.com`, username: undefined };
  }

  function speakersList() {
    switch (int(11)) {
      case 0: return [];
      case 1: return [clone(SEED_SPEAKER), clone(SEED_SPEAKER)];
      case 2: return [clone(SEED_SPEAKER), { ...clone(SEED_SPEAKER), email: "SPEAKER@Domain.com" }];
      case 3: return Array.from({ length: 101 }, (_, i) => ({ email: `s${i}@domain.com` }));
      case 4: return [{ email: `unknown${int(1e9)}@domain.com` }];
      case 5: return [{ email: "known@domain.com" }];
      case 6: return pick([["x"], [null], {}, [{}], "speaker@domain.com", [[]]]);
      case 7: return [{ ...clone(SEED_SPEAKER), extra: 1 }];
      case 8: return Array.from({ length: 1 + int(3) }, (_, i) => strip(freshSpeaker(i)));
      case 9: return [{ email: "known@domain.com", firstName: "  ", tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }];
      default: return [strip(freshSpeaker(0)), { email: "known@domain.com" }, clone(SEED_SPEAKER)];
    }
  }

  const strip = (o) => JSON.parse(JSON.stringify(o)); // drops undefined

  /** One mutation at a random place of `o` (a user, sponsor or speaker object). */
  function mutateObject(o, keys) {
    const op = int(10);
    const k = pick(keys);
    if (op === 0) delete o[k];
    else if (op === 1) setKey(o, pick(UNKNOWN_KEYS), pick(WRONG.concat(TEXT.slice(0, 8))));
    else if (op === 2) o[k] = pick(WRONG);
    else if (op === 3 && (k === "socials" || k === "options") && o[k] && typeof o[k] === "object") {
      const inner = Object.keys(o[k]);
      if (r() < 0.3) setKey(o[k], pick(UNKNOWN_KEYS), 1);
      else if (inner.length) o[k][pick(inner)] = valueFor(k === "socials" ? "website" : "highlight");
    } else if (op === 4 && Array.isArray(o.speakers) && o.speakers.length && o.speakers[0] && typeof o.speakers[0] === "object") {
      const s = o.speakers[int(o.speakers.length)];
      if (s && typeof s === "object" && !Array.isArray(s)) mutateObject(s, SPEAKER_KEYS);
    } else o[k] = valueFor(k);
  }

  /** A payload: a seed (or a valid corpus payload) with 1 to 3 mutations. */
  function payload(validCorpus) {
    const kind = r() < 0.55 ? "user" : "sponsor";
    const pool = validCorpus[kind];
    const seed = r() < 0.5 || pool.length === 0 ? (kind === "user" ? SEED_USER : SEED_SPONSOR) : pick(pool);
    const o = clone(seed);
    const n = 1 + int(3);
    for (let i = 0; i < n; i++) mutateObject(o, kind === "user" ? USER_KEYS : SPONSOR_KEYS);
    // Type/options combinations the rules care about (highlight is Speaker-only).
    if (kind === "user" && r() < 0.1) {
      o.type = "Attendee";
      o.options = { highlight: true };
    }
    return { kind, obj: o };
  }

  /** A text-level mutation: things only JSON text can carry. */
  function rawText(kind, text) {
    const first = kind === "user" ? '"email":"jane@domain.com",' : '"name":"Dup",';
    switch (int(16)) {
      case 0: return "\ufeff" + text;
      case 1: return text.replace("{", "{" + first); // a duplicate key (when the seed has it)
      case 2: return text.replace(/}$/, ",}");
      case 3: return text.slice(0, int(text.length));
      case 4: return text.replace(/"level":[^,}]*/, `"level":${pick(["1e400", "-0", "3.0", "-0.0", "1e-400", "0.5e1", "3e0", "NaN", "Infinity", "03", "+3", "3.", "-1e400"])}`);
      case 5: return text.replace("{", '{"city":"\\ud800",');
      case 6: return text.replace("{", "{/*x*/");
      case 7: return text.replace(/"/g, "'");
      case 8: return text.replace("{", '{"job":"a\tb",');
      case 9: return text.replace("{", '{"job":"a\\u0000b",');
      case 10: return text.replace("{", `{"job":${"[".repeat(129)}${"]".repeat(129)},`);
      case 11: return text.replace("{", '{"job":"\\x41",');
      case 12: return text + "\n" + text;
      case 13: return " \n\t" + text + " \n";
      case 14: return text.replace("{", '{"\\u0024set":1,');
      default: return text.replace(/"type":"[^"]*"/, '"type":"Speaker","type":"Attendee"');
    }
  }

  /** A merge patch of a user or sponsor: 1 to 4 changes (values, nulls, nested members,
   *  read-only and unknown keys, a slug), now and then not an object at all. */
  function patch(kind) {
    if (r() < 0.03) return pick([[], null, "x", 1, true, [{}]]);
    const keys = kind === "user" ? USER_KEYS : SPONSOR_KEYS.filter((k) => k !== "speakers");
    const readOnly = kind === "user" ? ["id", "password", "createdAt", "updatedAt"] : ["id", "speakers", "createdAt", "updatedAt"];
    const p = {};
    const n = 1 + int(4);
    for (let i = 0; i < n; i++) {
      const roll = r();
      if (roll < 0.06) setKey(p, pick(readOnly), pick(WRONG.concat(TEXT.slice(0, 4))));
      else if (roll < 0.12) setKey(p, pick(UNKNOWN_KEYS), pick(WRONG.concat([null])));
      else if (roll < 0.25) p[pick(keys)] = null;
      else if (roll < 0.4) {
        const k = kind === "user" ? pick(["socials", "options"]) : "options";
        const inner = Object.keys(kind === "user" ? SEED_USER[k] : SEED_SPONSOR.options);
        const member = pick(inner);
        p[k] = r() < 0.1 ? pick(POOLS.object) : { [member]: r() < 0.25 ? null : valueFor(k === "socials" ? "website" : "highlight") };
      } else if (kind === "sponsor" && roll < 0.5) {
        p.slug = pick(["mega-sponsor", "Mega Sponsor!", "", " ", null, "a--b", "-a", "a".repeat(64), "a".repeat(65), "ok-slug", 3]);
      } else if (kind === "user" && roll < 0.5) {
        // The Speaker-only highlight, after the merge.
        p.type = pick(["Attendee", "Speaker"]);
        if (r() < 0.5) p.options = { highlight: r() < 0.5 };
      } else {
        const k = pick(keys);
        p[k] = valueFor(k);
      }
    }
    return p;
  }

  return { payload, rawText, patch, r, int };
}

/** Valid payloads get unique e-mails, usernames and names, so the database (which the
 *  package cannot see) does not turn them into conflicts. */
let uniq = 0;
function uniquify(kind, o) {
  const n = ++uniq;
  if (kind === "user") {
    o.email = `cc${n}.${RUN}@domain.com`;
    if (typeof o.username === "string") o.username = `cc${n}r${RUN}`;
  } else {
    if (typeof o.name === "string") o.name = `${o.name.slice(0, 150)} ${n}${RUN}`;
    if (Array.isArray(o.speakers)) {
      o.speakers.forEach((s, i) => {
        if (s && typeof s.username === "string") s.username = `cs${n}x${i}r${RUN}`;
      });
    }
  }
}

const validates = (kind, o) => (kind === "user" ? rules.validateUser(o) : rules.validateSponsor(o)).length === 0;

// ---------------------------------------------------------------- the tests

test("the server is onboard serve and answers with its key", async () => {
  const r = await fetch(`${base}/v1/tags`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(r.status, 200);
  // The corpus's "only an email" speaker names an existing account.
  const known = await post("/v1/users", JSON.stringify({ email: "known@domain.com", type: "Attendee", firstName: "Known", lastName: "User" }));
  assert.ok([201, 409].includes(known.status), JSON.stringify(known));
});

test("the conformance corpus: server and package agree on every case", async () => {
  const before = failures.length;
  // Creates here; patches and one speaker in the next test.
  const served = CORPUS.filter((c) => ["user", "sponsor", "user_json", "sponsor_json"].includes(c.kind));
  const jobs = served.map((c, i) => async () => {
    if (c.kind === "user_json" || c.kind === "sponsor_json") {
      return check(`corpus "${c.name}"`, c.kind.replace("_json", ""), c.text);
    }
    const o = structuredClone(c.payload);
    if (validates(c.kind, o) && o && typeof o === "object") uniquify(c.kind, o);
    return check(`corpus "${c.name}"`, c.kind, JSON.stringify(o), o);
  });
  await pool(jobs, CONCURRENCY);
  const mine = failures.slice(before);
  assert.deepEqual(mine, [], `${mine.length} corpus case(s) differ:\n${mine.join("\n")}`);
});

test(`${COUNT} generated payloads: server and package agree on every one`, async (t) => {
  const gen = makeGenerator(SEED);
  const validCorpus = { user: [], sponsor: [] };
  for (const c of CORPUS) if ((c.kind === "user" || c.kind === "sponsor") && c.errors.length === 0) validCorpus[c.kind].push(c.payload);
  const before = failures.length;
  const start = { ...stats, byStatus: { ...stats.byStatus } };
  const jobs = [];
  let valid = 0;
  for (let i = 0; i < COUNT; i++) {
    const { kind, obj } = gen.payload(validCorpus);
    const ok = validates(kind, obj);
    if (ok) {
      valid++;
      uniquify(kind, obj);
    }
    if (gen.r() < 0.12) {
      const text = gen.rawText(kind, JSON.stringify(obj));
      jobs.push(() => check(`generated #${i} (text)`, kind, text));
    } else {
      const text = JSON.stringify(obj);
      jobs.push(() => check(`generated #${i}`, kind, text, obj));
    }
  }
  await pool(jobs, CONCURRENCY);
  const byStatus = Object.fromEntries(
    Object.entries(stats.byStatus).map(([s, n]) => [s, n - (start.byStatus[s] ?? 0)]),
  );
  t.diagnostic(`generated ${COUNT} (seed ${SEED}); package-valid before uniquifying ${valid}; ` +
    `server answers ${JSON.stringify(byStatus)}; server-only account checks ${stats.accountOnly - start.accountOnly}`);
  const mine = failures.slice(before);
  assert.deepEqual(mine.slice(0, 40), [], `${mine.length} of ${COUNT} generated payloads differ (first 40):\n${mine.slice(0, 40).join("\n")}`);
  // The run must have exercised both sides of the verdict.
  assert.ok((byStatus[201] ?? 0) > COUNT / 20, "enough payloads were created");
  assert.ok((byStatus[400] ?? 0) > COUNT / 4, "enough payloads were refused");
});

// ---------------------------------------------------------------- edits (issue 12)

const SERVER_FIELDS = ["id", "createdAt", "updatedAt"];

/** The create payload of a record as GET shows it: server fields, nulls, a sponsor's slug and
 *  speakers left out. */
function creatable(existing) {
  const o = {};
  for (const [k, v] of Object.entries(existing)) {
    if (SERVER_FIELDS.includes(k) || k === "slug" || k === "speakers" || v === null) continue;
    if ((k === "socials" || k === "options") && v && typeof v === "object") {
      o[k] = Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null));
    } else o[k] = v;
  }
  return o;
}

let made = 0;
/** A user or sponsor made like `existing` (unique e-mail, username or name), as GET shows it. */
async function make(kind, existing) {
  const n = ++made;
  const o = creatable(existing);
  if (kind === "user") {
    o.email = `ed${n}.${RUN}@domain.com`;
    if ("username" in o) o.username = `ed${n}r${RUN}`;
  } else o.name = `${String(o.name ?? "Sponsor").slice(0, 150)} ${n}${RUN}`;
  const route = kind === "user" ? "/v1/users" : "/v1/sponsors";
  const res = await post(route, JSON.stringify(o));
  assert.equal(res.status, 201, `${kind} like ${JSON.stringify(existing)}: ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** The package's verdict on a patch of `existing`: object and JSON-text entry points. */
function packagePatch(kind, existing, text, obj) {
  // The package checks sponsor patches on objects only: sponsor patches are sent as JSON.stringify(obj).
  if (kind === "sponsor") return { pkg: pairs(rules.validateSponsorPatch(existing, obj)) };
  const pkg = pairs(rules.validateUserPatchJson(JSON.stringify(existing), text));
  if (obj === undefined) return { pkg };
  return { pkg, pkgObj: pairs(rules.validateUserPatch(existing, obj)) };
}

/** One patch of the record `id` through both; `expected` (corpus pairs) when known. */
async function checkPatch(label, kind, id, text, obj, expected) {
  const route = `/v1/${kind === "user" ? "users" : "sponsors"}/${id}`;
  const before = await get(route);
  if (before.status !== 200) {
    failures.push(`${label}: GET ${route} answered ${before.status}`);
    return;
  }
  const existing = before.body;
  const { pkg, pkgObj } = packagePatch(kind, existing, text, obj);
  const show = () => (text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text);
  if (pkgObj && JSON.stringify(pkgObj) !== JSON.stringify(pkg)) {
    failures.push(`${label}: package object API ${JSON.stringify(pkgObj)} != JSON API ${JSON.stringify(pkg)}\n  ${show()}`);
  }
  // The corpus lists a case's errors in no particular order: compared as a multiset.
  if (expected && JSON.stringify([...expected].sort()) !== JSON.stringify([...pkg].sort())) {
    failures.push(`${label}: package ${JSON.stringify(pkg)} != corpus ${JSON.stringify(expected)}`);
  }
  let res;
  try {
    res = await post(route, text, { method: "PATCH", headers: { "content-type": "application/merge-patch+json", "if-match": before.etag } });
  } catch (e) {
    failures.push(`${label}: PATCH ${route} failed (${e.cause?.code ?? e.message})\n  ${show()}`);
    return;
  }
  stats.total++;
  stats.patches++;
  const status = `PATCH ${res.status}`;
  stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  const srv = pairs(res.body.errors);
  const fail = (why) =>
    failures.push(`${label}: ${why}\n  PATCH ${route} ${show()}\n  existing ${JSON.stringify(existing).slice(0, 400)}\n  server ${res.status} ${JSON.stringify(res.body).slice(0, 600)}\n  package ${JSON.stringify(pkg)}`);
  if (res.status === 200 || res.status === 409) {
    if (pkg.length !== 0) fail(`server ${res.status}, package reports errors`);
  } else if (res.status === 400 && (res.body.code === "validation_failed" || res.body.code === "invalid_json")) {
    if (JSON.stringify(srv) !== JSON.stringify(pkg)) fail("different errors");
  } else {
    fail(`unexpected status ${res.status}${serverLogFor(res.body)}`);
  }
}

/** One speaker through POST /v1/sponsors/{id}/speakers and validateSpeaker. */
async function checkSpeaker(label, sponsorId, payload, expected) {
  const text = JSON.stringify(payload);
  const pkg = pairs(rules.validateSpeaker(payload));
  if (expected && JSON.stringify([...expected].sort()) !== JSON.stringify([...pkg].sort())) {
    failures.push(`${label}: package ${JSON.stringify(pkg)} != corpus ${JSON.stringify(expected)}`);
  }
  const res = await post(`/v1/sponsors/${sponsorId}/speakers`, text);
  stats.total++;
  const status = `speaker ${res.status}`;
  stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  const srv = pairs(res.body.errors);
  const fail = (why) => failures.push(`${label}: ${why}\n  ${text}\n  server ${res.status} ${JSON.stringify(res.body).slice(0, 400)}\n  package ${JSON.stringify(pkg)}`);
  if ([200, 201, 409].includes(res.status)) {
    if (pkg.length !== 0) fail(`server ${res.status}, package reports errors`);
  } else if (res.status === 400) {
    if (JSON.stringify(srv) === JSON.stringify(pkg)) return;
    // The server-only rule: a new account needs the names the payload left out.
    const namesOnly = pkg.length === 0 && srv.length > 0 &&
      srv.every((p) => /^(firstName|lastName) required$/.test(p) && isBlank(payload?.[p.split(" ")[0]]));
    if (namesOnly) stats.accountOnly++;
    else fail("different errors");
  } else fail(`unexpected status ${res.status}`);
}

test("the corpus's patches and speakers: server and package agree on every case", async () => {
  const before = failures.length;
  const jobs = [];
  for (const c of CORPUS) {
    const expected = pairs(c.errors);
    if (c.kind === "user_patch" || c.kind === "user_patch_json" || c.kind === "sponsor_patch") {
      const kind = c.kind === "sponsor_patch" ? "sponsor" : "user";
      jobs.push(async () => {
        const id = await make(kind, c.existing);
        if (c.kind === "user_patch_json") return checkPatch(`corpus "${c.name}"`, kind, id, c.text, undefined, expected);
        return checkPatch(`corpus "${c.name}"`, kind, id, JSON.stringify(c.patch), c.patch, expected);
      });
    }
  }
  const speakers = CORPUS.filter((c) => c.kind === "speaker");
  assert.ok(jobs.length >= 30 && speakers.length >= 5, "the corpus has patch and speaker cases");
  await pool(jobs, CONCURRENCY);
  const host = await make("sponsor", { name: "Speaker host", logo: "https://domain.com/logo.png", level: 1 });
  for (const c of speakers) await checkSpeaker(`corpus "${c.name}"`, host, c.payload, pairs(c.errors));
  const mine = failures.slice(before);
  assert.deepEqual(mine, [], `${mine.length} patch or speaker case(s) differ:\n${mine.join("\n")}`);
});

test(`${PATCHES} generated patches: server and package agree on every one`, async (t) => {
  const gen = makeGenerator(SEED + 1);
  const before = failures.length;
  const start = stats.byStatus["PATCH 200"] ?? 0;
  const startRefused = stats.byStatus["PATCH 400"] ?? 0;
  // A pool of records, each patched by one lane in turn, so every patch is checked against
  // the record exactly as GET showed it just before (If-Match makes sure of it).
  const lanes = Math.max(1, CONCURRENCY);
  const records = [];
  for (let i = 0; i < lanes; i++) {
    records.push({ kind: "user", id: await make("user", SEED_USER) });
    records.push({ kind: "sponsor", id: await make("sponsor", { ...SEED_SPONSOR, speakers: undefined }) });
  }
  let n = 0;
  const planned = [];
  for (let i = 0; i < PATCHES; i++) {
    const kind = gen.r() < 0.65 ? "user" : "sponsor";
    planned.push({ i, kind, patch: gen.patch(kind), raw: gen.r() < 0.1 });
  }
  const lane = async (l) => {
    for (let j = l; j < planned.length; j += lanes) {
      const { i, kind, raw } = planned[j];
      const patch = structuredClone(planned[j].patch);
      const record = records[2 * l + (kind === "user" ? 0 : 1)];
      // Valid unique values stay unique (the package cannot see the database).
      if (patch && typeof patch === "object" && !Array.isArray(patch)) {
        n++;
        if (kind === "user" && typeof patch.email === "string" && rules.validateUserPatch(SEED_USER_SHOWN, { email: patch.email }).length === 0) {
          patch.email = `gp${n}.${RUN}@domain.com`;
        }
        if (kind === "user" && typeof patch.username === "string" && rules.validateUserPatch(SEED_USER_SHOWN, { username: patch.username }).length === 0) {
          patch.username = `gp${n}r${RUN}`;
        }
        if (kind === "sponsor" && typeof patch.slug === "string" && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(patch.slug)) patch.slug = `${patch.slug.slice(0, 40)}-${n}-${RUN}`;
      }
      const text = JSON.stringify(patch) ?? "null";
      if (raw && kind === "user") await checkPatch(`generated patch #${i} (text)`, kind, record.id, gen.rawText("user", text));
      else await checkPatch(`generated patch #${i}`, kind, record.id, text, patch);
    }
  };
  await Promise.all(Array.from({ length: lanes }, (_, l) => lane(l)));
  const changed = (stats.byStatus["PATCH 200"] ?? 0) - start;
  const refused = (stats.byStatus["PATCH 400"] ?? 0) - startRefused;
  t.diagnostic(`generated ${PATCHES} patches (seed ${SEED + 1}): ${changed} applied, ${refused} refused`);
  const mine = failures.slice(before);
  assert.deepEqual(mine.slice(0, 40), [], `${mine.length} of ${PATCHES} generated patches differ (first 40):\n${mine.slice(0, 40).join("\n")}`);
  assert.ok(changed > PATCHES / 20, "enough patches were applied");
  assert.ok(refused > PATCHES / 4, "enough patches were refused");
});

test("the server log has no panic", () => {
  const log = readFileSync(logPath, "utf8");
  assert.ok(!/panicked/.test(log), log.split("\n").filter((l) => /panicked/.test(l)).slice(0, 5).join("\n"));
  console.log(`# cross-check totals: ${stats.total} requests, ${stats.objectChecked} object-API checks, ` +
    `answers ${JSON.stringify(stats.byStatus)}, server-only account checks ${stats.accountOnly}, ` +
    `same pairs in another order ${stats.orderOnly}`);
  for (const e of orderExamples) console.log(`# order differs: ${e}`);
});
