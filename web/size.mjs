// Measures the page's budget: JS + CSS + wasm in dist/, gzipped (level 9, as a server would
// precompress them). The first load is what dist/index.html references, everything those
// scripts import statically, the rulebook (assets/rules.js and its static imports, loaded
// right after first paint) and the .wasm those scripts fetch; it is checked against the budget.
// Everything else is fetched on demand (the Import tab's assets/import.js and the spreadsheet
// rulebook's .wasm it fetches, the People and Sponsors views' assets/people.js and
// assets/sponsors.js and any chunk only they import) and is reported apart. Exits 1 when the first load is above the budget or a lazy view is missing.
import { readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 80_000; // "80 KB", read strictly as 80,000 bytes
const VIEWS = { "import.js": "Import tab", "people.js": "People view", "sponsors.js": "Sponsors view" };
const dist = new URL("./dist/", import.meta.url);
const dir = new URL("assets/", dist);
const files = readdirSync(dir).filter((f) => /\.(js|css|wasm)$/.test(f)).sort();

// Static imports (`import … from "./x.js"`, `import "./x.js"`), never `import("…")`.
const IMPORT = /\b(?:from|import)\s*["']\.\/([^"']+)["']/g;
const first = new Set();
const html = readFileSync(new URL("index.html", dist), "utf8");
const queue = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]);
queue.push("rules.js");
while (queue.length) {
  const f = queue.pop();
  if (first.has(f) || !files.includes(f)) continue;
  first.add(f);
  if (!f.endsWith(".js")) continue;
  const code = readFileSync(new URL(f, dir), "utf8");
  for (const m of code.matchAll(IMPORT)) queue.push(m[1]);
  // A .wasm this script fetches (`new URL("x.wasm", import.meta.url)` after bundling).
  for (const w of files) if (w.endsWith(".wasm") && code.includes(w)) queue.push(w);
}

let initial = 0;
let lazy = 0;
for (const f of files) {
  const raw = readFileSync(new URL(f, dir));
  const gz = gzipSync(raw, { level: 9 }).length;
  const isFirst = first.has(f);
  if (isFirst) initial += gz;
  else lazy += gz;
  const user = f.endsWith(".wasm") && Object.keys(VIEWS).find((v) => files.includes(v) && readFileSync(new URL(v, dir), "utf8").includes(f));
  const tag = isFirst ? "" : `  (${VIEWS[f] ?? (user ? VIEWS[user] : "shared by views")}, on demand)`;
  console.log(`${f.padEnd(40)} ${String(raw.length).padStart(7)} B  gzip ${String(gz).padStart(6)} B${tag}`);
}
const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
console.log(`${"first load (JS + CSS + wasm)".padEnd(40)} ${" ".repeat(9)}  gzip ${String(initial).padStart(6)} B = ${kb(initial)} (budget ${BUDGET} B)`);
console.log(`${"on demand (views, Import tab)".padEnd(40)} ${" ".repeat(9)}  gzip ${String(lazy).padStart(6)} B = ${kb(lazy)}`);
const missing = Object.keys(VIEWS).filter((f) => !files.includes(f) || first.has(f));
if (missing.length) console.log(`warning: not a lazy chunk of dist/assets: ${missing.join(", ")} (run the whole \`npm run build\`)`);
if (process.argv.includes("--check") && (initial > BUDGET || missing.length)) process.exit(1);
