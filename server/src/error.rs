//! The one error type of the HTTP layer. Every failure, from a bad header to a lost
//! database, becomes an [`ApiError`] (domain and store errors convert with `From`, here and
//! nowhere else); its `Reply` is the only place that decides a status code and a body
//! (`{code, message, errors?}`). Internal details are logged with the request id and never
//! sent to the client.

use crate::domain::DomainError;
use crate::passwords::HashError;
use crate::rate_limit::RateInfo;
use crate::request;
use crate::store::StoreError;
use onboard_shared::{Code, FieldError, JsonError};
use serde::Serialize;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("invalid JSON: {0}")]
    InvalidJson(JsonError),
    #[error("validation failed ({} errors)", .0.len())]
    Validation(Vec<FieldError>),
    /// A request the HTTP layer cannot use (a header sent twice, bytes that are not
    /// text); the message says which.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("missing Authorization header")]
    MissingAuth,
    #[error("invalid API key")]
    InvalidKey,
    #[error("insufficient permissions")]
    Forbidden,
    /// What was not found: "User", "Sponsor", "API key", or "Route".
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The path exists; the `Allow` header lists its methods.
    #[error("method not allowed")]
    MethodNotAllowed(String),
    #[error("conflict")]
    Conflict(Vec<FieldError>),
    /// `If-Match` names a version the record is no longer at.
    #[error("precondition failed")]
    PreconditionFailed,
    /// `DELETE` of the configured key: the setting defines it.
    #[error("the configured key cannot be deleted through the API")]
    KeyConfigured,
    /// `POST /v1/keys` when this many keys exist already.
    #[error("too many API keys (max {0})")]
    TooManyKeys(u64),
    /// The body is larger than this many bytes.
    #[error("payload too large")]
    PayloadTooLarge(u64),
    /// More items than one request may carry (`POST /v1/users/bulk`).
    #[error("too many items ({got} > {max})")]
    TooManyItems { max: usize, got: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("rate limited")]
    RateLimited(RateInfo),
    /// The request body did not arrive within the body timeout.
    #[error("request timeout")]
    RequestTimeout,
    /// The request target is longer than the server reads.
    #[error("URI too long")]
    UriTooLong,
    /// The request's headers are more or larger than the server reads.
    #[error("headers too large")]
    HeadersTooLarge,
    /// The `Idempotency-Key` was used before with another request.
    #[error("idempotency key reused with another request")]
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` is still running.
    #[error("idempotency key in flight")]
    IdempotencyInFlight,
    #[error("overloaded")]
    Overloaded,
    #[error("database unavailable")]
    DatabaseUnavailable,
    /// The detail is for the logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Error)]
pub(crate) struct ErrorBody<'a> {
    code: ErrorCode,
    message: String,
    /// The rulebook's field errors (`validation_failed`, `conflict`, `invalid_json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::openapi::field_errors)]
    errors: Option<&'a [FieldError]>,
}

/// The `code` of an error body: what went wrong, for programs to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorCode {
    InvalidJson,
    ValidationFailed,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    KeyConfigured,
    TooManyKeys,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    IdempotencyKeyReused,
    IdempotencyInFlight,
    RequestTimeout,
    UriTooLong,
    HeadersTooLarge,
    Overloaded,
    DatabaseUnavailable,
    Internal,
}

/// Largest accepted request body.
pub(crate) const BODY_LIMIT: u64 = 1024 * 1024;

