//! `GET /` and other non-API paths: the web page's static build (`web/dist` by default).
//! When the directory or file does not exist, or the path could name no file (a control
//! byte, bytes that are not UTF-8), these paths are plain 404s.

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::reply::{Reply, Response};

pub(super) fn routes(dir: std::path::PathBuf) -> BoxedFilter<(Response,)> {
    // `warp::get()` would reject other methods with 405, and warp prefers a 405 over the
    // other routes' 404s: `POST /nope` must stay a 404, so mismatches here are "not found".
    let get_outside_api = warp::method()
        .and(warp::path::peek())
        .and_then(|m: Method, p: warp::path::Peek| async move {
            if (m == Method::GET || m == Method::HEAD)
                && !p.as_str().starts_with("v1")
                && !has_control_bytes(p.as_str())
            {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            }
        })
        .untuple_one();
    let index = dir.join("index.html");
    let root = warp::path::end()
        .and(get_outside_api)
        .and(warp::fs::file(index))
        .map(|f: warp::fs::File| f.into_response());
    let files = get_outside_api
        .and(warp::fs::dir(dir))
        .map(|f: warp::fs::File| f.into_response());
    root.or(files).unify().boxed()
}

/// True when the percent-decoded path holds a control byte (`%00`, `%0a`...) or is not
/// UTF-8. No file of the page is named so, and the file system refuses such names with an
/// error that is not "not found".
fn has_control_bytes(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            decoded.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    decoded.iter().any(|b| b.is_ascii_control()) || std::str::from_utf8(&decoded).is_err()
}
