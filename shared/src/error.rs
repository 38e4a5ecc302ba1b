//! The one shape every rule reports: a field path, a stable code and an English message.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable reason. Serialized in `snake_case` (`Code::UrlNotHttps` is
/// `"url_not_https"`); clients branch on these, so a code is never renamed once shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Code {
    /// A required field is missing (or `null`).
    Required,
    /// The value has the wrong JSON type (`"3"` where an integer is expected).
    WrongType,
    /// A field the payload does not define.
    UnknownField,
    /// A required text field is empty or only whitespace.
    Blank,
    /// Text longer than the field allows, or an array with too many items.
    TooLong,
    /// Text shorter than the field allows.
    TooShort,
    /// Control characters (NUL, escape, ...) where only plain text is allowed.
    InvalidCharacters,
    /// Not one of the allowed values of an enum (`type`, `status`).
    InvalidChoice,
    /// Not a usable e-mail address.
    EmailInvalid,
    /// A URL that does not use `https://`.
    UrlNotHttps,
    /// An `https://` URL that is malformed (no host, spaces, credentials...).
    UrlInvalid,
    /// A number that is not a whole number.
    NotInteger,
    /// A number outside its allowed range (sponsor `level` is 1..=5).
    OutOfRange,
    /// Not a hex color (`#ff5733` or `#f53`).
    ColorInvalid,
    /// Not an IANA time zone name (`Europe/Paris`).
    TimezoneInvalid,
    /// An option that only users of type `Speaker` may set (`options.highlight`).
    SpeakerOnly,
    /// The same speaker e-mail twice in one sponsor (compared case-insensitively).
    DuplicateEmail,
    /// The same user e-mail twice in one bulk import.
    DuplicateInBatch,
    /// A username with characters outside `A-Z a-z 0-9 . _ - #`, or not starting with a letter or digit.
    UsernameInvalid,
    /// A password that does not meet the password policy.
    PasswordWeak,
    /// The JSON text itself could not be parsed (the server answers 400 `invalid_json`).
    InvalidJson,
    /// The e-mail already belongs to a user (server only).
    EmailTaken,
    /// The username already belongs to a user (server only).
    UsernameTaken,
    /// The slug already belongs to a sponsor (server only).
    SlugTaken,
    /// A field a patch may not change (`id`, `password`, `createdAt`, `updatedAt`; a
    /// sponsor's `speakers`, which have their own routes).
    ReadOnly,
    /// A sponsor slug that is not lowercase ASCII letters and digits joined by single `-`.
    SlugInvalid,
    /// The payload has more problems than are listed: the list stops at
    /// [`ERRORS_MAX`] and ends with this entry on `""`.
    TooManyErrors,
    /// The user is already a speaker of this sponsor (server only).
    AlreadySpeaker,
}

impl Code {
    /// The code as it appears on the wire, e.g. `"url_not_https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Required => "required",
            Code::WrongType => "wrong_type",
            Code::UnknownField => "unknown_field",
            Code::Blank => "blank",
            Code::TooLong => "too_long",
            Code::TooShort => "too_short",
            Code::InvalidCharacters => "invalid_characters",
            Code::InvalidChoice => "invalid_choice",
            Code::EmailInvalid => "email_invalid",
            Code::UrlNotHttps => "url_not_https",
            Code::UrlInvalid => "url_invalid",
            Code::NotInteger => "not_integer",
            Code::OutOfRange => "out_of_range",
            Code::ColorInvalid => "color_invalid",
            Code::TimezoneInvalid => "timezone_invalid",
            Code::SpeakerOnly => "speaker_only",
            Code::DuplicateEmail => "duplicate_email",
            Code::DuplicateInBatch => "duplicate_in_batch",
            Code::UsernameInvalid => "username_invalid",
            Code::PasswordWeak => "password_weak",
            Code::InvalidJson => "invalid_json",
            Code::EmailTaken => "email_taken",
            Code::UsernameTaken => "username_taken",
            Code::SlugTaken => "slug_taken",
            Code::ReadOnly => "read_only",
            Code::SlugInvalid => "slug_invalid",
            Code::TooManyErrors => "too_many_errors",
            Code::AlreadySpeaker => "already_speaker",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one field.
///
/// `field` is a JSON path into the payload: `email`, `socials.twitter`, `speakers[1].email`;
/// the empty string means the payload as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON path of the offending value.
    pub field: String,
    /// Stable machine code.
    pub code: Code,
    /// A sentence for people, in English.
    pub message: String,
}

impl FieldError {
    /// Builds an error; `message` should read well next to the field in a form.
    pub fn new(field: impl Into<String>, code: Code, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{} ({})", self.message, self.code)
        } else {
            write!(f, "{}: {} ({})", self.field, self.message, self.code)
        }
    }
}

impl std::error::Error for FieldError {}

/// Most problems listed for one payload (a user, a sponsor, a patch, one bulk row). A
/// payload with more gets these, then one [`Code::TooManyErrors`] entry on `""`: a hostile
/// body of 100,000 unknown keys must not become a 10 MB answer.
pub const ERRORS_MAX: usize = 100;

/// Most problems listed for one bulk request, over all its rows (see [`ERRORS_MAX`]).
/// Ten per row of a full request on average: a file with one systematic mistake in every
/// row is still reported in full.
pub const BULK_ERRORS_MAX: usize = 10_000;

/// The entry that ends a capped list.
pub fn too_many_errors() -> FieldError {
    // A literal, not format!: this sits in the wasm package (a unit test checks the number).
    FieldError::new(
        "",
        Code::TooManyErrors,
        "There are more problems than the 100 listed; fix these and check again.",
    )
}

/// Enforces [`ERRORS_MAX`] on a list that may already be capped (ends with
/// [`Code::TooManyErrors`]) and has had entries added since.
pub(crate) fn cap_errors(errors: &mut Vec<FieldError>) {
    let capped = errors
        .iter()
        .position(|e| e.code == Code::TooManyErrors && e.field.is_empty());
    if capped.is_none() && errors.len() <= ERRORS_MAX {
        return;
    }
    if let Some(at) = capped {
        errors.remove(at);
    }
    errors.truncate(ERRORS_MAX);
    errors.push(too_many_errors());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_caps() {
        assert!(
            too_many_errors()
                .message
                .contains(&format!(" {ERRORS_MAX} "))
        );
        assert_eq!(BULK_ERRORS_MAX, 10_000);
        assert!(crate::batch::TOO_MANY_IN_REQUEST.contains(" 10,000 "));
    }
}
