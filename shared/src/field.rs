//! Per-field checks for forms: one field's errors, exactly as the whole payload's check
//! reports them on that field's path, without checking the rest.
//!
//! A field whose rules read nothing but its value (a user's `email`, `firstName`,
//! `socials.twitter`...) goes straight to its own rule function, the one the whole payload's
//! check calls for it (`user::field_errors`): no payload is built, no other rule runs. This is
//! a form's keystroke, so it is the fast path.
//!
//! Any other field is checked by running the payload's own rules on a small payload holding that
//! field and the members of the rest of the payload its rules read (the context): the user's
//! `type` for `options.highlight`, the speakers list for a speaker's e-mail (a duplicate of
//! an earlier one) and for its size. The checker is focused on the field's path, so the
//! rules of the absent fields build no error at all. Being the same code, the answer cannot
//! drift from the whole check (tests/field.rs compares them on every corpus case and path).

use crate::doc::{self, Json};
use crate::error::{Code, FieldError};
use crate::{sponsor, user};
use std::borrow::Cow;

/// Which payload a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// `POST /v1/users`.
    User,
    /// `POST /v1/sponsors`.
    Sponsor,
}

impl PayloadKind {
    /// `"user"` or `"sponsor"`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "user" => Some(PayloadKind::User),
            "sponsor" => Some(PayloadKind::Sponsor),
            _ => None,
        }
    }
}

/// The top-level members of the payload that the rules of the field at `path` read besides
/// the field itself: what a caller must put in the context of [`validate_field_json`]
/// (more is allowed and ignored).
///
/// ```
/// use onboard_shared::{field_context, PayloadKind};
/// assert_eq!(field_context(PayloadKind::User, "email"), None);
/// assert_eq!(field_context(PayloadKind::User, "options.highlight"), Some("type"));
/// assert_eq!(field_context(PayloadKind::Sponsor, "speakers[2].email"), Some("speakers"));
/// ```
pub fn field_context(kind: PayloadKind, path: &str) -> Option<&'static str> {
    let top = top(path);
    match (kind, top) {
        // Only speakers may be highlighted.
        (PayloadKind::User, "options") if path != "options.endRegistration" => Some("type"),
        // An item of a list: the list's size (a list that is too long is reported whole)
        // and, for speakers, the earlier speakers' e-mails.
        (PayloadKind::User, "tags") if path != "tags" => Some("tags"),
        (PayloadKind::Sponsor, "speakers") if path != "speakers" => Some("speakers"),
        _ => None,
    }
}

/// Of the list [`field_context`] names for an item's field (`speakers[2].email`), what the
/// item's rules read of the other items: the item's index and the one member of each earlier
/// item (a speaker's `email`, for a duplicate). The list's other items matter only by their
/// count (a list too long is reported whole), so a context may hold, for each earlier item
/// holding that member, only it (any other item as it is), the item itself whole, and `null`
/// after it.
///
/// ```
/// use onboard_shared::{earlier_items, PayloadKind};
/// assert_eq!(earlier_items(PayloadKind::Sponsor, "speakers[2].email"), Some((2, "email")));
/// assert_eq!(earlier_items(PayloadKind::Sponsor, "speakers"), None);
/// assert_eq!(earlier_items(PayloadKind::User, "tags[1]"), None);
/// ```
pub fn earlier_items(kind: PayloadKind, path: &str) -> Option<(usize, &'static str)> {
    let rest = match kind {
        PayloadKind::Sponsor => path.strip_prefix("speakers[")?.as_bytes(),
        PayloadKind::User => return None,
    };
    // A byte loop, as in `steps` (the iterators' version was twice the code in wasm).
    let (mut index, mut digits) = (0usize, 0);
    while digits < rest.len() && rest[digits].is_ascii_digit() {
        let d = usize::from(rest[digits] - b'0');
        index = index.checked_mul(10)?.checked_add(d)?;
        digits += 1;
    }
    (digits > 0 && rest.get(digits) == Some(&b']')).then_some((index, "email"))
}

