//! wasm-bindgen bindings of the onboard rulebook (`onboard-shared`): the npm package.
//!
//! Bindings only: every function here converts arguments, calls the rulebook, and converts
//! the answer back. No rule lives in this crate, so the browser and the server cannot drift.
//!
//! Two ways in for validation, because crossing into wasm costs differently:
//! - `validateUserJson(string)` takes the JSON text (as from a request or a file) and parses
//!   it inside wasm with the same strict rules as the server (duplicate keys, byte-order
//!   mark): the fastest path, one string copy in;
//! - `validateUser(object)` takes a JS object (as from a form): a small JS helper refuses what
//!   JSON cannot hold, JSON.stringify turns the rest into text, and it goes the same way.
//!   That step is about a quarter of the call (bench/results.md); it replaced a walk of the
//!   object from wasm (serde-wasm-bindgen), which was slower and several KB bigger.

// One crate, two modules (wasm/build.sh): by default the validation exports (the package's
// main entry), with the `sheet` feature only the spreadsheet ones (`onboard-rules/sheet`),
// so pages and scripts that never read a spreadsheet do not download its catalogue code.
// Each build leaves the other's helpers unused.
#![cfg_attr(feature = "sheet", allow(dead_code, unused_imports))]

// talc instead of std's dlmalloc (issue 16): validation allocates a few vectors and, for
// each error, its path and message; dlmalloc's malloc/free were ~15 % of an 8-error check.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

use onboard_shared as rules;
use rules::{Code, FieldError};
use wasm_bindgen::prelude::*;

#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r##"
/** Stable machine code of a validation problem (see the README for each one's meaning). */
export type ErrorCode =
  | "required" | "wrong_type" | "unknown_field" | "blank" | "too_long" | "too_short"
  | "invalid_characters" | "invalid_choice" | "email_invalid" | "url_not_https" | "url_invalid"
  | "not_integer" | "out_of_range" | "color_invalid" | "timezone_invalid" | "speaker_only"
  | "duplicate_email" | "duplicate_in_batch" | "username_invalid" | "password_weak" | "invalid_json"
  | "email_taken" | "username_taken" | "slug_taken"
  | "read_only" | "slug_invalid" | "too_many_errors" | "already_speaker";

/** One problem: a JSON path into the payload ("speakers[1].email"; "" = the whole payload), a code and an English message. */
export interface FieldError {
  field: string;
  code: ErrorCode;
  message: string;
}

export type UserType = "Attendee" | "Speaker";
export type UserStatus = "Employed" | "Looking for a job" | "Student" | "Freelancer" | "Working for a startup";

/** Body of POST /v1/users. URLs must use https. */
export interface UserPayload {
  email: string;
  type: UserType;
  firstName: string;
  lastName: string;
  username?: string | null;
  avatar?: string | null;
  description?: string | null;
  job?: string | null;
  company?: string | null;
  tags?: string[] | null;
  timezone?: string | null;
  country?: string | null;
  city?: string | null;
  status?: UserStatus | null;
  website?: string | null;
  socials?: {
    facebook?: string | null;
    linkedin?: string | null;
    twitter?: string | null;
    youtube?: string | null;
  } | null;
  options?: {
    /** Only for users of type Speaker. */
    highlight?: boolean | null;
    endRegistration?: boolean | null;
  } | null;
}

/** One entry of a sponsor's speakers: an existing user (by email) or the data for a new one. */
export interface SpeakerPayload {
  email: string;
  firstName?: string | null;
  lastName?: string | null;
  username?: string | null;
  avatar?: string | null;
  description?: string | null;
  job?: string | null;
  company?: string | null;
  tags?: string[] | null;
  timezone?: string | null;
  highlighted?: boolean | null;
}

/** Body of POST /v1/sponsors. */
export interface SponsorPayload {
  name: string;
  logo: string;
  /** A whole number from 1 to 5. */
  level: number;
  hasPage?: boolean | null;
  pageContent?: string | null;
  website?: string | null;
  speakers?: SpeakerPayload[] | null;
  icon?: string | null;
  /** "#ff5733" or "#f53". */
  color?: string | null;
  options?: {
    displayInLobby?: boolean | null;
    highlight?: boolean | null;
  } | null;
}

