//! Bulk imports: many user payloads checked together, so duplicates inside one file are
//! caught before anything is sent.

use crate::error::{BULK_ERRORS_MAX, Code, ERRORS_MAX, FieldError, cap_errors};
use crate::node::{Kind, Node, Object};
use crate::patch::{UserPatch, check_bulk_update};
use crate::rules::{Checker, is_valid_email, normalize_email};
use crate::user::{NewUser, UserDraft, check_user_node};
use serde_json::Value;

/// Most rows in one `POST /v1/users/bulk` request.
pub const BULK_MAX: usize = 1000;

/// Checks each row as [`check_user`](crate::check_user) does, in order, and marks every row whose e-mail
/// (case-insensitively) already appeared in an earlier row with `duplicate_in_batch` on
/// `email`. Error paths are relative to the row, as for a single user.
///
/// A row lists at most [`ERRORS_MAX`] errors, and the request at most [`BULK_ERRORS_MAX`]
/// over all rows: once they are spent, a row's list stops early with a `too_many_errors`
/// entry on `""` (an invalid row always has at least that one).
///
/// ```
/// use onboard_shared::{check_users, Code};
/// use serde_json::json;
/// let row = json!({"email": "a@b.co", "type": "Attendee", "firstName": "A", "lastName": "B"});
/// let results = check_users(&[row.clone(), row]);
/// assert!(results[0].is_ok());
/// assert_eq!(results[1].as_ref().unwrap_err()[0].code, Code::DuplicateInBatch);
/// ```
pub fn check_users(rows: &[Value]) -> Vec<Result<NewUser, Vec<FieldError>>> {
    check_rows(rows, |row| create_row(row, |u| u.into_owned()))
}

/// Only the errors of [`check_users`], one list per row, on any document.
pub(crate) fn rows_errors<N: Node>(rows: &[N]) -> Vec<Vec<FieldError>> {
    check_rows(rows, |row| create_row(row, |_| ()))
        .into_iter()
        .map(|r| r.err().unwrap_or_default())
        .collect()
}

/// The rows' results in order, each checked by `check`, which also says which e-mail the
/// row claims (a valid one, even when other fields fail, so the report names the first
/// occurrence); then duplicates and the caps.
fn check_rows<'v, N: Node, T>(
    rows: &'v [N],
    mut check: impl FnMut(&'v N) -> (Result<T, Vec<FieldError>>, Option<&'v str>),
) -> Vec<Result<T, Vec<FieldError>>> {
    // Sorted, for binary search: a HashSet would bring hashbrown and SipHash into the wasm
    // package for a list of at most BULK_MAX addresses.
    let mut seen: Vec<String> = Vec::with_capacity(rows.len());
    let mut budget = BULK_ERRORS_MAX;
    rows.iter()
        .map(|row| {
            let (result, email) = check(row);
            let duplicate = email.is_some_and(|e| {
                let key = normalize_email(e);
                match seen.binary_search(&key) {
                    Ok(_) => true,
                    Err(at) => {
                        seen.insert(at, key);
                        false
                    }
                }
            });
            let result = match duplicate {
                true => {
                    let dup = FieldError::new(
                        "email",
                        Code::DuplicateInBatch,
                        "This email already appears in an earlier row.",
                    );
                    match result {
                        Ok(_) => Err(vec![dup]),
                        Err(mut errors) => {
                            errors.insert(0, dup);
                            cap_errors(&mut errors);
                            Err(errors)
                        }
                    }
                }
                false => result,
            };
            result.map_err(|errors| spend(&mut budget, errors))
        })
        .collect()
}

