// The onboard user and sponsor rules written with zod 4, as a careful developer would:
// strict objects (unknown keys are errors), trimmed text, null/blank optional fields treated
// as "not given", custom messages carrying onboard's codes, cross-field rules as refinements.
import { z } from "zod";
import {
  CONTROL, CONTROL_MULTILINE, HEX_COLOR, HTTPS_PREFIX, HTTPS_URL, LIMITS, STATUSES, USERNAME_CHARS,
  USERNAME_START, USER_TYPES, duplicateEmailIndexes, finish, fromJson, isTimezone, pathString, valueAt,
} from "./common.js";

const stop = (message) => ({ message, abort: true });
const blankToUndefined = (v) => (typeof v === "string" && v.trim() === "" ? undefined : v);

/** Trimmed single-line (or multi-line) text of at most `max` characters. */
const text = (max, multiline = false) =>
  z
    .string()
    .trim()
    .refine((s) => !(multiline ? CONTROL_MULTILINE : CONTROL).test(s), stop("invalid_characters"))
    .max(max, stop("too_long"));
const requiredText = (max, multiline = false) =>
  z
    .string()
    .trim()
    .min(1, stop("blank"))
    .refine((s) => !(multiline ? CONTROL_MULTILINE : CONTROL).test(s), stop("invalid_characters"))
    .max(max, stop("too_long"));
/** Optional: null, absent and blank all mean "not given". */
const optional = (schema) => z.preprocess(blankToUndefined, schema.nullish());

const emailFormat = z.email();
const isEmail = (s) => emailFormat.safeParse(s).success;
const email = requiredText(LIMITS.email + 1)
  .refine((s) => s.length <= LIMITS.email, stop("too_long"))
  .refine(isEmail, stop("email_invalid"));
const url = (base) => base.regex(HTTPS_PREFIX, stop("url_not_https")).regex(HTTPS_URL, stop("url_invalid"));
const httpsUrl = url(text(LIMITS.url));
const timezone = text(LIMITS.timezone).refine(isTimezone, stop("timezone_invalid"));
const username = text(LIMITS.username)
  .min(LIMITS.usernameMin, stop("too_short"))
  .regex(USERNAME_CHARS, stop("username_invalid"))
  .regex(USERNAME_START, stop("username_invalid"));
const choice = (values) => requiredText(LIMITS.choice).pipe(z.enum(values, { message: "invalid_choice" }));
const tags = z.array(requiredText(LIMITS.tag)).max(LIMITS.tags, stop("too_long"));
const bool = z.boolean().nullish();

const userSchema = z
  .strictObject({
    email,
    type: choice(USER_TYPES),
    firstName: requiredText(LIMITS.name),
    lastName: requiredText(LIMITS.name),
    username: optional(username),
    avatar: optional(httpsUrl),
    description: optional(text(LIMITS.description, true)),
    job: optional(text(LIMITS.short)),
    company: optional(text(LIMITS.short)),
    tags: tags.nullish(),
    timezone: optional(timezone),
    country: optional(text(LIMITS.short)),
    city: optional(text(LIMITS.short)),
    status: optional(choice(STATUSES)),
    website: optional(httpsUrl),
    socials: z
      .strictObject({
        facebook: optional(httpsUrl),
        linkedin: optional(httpsUrl),
        twitter: optional(httpsUrl),
        youtube: optional(httpsUrl),
      })
      .nullish(),
    options: z.strictObject({ highlight: bool, endRegistration: bool }).nullish(),
  })
  // Only speakers can be highlighted. `when` runs it even if other fields failed.
  .refine((u) => !(u.options?.highlight === true && u.type?.trim?.() === "Attendee"), {
    message: "speaker_only",
    path: ["options", "highlight"],
    when: (p) => p.value !== null && typeof p.value === "object",
  });

const speaker = z.strictObject({
  email,
  firstName: optional(text(LIMITS.name)),
  lastName: optional(text(LIMITS.name)),
  username: optional(username),
  avatar: optional(httpsUrl),
  description: optional(text(LIMITS.description, true)),
  job: optional(text(LIMITS.short)),
  company: optional(text(LIMITS.short)),
  tags: tags.nullish(),
  timezone: optional(timezone),
  highlighted: bool,
});

const speakers = z
  .array(speaker)
  .max(LIMITS.speakers, stop("too_long"))
  .check((ctx) => {
    for (const i of duplicateEmailIndexes(ctx.value, isEmail)) {
      ctx.issues.push({ code: "custom", message: "duplicate_email", path: [i, "email"], input: ctx.value });
    }
  });

const sponsorSchema = z.strictObject({
  name: requiredText(LIMITS.sponsorName),
  logo: url(requiredText(LIMITS.url)),
  // Range before integer-ness: 1e20 is out of range, 2.5 is not an integer.
  level: z.number().min(1, stop("out_of_range")).max(5, stop("out_of_range")).int("not_integer"),
  hasPage: bool,
  pageContent: optional(text(LIMITS.pageContent, true)),
  website: optional(httpsUrl),
  speakers: speakers.nullish(),
  icon: optional(httpsUrl),
  color: optional(text(LIMITS.color).regex(HEX_COLOR, stop("color_invalid"))),
  options: z.strictObject({ displayInLobby: bool, highlight: bool }).nullish(),
});

const OUR_CODES = new Set([
  "blank", "too_long", "too_short", "invalid_characters", "invalid_choice", "email_invalid", "url_not_https",
  "url_invalid", "out_of_range", "not_integer", "color_invalid", "timezone_invalid", "username_invalid",
  "speaker_only", "duplicate_email",
]);

function toErrors(issues, data) {
  const found = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) found.push({ field: pathString([...issue.path, key]), code: "unknown_field" });
    } else if (OUR_CODES.has(issue.message)) {
      found.push({ field: pathString(issue.path), code: issue.message });
    } else if (issue.code === "invalid_type" && issue.expected === "int") {
      found.push({ field: pathString(issue.path), code: "not_integer" });
    } else if (issue.code === "invalid_type") {
      const missing = issue.path.length > 0 && valueAt(data, issue.path) == null;
      found.push({ field: pathString(issue.path), code: missing ? "required" : "wrong_type" });
    } else {
      found.push({ field: pathString(issue.path), code: issue.code });
    }
  }
  return finish(found);
}

const validator = (schema) => (data) => {
  const r = schema.safeParse(data);
  return r.success ? [] : toErrors(r.error.issues, data);
};

export const validateUser = validator(userSchema);
export const validateSponsor = validator(sponsorSchema);
export const validateUserJson = fromJson(validateUser);
export const validateSponsorJson = fromJson(validateSponsor);
