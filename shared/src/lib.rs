//! # onboard-shared: the rulebook
//!
//! Every rule of user and sponsor onboarding lives here, once: field validation with JSON
//! paths and stable codes, username generation and sanitizing, sponsor slugs and the
//! password policy. It is pure Rust with no I/O, so the same code runs in the `onboard`
//! server and, compiled to wasm32, in the browser (the `wasm/` npm package); a payload gets
//! the same verdict in both places.
//!
//! Validation reports **every** problem at once, each with a path into the payload
//! (`speakers[1].email`), a stable [`Code`] and an English message:
//!
//! ```
//! use onboard_shared::{parse_json, validate_user, Code};
//!
//! let payload = parse_json(r#"{
//!     "email": "jane@domain.com", "type": "Attendee", "firstName": "Jane", "lastName": "Doe",
//!     "website": "http://jane-doe.com", "options": {"highlight": true}
//! }"#).unwrap();
//! let errors = validate_user(&payload);
//! assert_eq!(errors.len(), 2);
//! assert_eq!((errors[0].field.as_str(), errors[0].code), ("website", Code::UrlNotHttps));
//! assert_eq!((errors[1].field.as_str(), errors[1].code), ("options.highlight", Code::SpeakerOnly));
//! ```
//!
//! The generators:
//!
//! ```
//! use onboard_shared::{generate_username, slugify, PasswordPolicy};
//! assert!(generate_username("Jane", "Doe").starts_with("doe.jane#"));
//! assert_eq!(slugify("Super Sponsor"), "super-sponsor");
//! assert_eq!(PasswordPolicy::default().generate().len(), 20);
//! ```
// `onboard_speed` is set by wasm/build.sh for the package, built size-first (opt-level "z"),
// where the parser's functions are compiled for speed instead: about 10 % of a validation
// for about 110 bytes gzipped (bench/results.md, issue 16). That build's compiler accepts
// nightly attributes (RUSTC_BOOTSTRAP, as for build-std); native builds never set it.
#![cfg_attr(onboard_speed, feature(optimize_attribute))]

mod batch;
mod bytes;
mod catalogue;
mod doc;
mod error;
mod field;
mod fold;
mod json;
mod key;
mod node;
mod password;
mod rules;
mod sheet;
mod slug;
mod sponsor;
mod timezones;
mod user;
mod username;
mod webhook;

// Edits and spreadsheet cells (issue 12).
mod csv;
mod patch;
mod speaker;

