// Times every implementation on every input, as a JS object and as JSON text, in this one
// Node process with tinybench. Each sample runs the validator BATCH times so sub-microsecond
// calls are not lost in timer resolution. Writes results.json (read by report.js).
// Benchmarks are measurements, not tests: nothing here asserts a speed.
import { writeFileSync } from "node:fs";
import { Bench } from "tinybench";
import { IMPLEMENTATIONS } from "./implementations.js";
import { INPUTS } from "./inputs.js";

const BATCH = 100;
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 1000);
const pairs = (errors) => errors.map((e) => `${e.field} ${e.code}`).sort().join(", ");

const bench = new Bench({ time: TIME_MS, warmupTime: 200, warmupIterations: 20 });
let sink = 0; // consumed after the run, so no call can be optimized away
const meta = [];
for (const input of INPUTS) {
  for (const form of ["object", "json"]) {
    for (const impl of IMPLEMENTATIONS) {
      const fn =
        form === "object"
          ? input.kind === "user" ? impl.validateUser : impl.validateSponsor
          : input.kind === "user" ? impl.validateUserJson : impl.validateSponsorJson;
      const arg = form === "object" ? input.object : input.text;
      // Same answer as the rulebook's corpus, or the timing would compare different work.
      const got = pairs(fn(arg));
      const want = pairs(input.case.errors);
      if (got !== want) throw new Error(`${impl.name} on ${input.label} (${form}): got [${got}], want [${want}]`);
      const name = `${input.id}/${form}/${impl.name}`;
      meta.push({ name, input: input.id, label: input.label, form, impl: impl.name });
      bench.add(name, () => {
        for (let i = 0; i < BATCH; i++) sink += fn(arg).length;
      });
    }
  }
}

await bench.run();
const rows = bench.tasks.map((t) => {
  const m = meta.find((m) => m.name === t.name);
  const r = t.result;
  if (r.state !== "completed") throw new Error(`${t.name}: ${r.state} ${r.error ?? ""}`);
  const usPerOp = (r.latency.mean * 1000) / BATCH;
  return { ...m, opsPerSec: 1e6 / usPerOp, usPerOp, rmePercent: r.latency.rme, samples: r.latency.samplesCount ?? r.latency.df + 1 };
});
writeFileSync(new URL("./results.json", import.meta.url), JSON.stringify({ batch: BATCH, sink, rows }, null, 2));
for (const r of rows) {
  console.log(`${r.name.padEnd(48)} ${r.opsPerSec.toFixed(0).padStart(10)} ops/s ${r.usPerOp.toFixed(3).padStart(9)} µs/op ±${r.rmePercent.toFixed(1)}%`);
}
