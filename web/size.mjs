// Measures the page's budget: JS + CSS + wasm in dist/, gzipped (level 9, as a server would
// precompress them). Prints one line per file; the first load (everything but the Import tab's
// assets/import.js, fetched only when that tab opens) is checked against the budget, the
// Import chunk is reported on its own. Exits 1 when the first load is above the budget.
import { readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 80_000; // "80 KB", read strictly as 80,000 bytes
const LAZY = new Set(["import.js"]); // loaded on demand, not part of the first load
const dir = new URL("./dist/assets/", import.meta.url);
let initial = 0;
let lazy = 0;
for (const f of readdirSync(dir).filter((f) => /\.(js|css|wasm)$/.test(f)).sort()) {
  const raw = readFileSync(new URL(f, dir));
  const gz = gzipSync(raw, { level: 9 }).length;
  if (LAZY.has(f)) lazy += gz;
  else initial += gz;
  const tag = LAZY.has(f) ? "  (Import tab, lazy)" : "";
  console.log(`${f.padEnd(40)} ${String(raw.length).padStart(7)} B  gzip ${String(gz).padStart(6)} B${tag}`);
}
const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
console.log(`${"first load (JS + CSS + wasm)".padEnd(40)} ${" ".repeat(9)}  gzip ${String(initial).padStart(6)} B = ${kb(initial)} (budget ${BUDGET} B)`);
console.log(`${"Import tab chunk (on demand)".padEnd(40)} ${" ".repeat(9)}  gzip ${String(lazy).padStart(6)} B = ${kb(lazy)}`);
if (!lazy) console.log("warning: no import.js in dist/assets (run the whole `npm run build`)");
if (process.argv.includes("--check") && (initial > BUDGET || !lazy)) process.exit(1);