pub use batch::{
    BULK_MAX, BulkRequest, BulkRow, ON_EXISTING, OnExisting, bulk_row_key, check_bulk_request,
    check_users, check_users_update, update_may_fix, update_may_fix_json,
};
pub use csv::{csv_cell_value, csv_safe_cell};
pub use error::{BULK_ERRORS_MAX, ERRORS_MAX, too_many_errors};
pub use error::{Code, FieldError};
pub use field::{
    FormValue, PayloadKind, earlier_items, field_context, validate_field, validate_field_json,
};
pub use json::{JsonError, MAX_DEPTH, parse_json, value_from};
pub use key::{KEY_DESCRIPTION_MAX, KEY_FIELDS, NewKey, PRIVILEGES, Privilege, check_key_request};
pub use password::{PASSWORD_MAX, PASSWORD_MIN, PasswordPolicy};
pub use patch::{
    SPONSOR_READ_ONLY, SponsorFields, SponsorPatch, USER_READ_ONLY, UserPatch, bulk_row_patch,
    check_bulk_update, check_sponsor_patch, check_user_patch, validate_sponsor_patch,
    validate_sponsor_patch_json, validate_user_patch, validate_user_patch_json,
};
pub use rules::{
    EMAIL_MAX, TAG_MAX, TAGS_MAX, URL_MAX, check_https_url, is_hex_color, is_timezone,
    is_valid_email, normalize_email, normalize_tag, timezone_lines, timezones,
};
pub use slug::{SLUG_MAX, is_slug, slug_with_suffix, slugify};
pub use speaker::{check_speaker, validate_speaker, validate_speaker_json};
/// The top-level fields of a sponsor payload, in the order they are checked.
pub use sponsor::FIELDS as SPONSOR_FIELDS;
/// The fields a sponsor payload must have.
pub use sponsor::REQUIRED as SPONSOR_REQUIRED;
pub use sponsor::{
    LEVEL_MAX, LEVEL_MIN, NewSpeaker, NewSponsor, PAGE_CONTENT_MAX, SPEAKERS_MAX, SPONSOR_NAME_MAX,
    SponsorOptions, check_sponsor, validate_sponsor,
};
/// The top-level fields of a user payload, in the order they are checked.
pub use user::FIELDS as USER_FIELDS;
pub use user::{
    DESCRIPTION_MAX, NAME_MAX, NewUser, SHORT_TEXT_MAX, STATUSES, Socials, Status, UserOptions,
    UserType, check_user, validate_user,
};
// The field catalogue and spreadsheet mapping (`onboard import`, the page's Import tab).
pub use catalogue::{
    FIELDS, Field, FieldKind, NO_WORDS, YES_WORDS, field, field_for_header, header_key,
    split_full_name, yes_no,
};
pub use sheet::{
    CellValue, SheetOptions, SheetRow, field_catalogue_json, kind_name, map_headers,
    map_headers_json, rows_to_users, rows_to_users_json, sheet_rows, suggest_url,
};
pub use username::{
    USERNAME_MAX, USERNAME_MIN, check_username, generate_username, generate_username_with,
    normalize_username, preview_username, sanitize_name_part, username_base,
};
pub use webhook::{
    EVENT_TYPES, EventType, NewWebhook, WEBHOOK_DESCRIPTION_MAX, WEBHOOK_FIELDS,
    WEBHOOK_PATCH_FIELDS, WebhookPatch, check_webhook, check_webhook_patch,
};

/// Parses `text` and validates it as a user. A parse failure is one error with the empty
/// path and code `invalid_json`, its message saying where.
///
/// The text is parsed with the same rules as [`parse_json`] (the verdict is the same as
/// `validate_user(&parse_json(text)?)`), but into a borrowed tree instead of a `Value`:
/// this is the fast path of the wasm package, several times quicker on typical payloads.
pub fn validate_user_json(text: &str) -> Vec<FieldError> {
    match parse_doc(text) {
        Ok(v) => user::user_errors(&v),
        Err(e) => vec![json_field_error(&e)],
    }
}

/// Parses `text` and validates it as a sponsor (see [`validate_user_json`]).
pub fn validate_sponsor_json(text: &str) -> Vec<FieldError> {
    match parse_doc(text) {
        Ok(v) => sponsor::sponsor_errors(&v),
        Err(e) => vec![json_field_error(&e)],
    }
}

/// Parses `text` as a JSON array of user payloads and validates them as [`check_users`]
/// does: one error list per row (`[]` = valid). Text that is not JSON is one row holding the
/// `invalid_json` error; JSON that is not an array, one row holding `wrong_type`.
pub fn validate_users_json(text: &str) -> Vec<Vec<FieldError>> {
    match parse_doc(text) {
        Ok(doc::Json::Array(rows)) => batch::rows_errors(&rows),
        Ok(_) => vec![vec![FieldError::new(
            "",
            Code::WrongType,
            "Must be an array of users.",
        )]],
        Err(e) => vec![vec![json_field_error(&e)]],
    }
}

/// [`parse_json`]'s rules (byte-order mark refused, then strict JSON) into the borrowed tree.
fn parse_doc(text: &str) -> Result<doc::Json<'_>, JsonError> {
    if text.starts_with('\u{feff}') {
        return Err(json::bom_error());
    }
    doc::parse(text)
}

fn json_field_error(e: &JsonError) -> FieldError {
    FieldError::new("", Code::InvalidJson, format!("Invalid JSON: {e}."))
}

/// The operating system's random source (the browser's `crypto.getRandomValues` in wasm):
/// a CSPRNG, as passwords need. Infallible in practice; a platform without one panics.
pub(crate) fn os_rng() -> rand::rand_core::UnwrapErr<rand::rngs::SysRng> {
    rand::rand_core::UnwrapErr(rand::rngs::SysRng)
}
