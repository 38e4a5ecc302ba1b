//! `POST /v1/keys`: the API key request `{description, privilege}`.

use crate::error::FieldError;
use crate::rules::{Checker, Text};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest key description.
pub const KEY_DESCRIPTION_MAX: usize = 200;

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Privilege {
    /// Everything, including managing keys.
    Standard,
    /// Read-only.
    Restricted,
}

impl Privilege {
    /// The name on the wire: `"standard"` or `"restricted"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Standard => "standard",
            Privilege::Restricted => "restricted",
        }
    }
}

/// The allowed `privilege` values.
pub const PRIVILEGES: &[(&str, Privilege)] = &[
    ("standard", Privilege::Standard),
    ("restricted", Privilege::Restricted),
];

/// The fields of a key request, in the order errors are reported.
pub const KEY_FIELDS: &[&str] = &["description", "privilege"];

/// A key request that passed every rule: the description trimmed, the privilege
/// `restricted` unless asked (least privilege by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub description: String,
    pub privilege: Privilege,
}

/// Checks a key request with the same text rules as every other payload: `description`
/// required one-line text of at most [`KEY_DESCRIPTION_MAX`] characters, `privilege` one
/// of [`PRIVILEGES`] (absent, null or blank: `restricted`), no other field.
///
/// ```
/// use onboard_shared::{check_key_request, Code, Privilege};
/// use serde_json::json;
/// let key = check_key_request(&json!({"description": " CI importer "})).unwrap();
/// assert_eq!((key.description.as_str(), key.privilege), ("CI importer", Privilege::Restricted));
///
/// let errors = check_key_request(&json!({"privilege": "admin", "x": 1})).unwrap_err();
/// let found: Vec<(&str, Code)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
/// assert_eq!(found, [("x", Code::UnknownField), ("description", Code::Required), ("privilege", Code::InvalidChoice)]);
/// ```
pub fn check_key_request(payload: &Value) -> Result<NewKey, Vec<FieldError>> {
    let mut c = Checker::default();
    let Some(obj) = c.object("", payload) else {
        return Err(c.errors);
    };
    c.unknown_fields("", obj, KEY_FIELDS);
    let description = c.text(
        obj,
        "",
        "description",
        true,
        Text::line(KEY_DESCRIPTION_MAX),
    );
    let privilege = c.choice(obj, "", "privilege", false, PRIVILEGES);
    match description {
        Some(d) if c.errors.is_empty() => Ok(NewKey {
            description: d.to_string(),
            privilege: privilege.unwrap_or(Privilege::Restricted),
        }),
        _ => Err(c.errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use serde_json::json;

    fn codes(v: Value) -> Vec<(String, Code)> {
        check_key_request(&v)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn descriptions_follow_the_one_line_text_rule() {
        assert_eq!(
            codes(json!({"description": "  "})),
            [("description".into(), Code::Blank)]
        );
        assert_eq!(
            codes(json!({"description": "a\u{85}b"})),
            [("description".into(), Code::InvalidCharacters)]
        );
        assert_eq!(
            codes(json!({"description": "x".repeat(KEY_DESCRIPTION_MAX + 1)})),
            [("description".into(), Code::TooLong)]
        );
        assert_eq!(
            codes(json!({"description": 3})),
            [("description".into(), Code::WrongType)]
        );
        assert_eq!(codes(json!([])), [("".into(), Code::WrongType)]);
    }

    #[test]
    fn privilege_is_standard_or_restricted_and_defaults_to_restricted() {
        for (given, want) in [
            (json!("standard"), Privilege::Standard),
            (json!("restricted"), Privilege::Restricted),
            (Value::Null, Privilege::Restricted),
        ] {
            let key = check_key_request(&json!({"description": "d", "privilege": given})).unwrap();
            assert_eq!(key.privilege, want);
        }
        assert_eq!(
            codes(json!({"description": "d", "privilege": true})),
            [("privilege".into(), Code::WrongType)]
        );
    }
}
