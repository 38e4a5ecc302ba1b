//! `GET /openapi.json`: the OpenAPI 3.1 document of every route (see `crate::openapi`).

use super::{Request, json};
use crate::error::ApiError;
use serde_json::Value;
use std::sync::OnceLock;
use warp::http::StatusCode;
use warp::reply::Response;

/// GET /openapi.json
pub(super) async fn document(_: Request) -> Result<Response, ApiError> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Ok(json(
        StatusCode::OK,
        DOCUMENT.get_or_init(crate::openapi::document),
    ))
}
