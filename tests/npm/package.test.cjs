// CommonJS consumers: require() gets the same API.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const rules = require("onboard-rules");

test("require() loads the package synchronously", () => {
  assert.deepEqual(rules.validateSponsor({ name: "Acme", logo: "https://acme.com/l.png", level: 2 }), []);
  assert.equal(rules.validateSponsor({ name: "Acme", logo: "https://acme.com/l.png", level: 9 })[0].code, "out_of_range");
});

function declared(dtsName) {
  const fs = require("node:fs");
  const path = require("node:path");
  const dts = fs.readFileSync(path.join(path.dirname(require.resolve("onboard-rules/package.json")), dtsName), "utf8");
  return [...dts.matchAll(/^export function (\w+)\(/gm)].map((m) => m[1]).sort();
}

test("require() exposes the package's functions only, as index.d.ts declares them", () => {
  const names = declared("index.d.ts");
  assert.ok(names.includes("validateUsers") && names.includes("validateField"), names.join(" "));
  assert.deepEqual(Object.keys(rules).sort(), names);
  assert.ok(!Object.keys(rules).some((k) => k.startsWith("__w")));
});

test("require('onboard-rules/sheet') exposes the spreadsheet functions only, as sheet.d.ts declares them", () => {
  const sheet = require("onboard-rules/sheet");
  const names = declared("sheet.d.ts");
  assert.deepEqual(names, ["fieldCatalogue", "mapHeaders", "rowsToUsers", "suggestUrl", "updateMayFix"]);
  assert.deepEqual(Object.keys(sheet).sort(), names);
  assert.deepEqual(sheet.mapHeaders(["E-mail", "Shoe size"]), ["email", null]);
});
