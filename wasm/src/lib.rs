//! wasm-bindgen bindings of the onboard rulebook (`onboard-shared`): the npm package.
//!
//! Bindings only: every function here converts arguments, calls the rulebook, and converts
//! the answer back. No rule lives in this crate, so the browser and the server cannot drift.
//!
//! Two ways in for validation, because crossing into wasm costs differently:
//! - `validateUser(object)` walks a JS object (as from a form);
//! - `validateUserJson(string)` takes the JSON text (as from a request or a file) and parses
//!   it inside wasm, which is faster for large payloads and applies the same strict parser as
//!   the server (duplicate keys, byte-order mark).

use onboard_shared as rules;
use rules::{Code, FieldError};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r##"
/** Stable machine code of a validation problem (see the README for each one's meaning). */
export type ErrorCode =
  | "required" | "wrong_type" | "unknown_field" | "blank" | "too_long" | "too_short"
  | "invalid_characters" | "invalid_choice" | "email_invalid" | "url_not_https" | "url_invalid"
  | "not_integer" | "out_of_range" | "color_invalid" | "timezone_invalid" | "speaker_only"
  | "duplicate_email" | "duplicate_in_batch" | "username_invalid" | "password_weak" | "invalid_json"
  | "email_taken" | "username_taken" | "slug_taken";

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

/// Errors go back as plain JS objects `{field, code, message}`.
fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// A JS value as JSON, converted with the rulebook's limits (nesting capped, so a hostile
/// 10,000-level object cannot overflow the wasm stack). What JSON cannot hold (functions,
/// symbols, Infinity, NaN) or too deep a nesting is reported as `invalid_json` on the whole payload, as
/// the server does for a body it cannot parse.
fn from_js(value: JsValue) -> Result<serde_json::Value, FieldError> {
    rules::value_from(serde_wasm_bindgen::Deserializer::from(value)).map_err(|e| {
        let reason = e.to_string();
        let message = if reason.contains("nesting") {
            "The payload is nested more than 128 levels deep."
        } else if reason.contains("number out of range") {
            "The payload holds a number JSON cannot represent (Infinity or NaN)."
        } else {
            "The payload holds a value JSON cannot represent (a function, a symbol...)."
        };
        FieldError::new("", Code::InvalidJson, message)
    })
}

fn errors_of(
    result: Result<serde_json::Value, FieldError>,
    check: fn(&serde_json::Value) -> Vec<FieldError>,
) -> JsValue {
    match result {
        Ok(v) => to_js(&check(&v)),
        Err(e) => to_js(&[e]),
    }
}

/// Validates a user payload (a JS object). Returns every problem; `[]` means valid.
#[wasm_bindgen(js_name = validateUser, unchecked_return_type = "FieldError[]")]
pub fn validate_user(
    #[wasm_bindgen(unchecked_param_type = "UserPayload")] payload: JsValue,
) -> JsValue {
    errors_of(from_js(payload), rules::validate_user)
}

/// Validates a sponsor payload (a JS object), speakers included. `[]` means valid.
#[wasm_bindgen(js_name = validateSponsor, unchecked_return_type = "FieldError[]")]
pub fn validate_sponsor(
    #[wasm_bindgen(unchecked_param_type = "SponsorPayload")] payload: JsValue,
) -> JsValue {
    errors_of(from_js(payload), rules::validate_sponsor)
}

/// Validates a user payload given as JSON text, parsed strictly as the server does
/// (duplicate keys and a byte-order mark are `invalid_json`).
#[wasm_bindgen(js_name = validateUserJson, unchecked_return_type = "FieldError[]")]
pub fn validate_user_json(json: &str) -> JsValue {
    to_js(&rules::validate_user_json(json))
}

/// Validates a sponsor payload given as JSON text (see `validateUserJson`).
#[wasm_bindgen(js_name = validateSponsorJson, unchecked_return_type = "FieldError[]")]
pub fn validate_sponsor_json(json: &str) -> JsValue {
    to_js(&rules::validate_sponsor_json(json))
}

/// Validates many user payloads at once, as a bulk import does: one error list per row, in
/// order (`[]` = valid); a row repeating an earlier row's email gets `duplicate_in_batch`.
#[wasm_bindgen(js_name = validateUsers, unchecked_return_type = "FieldError[][]")]
pub fn validate_users(
    #[wasm_bindgen(unchecked_param_type = "UserPayload[]")] rows: JsValue,
) -> JsValue {
    let rows = match from_js(rows) {
        Ok(serde_json::Value::Array(rows)) => rows,
        Ok(_) => {
            return to_js(&[[FieldError::new(
                "",
                Code::WrongType,
                "Must be an array of users.",
            )]]);
        }
        Err(e) => return to_js(&[[e]]),
    };
    let results: Vec<Vec<FieldError>> = rules::check_users(&rows)
        .into_iter()
        .map(|r| r.err().unwrap_or_default())
        .collect();
    to_js(&results)
}

/// The username that will be generated, for live previews: `"doe.jane#····"`.
#[wasm_bindgen(js_name = previewUsername)]
pub fn preview_username(first_name: &str, last_name: &str) -> String {
    rules::preview_username(first_name, last_name)
}

/// A generated username `last.first#NNNN` (the server draws its own digits).
#[wasm_bindgen(js_name = generateUsername)]
pub fn generate_username(first_name: &str, last_name: &str) -> String {
    rules::generate_username(first_name, last_name)
}

/// Checks a chosen username; errors are on the field `username`. `[]` means valid.
#[wasm_bindgen(js_name = checkUsername, unchecked_return_type = "FieldError[]")]
pub fn check_username(username: &str) -> JsValue {
    let errors: Vec<FieldError> = rules::check_username(username.trim())
        .into_iter()
        .map(|(code, message)| FieldError::new("username", code, message))
        .collect();
    to_js(&errors)
}

/// A sponsor name's slug: `"Super Sponsor"` -> `"super-sponsor"` (the server adds `-2`,
/// `-3`... when a slug is taken).
#[wasm_bindgen]
pub fn slugify(name: &str) -> String {
    rules::slugify(name)
}

/// A password from the browser's CSPRNG by `policy` (default: 20 characters with lowercase,
/// uppercase, digit and symbol). Throws on an impossible policy.
#[wasm_bindgen(js_name = generatePassword)]
pub fn generate_password(
    #[wasm_bindgen(unchecked_param_type = "PasswordPolicy | undefined")] policy: JsValue,
) -> Result<String, JsError> {
    let policy: rules::PasswordPolicy = if policy.is_undefined() || policy.is_null() {
        rules::PasswordPolicy::default()
    } else {
        serde_wasm_bindgen::from_value(policy)
            .map_err(|e| JsError::new(&format!("invalid password policy: {e}")))?
    };
    policy.validate().map_err(JsError::new)?;
    Ok(policy.generate())
}

/// Every IANA time zone name the rules accept, sorted: for a time zone picker.
#[wasm_bindgen(unchecked_return_type = "string[]")]
pub fn timezones() -> JsValue {
    to_js(rules::timezones())
}

/// The allowed user `status` values, in display order: for a select.
#[wasm_bindgen(unchecked_return_type = "UserStatus[]")]
pub fn statuses() -> JsValue {
    let names: Vec<&str> = rules::STATUSES.iter().map(|(name, _)| *name).collect();
    to_js(&names)
}
