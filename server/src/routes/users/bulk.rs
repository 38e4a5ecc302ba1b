//! `POST /v1/users/bulk`: up to [`BULK_MAX`] user payloads in one request, each row on
//! its own. The answer is always 200 with one result per row, in request order:
//!
//! - `invalid`: the rulebook's errors for the row (including `duplicate_in_batch` for an
//!   e-mail seen in an earlier row), or `username_taken` on `username` for a chosen
//!   username that belongs to another user: the row's data must change, so retrying the
//!   same row can never succeed;
//! - `exists`: the e-mail is already a user (case-insensitively); nothing changes, which is
//!   what makes re-sending a whole file safe;
//! - `created`: a new user with its generated password, shown only here;
//! - `failed`: the server could not store the row (database down, hashing pool saturated
//!   for over a minute); sending the row again is safe.
//!
//! Rows are hashed concurrently, twice the pool's size at a time, so hashing keeps every
//! core busy while other rows are written. A row waits for room in the pool's queue
//! instead of failing with `overloaded`: the request takes as long as the hashing takes.

use super::insert_new_user;
use crate::AppState;
use crate::auth::{Caller, Need};
use crate::error::{ApiError, BULK_BODY_LIMIT, json_response};
use crate::routes::{authed, json_body_limited, with_state};
use crate::store::{self, tags};
use futures_util::StreamExt;
use mongodb::bson::oid::ObjectId;
use onboard_shared::{
    BULK_MAX, Code, FieldError, NewUser, PasswordPolicy, check_users, normalize_email,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

/// How long one row waits for room in a full hashing queue before it is `failed`.
const HASH_PATIENCE: Duration = Duration::from_secs(60);

pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    warp::path!("v1" / "users" / "bulk")
        .and(warp::post())
        .and(authed(state.clone(), Need::Write))
        .and(json_body_limited(BULK_BODY_LIMIT))
        .and(with_state(state))
        .and_then(bulk)
        .boxed()
}

/// The 200 body.
#[derive(Serialize)]
struct BulkResult {
    code: &'static str,
    counts: Counts,
    results: Vec<Row>,
}

#[derive(Serialize, Default)]
struct Counts {
    created: usize,
    exists: usize,
    invalid: usize,
    failed: usize,
}

#[derive(Serialize)]
struct Row {
    index: usize,
    #[serde(flatten)]
    outcome: Outcome,
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Outcome {
    Created {
        id: String,
        email: String,
        password: String,
    },
    Exists {
        id: String,
        email: String,
    },
    Invalid {
        errors: Vec<FieldError>,
    },
    Failed {
        error: String,
    },
}

/// POST /v1/users/bulk with `{"users": [...]}`
async fn bulk(_caller: Caller, body: Value, state: Arc<AppState>) -> Result<Response, Infallible> {
    Ok(match import(&state, body).await {
        Ok(result) => json_response(StatusCode::OK, &result),
        Err(e) => e.to_response(),
    })
}

/// The `users` array of the body; anything else in the envelope is a 400, more than
/// [`BULK_MAX`] rows a 413.
fn rows_of(body: Value) -> Result<Vec<Value>, ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::Validation(vec![FieldError::new(
            "",
            Code::WrongType,
            "Must be an object with a `users` array.",
        )]));
    };
    let mut errors: Vec<FieldError> = map
        .keys()
        .filter(|k| k.as_str() != "users")
        .map(|k| {
            FieldError::new(
                k.clone(),
                Code::UnknownField,
                "Is not a field of this request.",
            )
        })
        .collect();
    let rows = match map.remove("users") {
        Some(Value::Array(rows)) => Some(rows),
        None | Some(Value::Null) => {
            errors.push(FieldError::new("users", Code::Required, "Is required."));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                "users",
                Code::WrongType,
                "Must be an array of users.",
            ));
            None
        }
    };
    match rows {
        Some(rows) if errors.is_empty() => {
            if rows.len() > BULK_MAX {
                return Err(ApiError::TooManyItems {
                    max: BULK_MAX,
                    got: rows.len(),
                });
            }
            Ok(rows)
        }
        _ => Err(ApiError::Validation(errors)),
    }
}

