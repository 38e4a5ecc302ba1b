// CommonJS consumers: require() gets the same API.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const rules = require("onboard-rules");

test("require() loads the package synchronously", () => {
  assert.deepEqual(rules.validateSponsor({ name: "Acme", logo: "https://acme.com/l.png", level: 2 }), []);
  assert.equal(rules.validateSponsor({ name: "Acme", logo: "https://acme.com/l.png", level: 9 })[0].code, "out_of_range");
});