/** Which characters a generated password has; every field is optional (default: 20 characters, all four classes). */
export interface PasswordPolicy {
  length?: number;
  lowercase?: boolean;
  uppercase?: boolean;
  digits?: boolean;
  symbols?: boolean;
}
"##;

// Crossing the boundary, both ways, as JSON text: one native JSON.stringify and one string
// copy in, one string copy and one native JSON.parse out. Walking a JS object from wasm
// (serde-wasm-bindgen did) costs a boundary call per key and value and copies every string
// separately; this is several times faster on real payloads and keeps serde out of the
// module. `payloadJson` first looks for what JSON.stringify would silently drop or alter, so
// that is reported instead of validated away: it returns the JSON text, or a number saying
// why there is none (see `Unrepresentable`).
#[wasm_bindgen(inline_js = r#"
export function payloadJson(value) {
  const why = unrepresentable(value, 0);
  try {
    if (why === 0) return JSON.stringify(value) ?? "null";
    if (why === 4) return JSON.stringify(value, bigintAsNumber) ?? "null";
  } catch {
    return 1; // a throwing getter or toJSON
  }
  return why;
}
const bigintAsNumber = (_key, v) => (typeof v === "bigint" ? Number(v) : v);
// A list of errors as one string, field, code and message each followed by a NUL (no piece
// holds one: errors_to_js checks); three times quicker than JSON.parse of the same list.
export function errorList(text) {
  const pieces = text.split("\0");
  const errors = [];
  for (let i = 0; i + 2 < pieces.length; i += 3) {
    errors.push({ field: pieces[i], code: pieces[i + 1], message: pieces[i + 2] });
  }
  return errors;
}
// validateField: of the form's payload, only what the field's rules read (see pick_member).
const own = (o, k) => o !== null && typeof o === "object" && !Array.isArray(o) && Object.prototype.hasOwnProperty.call(o, k);
export function pickMember(context, key, item, of) {
  if (!own(context, key)) return undefined;
  const v = context[key];
  return { [key]: item >= 0 && Array.isArray(v) ? v.map((s, j) => (j > item ? null : j < item && own(s, of) ? { [of]: s[of] } : s)) : v };
}
// 0: plain JSON data; 1: a function or symbol; 2: NaN or an infinity; 3: nested deeper than
// the parser's 127 levels (or cyclic); 4: a BigInt (converted to a number, nothing worse).
function unrepresentable(v, depth) {
  switch (typeof v) {
    case "function":
    case "symbol":
      return 1;
    case "number":
      return Number.isFinite(v) ? 0 : 2;
    case "bigint":
      return 4;
    case "object": {
      if (v === null || typeof v.toJSON === "function") return 0;
      if (depth >= 127) return 3;
      // Strings and booleans (most values) are skipped without a call; Object.values
      // reads what Object.keys and v[k] did, in half the time (bench/results.md).
      let found = 0;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const x = v[i];
          if (typeof x === "string") continue;
          const w = unrepresentable(x, depth + 1);
          if (w !== 0 && w !== 4) return w;
          found |= w;
        }
      } else {
        for (const x of Object.values(v)) {
          const t = typeof x;
          if (t === "string" || t === "boolean") continue;
          const w = unrepresentable(x, depth + 1);
          if (w !== 0 && w !== 4) return w;
          found |= w;
        }
      }
      return found;
    }
    default:
      return 0;
  }
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = payloadJson)]
    fn payload_json(value: &JsValue) -> JsValue;
    /// `{key: context[key]}`, the member the field's rules read (`field_context`), so a
    /// keystroke does not serialize the whole form; for an item of a list (`earlier_items`:
    /// index `item` >= 0, reading `of` of the earlier items), of the list only `of` of the
    /// items before it, the item whole and `null` after it. `undefined` without the member.
    #[wasm_bindgen(js_name = pickMember)]
    fn pick_member(context: &JsValue, key: &str, item: f64, of: &str) -> JsValue;
    #[wasm_bindgen(js_name = errorList)]
    fn error_list(text: &str) -> JsValue;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &str) -> JsValue;
    #[wasm_bindgen(js_namespace = Array, js_name = of)]
    fn empty_array() -> JsValue;
}

