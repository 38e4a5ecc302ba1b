// Browser-side benchmark of the Import tab: a 10,000-row CSV (the tests' planted file, so with
// invalid emails, http URLs, bad types and duplicates) loaded into the built page in headless
// Debian Chromium. Prints the page's own measure (building the payloads + validateUsers on
// every row, shown to the user as "10,000 rows checked in N ms") and the wall time from
// choosing the file to the first page of the table. Not asserted anywhere.
//
//   npm run build && node bench-import.mjs [ROWS] [RUNS]     (defaults: 10000 rows, 7 runs)
//
// Serves web/dist itself (no onboard server needed: checking sends no request).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { launchBrowser } from "./tests/harness.mjs";
import { csvFile, plantedCsv } from "./tests/import-fixtures.mjs";

const ROWS = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 7);
const DIST = fileURLToPath(new URL("./dist/", import.meta.url));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };

const server = createServer(async (req, res) => {
  const path = normalize(new URL(req.url, "http://x").pathname).replace(/^\/+/, "") || "index.html";
  try {
    const body = await readFile(join(DIST, path));
    res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await launchBrowser();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.locator("#rules-status", { hasText: "checked as you type" }).waitFor();
  await page.click("#tab-import");
  await page.locator("#imp-file").waitFor();
  const { csv } = plantedCsv(ROWS, { tag: "bench" });
  const file = csvFile("bench.csv", csv);
  const check = [];
  const wall = [];
  let summary = "";
  for (let run = 0; run < RUNS; run++) {
    await page.evaluate(() => (document.querySelector("#imp-summary").textContent = ""));
    const t0 = performance.now();
    await page.setInputFiles("#imp-file", file);
    const timing = page.locator("#imp-summary .timing");
    await timing.waitFor();
    wall.push(performance.now() - t0);
    check.push(Number(await timing.getAttribute("data-ms")));
    summary = await page.locator("#imp-summary").textContent();
  }
  const version = browser.version();
  console.log(`Import tab, ${ROWS.toLocaleString("en")} rows (${(csv.length / 1e6).toFixed(2)} MB CSV), headless Chromium ${version}, ${RUNS} runs`);
  console.log(`page says: ${summary}`);
  console.log(`check (payloads + validateUsers), ms: ${check.map((x) => x.toFixed(0)).join(" ")}  median ${median(check).toFixed(0)}`);
  console.log(`file chosen -> table shown (read + parse + check + render), ms: ${wall.map((x) => x.toFixed(0)).join(" ")}  median ${median(wall).toFixed(0)}`);
} finally {
  await browser.close();
  server.close();
}
