//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers too).

use super::{Request, json};
use crate::domain;
use crate::error::ApiError;
use serde::Serialize;
use std::time::Duration;
use warp::http::StatusCode;
use warp::reply::Response;

/// The body of both probes.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Health {
    status: &'static str,
}

const OK: Health = Health { status: "ok" };

/// GET /healthz
pub(super) async fn healthz(_: Request) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &OK))
}

/// GET /readyz
pub(super) async fn readyz(r: Request) -> Result<Response, ApiError> {
    // Shorter than a load balancer's probe timeout, so the probe sees a clean 503.
    match tokio::time::timeout(Duration::from_secs(2), domain::ready(&r.state)).await {
        Ok(Ok(())) => Ok(json(StatusCode::OK, &OK)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            Err(ApiError::DatabaseUnavailable)
        }
        Err(_) => Err(ApiError::DatabaseUnavailable),
    }
}