/// Largest body of `POST /v1/users/bulk`: 1,000 rows with long descriptions exceed 1 MiB.
pub(crate) const BULK_BODY_LIMIT: u64 = 8 * 1024 * 1024;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::Transient(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::DatabaseUnavailable
            }
            StoreError::Duplicate(_) | StoreError::Other(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Overloaded => ApiError::Overloaded,
            HashError::Stopped | HashError::Failed(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(errors) => ApiError::Validation(errors),
            DomainError::Conflict(errors) => ApiError::Conflict(errors),
            DomainError::NotFound(what) => ApiError::NotFound(what),
            DomainError::PreconditionFailed => ApiError::PreconditionFailed,
            DomainError::KeyConfigured => ApiError::KeyConfigured,
            DomainError::TooManyKeys(max) => ApiError::TooManyKeys(max),
            DomainError::Hash(e) => e.into(),
            DomainError::Store(e) => e.into(),
            DomainError::Busy(detail) => {
                tracing::warn!(error = %detail, "a change ran out of attempts");
                ApiError::DatabaseUnavailable
            }
            DomainError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl warp::Reply for ApiError {
    fn into_response(self) -> Response {
        self.to_response()
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::Validation(_) | ApiError::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::MissingAuth | ApiError::InvalidKey => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::KeyConfigured | ApiError::TooManyKeys(_) => {
                StatusCode::CONFLICT
            }
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::IdempotencyInFlight => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) | ApiError::TooManyItems { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UriTooLong => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::Overloaded | ApiError::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code of the body.
    fn code(&self) -> ErrorCode {
        match self {
            ApiError::InvalidJson(_) => ErrorCode::InvalidJson,
            ApiError::Validation(_) => ErrorCode::ValidationFailed,
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::MissingAuth | ApiError::InvalidKey => ErrorCode::Unauthorized,
            ApiError::Forbidden => ErrorCode::Forbidden,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::PreconditionFailed => ErrorCode::PreconditionFailed,
            ApiError::KeyConfigured => ErrorCode::KeyConfigured,
            ApiError::TooManyKeys(_) => ErrorCode::TooManyKeys,
            ApiError::PayloadTooLarge(_) | ApiError::TooManyItems { .. } => {
                ErrorCode::PayloadTooLarge
            }
            ApiError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ApiError::RateLimited(_) => ErrorCode::RateLimited,
            ApiError::RequestTimeout => ErrorCode::RequestTimeout,
            ApiError::UriTooLong => ErrorCode::UriTooLong,
            ApiError::HeadersTooLarge => ErrorCode::HeadersTooLarge,
            ApiError::Overloaded => ErrorCode::Overloaded,
            ApiError::DatabaseUnavailable => ErrorCode::DatabaseUnavailable,
            ApiError::Internal(_) => ErrorCode::Internal,
            ApiError::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            ApiError::IdempotencyInFlight => ErrorCode::IdempotencyInFlight,
        }
    }

    /// The human message of the body (never an internal detail).
    pub(crate) fn message(&self) -> String {
        match self {
            ApiError::InvalidJson(e) => format!("Invalid JSON: {e}."),
            ApiError::Validation(errors) => match errors.len() {
                1 => "The request has 1 invalid field.".to_string(),
                n => format!("The request has {n} invalid fields."),
            },
            ApiError::BadRequest(why) => (*why).to_string(),
            ApiError::MissingAuth => "Missing Authorization header".to_string(),
            ApiError::InvalidKey => "Invalid API key".to_string(),
            ApiError::Forbidden => "Access denied: Insufficient permissions.".to_string(),
            ApiError::NotFound("Route") => "No route matches this path.".to_string(),
            ApiError::NotFound(what) => format!("{what} not found."),
            ApiError::MethodNotAllowed(_) => "This method is not allowed on this path.".to_string(),
            ApiError::Conflict(_) => "A unique value is already taken.".to_string(),
            ApiError::PreconditionFailed => {
                "The record changed since the version in If-Match: read it again, then retry."
                    .to_string()
            }
            ApiError::KeyConfigured => "This is the configured key (ONBOARD_API_KEY): to revoke it, change or unset that setting and restart the server.".to_string(),
            ApiError::TooManyKeys(max) => format!(
                "At most {max} API keys may exist (ONBOARD_MAX_KEYS): delete keys no longer used first."
            ),
            ApiError::PayloadTooLarge(limit) => {
                format!("The request body is larger than {limit} bytes.")
            }
            ApiError::TooManyItems { max, got } => format!(
                "At most {max} users per request, this one has {got}: send them in several requests."
            ),
            ApiError::UnsupportedMediaType => {
                "The request body must be JSON (Content-Type: application/json).".to_string()
            }
            ApiError::RateLimited(_) => "Too many requests, please try again later.".to_string(),
            ApiError::RequestTimeout => {
                "The request body did not arrive in time; send it again.".to_string()
            }
            ApiError::UriTooLong => "The request path and query are too long.".to_string(),
            ApiError::HeadersTooLarge => {
                "The request headers are too many or too large.".to_string()
            }
            ApiError::IdempotencyKeyReused => "This Idempotency-Key was used with another request: use a new key for a new request.".to_string(),
            ApiError::IdempotencyInFlight => "A request with this Idempotency-Key is still being processed: retry shortly.".to_string(),
            ApiError::Overloaded => "The server is busy, please retry shortly.".to_string(),
            ApiError::DatabaseUnavailable => {
                "The database is unavailable, please retry shortly.".to_string()
            }
            ApiError::Internal(_) => format!(
                "Internal server error. Quote request id {} when reporting it.",
                request::current_id()
            ),
        }
    }

    /// The HTTP response. Internal errors are logged here, once, with the request id.
    fn to_response(&self) -> Response {
        if let ApiError::Internal(detail) = self {
            tracing::error!(request_id = %request::current_id(), error = %detail, "internal error");
        }
        if let ApiError::Overloaded = self {
            crate::metrics::get().overloaded();
        }
        let json_error;
        let errors = match self {
            ApiError::Validation(e) | ApiError::Conflict(e) => Some(e.as_slice()),
            // The same single error the wasm package reports for unparsable text, so the
            // browser and the server agree on field paths and codes for every input.
            ApiError::InvalidJson(e) => {
                json_error = [FieldError::new(
                    "",
                    Code::InvalidJson,
                    format!("Invalid JSON: {e}."),
                )];
                Some(&json_error[..])
            }
            _ => None,
        };
        let body = ErrorBody {
            code: self.code(),
            message: self.message(),
            errors,
        };
        let mut res = json_response(self.status(), &body);
        let headers = res.headers_mut();
        match self {
            ApiError::RateLimited(info) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(info.retry_after.max(1)),
                );
            }
            ApiError::Overloaded | ApiError::IdempotencyInFlight => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::DatabaseUnavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::MethodNotAllowed(allow) => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    headers.insert(header::ALLOW, v);
                }
            }
            _ => {}
        }
        res
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = Response::new(bytes.into());
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// The last stop of a request that neither the route table nor the static page answered:
/// a path that does not exist (the route table answers every other error itself).
pub(crate) async fn handle_rejection(
    r: warp::Rejection,
) -> Result<Response, std::convert::Infallible> {
    let e = if r.is_not_found() {
        ApiError::NotFound("Route")
    } else {
        ApiError::Internal(format!("unhandled rejection: {r:?}"))
    };
    Ok(e.to_response())
}
