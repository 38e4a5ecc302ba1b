//! `GET /` and other non-API paths: the web page's static build (`web/dist` by default).
//! When the directory or file does not exist these paths are plain 404s.

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
            if (m == Method::GET || m == Method::HEAD) && !p.as_str().starts_with("v1") {
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