/// A JS value as JSON text, or the `invalid_json` error saying why JSON cannot hold it (as
/// the server answers a body it cannot parse).
fn from_js(value: &JsValue) -> Result<String, FieldError> {
    let json = payload_json(value);
    if let Some(text) = json.as_string() {
        return Ok(text);
    }
    let message = match json.as_f64() {
        Some(2.0) => "The payload holds a number JSON cannot represent (Infinity or NaN).",
        Some(3.0) => "The payload is nested more than 127 levels deep (or refers to itself).",
        _ => "The payload holds a value JSON cannot represent (a function, a symbol...).",
    };
    Err(FieldError::new("", Code::InvalidJson, message))
}

/// Appends `s` as a JSON string: runs of plain characters are copied whole (a char at a
/// time was a quarter of the time of an invalid payload).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let b = s.as_bytes();
    let (mut run, mut i) = (0, 0);
    // An index loop: the size-first build kept a byte iterator's `next` a call per byte.
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\\' || c < 0x20 {
            out.push_str(&s[run..i]);
            match c {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\u00");
                    out.push(char::from(HEX[usize::from(c >> 4)]));
                    out.push(char::from(HEX[usize::from(c & 15)]));
                }
            }
            run = i + 1;
        }
        i += 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

fn push_errors(out: &mut String, errors: &[FieldError]) {
    out.push('[');
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"field\":");
        push_json_str(out, &e.field);
        out.push_str(",\"code\":\"");
        out.push_str(e.code.as_str());
        out.push_str("\",\"message\":");
        push_json_str(out, &e.message);
        out.push('}');
    }
    out.push(']');
}

/// Errors go back as plain JS objects `{field, code, message}`; no errors as a fresh `[]`
/// without any text at all (the common case of a valid payload).
fn errors_to_js(errors: &[FieldError]) -> JsValue {
    if errors.is_empty() {
        return empty_array();
    }
    // Usually as NUL-separated pieces (`errorList`); a piece holding a NUL (an unknown
    // key can) goes as JSON.
    let nul = |s: &str| s.as_bytes().contains(&0);
    if !errors.iter().any(|e| nul(&e.field) || nul(&e.message)) {
        let mut out = String::with_capacity(96 * errors.len());
        for e in errors {
            for piece in [e.field.as_str(), e.code.as_str(), e.message.as_str()] {
                out.push_str(piece);
                out.push('\0');
            }
        }
        return error_list(&out);
    }
    let mut out = String::with_capacity(96 * errors.len());
    push_errors(&mut out, errors);
    json_parse(&out)
}

fn strings_to_js<'a>(items: impl IntoIterator<Item = &'a str>) -> JsValue {
    let mut out = String::from("[");
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(&mut out, s);
    }
    out.push(']');
    json_parse(&out)
}

/// Validates a user payload (a JS object). Returns every problem; `[]` means valid. Any
/// value is accepted (a half-filled form, data from elsewhere): that is what it checks.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = validateUser, unchecked_return_type = "FieldError[]")]
pub fn validate_user(
    #[wasm_bindgen(unchecked_param_type = "unknown")] payload: JsValue,
) -> JsValue {
    match from_js(&payload) {
        Ok(text) => errors_to_js(&rules::validate_user_json(&text)),
        Err(e) => errors_to_js(&[e]),
    }
}

/// Validates a sponsor payload (a JS object), speakers included. `[]` means valid. Any
/// value is accepted, as for `validateUser`.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = validateSponsor, unchecked_return_type = "FieldError[]")]
pub fn validate_sponsor(
    #[wasm_bindgen(unchecked_param_type = "unknown")] payload: JsValue,
) -> JsValue {
    match from_js(&payload) {
        Ok(text) => errors_to_js(&rules::validate_sponsor_json(&text)),
        Err(e) => errors_to_js(&[e]),
    }
}

/// Validates a user payload given as JSON text, parsed strictly as the server does
/// (duplicate keys and a byte-order mark are `invalid_json`).
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = validateUserJson, unchecked_return_type = "FieldError[]")]
pub fn validate_user_json(json: &str) -> JsValue {
    errors_to_js(&rules::validate_user_json(json))
}

