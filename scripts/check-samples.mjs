// Prints the rulebook's verdict (through the built npm package) on the API contract's sample
// bodies and on a few broken variants, so `scripts/run.sh` shows what the rules do.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const root = new URL("..", import.meta.url).pathname;
const rules = createRequire(import.meta.url)(`${root}wasm/pkg/node/onboard_wasm.cjs`);
const corpus = JSON.parse(readFileSync(`${root}shared/corpus/cases.json`, "utf8"));
const pick = (name) => corpus.find((c) => c.name === name);

const show = (title, errors) => {
  console.log(`${errors.length ? "✗" : "✓"} ${title}`);
  for (const e of errors) console.log(`    ${e.field || "(payload)"}: ${e.code} — ${e.message}`);
};
const user = pick("seed sample user is valid").payload;
const sponsor = pick("seed sample sponsor is valid").payload;
show("seed sample user (create-user.txt)", rules.validateUser(user));
show("seed sample sponsor (create-sponsor.txt)", rules.validateSponsor(sponsor));
show("that user with 8 mistakes", rules.validateUser(pick("eight errors at once").payload));
show("a sponsor with mistakes in its speakers", rules.validateSponsor(pick("errors across sponsor and speakers").payload));
console.log(`  generated username for Jane Doe: ${rules.generateUsername(user.firstName, user.lastName)}`);
console.log(`  sponsor slug: ${rules.slugify(sponsor.name)}`);
