//! Per-request context: the request id (in every response's `x-request-id`, in every log
//! line of the request and in 500 bodies) and the rate-limit state to report in headers.
//!
//! It lives in a tokio task-local set around warp's service, so code deep in a handler or
//! in the rejection handler can reach it without threading it through every filter.

use crate::rate_limit::RateInfo;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub(crate) struct RequestCtx {
    pub(crate) id: String,
    pub(crate) method: String,
    pub(crate) path: String,
    rate: Mutex<Option<RateInfo>>,
    /// The authenticated key's id (never the key), for the request's log line.
    key_id: Mutex<Option<String>>,
}

tokio::task_local! {
    static CURRENT: Arc<RequestCtx>;
}

impl RequestCtx {
    pub(crate) fn new(method: &str, path: &str) -> Arc<Self> {
        Arc::new(RequestCtx {
            id: new_id(),
            method: method.to_string(),
            path: path.to_string(),
            rate: Mutex::new(None),
            key_id: Mutex::new(None),
        })
    }

    pub(crate) fn rate(&self) -> Option<RateInfo> {
        *self.rate.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn key_id(&self) -> Option<String> {
        self.key_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs `fut` with this context as the current one.
    pub(crate) async fn scope<F: std::future::Future>(self: Arc<Self>, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }
}

/// 32 hex characters: unique enough to find one request in the logs.
fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The current request's id ("-" outside a request).
pub(crate) fn current_id() -> String {
    CURRENT
        .try_with(|c| c.id.clone())
        .unwrap_or_else(|_| "-".to_string())
}

/// Records the rate-limit state so the response carries `RateLimit-*` headers.
pub(crate) fn set_rate(info: RateInfo) {
    let _ = CURRENT.try_with(|c| *c.rate.lock().unwrap_or_else(|p| p.into_inner()) = Some(info));
}

/// Records which key is acting, so the request's log line says who wrote what.
pub(crate) fn set_key_id(id: String) {
    let _ = CURRENT.try_with(|c| *c.key_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(id));
}
