// What a browser downloads for each implementation: the validators bundled and minified by
// esbuild (one bundler, the same settings for all), gzipped at level 9. For onboard-rules,
// the .wasm is a separate download (fetched by the glue): its bytes are added.
// Writes size.json (read by report.js).
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const out = join(here, "size");
mkdirSync(out, { recursive: true });
const EXPORTS = "validateUser, validateSponsor, validateUserJson, validateSponsorJson";
const ENTRIES = {
  "onboard-rules (wasm)": `export { ${EXPORTS} } from "onboard-rules";`,
  ajv: `export { ${EXPORTS} } from "./rules/ajv.js";`,
  zod: `export { ${EXPORTS} } from "./rules/zod.js";`,
  valibot: `export { ${EXPORTS} } from "./rules/valibot.js";`,
};
const gz = (buf) => gzipSync(buf, { level: 9 }).length;

const sizes = {};
for (const [name, contents] of Object.entries(ENTRIES)) {
  const file = join(out, `${name.split(" ")[0]}.min.js`);
  await build({
    stdin: { contents, resolveDir: here, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: file,
    logLevel: "error",
  });
  const js = readFileSync(file);
  const entry = { js: js.length, jsGzip: gz(js) };
  if (name.startsWith("onboard")) {
    const pkgDir = dirname(createRequire(import.meta.url).resolve("onboard-rules/package.json"));
    const wasm = readFileSync(join(pkgDir, "web", "onboard_wasm_bg.wasm"));
    entry.wasm = wasm.length;
    entry.wasmGzip = gz(wasm);
  }
  entry.total = entry.js + (entry.wasm ?? 0);
  entry.totalGzip = entry.jsGzip + (entry.wasmGzip ?? 0);
  sizes[name] = entry;
}
writeFileSync(join(here, "size.json"), JSON.stringify(sizes, null, 2));
for (const [name, s] of Object.entries(sizes)) {
  const parts = s.wasm ? ` (glue ${s.jsGzip} B + wasm ${s.wasmGzip} B; wasm raw ${s.wasm} B)` : "";
  console.log(`${name.padEnd(22)} ${String(s.totalGzip).padStart(7)} B gzipped${parts}`);
}
