// Turns results.json (bench.js), size.json (size.js) and the conformance run into the
// markdown tables of bench/results.md's "Validation package vs JS validators" section.
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { conformance } from "./conformance.js";
import { INPUTS } from "./inputs.js";

const read = (f) => JSON.parse(readFileSync(new URL(f, import.meta.url), "utf8"));
const { rows, batch } = read("./results.json");
const sizes = read("./size.json");
// Read from node_modules directly: some packages (valibot) do not export ./package.json.
const version = (p) => JSON.parse(readFileSync(new URL(`./node_modules/${p}/package.json`, import.meta.url), "utf8")).version;
const conf = Object.fromEntries(conformance().map((r) => [r.name, r]));
const IMPLS = ["onboard-rules (wasm)", "ajv", "zod", "valibot"];
const fmtOps = (n) => Math.round(n).toLocaleString("en-US");

const lines = [];
lines.push(`| input | form | implementation | ops/s | µs/op | vs ajv | ±% |`);
lines.push(`|---|---|---|--:|--:|--:|--:|`);
for (const input of INPUTS) {
  for (const form of ["object", "json"]) {
    const ajv = rows.find((r) => r.input === input.id && r.form === form && r.impl === "ajv");
    for (const impl of IMPLS) {
      const r = rows.find((r) => r.input === input.id && r.form === form && r.impl === impl);
      const ratio = r.opsPerSec / ajv.opsPerSec;
      const name = impl.startsWith("onboard") ? `**${impl}**` : impl;
      const formLabel = form === "object" ? "JS object" : "JSON text";
      lines.push(`| ${input.label} | ${formLabel} | ${name} | ${fmtOps(r.opsPerSec)} | ${r.usPerOp.toFixed(2)} | ${ratio.toFixed(2)}× | ${r.rmePercent.toFixed(1)} |`);
    }
  }
}
lines.push("");
lines.push(`| implementation | version | min+gzip bytes (what a browser downloads) | corpus cases agreeing |`);
lines.push(`|---|---|--:|--:|`);
const pkgVersion = { "onboard-rules (wasm)": version("onboard-rules"), ajv: `${version("ajv")} + ajv-formats ${version("ajv-formats")}`, zod: version("zod"), valibot: version("valibot") };
for (const impl of IMPLS) {
  const s = sizes[impl];
  const detail = s.wasm ? ` (wasm ${s.wasmGzip.toLocaleString("en-US")} + glue ${s.jsGzip.toLocaleString("en-US")})` : "";
  lines.push(`| ${impl} | ${pkgVersion[impl]} | ${s.totalGzip.toLocaleString("en-US")}${detail} | ${conf[impl].agree}/${conf[impl].total} |`);
}
lines.push("");
lines.push(`Machine: ${os.cpus()[0].model}, ${os.cpus().length} cores (shared), Node ${process.version}, ${os.platform()} ${os.release()}; ` +
  `tinybench ${version("tinybench")} (each sample = ${batch} calls), esbuild ${version("esbuild")}; ${new Date().toISOString().slice(0, 10)}.`);
lines.push("");
lines.push("Corpus disagreements of the JS implementations:");
for (const impl of IMPLS.slice(1)) {
  for (const m of conf[impl].misses) lines.push(`- ${impl}, "${m.name}": expected [${m.want}], got [${m.got}]`);
}
const md = lines.join("\n") + "\n";
writeFileSync(new URL("./report.md", import.meta.url), md);
process.stdout.write(md);
