//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers too).

use super::{Request, json};
use crate::domain;
use crate::error::ApiError;
use serde_json::json;
use std::time::Duration;
use warp::http::StatusCode;
use warp::reply::Response;

/// GET /healthz
pub(super) async fn healthz(_: Request) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &json!({ "status": "ok" })))
}

/// GET /readyz
pub(super) async fn readyz(r: Request) -> Result<Response, ApiError> {
    // Shorter than a load balancer's probe timeout, so the probe sees a clean 503.
    match tokio::time::timeout(Duration::from_secs(2), domain::ready(&r.state)).await {
        Ok(Ok(())) => Ok(json(StatusCode::OK, &json!({ "status": "ok" }))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            Err(ApiError::DatabaseUnavailable)
        }
        Err(_) => Err(ApiError::DatabaseUnavailable),
    }
}