/// The errors of the field at `path` (`email`, `socials.twitter`, `speakers[1].email`; `""`
/// is the whole payload), the same as the whole payload's errors at or under that path.
///
/// `value` is the field's JSON text (`None`: the field is not given); `context` the JSON
/// text of the payload or of any part of it holding the member [`field_context`] names
/// (`None` or a non-object: no context). The payload checked is the context with `value` at
/// `path` (objects and arrays on the way are made when the context has none).
///
/// ```
/// use onboard_shared::{validate_field_json, Code, PayloadKind};
/// let errors = validate_field_json(PayloadKind::User, "email", Some(r#""jane@""#), None);
/// assert_eq!((errors[0].field.as_str(), errors[0].code), ("email", Code::EmailInvalid));
/// let attendee = Some(r#"{"type": "Attendee"}"#);
/// let errors = validate_field_json(PayloadKind::User, "options.highlight", Some("true"), attendee);
/// assert_eq!(errors[0].code, Code::SpeakerOnly);
/// ```
pub fn validate_field_json(
    kind: PayloadKind,
    path: &str,
    value: Option<&str>,
    context: Option<&str>,
) -> Vec<FieldError> {
    validate_field(kind, path, value.map(FormValue::Json), context)
}

/// A field's value as a form holds it: a string as is, or the JSON text of any value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormValue<'a> {
    /// A string, as typed (no JSON quoting): a keystroke's usual value.
    Text(&'a str),
    /// Any value as JSON text (`"jane@"`, `true`, `3`, `null`, `["a"]`).
    Json(&'a str),
}

/// [`validate_field_json`] with the value as a form holds it (the npm package's
/// `validateField`): a string is neither quoted nor parsed.
///
/// ```
/// use onboard_shared::{validate_field, Code, FormValue, PayloadKind};
/// let errors = validate_field(PayloadKind::User, "email", Some(FormValue::Text("jane@")), None);
/// assert_eq!((errors[0].field.as_str(), errors[0].code), ("email", Code::EmailInvalid));
/// ```
pub fn validate_field(
    kind: PayloadKind,
    path: &str,
    value: Option<FormValue<'_>>,
    context: Option<&str>,
) -> Vec<FieldError> {
    // A keystroke's usual case: a text field's own rule on the text.
    let text = match value {
        Some(FormValue::Text(s)) => Some(s),
        _ => None,
    };
    if kind == PayloadKind::User
        && !matches!(value, Some(FormValue::Json(_)))
        && let Some(errors) = own_rule(path, text)
    {
        return errors;
    }
    let value = match value {
        None => None,
        Some(FormValue::Text(s)) => Some(Json::Str(Cow::Borrowed(s))),
        Some(FormValue::Json(text)) => match parse(text) {
            Ok(v) => Some(v),
            Err(errors) => return errors,
        },
    };
    let payload = if path.is_empty() {
        // The whole payload: the value is it.
        value.unwrap_or(Json::Null)
    } else {
        let context = match context.map(parse).transpose() {
            Ok(c) => c,
            Err(errors) => return errors,
        };
        let known = |key: &str| match kind {
            PayloadKind::User => user::is_field(key),
            PayloadKind::Sponsor => sponsor::is_field(key),
        };
        let Some(steps) = steps(path, known) else {
            return vec![FieldError::new(
                path,
                Code::UnknownField,
                "Is not a known field.",
            )];
        };
        place(context.unwrap_or(Json::Null), &steps, value)
    };
    match kind {
        PayloadKind::User => user::user_errors_at(path, &payload),
        PayloadKind::Sponsor => sponsor::sponsor_errors_at(path, &payload),
    }
}

/// The errors of a user field whose rules read nothing but its value (`user::field_errors`),
/// given as text or not given; `None` for any other path.
fn own_rule(path: &str, text: Option<&str>) -> Option<Vec<FieldError>> {
    // The field alone in the object its rule reads it from: the payload, or `socials`
    // (`socials.twitter` is `twitter` there). Not given: an empty object.
    let b = path.as_bytes();
    let mut start = b.len();
    while start > 0 && b[start - 1] != b'.' {
        start -= 1;
    }
    let key = &path[start..];
    let holder = doc::object(match text {
        Some(s) => vec![(Cow::Borrowed(key), Json::Str(Cow::Borrowed(s)))],
        None => Vec::new(),
    });
    match &holder {
        Json::Object(obj) => user::field_errors(path, obj),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Json<'_>, Vec<FieldError>> {
    crate::parse_doc(text).map_err(|e| vec![crate::json_field_error(&e)])
}

/// One step of a path: a member of an object, or an item of an array.
enum Step<'p> {
    Key(&'p str),
    Item(usize),
}

/// `speakers[1].email` as `speakers`, 1, `email`; `None` for text that is not such a path.
/// A path that does not start with a field of the payload is one unknown member (`a.b`):
/// nothing inside an unknown member is checked, so no error path goes below one.
fn steps<'p>(path: &'p str, known: impl Fn(&str) -> bool) -> Option<Vec<Step<'p>>> {
    if !known(top(path)) {
        return Some(vec![Step::Key(path)]);
    }
    // A byte loop rather than `split`: this is on every keystroke, and each pattern type of
    // `split` is its own code in the wasm package.
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(4);
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && b[i] != b'.' && b[i] != b'[' {
            i += 1;
        }
        if i == start {
            return None;
        }
        out.push(Step::Key(&path[start..i]));
        while i < b.len() && b[i] == b'[' {
            i += 1;
            let mut n: usize = 0;
            let digits = i;
            while i < b.len() && b[i].is_ascii_digit() {
                n = n.checked_mul(10)?.checked_add(usize::from(b[i] - b'0'))?;
                i += 1;
            }
            if i == digits || b.get(i) != Some(&b']') {
                return None;
            }
            i += 1;
            out.push(Step::Item(n));
        }
        match b.get(i) {
            None => return Some(out),
            Some(b'.') => i += 1,
            Some(_) => return None,
        }
    }
}

