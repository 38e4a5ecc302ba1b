// Measures the page's budget: JS + CSS + wasm in dist/, gzipped (level 9, as a server would
// precompress them). Prints one line per file and the total; exits 1 above the budget.
import { readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 80_000; // "80 KB", read strictly as 80,000 bytes
const dir = new URL("./dist/assets/", import.meta.url);
let total = 0;
for (const f of readdirSync(dir).filter((f) => /\.(js|css|wasm)$/.test(f)).sort()) {
  const raw = readFileSync(new URL(f, dir));
  const gz = gzipSync(raw, { level: 9 }).length;
  total += gz;
  console.log(`${f.padEnd(40)} ${String(raw.length).padStart(7)} B  gzip ${String(gz).padStart(6)} B`);
}
console.log(`${"total (JS + CSS + wasm)".padEnd(40)} ${" ".repeat(9)}  gzip ${String(total).padStart(6)} B = ${(total / 1000).toFixed(1)} kB (budget ${BUDGET} B)`);
if (process.argv.includes("--check") && total > BUDGET) process.exit(1);
