// Runs the rulebook's conformance corpus (shared/corpus/cases.json) through every
// implementation and reports how many cases each gets exactly right (same set of
// field + code pairs), listing the cases where a JS implementation disagrees.
import { readFileSync } from "node:fs";
import { IMPLEMENTATIONS } from "./implementations.js";

const corpus = JSON.parse(readFileSync(new URL("../../shared/corpus/cases.json", import.meta.url), "utf8"));
// The four entry points compared here; the corpus also holds patch and speaker cases.
const CASES = corpus.filter((c) => ["user", "sponsor", "user_json", "sponsor_json"].includes(c.kind));
const pairs = (errors) => errors.map((e) => `${e.field} ${e.code}`).sort().join(", ");

export function conformance() {
  const results = [];
  for (const impl of IMPLEMENTATIONS) {
    const misses = [];
    for (const c of CASES) {
      const run = {
        user: () => impl.validateUser(c.payload),
        sponsor: () => impl.validateSponsor(c.payload),
        user_json: () => impl.validateUserJson(c.text),
        sponsor_json: () => impl.validateSponsorJson(c.text),
      }[c.kind];
      let got;
      try {
        got = pairs(run());
      } catch (e) {
        got = `threw ${e}`;
      }
      const want = pairs(c.errors);
      if (got !== want) misses.push({ name: c.name, want, got });
    }
    results.push({ name: impl.name, agree: CASES.length - misses.length, total: CASES.length, misses });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of conformance()) {
    console.log(`${r.name}: ${r.agree}/${r.total} corpus cases agree`);
    for (const m of r.misses) console.log(`  - ${m.name}: want [${m.want}] got [${m.got}]`);
  }
}