/// The first member of a path: `speakers` of `speakers[1].email`.
fn top(path: &str) -> &str {
    // A byte loop: the iterator's `position` was three times the code in the wasm package.
    let b = path.as_bytes();
    let mut end = 0;
    while end < b.len() && b[end] != b'.' && b[end] != b'[' {
        end += 1;
    }
    &path[..end]
}

/// `node` with `value` at `steps` (removed there when `None`); a node on the way that is not
/// the object or array the step needs is replaced by an empty one.
fn place<'a>(node: Json<'a>, steps: &[Step<'a>], value: Option<Json<'a>>) -> Json<'a> {
    let Some((step, rest)) = steps.split_first() else {
        return value.unwrap_or(Json::Null);
    };
    match *step {
        Step::Key(key) => {
            let mut members = match node {
                Json::Object(m) => m.into_members(),
                _ => Vec::new(),
            };
            let at = members.iter().position(|(k, _)| k.as_ref() == key);
            match (at, value.is_none() && rest.is_empty()) {
                (Some(i), true) => drop(members.remove(i)),
                (None, true) => {}
                (Some(i), false) => {
                    let old = std::mem::replace(&mut members[i].1, Json::Null);
                    members[i].1 = place(old, rest, value);
                }
                (None, false) => members.push((Cow::Borrowed(key), place(Json::Null, rest, value))),
            }
            doc::object(members)
        }
        Step::Item(i) => {
            let mut items = match node {
                Json::Array(items) => items,
                _ => Vec::new(),
            };
            if items.len() <= i {
                items.resize_with(i + 1, || Json::Null);
            }
            let old = std::mem::replace(&mut items[i], Json::Null);
            items[i] = place(old, rest, value);
            Json::Array(items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{FIELDS, FieldKind};
    use serde_json::{Value, json};

    /// Driven by the catalogue: every user field a form types text into whose rules need no
    /// context goes straight to its own rule (`own_rule`), any other takes the whole check;
    /// and on texts valid and not, the own rule's answer is the whole payload's errors on the
    /// path (tests/field.rs checks the same on every corpus case and path).
    #[test]
    fn every_text_field_of_the_catalogue_has_its_own_rule() {
        let long = "y".repeat(300);
        let texts = [
            None,
            Some(""),
            Some(" \u{200b} "),
            Some("x"),
            Some(" Jane "),
            Some("jane@domain.com"),
            Some("jane@"),
            Some("https://domain.com/x"),
            Some("http://domain.com"),
            Some("Europe/Paris"),
            Some("Speaker"),
            Some("Student"),
            Some("jane.doe"),
            Some("a\u{0}b"),
            Some("line\nbreak"),
            Some(long.as_str()),
        ];
        let mut fast = 0;
        for f in FIELDS.iter().filter(|f| f.kind != FieldKind::FullName) {
            let text_kind = !matches!(f.kind, FieldKind::Tags | FieldKind::Flag);
            let alone = field_context(PayloadKind::User, f.path).is_none();
            for text in texts {
                let own = own_rule(f.path, text);
                assert_eq!(own.is_some(), text_kind && alone, "{}", f.path);
                let Some(errors) = own else { continue };
                fast += 1;
                // The whole payload holding that text (or not) at the path.
                let mut payload = json!({});
                if let Some(text) = text {
                    let mut at = &mut payload;
                    for key in f.path.split('.') {
                        at = &mut at[key];
                    }
                    *at = Value::from(text);
                }
                let whole = crate::validate_user_json(&payload.to_string());
                let want: Vec<_> = whole.into_iter().filter(|e| e.field == f.path).collect();
                assert_eq!(errors, want, "{} = {text:?}", f.path);
            }
        }
        assert!(fast > 200, "{fast}");
    }
}
