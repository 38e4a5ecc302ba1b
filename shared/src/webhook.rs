//! `POST /v1/webhooks` and `PATCH /v1/webhooks/{id}`: a webhook endpoint `{url, events?,
//! description?}` (and `disabled` in a patch), and the event types it can receive.
//!
//! The URL's shape is checked here; whether its address is public (the server's SSRF
//! rules, which need DNS and the operator's setting) is decided by the server.

use crate::error::{Code, FieldError};
use crate::rules::{Checker, Text, URL_MAX, check_https_url};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest webhook description.
pub const WEBHOOK_DESCRIPTION_MAX: usize = 200;

/// What a webhook can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "user.updated")]
    UserUpdated,
    #[serde(rename = "user.deleted")]
    UserDeleted,
    #[serde(rename = "sponsor.created")]
    SponsorCreated,
    #[serde(rename = "sponsor.updated")]
    SponsorUpdated,
    #[serde(rename = "sponsor.deleted")]
    SponsorDeleted,
    #[serde(rename = "sponsor.speaker_added")]
    SponsorSpeakerAdded,
    #[serde(rename = "sponsor.speaker_removed")]
    SponsorSpeakerRemoved,
}

/// Every event type with its name on the wire, in the order the API lists them.
pub const EVENT_TYPES: &[(&str, EventType)] = &[
    ("user.created", EventType::UserCreated),
    ("user.updated", EventType::UserUpdated),
    ("user.deleted", EventType::UserDeleted),
    ("sponsor.created", EventType::SponsorCreated),
    ("sponsor.updated", EventType::SponsorUpdated),
    ("sponsor.deleted", EventType::SponsorDeleted),
    ("sponsor.speaker_added", EventType::SponsorSpeakerAdded),
    ("sponsor.speaker_removed", EventType::SponsorSpeakerRemoved),
];

impl EventType {
    /// The name on the wire: `"user.created"`.
    pub fn as_str(self) -> &'static str {
        EVENT_TYPES
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("", |(n, _)| n)
    }
}

/// The fields of a webhook request, in the order errors are reported.
pub const WEBHOOK_FIELDS: &[&str] = &["url", "events", "description"];

/// The fields of a webhook patch.
pub const WEBHOOK_PATCH_FIELDS: &[&str] = &["url", "events", "description", "disabled"];

/// A webhook request that passed every rule. `events` empty means every event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
}

/// A checked webhook patch: `None` leaves a field as it is; `description: Some(None)`
/// removes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub description: Option<Option<String>>,
    pub disabled: Option<bool>,
}

/// Checks `POST /v1/webhooks`: `url` required, an `https://` URL of at most 2,048
/// characters (`http://` too when `allow_http`: the operator's
/// `ONBOARD_WEBHOOK_ALLOW_PRIVATE`); `events` an array of distinct [`EVENT_TYPES`] names
/// (absent, null or empty: all); `description` optional one-line text of at most
/// [`WEBHOOK_DESCRIPTION_MAX`] characters; no other field.
///
/// ```
/// use onboard_shared::{check_webhook, Code, EventType};
/// use serde_json::json;
/// let w = check_webhook(&json!({"url": "https://crm.example.com/hook", "events": ["user.created"]}), false).unwrap();
/// assert_eq!(w.events, [EventType::UserCreated]);
/// let errors = check_webhook(&json!({"url": "http://crm.example.com", "events": ["user.made"]}), false).unwrap_err();
/// let found: Vec<(&str, Code)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
/// assert_eq!(found, [("url", Code::UrlNotHttps), ("events[0]", Code::InvalidChoice)]);
/// ```
pub fn check_webhook(payload: &Value, allow_http: bool) -> Result<NewWebhook, Vec<FieldError>> {
    let mut c = Checker::default();
    let Some(obj) = c.object("", payload) else {
        return Err(c.errors);
    };
    c.unknown_fields("", obj, WEBHOOK_FIELDS);
    let url = url(&mut c, obj.get("url"), true, allow_http);
    let events = events(&mut c, obj.get("events"));
    let description = c.text(
        obj,
        "",
        "description",
        false,
        Text::line(WEBHOOK_DESCRIPTION_MAX),
    );
    match url {
        Some(url) if c.errors.is_empty() => Ok(NewWebhook {
            url,
            events: events.unwrap_or_default(),
            description: description.map(str::to_string),
        }),
        _ => Err(c.errors),
    }
}

