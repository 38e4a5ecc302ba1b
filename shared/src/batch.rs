//! Bulk imports: many user payloads checked together, so duplicates inside one file are
//! caught before anything is sent.

use crate::error::{BULK_ERRORS_MAX, Code, ERRORS_MAX, FieldError, cap_errors};
use crate::node::{Kind, Node, Object};
use crate::rules::normalize_email;
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
    check_rows(rows, UserDraft::into_owned)
}

/// Only the errors of [`check_users`], one list per row, on any document.
pub(crate) fn rows_errors<N: Node>(rows: &[N]) -> Vec<Vec<FieldError>> {
    check_rows(rows, |_| ())
        .into_iter()
        .map(|r| r.err().unwrap_or_default())
        .collect()
}

fn check_rows<'v, N: Node, T>(
    rows: &'v [N],
    mut finish: impl FnMut(UserDraft<'v>) -> T,
) -> Vec<Result<T, Vec<FieldError>>> {
    // Sorted, for binary search: a HashSet would bring hashbrown and SipHash into the wasm
    // package for a list of at most BULK_MAX addresses.
    let mut seen: Vec<String> = Vec::with_capacity(rows.len());
    let mut budget = BULK_ERRORS_MAX;
    rows.iter()
        .map(|row| {
            let result = check_user_node(row);
            // A row with an invalid e-mail cannot be a duplicate; a valid one claims its
            // address even when other fields fail, so the report names the first occurrence.
            let email = match &result {
                Ok(user) => Some(user.email),
                Err(errors) if !errors.iter().any(|e| e.field == "email") => raw_email(row),
                Err(_) => None,
            };
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
            let result = result.map(&mut finish);
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

/// The row's `email` as given, if it is a string.
fn raw_email<N: Node>(row: &N) -> Option<&str> {
    let Kind::Object(obj) = row.kind() else {
        return None;
    };
    match obj.get("email")?.kind() {
        Kind::Str(s) => Some(s),
        _ => None,
    }
}
