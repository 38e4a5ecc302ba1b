// CommonJS consumers: require() gets the same API.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const rules = require("onboard-rules");

test("require() loads the package synchronously", () => {
  assert.deepEqual(rules.validateSponsor({ name: "Acme", logo: "https://acme.com/l.png", level: 2 }), []);
  assert.equal(rules.validateSponsor({ name: "Acme", logo: "https://acme.com/l.png", level: 9 })[0].code, "out_of_range");
});

test("require() exposes the package's functions only, as index.d.ts declares them", () => {
  const fs = require("node:fs");
  const path = require("node:path");
  const dts = fs.readFileSync(path.join(path.dirname(require.resolve("onboard-rules/package.json")), "index.d.ts"), "utf8");
  const declared = [...dts.matchAll(/^export function (\w+)\(/gm)].map((m) => m[1]).sort();
  assert.ok(declared.includes("mapHeaders") && declared.includes("rowsToUsers"), declared.join(" "));
  assert.deepEqual(Object.keys(rules).sort(), declared);
  assert.ok(!Object.keys(rules).some((k) => k.startsWith("__w")));
});