async fn import(state: &AppState, body: Value) -> Result<BulkResult, ApiError> {
    let rows = rows_of(body)?;
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(rows.len());
    let mut valid: Vec<(usize, NewUser)> = Vec::new();
    for (i, checked) in check_users(&rows).into_iter().enumerate() {
        match checked {
            Ok(user) => {
                valid.push((i, user));
                outcomes.push(None);
            }
            Err(errors) => outcomes.push(Some(Outcome::Invalid { errors })),
        }
    }
    drop(rows);

    // One query finds every row whose e-mail is already a user. A user created between
    // this read and a row's insert is caught by the unique index and reported the same way.
    let norms: Vec<String> = valid
        .iter()
        .map(|(_, u)| normalize_email(&u.email))
        .collect();
    let existing: HashMap<String, (ObjectId, String)> =
        store::users::find_by_emails(&state.store, &norms)
            .await?
            .into_iter()
            .map(|u| (u.email_norm, (u.id, u.email)))
            .collect();
    let mut to_create = Vec::with_capacity(valid.len());
    for ((i, user), norm) in valid.into_iter().zip(&norms) {
        match existing.get(norm) {
            Some((id, email)) => {
                outcomes[i] = Some(Outcome::Exists {
                    id: id.to_hex(),
                    email: email.clone(),
                })
            }
            None => to_create.push((i, user)),
        }
    }

    // Each distinct tag is upserted once for the batch (the same upsert as single
    // creates) and its id stored with the user in the insert itself. Nothing is written
    // yet if this fails, so the whole request fails and can simply be sent again.
    let tag_ids = upsert_tags(state, &to_create).await?;

    let concurrency = (state.passwords.workers() * 2).max(1);
    let created: Vec<(usize, Outcome)> = futures_util::stream::iter(to_create)
        .map(|(i, user)| {
            let ids: Vec<ObjectId> = user
                .tags
                .iter()
                .filter_map(|t| tag_ids.get(&tags::tag_key(t)).copied())
                .collect();
            async move { (i, create_row(state, &user, ids).await) }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (i, outcome) in created {
        outcomes[i] = Some(outcome);
    }

    let mut counts = Counts::default();
    let results: Vec<Row> = outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| {
            let outcome = outcome.unwrap_or_else(|| Outcome::Failed {
                error: "The row was not processed.".into(),
            });
            match outcome {
                Outcome::Created { .. } => counts.created += 1,
                Outcome::Exists { .. } => counts.exists += 1,
                Outcome::Invalid { .. } => counts.invalid += 1,
                Outcome::Failed { .. } => counts.failed += 1,
            }
            Row { index, outcome }
        })
        .collect();
    tracing::info!(
        created = counts.created,
        exists = counts.exists,
        invalid = counts.invalid,
        failed = counts.failed,
        "bulk import"
    );
    Ok(BulkResult {
        code: "ok",
        counts,
        results,
    })
}

async fn upsert_tags(
    state: &AppState,
    rows: &[(usize, NewUser)],
) -> Result<HashMap<String, ObjectId>, ApiError> {
    let mut names: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for (_, user) in rows {
        for tag in &user.tags {
            let key = tags::tag_key(tag);
            if !keys.contains(&key) {
                keys.push(key);
                names.push(tag.clone());
            }
        }
    }
    let ids = tags::upsert_many(&state.store, &names).await?;
    Ok(keys.into_iter().zip(ids).collect())
}

async fn create_row(state: &AppState, user: &NewUser, tag_ids: Vec<ObjectId>) -> Outcome {
    let password = PasswordPolicy::default().generate();
    let hash = match state.passwords.hash_within(&password, HASH_PATIENCE).await {
        Ok(hash) => hash,
        Err(e) => return failed(&e),
    };
    match insert_new_user(state, user, hash, tag_ids).await {
        Ok(doc) => Outcome::Created {
            id: doc.id.to_hex(),
            email: doc.email,
            password,
        },
        Err(ApiError::Conflict(errors)) if errors.iter().any(|e| e.field == "email") => {
            // Created by someone else since the batch's lookup: the same answer as if it
            // had been there before.
            match store::users::find_by_emails(&state.store, &[normalize_email(&user.email)]).await
            {
                Ok(found) => match found.into_iter().next() {
                    Some(u) => Outcome::Exists {
                        id: u.id.to_hex(),
                        email: u.email,
                    },
                    None => failed(&ApiError::internal(
                        "e-mail reported taken but no user has it",
                    )),
                },
                Err(e) => failed(&e.into()),
            }
        }
        // A chosen username that belongs to someone else: the row must change.
        Err(ApiError::Conflict(errors)) => Outcome::Invalid { errors },
        Err(e) => failed(&e),
    }
}

/// A row the server could not store. Internal details go to the log only.
fn failed(e: &ApiError) -> Outcome {
    tracing::warn!(error = %e, "bulk row failed");
    Outcome::Failed { error: e.message() }
}
