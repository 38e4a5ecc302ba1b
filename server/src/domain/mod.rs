//! What the API does, apart from HTTP: one module per resource. A domain function takes a
//! typed input (a payload the rulebook already parsed: `NewUser`, `NewSponsor`, `NewKey`;
//! an id; a filter), does the reads and writes through `store`, and returns a typed result
//! or a [`DomainError`]. It never sees a request or builds a response, and never reads a
//! driver error (the store classifies them).
//!
//! Every write of a resource goes through its module here (`users::create`,
//! `users::create_many`, `sponsors::create`...), so a rule that must hold for every write,
//! or anything that must happen after one, has one place to go.

pub(crate) mod keys;
pub(crate) mod sponsors;
pub(crate) mod tags;
pub(crate) mod users;
pub(crate) mod webhooks;

use crate::AppState;
use crate::passwords::HashError;
use crate::store::StoreError;
use mongodb::bson::{DateTime, oid::ObjectId};
use onboard_shared::{Code, FieldError};

pub(crate) use crate::store::Page;

/// Why a domain operation did not happen.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DomainError {
    /// The input breaks a rule that needs the database to see (a new speaker without
    /// names); the rulebook's own errors never get this far.
    #[error("invalid ({} errors)", .0.len())]
    Invalid(Vec<FieldError>),
    /// A unique value is taken (`email_taken`, `username_taken`, `slug_taken`).
    #[error("conflict")]
    Conflict(Vec<FieldError>),
    /// What was not found: "User", "Sponsor", "API key".
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The configured key cannot be deleted: its setting (`ONBOARD_API_KEY`) defines it.
    #[error("the configured key cannot be deleted")]
    KeyConfigured,
    /// This many API keys exist already (`ONBOARD_MAX_KEYS`).
    #[error("too many API keys (max {0})")]
    TooManyKeys(u64),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `If-Match` names a version the record is no longer at.
    #[error("precondition failed")]
    PreconditionFailed,
    /// Other writes of the record got in first every time this change tried (it ran out
    /// of attempts): a 503, safe to send again. The detail is for the logs only.
    #[error("busy: {0}")]
    Busy(String),
    /// A broken invariant; the detail is for the logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    /// A conflict on one field.
    pub(crate) fn conflict(field: impl Into<String>, code: Code) -> Self {
        let message = match code {
            Code::EmailTaken => "This email is already used by another user.",
            Code::UsernameTaken => "This username is already taken.",
            Code::SlugTaken => "This slug is already used by another sponsor.",
            _ => "This value is already taken.",
        };
        DomainError::Conflict(vec![FieldError::new(field, code, message)])
    }
}

/// The versions a conditional change (`If-Match`) accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum IfMatch {
    /// No condition: the last write wins.
    #[default]
    Unconditional,
    /// `*`: any version of an existing record.
    Any,
    /// Only these versions (empty: none can match, e.g. a tag this server never gave).
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Whether a record at `version` may change.
    pub(crate) fn allows(&self, version: i64) -> bool {
        match self {
            IfMatch::Unconditional | IfMatch::Any => true,
            IfMatch::Versions(v) => v.contains(&version),
        }
    }

    /// Whether the change must happen at the version that was checked.
    pub(crate) fn is_conditional(&self) -> bool {
        matches!(self, IfMatch::Versions(_))
    }
}

/// An id from a URL: anything but 24 hex characters cannot exist, so it is `what` not found.
fn id(s: &str, what: &'static str) -> Result<ObjectId, DomainError> {
    crate::store::parse_id(s).ok_or(DomainError::NotFound(what))
}

/// How many times one change runs when its transaction keeps meeting others' writes.
const CONFLICT_RUNS: u32 = 16;

impl crate::store::Conflict for DomainError {
    fn is_conflict(&self) -> bool {
        matches!(self, DomainError::Store(StoreError::Transient(_)))
    }
}

/// Runs `change` (one whole transaction: its reads, its writes and its commit) and runs it
/// again when it met another transaction's write, up to [`CONFLICT_RUNS`] times; then the
/// error stands (503). See [`crate::store::rerun_on_conflict`].
pub(crate) async fn rerun_on_conflict<T, F, Fut>(change: F) -> Result<T, DomainError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DomainError>>,
{
    crate::store::rerun_on_conflict(CONFLICT_RUNS, change).await
}

/// A page cursor (`after`): a 24-hex id, or `None` when it cannot be one.
pub(crate) fn cursor(s: &str) -> Option<ObjectId> {
    crate::store::parse_id(s)
}

/// RFC 3339 with milliseconds, UTC: `2024-04-23T12:00:00.000Z`.
fn rfc3339(d: DateTime) -> String {
    d.try_to_rfc3339_string().unwrap_or_default()
}

/// Whether the database answers (`/readyz`).
pub(crate) async fn ready(state: &AppState) -> Result<(), DomainError> {
    Ok(state.store.ping().await?)
}
