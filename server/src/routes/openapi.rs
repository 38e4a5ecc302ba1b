//! `GET /openapi.json`: the OpenAPI 3.1 document of every route (see `crate::openapi`).

use crate::error::json_response;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

pub fn routes() -> BoxedFilter<(Response,)> {
    let doc = std::sync::Arc::new(crate::openapi::document());
    warp::path!("openapi.json")
        .and(warp::get())
        .map(move || json_response(StatusCode::OK, &*doc))
        .boxed()
}
