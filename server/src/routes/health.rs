//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers too).

use crate::AppState;
use crate::error::{ApiError, json_response};
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| json_response(StatusCode::OK, &json!({ "status": "ok" })));
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(super::with_state(state))
        .and_then(readyz);
    healthz.or(readyz).unify().boxed()
}

/// GET /readyz
async fn readyz(state: Arc<AppState>) -> Result<Response, Infallible> {
    // Shorter than a load balancer's probe timeout, so the probe sees a clean 503.
    let ping = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    Ok(match ping {
        Ok(Ok(())) => json_response(StatusCode::OK, &json!({ "status": "ok" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            ApiError::DatabaseUnavailable.to_response()
        }
        Err(_) => ApiError::DatabaseUnavailable.to_response(),
    })
}