/// A row checked as a create, and the e-mail it claims.
fn create_row<N: Node, T>(
    row: &N,
    finish: impl FnOnce(UserDraft<'_>) -> T,
) -> (Result<T, Vec<FieldError>>, Option<&str>) {
    match check_user_node(row) {
        Ok(user) => {
            let email = user.email;
            (Ok(finish(user)), Some(email))
        }
        Err(errors) => (Err(errors), row_email(row)),
    }
}

/// The message of a row cut by [`BULK_ERRORS_MAX`] (a literal: it sits in the wasm package).
pub(crate) const TOO_MANY_IN_REQUEST: &str =
    "The request has more problems than the 10,000 listed; fix those and send it again.";

/// A row's errors within what is left of the request's budget: cut, and ended with
/// `too_many_errors`, when they do not fit.
fn spend(budget: &mut usize, mut errors: Vec<FieldError>) -> Vec<FieldError> {
    debug_assert!(errors.len() <= ERRORS_MAX + 1);
    if errors.len() > *budget {
        errors.truncate(*budget);
        errors.retain(|e| e.code != Code::TooManyErrors);
        errors.push(FieldError::new(
            "",
            Code::TooManyErrors,
            TOO_MANY_IN_REQUEST,
        ));
    }
    *budget = budget.saturating_sub(errors.len());
    errors
}

/// The row's `email`, trimmed, when it is a valid address: the key a row is matched by,
/// for duplicates and (normalized) for an existing user.
fn row_email<N: Node>(row: &N) -> Option<&str> {
    let Kind::Object(obj) = row.kind() else {
        return None;
    };
    match obj.get("email")?.kind() {
        Kind::Str(s) => Some(s.trim()).filter(|e| is_valid_email(e)),
        _ => None,
    }
}

/// A row of a bulk request with `onExisting: "update"`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkRow {
    /// The e-mail is new: a user to create.
    Create(NewUser),
    /// The e-mail belongs to a user: the row is the patch of its non-empty cells
    /// ([`crate::check_bulk_update`]); [`UserPatch::status`] says `updated` or `unchanged`.
    Update(UserPatch),
}

/// The key to look a bulk row's user up by: its e-mail normalized ([`normalize_email`]),
/// when the row has a valid one. The server looks these up before
/// [`check_users_update`].
pub fn bulk_row_key(row: &Value) -> Option<String> {
    row_email(row).map(normalize_email)
}

/// [`check_users`] for `onExisting: "update"`: a row whose [`bulk_row_key`] finds a user
/// (`existing` gives it as `GET` returns it) is checked as an update of that user, so it
/// needs only the columns it changes; every other row as a create. Duplicates in the batch
/// and the caps on errors are as in [`check_users`].
///
/// ```
/// use onboard_shared::{BulkRow, check_users_update};
/// use serde_json::json;
/// let jane = json!({"email": "jane@domain.com", "type": "Attendee", "firstName": "Jane",
///     "lastName": "Doe", "username": "doe.jane#1234"});
/// let rows = [
///     json!({"email": "JANE@domain.com", "job": "Host"}),
///     json!({"email": "ann@domain.com", "type": "Attendee", "firstName": "Ann", "lastName": "Lee"}),
/// ];
/// let results = check_users_update(&rows, |key| (key == "jane@domain.com").then_some(&jane));
/// assert!(matches!(&results[0], Ok(BulkRow::Update(p)) if p.status() == "updated"));
/// assert!(matches!(&results[1], Ok(BulkRow::Create(u)) if u.first_name == "Ann"));
/// ```
pub fn check_users_update<'e>(
    rows: &[Value],
    existing: impl Fn(&str) -> Option<&'e Value>,
) -> Vec<Result<BulkRow, Vec<FieldError>>> {
    check_rows(rows, |row| {
        let email = row_email(row);
        match email.and_then(|e| existing(&normalize_email(e))) {
            Some(user) => (check_bulk_update(user, row).map(BulkRow::Update), email),
            None => create_row(row, |u| BulkRow::Create(u.into_owned())),
        }
    })
}

/// With `onExisting: "update"`: may a row that [`check_users`] refused (as a create) with
/// `errors` still be valid, as the update of the user its e-mail belongs to? Only the
/// server knows whether there is one, so an importer sends such a row and lets the server
/// judge. It may when every error is one the user's record answers: a field the row lacks
/// (`required`, but not on `email`, the key the user is found by), or `options.highlight`
/// with a type that is not Speaker (`speaker_only`: the row may give no type, and the user
/// may be a Speaker).
///
/// ```
/// use onboard_shared::{check_users, update_may_fix};
/// use serde_json::json;
/// let rows = [json!({"email": "jane@domain.com", "job": "Host"}), json!({"email": "nope", "job": "Host"})];
/// let results = check_users(&rows);
/// assert!(update_may_fix(results[0].as_ref().unwrap_err()));
/// assert!(!update_may_fix(results[1].as_ref().unwrap_err()));
/// ```
pub fn update_may_fix(errors: &[FieldError]) -> bool {
    !errors.is_empty() && errors.iter().all(|e| fixable(&e.field, e.code.as_str()))
}