/// Validates a sponsor payload given as JSON text (see `validateUserJson`).
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = validateSponsorJson, unchecked_return_type = "FieldError[]")]
pub fn validate_sponsor_json(json: &str) -> JsValue {
    errors_to_js(&rules::validate_sponsor_json(json))
}

/// Validates many user payloads at once, as a bulk import does: one error list per row, in
/// order (`[]` = valid); a row repeating an earlier row's email gets `duplicate_in_batch`.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = validateUsers, unchecked_return_type = "FieldError[][]")]
pub fn validate_users(
    #[wasm_bindgen(unchecked_param_type = "readonly unknown[]")] rows: JsValue,
) -> JsValue {
    let results = match from_js(&rows) {
        Ok(text) => rules::validate_users_json(&text),
        Err(e) => vec![vec![e]],
    };
    let mut out = String::from("[");
    for (i, errors) in results.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_errors(&mut out, errors);
    }
    out.push(']');
    json_parse(&out)
}

/// The username that will be generated, for live previews: `"doe.jane#····"`.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = previewUsername)]
pub fn preview_username(first_name: &str, last_name: &str) -> String {
    rules::preview_username(first_name, last_name)
}

/// A generated username `last.first#NNNN` (the server draws its own digits).
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = generateUsername)]
pub fn generate_username(first_name: &str, last_name: &str) -> String {
    rules::generate_username(first_name, last_name)
}

/// Checks a chosen username; errors are on the field `username`. `[]` means valid.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = checkUsername, unchecked_return_type = "FieldError[]")]
pub fn check_username(username: &str) -> JsValue {
    let errors: Vec<FieldError> = rules::check_username(username.trim())
        .into_iter()
        .map(|(code, message)| FieldError::new("username", code, message))
        .collect();
    errors_to_js(&errors)
}

/// A sponsor name's slug: `"Super Sponsor"` -> `"super-sponsor"` (the server adds `-2`,
/// `-3`... when a slug is taken).
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen]
pub fn slugify(name: &str) -> String {
    rules::slugify(name)
}

/// A password from the browser's CSPRNG by `policy` (default: 20 characters with lowercase,
/// uppercase, digit and symbol). Throws on an impossible policy.
/// (Declared in SHEET_TYPES: wasm-bindgen cannot mark the policy optional.)
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = generatePassword, skip_typescript)]
pub fn generate_password(policy: Option<JsValue>) -> Result<String, JsError> {
    let policy = policy.filter(|p| !p.is_undefined() && !p.is_null());
    let policy = if let Some(policy) = policy {
        let text = from_js(&policy).map_err(|e| JsError::new(&e.message))?;
        rules::PasswordPolicy::from_json(&text)
            .map_err(|e| JsError::new(&format!("invalid password policy: {e}")))?
    } else {
        rules::PasswordPolicy::default()
    };
    policy.validate().map_err(JsError::new)?;
    Ok(policy.generate())
}

/// Every IANA time zone name the rules accept, sorted: for a time zone picker.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(unchecked_return_type = "string[]")]
pub fn timezones() -> JsValue {
    strings_to_js(rules::timezone_lines().split('\n'))
}

/// The allowed user `status` values, in display order: for a select.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(unchecked_return_type = "UserStatus[]")]
pub fn statuses() -> JsValue {
    strings_to_js(rules::STATUSES.iter().map(|(name, _)| *name))
}

// ---- Per-field checks for forms (issue 16): one field's errors on each keystroke. ----

#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(typescript_custom_section)]
const VALIDATE_FIELD_TYPES: &str = r##"
/**
 * The errors of one field, the same as the whole payload's errors at or under its path:
 * `validateField("user", "email", "jane@")`. `path` is an error path (`socials.twitter`,
 * `speakers[1].email`); `value` the field's value (`undefined`: not given); `context` the
 * form's payload, read only where a rule looks beyond the field (a user's `type` for
 * `options.highlight`, the earlier speakers for a speaker's e-mail). Throws on an unknown
 * `kind`.
 */
export function validateField(kind: "user" | "sponsor", path: string, value: unknown, context?: Partial<UserPayload> | Partial<SponsorPayload>): FieldError[];

/**
 * A password from the browser's CSPRNG by `policy` (default: 20 characters with lowercase,
 * uppercase, digit and symbol). Throws on an impossible policy.
 */
