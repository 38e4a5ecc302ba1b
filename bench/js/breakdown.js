// Where the time of onboard-rules goes on the seed user, next to ajv's whole validation:
// the JS-object-to-JSON step (the package's payloadJson helper: the check for values JSON
// cannot hold, then JSON.stringify), the string copy into wasm, and parse + validate in
// wasm. Run after run.sh (it uses the installed package): node breakdown.js
import { createRequire } from "node:module";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { Bench } from "tinybench";
import * as onboard from "onboard-rules";
import * as ajv from "./rules/ajv.js";
import { INPUTS } from "./inputs.js";

const require = createRequire(import.meta.url);
const pkg = dirname(require.resolve("onboard-rules/package.json"));
const snippets = join(pkg, "node", "snippets");
const helper = require(join(snippets, readdirSync(snippets)[0], "inline0.cjs"));
const BATCH = 100;
const bench = new Bench({ time: Number(process.env.BENCH_TIME_MS ?? 1000), warmupTime: 200 });
const enc = new TextEncoder();
const buf = new Uint8Array(1 << 16);
let sink = 0;
for (const input of [INPUTS[0], INPUTS[2]]) {
  const [validate, validateJson, ajvValidate] =
    input.kind === "user"
      ? [onboard.validateUser, onboard.validateUserJson, ajv.validateUser]
      : [onboard.validateSponsor, onboard.validateSponsorJson, ajv.validateSponsor];
  const steps = {
    "onboard validate (JS object), total": () => validate(input.object).length,
    "  1. payloadJson: check + JSON.stringify": () => helper.payloadJson(input.object).length,
    "  2. copy of the text into wasm (TextEncoder.encodeInto, an upper bound)": () => enc.encodeInto(input.text, buf).written,
    "  3. validateJson: copy + parse + validate in wasm": () => validateJson(input.text).length,
    "ajv validate (JS object), total": () => ajvValidate(input.object).length,
    "JSON.parse alone (what ajv's JSON-text path adds)": () => (JSON.parse(input.text) ? 1 : 0),
  };
  for (const [name, fn] of Object.entries(steps)) {
    bench.add(`${input.id}: ${name}`, () => {
      for (let i = 0; i < BATCH; i++) sink += fn();
    });
  }
}
// validateField (issue 16), as the page calls it on a keystroke: a short text alone, an
// invalid one (an error crosses back), and a speaker's e-mail of the 20-speaker sponsor
// (its context, the speakers list, crosses too).
const sponsor20 = INPUTS[2].object;
const fieldSteps = {
  'validateField("user", "email", "jane@domain.com")': () => onboard.validateField("user", "email", "jane@domain.com").length,
  'validateField("user", "email", "jane@")': () => onboard.validateField("user", "email", "jane@").length,
  'validateField("user", "options.highlight", true, {type})': () => onboard.validateField("user", "options.highlight", true, { type: "Speaker" }).length,
  'validateField("sponsor", "speakers[19].email", ..., sponsor20)': () =>
    onboard.validateField("sponsor", "speakers[19].email", sponsor20.speakers[19].email, sponsor20).length,
};
for (const [name, fn] of Object.entries(fieldSteps)) {
  bench.add(`field: ${name}`, () => {
    for (let i = 0; i < BATCH; i++) sink += fn();
  });
}
await bench.run();
for (const t of bench.tasks) {
  console.log(`${((t.result.latency.mean * 1000) / BATCH).toFixed(2).padStart(8)} µs  ${t.name}`);
}
if (sink < 0) console.log(sink);