/// Checks `PATCH /v1/webhooks/{id}` (a JSON Merge Patch): each field as in
/// [`check_webhook`], `url` not null, `description: null` removes it, `events: null` or
/// `[]` means every event type, `disabled` a boolean.
pub fn check_webhook_patch(
    payload: &Value,
    allow_http: bool,
) -> Result<WebhookPatch, Vec<FieldError>> {
    let mut c = Checker::default();
    let Some(obj) = c.object("", payload) else {
        return Err(c.errors);
    };
    c.unknown_fields("", obj, WEBHOOK_PATCH_FIELDS);
    let mut patch = WebhookPatch::default();
    if obj.contains_key("url") {
        patch.url = url(&mut c, obj.get("url"), true, allow_http);
    }
    if obj.contains_key("events") {
        patch.events = Some(events(&mut c, obj.get("events")).unwrap_or_default());
    }
    if obj.contains_key("description") {
        let d = c.text(
            obj,
            "",
            "description",
            false,
            Text::line(WEBHOOK_DESCRIPTION_MAX),
        );
        patch.description = Some(d.map(str::to_string));
    }
    match obj.get("disabled") {
        None => {}
        Some(Value::Bool(b)) => patch.disabled = Some(*b),
        Some(other) => c.push(
            "disabled",
            Code::WrongType,
            format!("Must be true or false, not {}.", json_type(other)),
        ),
    }
    if c.errors.is_empty() {
        Ok(patch)
    } else {
        Err(c.errors)
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn url(c: &mut Checker, v: Option<&Value>, required: bool, allow_http: bool) -> Option<String> {
    let v = match v {
        None | Some(Value::Null) => {
            if required {
                c.push("url", Code::Required, "Is required.");
            }
            return None;
        }
        Some(v) => v,
    };
    let s = c.text_value(
        crate::rules::At::Key("", "url"),
        v,
        required,
        Text::line(URL_MAX),
    )?;
    // `http://` is checked as the same URL over https when the operator allows it.
    let plain = s
        .as_bytes()
        .get(..7)
        .is_some_and(|b| b.eq_ignore_ascii_case(b"http://"));
    let checked = if plain && allow_http {
        check_https_url(&format!("https://{}", &s[7..]))
    } else {
        check_https_url(s)
    };
    match checked {
        Ok(()) => Some(s.to_string()),
        Err((code, message)) => {
            let message = if code == Code::UrlNotHttps && allow_http {
                "Must start with https:// or http://."
            } else {
                message
            };
            c.push("url", code, message);
            None
        }
    }
}

fn events(c: &mut Checker, v: Option<&Value>) -> Option<Vec<EventType>> {
    let items = match v {
        None | Some(Value::Null) => return None,
        Some(Value::Array(items)) => items,
        Some(other) => {
            c.push(
                "events",
                Code::WrongType,
                format!("Must be an array of event types, not {}.", json_type(other)),
            );
            return None;
        }
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let path = format!("events[{i}]");
        let found = item
            .as_str()
            .and_then(|s| EVENT_TYPES.iter().find(|(n, _)| *n == s));
        match found {
            Some((_, t)) if out.contains(t) => {
                ok = false;
                c.push(path, Code::InvalidChoice, "Is listed twice.");
            }
            Some((_, t)) => out.push(*t),
            None => {
                ok = false;
                let names: Vec<&str> = EVENT_TYPES.iter().map(|(n, _)| *n).collect();
                c.push(
                    path,
                    Code::InvalidChoice,
                    format!("Must be one of: {}.", names.join(", ")),
                );
            }
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(r: Result<impl std::fmt::Debug, Vec<FieldError>>) -> Vec<(String, Code)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn urls_are_https_unless_the_operator_allows_http() {
        let ok = check_webhook(&json!({"url": " https://h.example.com/x "}), false).unwrap();
        assert_eq!(ok.url, "https://h.example.com/x");
        assert!(ok.events.is_empty());
        assert_eq!(
            codes(check_webhook(
                &json!({"url": "http://h.example.com"}),
                false
            )),
            [("url".into(), Code::UrlNotHttps)]
        );
        assert!(check_webhook(&json!({"url": "http://127.0.0.1:9/x"}), true).is_ok());
        assert_eq!(
            codes(check_webhook(&json!({"url": "ftp://h.example.com"}), true)),
            [("url".into(), Code::UrlNotHttps)]
        );
        assert_eq!(
            codes(check_webhook(&json!({}), false)),
            [("url".into(), Code::Required)]
        );
        assert_eq!(
            codes(check_webhook(&json!([]), false)),
            [("".into(), Code::WrongType)]
        );
    }

    #[test]
    fn events_are_known_and_distinct() {
        assert_eq!(
            codes(check_webhook(
                &json!({"url": "https://a.example.com", "events": ["user.created", "user.created", 3]}),
                false
            )),
            [
                ("events[1]".into(), Code::InvalidChoice),
                ("events[2]".into(), Code::InvalidChoice)
            ]
        );
        for (name, t) in EVENT_TYPES {
            assert_eq!(t.as_str(), *name);
            assert_eq!(serde_json::to_value(t).unwrap(), json!(name));
        }
    }

    #[test]
    fn patches_name_only_what_changes() {
        let p =
            check_webhook_patch(&json!({"disabled": false, "description": null}), false).unwrap();
        assert_eq!(p.disabled, Some(false));
        assert_eq!(p.description, Some(None));
        assert_eq!(p.url, None);
        assert_eq!(
            codes(check_webhook_patch(
                &json!({"url": null, "disabled": "no", "x": 1}),
                false
            )),
            [
                ("x".into(), Code::UnknownField),
                ("url".into(), Code::Required),
                ("disabled".into(), Code::WrongType)
            ]
        );
    }
}