export function generatePassword(policy?: PasswordPolicy | null): string;
"##;

// `validateField` itself is JavaScript (wasm/npm/field.js, which wasm/build.sh appends to the
// glue): it checks `kind` and passes a string value also as `text`, so it crosses as it is (no
// JSON.stringify, no parse in wasm), and answers `[]` for `undefined`, so no errors need no
// array made by a call out of wasm. Both are a keystroke's usual case.

/// `validateField` (see VALIDATE_FIELD_TYPES) for a user or a `sponsor`. `path_text` is the
/// path, followed by the value when it is a string that crosses as it is: then `split` is the
/// path's length, otherwise -1. One string crosses instead of two, as each
/// costs a `malloc`, an `encodeInto` and a `free` (0.14 us of a keystroke's 0.5, measured in
/// bench/results.md). No errors are `undefined`; one error at `path` is its "code message"
/// text (`one_error`), which field.js makes into the error.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = __validateField, skip_typescript)]
pub fn validate_field(
    sponsor: bool,
    split: i32,
    path_text: &str,
    value: JsValue,
    context: JsValue,
) -> JsValue {
    let kind = match sponsor {
        true => rules::PayloadKind::Sponsor,
        false => rules::PayloadKind::User,
    };
    // (field.js splits only an ASCII path, whose JS length is its length in bytes.)
    let (path, text) = match usize::try_from(split).map(|at| path_text.split_at_checked(at)) {
        Ok(Some((path, text))) => (path, Some(text)),
        _ => (path_text, None),
    };
    let value = match text {
        Some(_) => None,
        None if value.is_undefined() => None,
        None => match from_js(&value) {
            Ok(json) => Some(json),
            Err(e) => return errors_to_js(&[e]),
        },
    };
    let member = match rules::field_context(kind, path) {
        Some(key) if !context.is_undefined() => {
            let (item, of) =
                rules::earlier_items(kind, path).map_or((-1.0, ""), |(i, of)| (i as f64, of));
            pick_member(&context, key, item, of)
        }
        _ => JsValue::UNDEFINED,
    };
    let context = if member.is_undefined() {
        None
    } else {
        match from_js(&member) {
            Ok(json) => Some(json),
            Err(e) => return errors_to_js(&[e]),
        }
    };
    let value = match text {
        Some(t) => Some(rules::FormValue::Text(t)),
        None => value.as_deref().map(rules::FormValue::Json),
    };
    let errors = rules::validate_field(kind, path, value, context.as_deref());
    match errors.as_slice() {
        [] => JsValue::UNDEFINED,
        // One error at the field's own path (an ASCII path is the same text in JS): only
        // its code and message cross, as one string "code message" (a code has no space),
        // which field.js makes into the error, the path its own; no joined list to split.
        [e] if e.field == path && path.is_ascii() => one_error(e.code, &e.message),
        _ => errors_to_js(&errors),
    }
}

/// "code message" of `validateField`'s one error. The last [`ERRORS_KEPT`] different ones
/// sent are kept, each with the JS string made for it, the oldest replaced first: a form's
/// errors are few (a field's error while its value is typed is the same keystroke after
/// keystroke; a page shows a handful of fields), so a string made once (a text decode, 0.17
/// us for a message: bench/results.md) is sent again as it is (strings are values in JS:
/// nothing can tell the two apart).
#[cfg(not(feature = "sheet"))]
fn one_error(code: Code, message: &str) -> JsValue {
    /// One error sent: its "code message" text and the JS string made of it.
    struct Sent {
        text: String,
        js: JsValue,
    }
    thread_local! {
        /// The errors sent, and which one goes next once there are `ERRORS_KEPT`.
        static SENT: core::cell::RefCell<(Vec<Sent>, usize)> =
            const { core::cell::RefCell::new((Vec::new(), 0)) };
    }
    let code = code.as_str();
    SENT.with_borrow_mut(|(sent, next)| {
        // The kept text is this error's: the code, a space, the message.
        let same = |s: &&Sent| {
            let t = s.text.as_bytes();
            t.len() == code.len() + 1 + message.len()
                && t[code.len()] == b' '
                && t.starts_with(code.as_bytes())
                && t.ends_with(message.as_bytes())
        };
        if let Some(s) = sent.iter().find(same) {
            return s.js.clone();
        }
        let mut text = String::with_capacity(code.len() + 1 + message.len());
        text.push_str(code);
        text.push(' ');
        text.push_str(message);
        let js = JsValue::from_str(&text);
        let kept = Sent {
            text,
            js: js.clone(),
        };
        if sent.len() < ERRORS_KEPT {
            sent.push(kept);
        } else {
            sent[*next] = kept;
            *next = (*next + 1) % ERRORS_KEPT;
        }
        js
    })
}

