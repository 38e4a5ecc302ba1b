// The four implementations under test, each with the same four entry points.
import * as onboard from "onboard-rules";
import * as ajv from "./rules/ajv.js";
import * as zod from "./rules/zod.js";
import * as valibot from "./rules/valibot.js";

export const IMPLEMENTATIONS = [
  { name: "onboard-rules (wasm)", ...pick(onboard) },
  { name: "ajv", ...pick(ajv) },
  { name: "zod", ...pick(zod) },
  { name: "valibot", ...pick(valibot) },
];

function pick(m) {
  const { validateUser, validateSponsor, validateUserJson, validateSponsorJson } = m;
  return { validateUser, validateSponsor, validateUserJson, validateSponsorJson };
}
