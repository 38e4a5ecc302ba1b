// The onboard user and sponsor rules as JSON Schema for ajv 8 + ajv-formats, as a careful
// developer would write them: allErrors (report everything), additionalProperties: false,
// optional fields nullable, formats for what JSON Schema cannot say (https URL, time zone,
// hex color, username), a custom keyword for duplicate speaker e-mails, if/then for
// "highlight only for Speakers". Compiled once at load, like any ajv user does.
//
// What ajv cannot express: transforms. Text is not trimmed before maxLength, so limits count
// surrounding spaces; formats below trim themselves, so " jane@domain.com " still passes.
import Ajv from "ajv";
import addFormats from "ajv-formats";
import {
  CONTROL, CONTROL_MULTILINE, HEX_COLOR, HTTPS_PREFIX, HTTPS_URL, LIMITS, STATUSES, USERNAME_CHARS,
  USERNAME_START, USER_TYPES, duplicateEmailIndexes, finish, fromJson, isTimezone, valueAt,
} from "./common.js";

const ajv = new Ajv({ allErrors: true });
addFormats(ajv, ["email"]);
const emailFormat = ajv.formats.email;
const isEmail = (s) => (typeof emailFormat === "function" ? emailFormat(s) : emailFormat.test(s));

// Formats see the trimmed text; blank optional text counts as "not given".
const trimmed = (test) => (s) => {
  const t = s.trim();
  return t === "" || test(t);
};
ajv.addFormat("trimmed-email", { type: "string", validate: trimmed(isEmail) });
ajv.addFormat("https", { type: "string", validate: trimmed((s) => HTTPS_PREFIX.test(s)) });
ajv.addFormat("https-url", { type: "string", validate: trimmed((s) => HTTPS_URL.test(s)) });
ajv.addFormat("timezone", { type: "string", validate: trimmed(isTimezone) });
ajv.addFormat("hex-color", { type: "string", validate: trimmed((s) => HEX_COLOR.test(s)) });
ajv.addFormat("username-chars", { type: "string", validate: trimmed((s) => USERNAME_CHARS.test(s)) });
ajv.addFormat("username-start", { type: "string", validate: trimmed((s) => USERNAME_START.test(s)) });
ajv.addFormat("no-control", { type: "string", validate: (s) => !CONTROL.test(s) });
ajv.addFormat("no-control-multiline", { type: "string", validate: (s) => !CONTROL_MULTILINE.test(s) });
ajv.addFormat("not-blank", { type: "string", validate: (s) => s.trim() !== "" });
ajv.addFormat("username-length", {
  type: "string",
  validate: (s) => s.trim() === "" || [...s.trim()].length >= LIMITS.usernameMin,
});

// The same speaker e-mail twice (case-insensitively) in one sponsor: reported on the later one.
ajv.addKeyword({
  keyword: "uniqueEmails",
  type: "array",
  schemaType: "boolean",
  errors: true,
  validate: function uniqueEmails(_schema, data, _parent, cxt) {
    const dups = duplicateEmailIndexes(data, (s) => isEmail(s));
    uniqueEmails.errors = dups.map((i) => ({
      instancePath: `${cxt.instancePath}/${i}/email`,
      keyword: "uniqueEmails",
      message: "duplicate_email",
      params: {},
    }));
    return dups.length === 0;
  },
});

const FORMAT_CODE = {
  "trimmed-email": "email_invalid",
  https: "url_not_https",
  "https-url": "url_invalid",
  timezone: "timezone_invalid",
  "hex-color": "color_invalid",
  "username-chars": "username_invalid",
  "username-start": "username_invalid",
  "username-length": "too_short",
  "no-control": "invalid_characters",
  "no-control-multiline": "invalid_characters",
  "not-blank": "blank",
};

// allOf lets one string carry several formats, each with its own code.
const text = (max, { multiline = false, required = false, formats = [] } = {}) => ({
  type: required ? "string" : ["string", "null"],
  maxLength: max,
  allOf: [
    ...(required ? [{ format: "not-blank" }] : []),
    { format: multiline ? "no-control-multiline" : "no-control" },
    ...formats.map((format) => ({ format })),
  ],
});
const url = (required = false) => text(LIMITS.url, { required, formats: ["https", "https-url"] });
const email = text(LIMITS.email, { required: true, formats: ["trimmed-email"] });
const username = text(LIMITS.username, { formats: ["username-length", "username-chars", "username-start"] });
const timezone = text(LIMITS.timezone, { formats: ["timezone"] });
const tags = { type: ["array", "null"], maxItems: LIMITS.tags, items: text(LIMITS.tag, { required: true }) };
const bool = { type: ["boolean", "null"] };
const object = (properties, required = [], nullable = true) => ({
  type: nullable ? ["object", "null"] : "object",
  properties,
  required,
  additionalProperties: false,
});

