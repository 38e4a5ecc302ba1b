//! The browser defences every response carries (finding 11 of issue 17).
//!
//! The page gets a Content-Security-Policy that allows only its own files: no inline
//! script or style, no `eval` (`'wasm-unsafe-eval'` only, which compiling the rulebook's
//! WebAssembly needs), no framing. API answers get `no-store` (they carry generated
//! passwords and keys, which no cache may keep) and a policy that allows nothing, since
//! JSON is never a document to render.

use warp::http::{HeaderMap, HeaderValue, header};

/// The page's policy. `img-src data:` is the empty favicon in `index.html`.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Everything that is not the page: nothing to load, nothing to frame.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Paths outside `/v1` that are API answers too.
const API_PATHS: [&str; 3] = ["/healthz", "/readyz", "/openapi.json"];

/// True when `path` (with the response's content type) is an API answer rather than one
/// of the page's static files.
pub(crate) fn is_api(path: &str, headers: &HeaderMap) -> bool {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.contains("+json"));
    json || path == "/v1" || path.starts_with("/v1/") || API_PATHS.contains(&path)
}

/// Adds the security headers to a response for `path`.
pub(crate) fn secure(path: &str, headers: &mut HeaderMap) {
    let api = is_api(path, headers);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        );
    } else {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    }
}
