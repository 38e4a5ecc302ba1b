//! Webhooks: `POST/GET /v1/webhooks`, `GET/PATCH/DELETE /v1/webhooks/{id}`,
//! `POST /v1/webhooks/{id}/rotate-secret`, `GET /v1/webhooks/{id}/deliveries`,
//! `POST /v1/webhooks/{id}/deliveries/{deliveryId}/retry`. Standard keys manage them;
//! restricted keys read them (never a secret).

use super::{List, Query, Request, created, json, no_content};
use crate::domain::webhooks;
use crate::error::ApiError;
use onboard_shared::{check_webhook, check_webhook_patch};
use warp::http::StatusCode;
use warp::reply::Response;

/// POST /v1/webhooks with `{url, events?, description?}`: 201, the only time the secret
/// is shown.
pub(super) async fn create(r: Request) -> Result<Response, ApiError> {
    let new =
        check_webhook(&r.body, r.state.webhooks.allow_private).map_err(ApiError::Validation)?;
    let hook = webhooks::create(&r.state, new).await?;
    Ok(created(
        format!("/v1/webhooks/{}", hook.webhook_id()),
        &hook,
    ))
}

/// GET /v1/webhooks?limit=&after=
pub(super) async fn list(r: Request) -> Result<Response, ApiError> {
    let q = Query::parse(&r)?;
    let (items, next) = webhooks::list(&r.state, q.page).await?;
    Ok(json(StatusCode::OK, &List { items, next }))
}

/// GET /v1/webhooks/{id}
pub(super) async fn get_one(r: Request) -> Result<Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        &webhooks::get(&r.state, r.id()).await?,
    ))
}

/// PATCH /v1/webhooks/{id} with a merge patch of `url`, `events`, `description`, `disabled`.
pub(super) async fn patch(r: Request) -> Result<Response, ApiError> {
    let patch = check_webhook_patch(&r.body, r.state.webhooks.allow_private)
        .map_err(ApiError::Validation)?;
    Ok(json(
        StatusCode::OK,
        &webhooks::update(&r.state, r.id(), patch).await?,
    ))
}

/// DELETE /v1/webhooks/{id}: 204; nothing more is sent to it.
pub(super) async fn delete(r: Request) -> Result<Response, ApiError> {
    webhooks::delete(&r.state, r.id()).await?;
    Ok(no_content())
}

/// POST /v1/webhooks/{id}/rotate-secret: the new secret, shown once.
pub(super) async fn rotate_secret(r: Request) -> Result<Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        &webhooks::rotate_secret(&r.state, r.id()).await?,
    ))
}

/// GET /v1/webhooks/{id}/deliveries?limit=&after=
pub(super) async fn deliveries(r: Request) -> Result<Response, ApiError> {
    let q = Query::parse(&r)?;
    let (items, next) = webhooks::deliveries(&r.state, r.id(), q.page).await?;
    Ok(json(StatusCode::OK, &List { items, next }))
}

/// POST /v1/webhooks/{id}/deliveries/{deliveryId}/retry: 202, sent again soon.
pub(super) async fn retry(r: Request) -> Result<Response, ApiError> {
    let d = webhooks::retry(&r.state, r.id(), r.second_id()).await?;
    Ok(json(StatusCode::ACCEPTED, &d))
}