/// [`update_may_fix`] on a row's errors as JSON text, as the npm package answers them (for
/// the page's Import tab); anything but an array of errors is `false`.
///
/// ```
/// use onboard_shared::update_may_fix_json;
/// assert!(update_may_fix_json(r#"[{"field": "type", "code": "required", "message": "."}]"#));
/// assert!(!update_may_fix_json(r#"[{"field": "email", "code": "duplicate_in_batch"}]"#));
/// assert!(!update_may_fix_json("[]"));
/// ```
pub fn update_may_fix_json(errors: &str) -> bool {
    let Ok(doc) = crate::parse_doc(errors) else {
        return false;
    };
    let Kind::Array(items) = doc.kind() else {
        return false;
    };
    !items.is_empty()
        && items.iter().all(|e| {
            let Kind::Object(obj) = e.kind() else {
                return false;
            };
            let text = |key: &str| match obj.get(key).map(Node::kind) {
                Some(Kind::Str(s)) => s,
                _ => "",
            };
            fixable(text("field"), text("code"))
        })
}

/// One error a user's stored record may answer (see [`update_may_fix`]).
fn fixable(field: &str, code: &str) -> bool {
    field != "email" && (code == Code::Required.as_str() || code == Code::SpeakerOnly.as_str())
}

/// `onExisting` of a bulk request: what a row whose e-mail already belongs to a user does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnExisting {
    /// Nothing changes; the row's status is `exists` (the default: re-sending a file is safe).
    #[default]
    Skip,
    /// The row is a patch of the user ([`check_users_update`]): `updated` or `unchanged`.
    Update,
    /// The row is `invalid` with `email_taken` on `email`.
    Fail,
}

/// The accepted `onExisting` values.
pub const ON_EXISTING: &[(&str, OnExisting)] = &[
    ("skip", OnExisting::Skip),
    ("update", OnExisting::Update),
    ("fail", OnExisting::Fail),
];

/// The body of `POST /v1/users/bulk`, checked: its rows (not yet checked) and its policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BulkRequest<'b> {
    pub users: &'b [Value],
    pub on_existing: OnExisting,
}

