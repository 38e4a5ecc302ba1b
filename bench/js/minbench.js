// The timing table on a busy machine: every implementation's batches interleaved round-robin
// (so load hits them alike), and each one's FASTEST batch kept: the time it takes when it
// has a core to itself, the estimator that survives other processes' load (tinybench's
// means do not: bench.js). Same inputs, forms and answer check as bench.js; validateField
// timings too. Writes minresults.json. Run after run.sh (it uses the installed package):
//   node minbench.js            (ROUNDS=300 by default)
import { writeFileSync } from "node:fs";
import * as onboard from "onboard-rules";
import { IMPLEMENTATIONS } from "./implementations.js";
import { INPUTS } from "./inputs.js";

const BATCH = 50;
const ROUNDS = Number(process.env.ROUNDS ?? 300);
const pairs = (errors) => errors.map((e) => `${e.field} ${e.code}`).sort().join(", ");
let sink = 0;

function fastest(tasks) {
  const best = tasks.map(() => Infinity);
  for (let r = 0; r < ROUNDS; r++) {
    tasks.forEach((fn, i) => {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < BATCH; k++) sink += fn();
      const us = Number(process.hrtime.bigint() - t0) / 1000 / BATCH;
      if (us < best[i]) best[i] = us;
    });
  }
  return best;
}

const rows = [];
for (const input of INPUTS) {
  for (const form of ["object", "json"]) {
    const tasks = IMPLEMENTATIONS.map((impl) => {
      const fn =
        form === "object"
          ? input.kind === "user" ? impl.validateUser : impl.validateSponsor
          : input.kind === "user" ? impl.validateUserJson : impl.validateSponsorJson;
      const arg = form === "object" ? input.object : input.text;
      const got = pairs(fn(arg));
      if (got !== pairs(input.case.errors)) throw new Error(`${impl.name} on ${input.label} (${form}): got [${got}]`);
      return () => fn(arg).length;
    });
    fastest(tasks).forEach((us, i) => rows.push({ input: input.id, label: input.label, form, impl: IMPLEMENTATIONS[i].name, us }));
  }
}

// Where the JS-object path's time goes: the boundary (payloadJson: the check for what JSON
// cannot hold + JSON.stringify) against parse + validate in wasm (validate*Json).
const { createRequire } = await import("node:module");
const { readdirSync } = await import("node:fs");
const { dirname, join } = await import("node:path");
const require = createRequire(import.meta.url);
const snippets = join(dirname(require.resolve("onboard-rules/package.json")), "node", "snippets");
const helper = require(join(snippets, readdirSync(snippets)[0], "inline0.cjs"));
const parts = [];
for (const input of INPUTS) {
  const [validate, validateJson] =
    input.kind === "user" ? [onboard.validateUser, onboard.validateUserJson] : [onboard.validateSponsor, onboard.validateSponsorJson];
  // The error list's way back: the NUL-separated text errors_to_js hands to errorList
  // (wasm/src/lib.rs), made into the answer's objects in JS.
  const errors = validateJson(input.text);
  const back = errors.map((e) => `${e.field}\0${e.code}\0${e.message}\0`).join("");
  const [total, toJson, inWasm, errorsBack] = fastest([
    () => validate(input.object).length,
    () => helper.payloadJson(input.object).length,
    () => validateJson(input.text).length,
    () => (errors.length ? helper.errorList(back).length : 0),
  ]);
  parts.push({ input: input.id, label: input.label, total, toJson, inWasm, errorsBack: errors.length ? errorsBack : null });
}

// validateField, and with FIELD_VS=<a wasm/pkg directory> (say, a build of an earlier
// commit) the same calls on that package too, interleaved with these.
const vs = process.env.FIELD_VS ? require(join(process.env.FIELD_VS, "node", "index.cjs")) : null;
const sponsor20 = INPUTS[2].object;
const form = INPUTS[0].object;
const turns = new Map();
const tens = new Map();
const TEN_ERRORS = [["email", "jane@"], ["email", ""], ["firstName", "y".repeat(300)], ["website", "http://x.com"],
  ["username", "a"], ["timezone", "Mars/Base"], ["type", "Pilot"], ["company", "x".repeat(300)],
  ["lastName", "Do\u0000e"], ["avatar", "https://"]];
