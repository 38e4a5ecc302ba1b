//! Tags: `GET /v1/tags`. Tags are created by user and speaker payloads, never directly.

use super::{List, Query, Request, json};
use crate::domain::tags;
use crate::error::ApiError;
use warp::http::StatusCode;
use warp::reply::Response;

/// GET /v1/tags?limit=&after=
pub(super) async fn list(r: Request) -> Result<Response, ApiError> {
    let q = Query::parse(&r)?;
    let (items, next) = tags::list(&r.state, q.page).await?;
    Ok(json(StatusCode::OK, &List { items, next }))
}