/// How many different errors [`one_error`] keeps.
#[cfg(not(feature = "sheet"))]
const ERRORS_KEPT: usize = 8;

// ---- Edits (issue 12): merge patches, one speaker, spreadsheet cells. ----

#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(typescript_custom_section)]
const EDIT_TYPES: &str = r##"
/** A user as GET /v1/users/{id} returns it: the `existing` of a patch check. Only the payload's fields are read; id, createdAt, updatedAt and other members are ignored. */
export type UserRecord = UserPayload & { [member: string]: unknown };

/** Body of PATCH /v1/users/{id}, a JSON Merge Patch (RFC 7396): fields present change, `null` removes an optional field, absent fields stay; `socials` and `options` merge member by member, `tags` is replaced whole. `username` can change but not be removed. */
export type UserPatchPayload = { [K in keyof UserPayload]?: UserPayload[K] | null };

/** A sponsor as GET /v1/sponsors/{id} returns it: the `existing` of a patch check. Its speakers and other members are ignored. */
export type SponsorRecord = SponsorPayload & { slug?: string; [member: string]: unknown };

/** Body of PATCH /v1/sponsors/{id}: a merge patch of the sponsor's own fields. The slug stays unless `slug` is given. Speakers have their own routes. */
export type SponsorPatchPayload = { [K in Exclude<keyof SponsorPayload, "speakers">]?: SponsorPayload[K] | null } & {
  slug?: string | null;
};
"##;

/// Two JS values as JSON text, or the error saying why one cannot be.
fn pair_from_js(existing: &JsValue, patch: &JsValue) -> Result<(String, String), FieldError> {
    let patch = from_js(patch)?;
    Ok((from_js(existing)?, patch))
}

/// Validates a merge patch of a user (`PATCH /v1/users/{id}`) against the user as `GET`
/// returns it: the server's answer, same paths, codes and order. `[]` means valid.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = validateUserPatch, unchecked_return_type = "FieldError[]")]
pub fn validate_user_patch(
    #[wasm_bindgen(unchecked_param_type = "UserRecord")] existing: JsValue,
    #[wasm_bindgen(unchecked_param_type = "UserPatchPayload")] patch: JsValue,
) -> JsValue {
    match pair_from_js(&existing, &patch) {
        Ok((existing, patch)) => errors_to_js(&rules::validate_user_patch_json(&existing, &patch)),
        Err(e) => errors_to_js(&[e]),
    }
}

/// `validateUserPatch` on JSON texts, parsed as strictly as the server parses a body.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = validateUserPatchJson, unchecked_return_type = "FieldError[]")]
pub fn validate_user_patch_json(existing_json: &str, patch_json: &str) -> JsValue {
    errors_to_js(&rules::validate_user_patch_json(existing_json, patch_json))
}

/// Validates a merge patch of a sponsor's own fields and slug (`PATCH /v1/sponsors/{id}`)
/// against the sponsor as `GET` returns it. `[]` means valid. (No JSON-text twin: the page's
/// sponsor view is its only user, and the module's size budget has little room.)
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = validateSponsorPatch, unchecked_return_type = "FieldError[]")]
pub fn validate_sponsor_patch(
    #[wasm_bindgen(unchecked_param_type = "SponsorRecord")] existing: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SponsorPatchPayload")] patch: JsValue,
) -> JsValue {
    match pair_from_js(&existing, &patch) {
        Ok((existing, patch)) => {
            errors_to_js(&rules::validate_sponsor_patch_json(&existing, &patch))
        }
        Err(e) => errors_to_js(&[e]),
    }
}

