// What the three JS implementations (ajv, zod, valibot) share: the regular expressions, limits,
// the time zone set and the mapping of each library's issues to onboard's {field, code, message}.
// The limits are those of shared/src (user.rs, sponsor.rs, rules.rs, username.rs).

export const LIMITS = {
  name: 100, // NAME_MAX
  short: 200, // SHORT_TEXT_MAX: job, company, country, city
  description: 5000, // DESCRIPTION_MAX
  email: 254, // EMAIL_MAX (the text rule allows 255, so 255 is email_invalid... 256+ too_long)
  url: 2048, // URL_MAX
  tags: 50, // TAGS_MAX
  tag: 50, // TAG_MAX
  choice: 64,
  timezone: 64,
  color: 7,
  username: 40, // USERNAME_MAX
  usernameMin: 3, // USERNAME_MIN
  sponsorName: 200, // SPONSOR_NAME_MAX
  pageContent: 100_000, // PAGE_CONTENT_MAX
  speakers: 100, // SPEAKERS_MAX
};

export const USER_TYPES = ["Attendee", "Speaker"];
export const STATUSES = ["Employed", "Looking for a job", "Student", "Freelancer", "Working for a startup"];

// Unicode control characters (general category Cc), as Rust's char::is_control.
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Multi-line text (description, pageContent) may hold \t \n \r.
export const CONTROL_MULTILINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
export const HTTPS_PREFIX = /^https:\/\//i;
// https://host[:port][/?#rest]: DNS labels (or a bracketed IPv6 address), no credentials,
// no spaces or control characters anywhere. (The port's 65535 ceiling is not checked.)
export const HTTPS_URL =
  /^https:\/\/(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?|\[[0-9a-f:.]*:[0-9a-f:.]*\])(?::\d{1,5})?(?:[/?#][^\s\u0000-\u001f\u007f-\u009f]*)?$/i;
export const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
export const USERNAME_CHARS = /^[A-Za-z0-9._#-]*$/;
export const USERNAME_START = /^[A-Za-z0-9]/;

// The IANA names the JS engine knows, plus "UTC", which Intl lists as Etc/UTC's canonical
// form only on some engines. Zero bytes shipped, but Intl lists only canonical names (418 on
// Node 20), not links such as Europe/Kiev that the rulebook's tzdata list (598) accepts.
export const TIMEZONES = new Set([...Intl.supportedValuesOf("timeZone"), "UTC"]);
export const isTimezone = (s) => TIMEZONES.has(s);

export const MESSAGES = {
  required: "Is required.",
  wrong_type: "Has the wrong type.",
  unknown_field: "Is not a known field.",
  blank: "Must not be empty.",
  too_long: "Is too long.",
  too_short: "Is too short.",
  invalid_characters: "Must not contain control characters.",
  invalid_choice: "Is not one of the allowed values.",
  email_invalid: "Must be a valid email address, like name@example.com.",
  url_not_https: "Must start with https://.",
  url_invalid: "Must be a full URL like https://example.com/page.",
  not_integer: "Must be a whole number.",
  out_of_range: "Must be a whole number from 1 to 5.",
  color_invalid: "Must be a hex color, like #ff5733.",
  timezone_invalid: "Must be an IANA time zone, like Europe/Paris.",
  speaker_only: "Only users of type Speaker can be highlighted.",
  duplicate_email: "This email is already listed for another speaker.",
  username_invalid: "Use only letters A-Z, digits and . _ - #.",
  invalid_json: "Invalid JSON.",
};

// When a library reports several problems on one field, a form shows one: the most basic.
const RANK = ["required", "wrong_type", "blank", "invalid_characters", "too_long", "too_short"];
const rank = (code) => {
  const i = RANK.indexOf(code);
  return i < 0 ? RANK.length : i;
};

/** ["speakers", 1, "email"] -> "speakers[1].email" */
export function pathString(path) {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? p : `.${p}`;
  }
  return out;
}

/** The value at `path` inside `data` (for telling "missing" from "wrong type"). */
export function valueAt(data, path) {
  let v = data;
  for (const p of path) {
    if (v === null || typeof v !== "object" || !Object.prototype.hasOwnProperty.call(v, p)) return undefined;
    v = v[p];
  }
  return v;
}

/** [{field, code}] candidates -> onboard's FieldError[], one per field, in report order. */
export function finish(found) {
  const best = new Map();
  for (const e of found) {
    const prev = best.get(e.field);
    if (!prev || rank(e.code) < rank(prev.code)) best.set(e.field, e);
  }
  return [...best.values()].map((e) => ({ field: e.field, code: e.code, message: MESSAGES[e.code] ?? e.code }));
}

/** Text in, the same errors out: JSON.parse first, as a request handler would. */
export function fromJson(validate) {
  return (text) => {
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      return [{ field: "", code: "invalid_json", message: MESSAGES.invalid_json }];
    }
    return validate(data);
  };
}

/** The e-mails of `speakers` that repeat an earlier one (trimmed, lowercased): [index, ...]. */
export function duplicateEmailIndexes(speakers, isValidEmail) {
  const seen = new Set();
  const dups = [];
  if (!Array.isArray(speakers)) return dups;
  speakers.forEach((s, i) => {
    const email = s && typeof s === "object" && typeof s.email === "string" ? s.email.trim() : null;
    if (!email || !isValidEmail(email)) return;
    const key = email.toLowerCase();
    if (seen.has(key)) dups.push(i);
    else seen.add(key);
  });
  return dups;
}
