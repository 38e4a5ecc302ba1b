// The onboard user and sponsor rules written with valibot 1.x, as a careful developer would:
// unknown keys are errors (objectWithRest + never, which reports every unknown key; a
// strictObject reports only the first), trimmed text, null/blank optional fields treated as
// "not given", messages carrying onboard's codes, cross-field rules as checks forwarded to
// the field they are about.
import * as v from "valibot";
import {
  CONTROL, CONTROL_MULTILINE, HEX_COLOR, HTTPS_PREFIX, HTTPS_URL, LIMITS, STATUSES, USERNAME_CHARS,
  USERNAME_START, USER_TYPES, duplicateEmailIndexes, finish, fromJson, isTimezone, pathString, valueAt,
} from "./common.js";

const blankToUndefined = (x) => (typeof x === "string" && x.trim() === "" ? undefined : x);
const noControl = (multiline) => v.check((s) => !(multiline ? CONTROL_MULTILINE : CONTROL).test(s), "invalid_characters");

/** Trimmed text of at most `max` characters, then `more` actions. */
const text = (max, { multiline = false, required = false } = {}, ...more) =>
  v.pipe(
    v.string(),
    v.trim(),
    ...(required ? [v.minLength(1, "blank")] : []),
    noControl(multiline),
    v.maxLength(max, "too_long"),
    ...more,
  );
/** Optional: null, absent and blank all mean "not given". */
const optional = (schema) => v.nullish(v.pipe(v.unknown(), v.transform(blankToUndefined), v.nullish(schema)));
const strict = (entries) => v.objectWithRest(entries, v.never("unknown_field"));

const emailAction = v.email("email_invalid");
const emailFormat = v.pipe(v.string(), v.email());
const isEmail = (s) => v.is(emailFormat, s);
const email = text(LIMITS.email + 1, { required: true }, v.maxLength(LIMITS.email, "too_long"), emailAction);
const urlActions = [v.regex(HTTPS_PREFIX, "url_not_https"), v.regex(HTTPS_URL, "url_invalid")];
const httpsUrl = text(LIMITS.url, {}, ...urlActions);
const timezone = text(LIMITS.timezone, {}, v.check(isTimezone, "timezone_invalid"));
const username = text(
  LIMITS.username,
  {},
  v.minLength(LIMITS.usernameMin, "too_short"),
  v.regex(USERNAME_CHARS, "username_invalid"),
  v.regex(USERNAME_START, "username_invalid"),
);
const choice = (values) => text(LIMITS.choice, { required: true }, v.picklist(values, "invalid_choice"));
const tags = v.pipe(v.array(text(LIMITS.tag, { required: true })), v.maxLength(LIMITS.tags, "too_long"));
const bool = v.nullish(v.boolean());

const userSchema = v.pipe(
  strict({
    email,
    type: choice(USER_TYPES),
    firstName: text(LIMITS.name, { required: true }),
    lastName: text(LIMITS.name, { required: true }),
    username: optional(username),
    avatar: optional(httpsUrl),
    description: optional(text(LIMITS.description, { multiline: true })),
    job: optional(text(LIMITS.short)),
    company: optional(text(LIMITS.short)),
    tags: v.nullish(tags),
    timezone: optional(timezone),
    country: optional(text(LIMITS.short)),
    city: optional(text(LIMITS.short)),
    status: optional(choice(STATUSES)),
    website: optional(httpsUrl),
    socials: v.nullish(
      strict({
        facebook: optional(httpsUrl),
        linkedin: optional(httpsUrl),
        twitter: optional(httpsUrl),
        youtube: optional(httpsUrl),
      }),
    ),
    options: v.nullish(strict({ highlight: bool, endRegistration: bool })),
  }),
  // Only speakers can be highlighted; runs once `type` and `options` are valid.
  v.forward(
    v.partialCheck(
      [["type"], ["options", "highlight"]],
      (u) => !(u.options?.highlight === true && u.type === "Attendee"),
      "speaker_only",
    ),
    ["options", "highlight"],
  ),
);

const speaker = strict({
  email,
  firstName: optional(text(LIMITS.name)),
  lastName: optional(text(LIMITS.name)),
  username: optional(username),
  avatar: optional(httpsUrl),
  description: optional(text(LIMITS.description, { multiline: true })),
  job: optional(text(LIMITS.short)),
  company: optional(text(LIMITS.short)),
  tags: v.nullish(tags),
  timezone: optional(timezone),
  highlighted: bool,
});

const speakers = v.pipe(
  v.array(speaker),
  v.maxLength(LIMITS.speakers, "too_long"),
  v.rawCheck(({ dataset, addIssue }) => {
    const list = dataset.value;
    for (const i of duplicateEmailIndexes(list, isEmail)) {
      addIssue({
        message: "duplicate_email",
        path: [
          { type: "array", origin: "value", input: list, key: i, value: list[i] },
          { type: "object", origin: "value", input: list[i], key: "email", value: list[i].email },
        ],
      });
    }
  }),
);

const sponsorSchema = strict({
  name: text(LIMITS.sponsorName, { required: true }),
  logo: text(LIMITS.url, { required: true }, ...urlActions),
  // Range before integer-ness: 1e20 is out of range, 2.5 is not an integer.
  level: v.pipe(v.number(), v.minValue(1, "out_of_range"), v.maxValue(5, "out_of_range"), v.integer("not_integer")),
  hasPage: bool,
  pageContent: optional(text(LIMITS.pageContent, { multiline: true })),
  website: optional(httpsUrl),
  speakers: v.nullish(speakers),
  icon: optional(httpsUrl),
  color: optional(text(LIMITS.color, {}, v.regex(HEX_COLOR, "color_invalid"))),
  options: v.nullish(strict({ displayInLobby: bool, highlight: bool })),
});

const CONFIG = { abortPipeEarly: true };
const OUR_CODES = new Set(["unknown_field", "invalid_choice"]);

function toErrors(issues, data) {
  const found = [];
  for (const issue of issues) {
    const path = (issue.path ?? []).map((p) => p.key);
    const field = pathString(path);
    if (issue.kind === "schema" && !OUR_CODES.has(issue.message)) {
      // A type mismatch: on a required field's null or absence it means "required".
      found.push({ field, code: path.length > 0 && valueAt(data, path) == null ? "required" : "wrong_type" });
    } else {
      found.push({ field, code: issue.message });
    }
  }
  return finish(found);
}

const validator = (schema) => (data) => {
  const r = v.safeParse(schema, data, CONFIG);
  return r.success ? [] : toErrors(r.issues, data);
};

export const validateUser = validator(userSchema);
export const validateSponsor = validator(sponsorSchema);
export const validateUserJson = fromJson(validateUser);
export const validateSponsorJson = fromJson(validateSponsor);
