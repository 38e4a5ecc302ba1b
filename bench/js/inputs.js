// The benchmark inputs, taken from the conformance corpus so every implementation is known
// to give the expected answer on them (bench.js checks again before timing).
import { readFileSync } from "node:fs";

const corpus = JSON.parse(readFileSync(new URL("../../shared/corpus/cases.json", import.meta.url), "utf8"));
const byName = (name) => {
  const c = corpus.find((c) => c.name === name);
  if (!c) throw new Error(`corpus case not found: ${name}`);
  return c;
};

export const INPUTS = [
  { id: "user", label: "valid user (seed)", kind: "user", case: byName("seed sample user is valid") },
  { id: "sponsor1", label: "valid sponsor, 1 speaker", kind: "sponsor", case: byName("seed sample sponsor is valid") },
  { id: "sponsor20", label: "valid sponsor, 20 speakers", kind: "sponsor", case: byName("twenty speakers") },
  { id: "user8", label: "invalid user, 8 errors", kind: "user", case: byName("eight errors at once") },
].map((i) => ({ ...i, object: i.case.payload, text: JSON.stringify(i.case.payload) }));