const fieldCalls = [
  ['validateField("user", "email", "jane@domain.com")', (w) => w.validateField("user", "email", "jane@domain.com").length],
  ['validateField("user", "email", "jane@") (1 error back)', (w) => w.validateField("user", "email", "jane@").length],
  // The same field's two errors by turns (email_invalid, blank): an error not the one just
  // sent (wasm/src/lib.rs keeps the last 8 different ones' JS strings; before, the last one).
  ['validateField("user", "email", "jane@" and "" by turns) (1 error back, not the last one)', (w) => {
    const odd = !turns.get(w);
    turns.set(w, odd);
    return w.validateField("user", "email", odd ? "jane@" : "").length;
  }],
  // Ten different errors by turns, more than the 8 kept: each one's text is made and decoded
  // again, as the first time a page shows that error.
  ['validateField on 10 different errors by turns (1 error back, its text new: none of the last 8)', (w) => {
    const i = ((tens.get(w) ?? 0) + 1) % TEN_ERRORS.length;
    tens.set(w, i);
    return w.validateField("user", TEN_ERRORS[i][0], TEN_ERRORS[i][1]).length;
  }],
  ['validateField("user", "options.highlight", true, {type: "Speaker"})', (w) => w.validateField("user", "options.highlight", true, { type: "Speaker" }).length],
  ['validateField("sponsor", "speakers[19].email", …, 20-speaker sponsor)', (w) =>
    w.validateField("sponsor", "speakers[19].email", sponsor20.speakers[19].email, sponsor20).length],
  ['validateField("user", "firstName", form.firstName, form) (as the page calls it: the form as context)', (w) =>
    w.validateField("user", "firstName", form.firstName, form).length],
  // A sponsor's text field: no own-rule dispatch for sponsors (the package's byte budget), so
  // the focused whole check, as every user field took before.
  ['validateField("sponsor", "name", "Acme")', (w) => w.validateField("sponsor", "name", "Acme").length],
  ["validateUser(seed user) (the whole payload, for comparison)", (w) => w.validateUser(INPUTS[0].object).length],
  // The boundary floor: a call into wasm with a short string and a short string back, no work.
  ['csvCellValue("x") (boundary floor: a string in, a string out)', (w) => w.csvCellValue("x").length],
];
const fieldTimes = fastest(fieldCalls.flatMap(([, fn]) => (vs ? [() => fn(onboard), () => fn(vs)] : [() => fn(onboard)])));
const field = fieldCalls.map(([call], i) => (vs ? { call, us: fieldTimes[2 * i], vs: fieldTimes[2 * i + 1] } : { call, us: fieldTimes[i] }));

writeFileSync(new URL("./minresults.json", import.meta.url), JSON.stringify({ batch: BATCH, rounds: ROUNDS, sink, rows, parts, field }, null, 2));
const IMPLS = IMPLEMENTATIONS.map((i) => i.name);
console.log("| input | form | " + IMPLS.join(" | ") + " | onboard vs ajv | vs valibot | vs zod |");
console.log("|---|---|" + IMPLS.map(() => "--:").join("|") + "|--:|--:|--:|");
for (const input of INPUTS) {
  for (const form of ["object", "json"]) {
    const r = (impl) => rows.find((x) => x.input === input.id && x.form === form && x.impl === impl).us;
    const us = IMPLS.map(r);
    const ratio = (other) => (r(other) / us[0]).toFixed(2) + "×";
    console.log(`| ${input.label} | ${form === "object" ? "JS object" : "JSON text"} | ${us.map((u) => u.toFixed(2) + " µs").join(" | ")} | ${ratio("ajv")} | ${ratio("valibot")} | ${ratio("zod")} |`);
  }
}
console.log("\n| input | validate (object) | of which payloadJson (boundary) | validate*Json (copy + parse + validate in wasm) | boundary share | of validate*Json: the errors back (errorList) |");
console.log("|---|--:|--:|--:|--:|--:|");
for (const p of parts) {
  const back = p.errorsBack === null ? "no errors" : `${p.errorsBack.toFixed(2)} µs`;
  console.log(`| ${p.label} | ${p.total.toFixed(2)} µs | ${p.toJson.toFixed(2)} µs | ${p.inWasm.toFixed(2)} µs | ${Math.round((100 * p.toJson) / p.total)} % | ${back} |`);
}
if (vs) {
  console.log(`\n| call | µs | µs (FIELD_VS) |\n|---|--:|--:|`);
  for (const f of field) console.log(`| \`${f.call}\` | ${f.us.toFixed(3)} | ${f.vs.toFixed(3)} |`);
} else {
  console.log("\n| call | µs |\n|---|--:|");
  for (const f of field) console.log(`| \`${f.call}\` | ${f.us.toFixed(3)} |`);
}
if (sink < 0) console.log(sink);