/// Validates one speaker (`POST /v1/sponsors/{id}/speakers`) with a sponsor create's rules
/// for a speaker; paths are relative to the speaker (`email`, `tags[0]`).
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = validateSpeaker, unchecked_return_type = "FieldError[]")]
pub fn validate_speaker(
    #[wasm_bindgen(unchecked_param_type = "SpeakerPayload")] speaker: JsValue,
) -> JsValue {
    match from_js(&speaker) {
        Ok(text) => errors_to_js(&rules::validate_speaker_json(&text)),
        Err(e) => errors_to_js(&[e]),
    }
}

/// A CSV cell a spreadsheet will not run as a formula: a `'` in front of a cell starting
/// with `=`, `+`, `-`, `@`, tab or carriage return (OWASP). Quote the cell for CSV after.
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = csvSafe)]
pub fn csv_safe(cell: &str) -> String {
    rules::csv_safe_cell(cell).into_owned()
}

/// The value of a cell written by `csvSafe`: the `'` taken off again (for importers).
#[cfg(not(feature = "sheet"))]
#[wasm_bindgen(js_name = csvCellValue)]
pub fn csv_cell_value(cell: &str) -> String {
    rules::csv_cell_value(cell).to_owned()
}

// The spreadsheet types (wasm/tests/types.rs checks every union and key list here, and in
// TYPES above, against the rulebook's catalogue, `Code` and policy).
#[cfg(feature = "sheet")]
#[wasm_bindgen(typescript_custom_section)]
const SHEET_TYPES: &str = r##"
/** A field a spreadsheet column can fill: a user payload's path, or "fullName" (a whole name, split into first and last name). */
export type ImportField =
  | "email" | "type" | "firstName" | "lastName" | "username" | "avatar" | "description" | "job"
  | "company" | "tags" | "timezone" | "country" | "city" | "status" | "website"
  | "socials.facebook" | "socials.linkedin" | "socials.twitter" | "socials.youtube"
  | "options.highlight" | "options.endRegistration" | "fullName";

/** What a field holds (how a cell becomes its value). */
export type FieldKind =
  | "email" | "choice" | "line" | "multiline" | "username" | "url" | "tags" | "timezone" | "flag"
  | "fullName";

/** One entry of fieldCatalogue(). */
export interface CatalogueField {
  path: ImportField;
  /** For forms and column pickers. */
  label: string;
  /** The column header an export writes; mapHeaders maps it back to `path`. */
  header: string;
  kind: FieldKind;
  required: boolean;
  /** Longest text (characters) or most tags; null when the rule has no length limit. */
  max: number | null;
}

/** Values for the fields a row leaves empty, by field path: `{type: "Attendee"}`. */
export type RowDefaults = Partial<Record<ImportField, string>>;

/** How rowsToUsers reads the columns beyond their headers. */
export interface RowsOptions {
  /** The field of each column (null = ignored), as a person chose; default: mapHeaders(headers). */
  columns?: (ImportField | null)[];
  /** Cell values of the column mapped to `type` and the type each means: `{"Speaker Pass": "Speaker"}` (compared without case, accents or punctuation). */
  typeValues?: Record<string, string>;
  /** The type of a `type` cell not in typeValues. */
  otherType?: string;
}

/**
 * Each row (an array of cell strings) as a user payload, ready for `validateUsers`: columns
 * mapped by `mapHeaders` (or `options.columns`), `defaults` for the fields a row leaves empty
 * (`{type: "Attendee"}`), a full-name column split into first and last name ("Doe, Jane" at
 * the comma, else before the last word). `onboard import` runs the same function natively.
 */
export function rowsToUsers(headers: string[], rows: string[][], defaults?: RowDefaults | null, options?: RowsOptions | null): SheetUser[];

/** A row as rowsToUsers builds it: the cells as written (trimmed), tags split, yes/no words as booleans; unchecked until validateUsers. */
export interface SheetUser {
  email?: string;
  type?: string;
  firstName?: string;
  lastName?: string;
  username?: string;
  avatar?: string;
  description?: string;
  job?: string;
  company?: string;
  tags?: string[];
  timezone?: string;
  country?: string;
  city?: string;
  status?: string;
  website?: string;
  socials?: {
    facebook?: string;
    linkedin?: string;
    twitter?: string;
    youtube?: string;
  };
  options?: {
    highlight?: boolean | string;
    endRegistration?: boolean | string;
  };
}
"##;

