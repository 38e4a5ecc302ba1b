//! Cross-origin access for frontends served elsewhere (`ONBOARD_CORS_ORIGINS`, finding 12
//! of issue 17). Exact origins only, no wildcard: an origin not listed gets no CORS
//! header at all, so the browser keeps the answer from its page. Keys travel in the
//! `Authorization` header, never in cookies, so credentials mode is not allowed.

use warp::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use warp::reply::Response;

/// Request headers a page on an allowed origin may send.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key, If-Match";
/// Methods a preflight may ask for.
pub const ALLOW_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";
/// Response headers such a page may read.
pub const EXPOSE_HEADERS: &str = "ETag, Location, Retry-After, RateLimit-Limit, \
RateLimit-Remaining, RateLimit-Reset, x-request-id, Idempotent-Replayed";
/// How long a browser may reuse a preflight's answer (seconds).
const MAX_AGE: &str = "600";

/// The allowed origins, exactly as a browser sends them (`https://app.example.com`).
#[derive(Debug, Clone, Default)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// From the setting's comma-separated list; blanks are ignored and a trailing `/` is
    /// dropped (a browser's `Origin` never has one).
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(origins: I) -> Self {
        Cors {
            origins: origins
                .into_iter()
                .map(|o| o.as_ref().trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect(),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.origins.is_empty()
    }

    /// The request's origin when it is one of the allowed ones.
    pub(crate) fn allowed(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|o| o == text)
            .then(|| origin.clone())
    }
}

/// True for a CORS preflight (not any OPTIONS request).
pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to an allowed origin's preflight: no key needed, nothing else runs.
pub(crate) fn preflight(origin: HeaderValue) -> Response {
    let mut res = Response::new(Vec::new().into());
    *res.status_mut() = StatusCode::NO_CONTENT;
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE),
    );
    res
}

/// Marks an actual (non-preflight) answer readable by the allowed `origin`.
pub(crate) fn expose(origin: Option<HeaderValue>, headers: &mut HeaderMap) {
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
}

/// Answers differ by `Origin` whenever CORS is on: caches must key on it.
pub(crate) fn vary(headers: &mut HeaderMap) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}
