//! `POST /v1/sponsors/{id}/speakers`: one speaker object, checked exactly as a row of a
//! sponsor create's `speakers`, with paths relative to the speaker (`email`, `tags[0]`).

use crate::error::FieldError;
use crate::node::Node;
use crate::rules::Checker;
use crate::sponsor::{NewSpeaker, speaker_email, speaker_fields};
use serde_json::Value;

/// Checks one speaker object. The server then links the account with that e-mail, or
/// creates one, which needs a first and last name ([`NewSpeaker::account_errors_at`] with
/// `""`).
///
/// ```
/// use onboard_shared::{check_speaker, Code};
/// use serde_json::json;
/// let speaker = check_speaker(&json!({"email": "a@domain.com", "firstName": "Ann"})).unwrap();
/// assert_eq!(speaker.account_errors_at("")[0].field, "lastName");
/// let errors = check_speaker(&json!({"email": "nope", "tags": [""]})).unwrap_err();
/// assert_eq!((errors[0].field.as_str(), errors[0].code), ("email", Code::EmailInvalid));
/// assert_eq!((errors[1].field.as_str(), errors[1].code), ("tags[0]", Code::Blank));
/// ```
pub fn check_speaker(payload: &Value) -> Result<NewSpeaker, Vec<FieldError>> {
    let mut c = Checker::default();
    let speaker = c.object("", payload).map(|s| {
        let email = speaker_email(&mut c, s, "");
        speaker_fields(&mut c, s, "", email).into_owned()
    });
    match speaker {
        Some(s) if c.errors.is_empty() => Ok(s),
        _ => Err(c.errors),
    }
}

/// Only the errors of [`check_speaker`]: empty when the speaker is valid.
pub fn validate_speaker(payload: &Value) -> Vec<FieldError> {
    speaker_errors(payload)
}

/// [`validate_speaker`] on JSON text, parsed as strictly as the server parses a body.
pub fn validate_speaker_json(text: &str) -> Vec<FieldError> {
    match crate::parse_doc(text) {
        Ok(v) => speaker_errors(&v),
        Err(e) => vec![crate::json_field_error(&e)],
    }
}

fn speaker_errors<N: Node>(payload: &N) -> Vec<FieldError> {
    let mut c = Checker::default();
    if let Some(s) = c.object("", payload) {
        let email = speaker_email(&mut c, s, "");
        speaker_fields(&mut c, s, "", email);
    }
    c.errors
}