// ---- Spreadsheets: the field catalogue's header mapping (`onboard import` runs the same
// functions natively). Arguments cross as JSON text; a wrong shape throws, since it is a
// programming error, not bad data in a cell.

#[cfg(feature = "sheet")]
fn json_arg(value: &JsValue, what: &str) -> Result<String, JsError> {
    from_js(value).map_err(|e| JsError::new(&format!("{what}: {}", e.message)))
}

#[cfg(feature = "sheet")]
fn optional_arg(value: Option<JsValue>, what: &str) -> Result<Option<String>, JsError> {
    match value {
        Some(v) if !v.is_undefined() && !v.is_null() => json_arg(&v, what).map(Some),
        _ => Ok(None),
    }
}

/// The field path each column header means (`"email"`, `"socials.linkedin"`, `"fullName"`
/// for a whole name), `null` for a column that is ignored. Headers are compared without
/// case, accents, spaces or punctuation, in English, French, German and Spanish.
#[cfg(feature = "sheet")]
#[wasm_bindgen(js_name = mapHeaders, unchecked_return_type = "(ImportField | null)[]")]
pub fn map_headers(
    #[wasm_bindgen(unchecked_param_type = "string[]")] headers: JsValue,
) -> Result<JsValue, JsError> {
    let text = json_arg(&headers, "headers")?;
    let out = rules::map_headers_json(&text).map_err(|e| JsError::new(&e))?;
    Ok(json_parse(&out))
}

/// Each row (an array of cell strings) as a user payload, ready for `validateUsers`:
/// columns mapped by `mapHeaders` (or `options.columns`), `defaults` for fields a row leaves
/// empty (`{type: "Attendee"}`), a full-name column split into first and last name.
/// (Declared in SHEET_TYPES, with `defaults` and `options` optional.)
#[cfg(feature = "sheet")]
#[wasm_bindgen(js_name = rowsToUsers, skip_typescript)]
pub fn rows_to_users(
    headers: JsValue,
    rows: JsValue,
    defaults: Option<JsValue>,
    options: Option<JsValue>,
) -> Result<JsValue, JsError> {
    let headers = json_arg(&headers, "headers")?;
    let rows = json_arg(&rows, "rows")?;
    let defaults = optional_arg(defaults, "defaults")?;
    let options = optional_arg(options, "options")?;
    let out = rules::rows_to_users_json(&headers, &rows, defaults.as_deref(), options.as_deref())
        .map_err(|e| JsError::new(&e))?;
    Ok(json_parse(&out))
}

/// The https URL a refused URL cell plainly meant (`linkedin.com/in/ada` →
/// `https://linkedin.com/in/ada`, `@ada` in `socials.twitter` → `https://twitter.com/ada`),
/// to offer as a correction; `undefined` when there is none.
#[cfg(feature = "sheet")]
#[wasm_bindgen(js_name = suggestUrl)]
pub fn suggest_url(
    #[wasm_bindgen(unchecked_param_type = "ImportField")] field: &str,
    value: &str,
) -> Option<String> {
    rules::suggest_url(field, value)
}

/// With `onExisting: "update"`: may a row that `validateUsers` refused with `errors` still
/// be valid, as the update of the user its e-mail belongs to (only the server can tell)?
/// True when every error is a missing field other than `email` (`required`) or
/// `speaker_only`: the user's record may answer them.
#[cfg(feature = "sheet")]
#[wasm_bindgen(js_name = updateMayFix)]
pub fn update_may_fix(
    #[wasm_bindgen(unchecked_param_type = "readonly { field: string; code: string }[]")]
    errors: JsValue,
) -> Result<bool, JsError> {
    let text = json_arg(&errors, "errors")?;
    Ok(rules::update_may_fix_json(&text))
}

/// Every field of a user payload (and the `fullName` column) with its label, the column
/// header an export writes, its kind, whether it is required and its length limit.
#[cfg(feature = "sheet")]
#[wasm_bindgen(js_name = fieldCatalogue, unchecked_return_type = "CatalogueField[]")]
pub fn field_catalogue() -> JsValue {
    json_parse(&rules::field_catalogue_json())
}