const userSchema = {
  ...object(
    {
      email,
      type: { type: "string", enum: USER_TYPES },
      firstName: text(LIMITS.name, { required: true }),
      lastName: text(LIMITS.name, { required: true }),
      username,
      avatar: url(),
      description: text(LIMITS.description, { multiline: true }),
      job: text(LIMITS.short),
      company: text(LIMITS.short),
      tags,
      timezone,
      country: text(LIMITS.short),
      city: text(LIMITS.short),
      status: { type: ["string", "null"], enum: [...STATUSES, null] },
      website: url(),
      socials: object({ facebook: url(), linkedin: url(), twitter: url(), youtube: url() }),
      options: object({ highlight: bool, endRegistration: bool }),
    },
    ["email", "type", "firstName", "lastName"],
    false,
  ),
  // Only speakers can be highlighted.
  if: {
    properties: { type: { const: "Attendee" }, options: { type: "object", required: ["highlight"], properties: { highlight: { const: true } } } },
    required: ["type", "options"],
  },
  then: { properties: { options: { type: "object", properties: { highlight: { not: {} } } } } },
};

const speaker = object(
  {
    email,
    firstName: text(LIMITS.name),
    lastName: text(LIMITS.name),
    username,
    avatar: url(),
    description: text(LIMITS.description, { multiline: true }),
    job: text(LIMITS.short),
    company: text(LIMITS.short),
    tags,
    timezone,
    highlighted: bool,
  },
  ["email"],
  false,
);

const sponsorSchema = object(
  {
    name: text(LIMITS.sponsorName, { required: true }),
    logo: url(true),
    level: { type: "number", minimum: 1, maximum: 5, multipleOf: 1 },
    hasPage: bool,
    pageContent: text(LIMITS.pageContent, { multiline: true }),
    website: url(),
    speakers: { type: ["array", "null"], maxItems: LIMITS.speakers, items: speaker, uniqueEmails: true },
    icon: url(),
    color: text(LIMITS.color, { formats: ["hex-color"] }),
    options: object({ displayInLobby: bool, highlight: bool }),
  },
  ["name", "logo", "level"],
  false,
);

/** "/speakers/1/email" -> "speakers[1].email"; "" stays "". */
function field(instancePath, extra) {
  const parts = instancePath === "" ? [] : instancePath.slice(1).split("/");
  if (extra !== undefined) parts.push(extra);
  let out = "";
  for (const raw of parts) {
    const p = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(p) ? `[${p}]` : out === "" ? p : `.${p}`;
  }
  return out;
}

const KEYWORD_CODE = {
  maxLength: "too_long",
  maxItems: "too_long",
  enum: "invalid_choice",
  minimum: "out_of_range",
  maximum: "out_of_range",
  multipleOf: "not_integer",
  not: "speaker_only",
  uniqueEmails: "duplicate_email",
};

function toErrors(errors, data) {
  const found = [];
  for (const e of errors) {
    if (e.keyword === "if") continue; // the "then" error says it all
    if (e.keyword === "required") {
      found.push({ field: field(e.instancePath, e.params.missingProperty), code: "required" });
    } else if (e.keyword === "additionalProperties") {
      found.push({ field: field(e.instancePath, e.params.additionalProperty), code: "unknown_field" });
    } else if (e.keyword === "type") {
      const path = e.instancePath === "" ? [] : e.instancePath.slice(1).split("/");
      const missing = path.length > 0 && valueAt(data, path) === null;
      found.push({ field: field(e.instancePath), code: missing ? "required" : "wrong_type" });
    } else if (e.keyword === "format") {
      found.push({ field: field(e.instancePath), code: FORMAT_CODE[e.params.format] ?? "invalid" });
    } else {
      found.push({ field: field(e.instancePath), code: KEYWORD_CODE[e.keyword] ?? e.keyword });
    }
  }
  return finish(found);
}

const validator = (schema) => {
  const check = ajv.compile(schema);
  return (data) => (check(data) ? [] : toErrors(check.errors, data));
};

export const validateUser = validator(userSchema);
export const validateSponsor = validator(sponsorSchema);
export const validateUserJson = fromJson(validateUser);
export const validateSponsorJson = fromJson(validateSponsor);
