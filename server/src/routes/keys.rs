//! API keys: `POST /v1/keys`, `GET /v1/keys`, `DELETE /v1/keys/{id}`. Standard keys only.

use super::{List, Query, Request, created, json};
use crate::domain::keys;
use crate::error::ApiError;
use onboard_shared::check_key_request;
use warp::http::StatusCode;
use warp::reply::Response;

/// POST /v1/keys with `{description, privilege}`: 201, the only time the key is shown.
pub(super) async fn create(r: Request) -> Result<Response, ApiError> {
    let request = check_key_request(&r.body).map_err(ApiError::Validation)?;
    let key = keys::create(&r.state, request).await?;
    Ok(created(format!("/v1/keys/{}", key.id), &key))
}

/// GET /v1/keys?limit=&after=
pub(super) async fn list(r: Request) -> Result<Response, ApiError> {
    let q = Query::parse(&r)?;
    let (items, next) = keys::list(&r.state, q.page).await?;
    Ok(json(StatusCode::OK, &List { items, next }))
}

/// DELETE /v1/keys/{id}: 204; the key stops working at once on this instance.
pub(super) async fn delete(r: Request) -> Result<Response, ApiError> {
    keys::delete(&r.state, r.id()).await?;
    Ok(super::no_content())
}