/// Checks the envelope of a bulk request, `{"users": [...], "onExisting"?: "skip" |
/// "update" | "fail"}` (`null` or absent is `skip`): `users` is `required` and an array,
/// `onExisting` one of the values (`invalid_choice`), other members `unknown_field` (capped
/// as a payload's errors are). The number of rows is the caller's to check ([`BULK_MAX`]:
/// the server answers 413).
///
/// ```
/// use onboard_shared::{check_bulk_request, Code, OnExisting};
/// use serde_json::json;
/// let body = json!({"users": [{}], "onExisting": "update"});
/// let req = check_bulk_request(&body).unwrap();
/// assert_eq!((req.users.len(), req.on_existing), (1, OnExisting::Update));
/// let errors = check_bulk_request(&json!({"users": {}, "onExisting": "merge"})).unwrap_err();
/// assert_eq!((errors[0].code, errors[1].code), (Code::WrongType, Code::InvalidChoice));
/// ```
pub fn check_bulk_request(body: &Value) -> Result<BulkRequest<'_>, Vec<FieldError>> {
    let Value::Object(obj) = body else {
        return Err(vec![FieldError::new(
            "",
            Code::WrongType,
            "Must be an object with a `users` array.",
        )]);
    };
    let mut c = Checker::default();
    c.unknown_fields("", obj, &["users", "onExisting"]);
    let users = match obj.get("users") {
        Some(Value::Array(rows)) => Some(rows.as_slice()),
        None | Some(Value::Null) => {
            c.push("users", Code::Required, "Is required.");
            None
        }
        Some(_) => {
            c.push("users", Code::WrongType, "Must be an array of users.");
            None
        }
    };
    let on_existing = c.choice(obj, "", "onExisting", false, ON_EXISTING);
    match users {
        Some(users) if c.errors.is_empty() => Ok(BulkRequest {
            users,
            on_existing: on_existing.unwrap_or_default(),
        }),
        _ => Err(c.errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes<T>(r: &Result<T, Vec<FieldError>>) -> Vec<(&str, Code)> {
        match r {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|e| (e.field.as_str(), e.code)).collect(),
        }
    }

    #[test]
    fn update_rows_need_only_their_columns_and_still_count_as_seen() {
        let jane = json!({"id": "x", "email": "jane@domain.com", "type": "Speaker",
            "firstName": "Jane", "lastName": "Doe", "username": "doe.jane#1234",
            "tags": ["Mentor"], "options": {"highlight": true}});
        let rows = [
            json!({"email": " Jane@Domain.com ", "tags": ["mentor"], "job": ""}),
            json!({"email": "ann@domain.com", "job": "Host"}),
            json!({"email": "jane@domain.com", "city": "Lyon"}),
            json!({"email": "jane@domain.com"}),
            json!({"email": "JANE@domain.com", "type": "Attendee", "website": "http://x.co"}),
            json!({"email": "bob@domain.com", "type": "Attendee", "firstName": "Bob", "lastName": "Li"}),
            json!({"email": "BOB@domain.com", "type": "Attendee", "firstName": "Bob", "lastName": "Li"}),
        ];
        let found = |key: &str| (key == "jane@domain.com").then_some(&jane);
        let results = check_users_update(&rows, found);
        assert!(matches!(&results[0], Ok(BulkRow::Update(p)) if p.status() == "unchanged"));
        assert_eq!(
            codes(&results[1]),
            [
                ("type", Code::Required),
                ("firstName", Code::Required),
                ("lastName", Code::Required)
            ]
        );
        assert_eq!(codes(&results[2]), [("email", Code::DuplicateInBatch)]);
        assert_eq!(codes(&results[3]), [("email", Code::DuplicateInBatch)]);
        assert_eq!(
            codes(&results[4]),
            [
                ("email", Code::DuplicateInBatch),
                ("website", Code::UrlNotHttps),
                ("options.highlight", Code::SpeakerOnly),
            ]
        );
        assert!(matches!(&results[5], Ok(BulkRow::Create(u)) if u.email == "bob@domain.com"));
        assert_eq!(codes(&results[6]), [("email", Code::DuplicateInBatch)]);
        // The same rows, each alone against Jane: the update ones pass or fail on their own.
        let alone = check_users_update(&rows[2..3], found);
        assert!(matches!(&alone[0], Ok(BulkRow::Update(p)) if p.changed == ["city"]));
        assert_eq!(bulk_row_key(&rows[0]).as_deref(), Some("jane@domain.com"));
        assert_eq!(bulk_row_key(&json!({"email": "nope"})), None);
    }
}

#[cfg(test)]
mod envelope_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelopes() {
        let ok = |body: Value| check_bulk_request(&body).map(|r| (r.users.len(), r.on_existing));
        assert_eq!(ok(json!({"users": []})), Ok((0, OnExisting::Skip)));
        assert_eq!(
            ok(json!({"users": [1], "onExisting": null})),
            Ok((1, OnExisting::Skip))
        );
        assert_eq!(
            ok(json!({"users": [], "onExisting": "fail"})),
            Ok((0, OnExisting::Fail))
        );
        let codes = |body: Value| -> Vec<(String, Code)> {
            check_bulk_request(&body)
                .unwrap_err()
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect()
        };
        assert_eq!(codes(json!([])), [(String::new(), Code::WrongType)]);
        assert_eq!(
            codes(json!({"onExisting": "Update", "x": 1})),
            [
                ("x".to_string(), Code::UnknownField),
                ("users".to_string(), Code::Required),
                ("onExisting".to_string(), Code::InvalidChoice),
            ]
        );
        // Issue 17, finding 3: an envelope of many unknown members is capped too.
        let mut body = serde_json::Map::new();
        for i in 0..50_000 {
            body.insert(format!("k{i}"), Value::Null);
        }
        let errors = check_bulk_request(&Value::Object(body)).unwrap_err();
        assert_eq!(errors.len(), ERRORS_MAX + 1);
        assert_eq!(errors[ERRORS_MAX].code, Code::TooManyErrors);
    }
}
