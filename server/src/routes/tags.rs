//! Tags: `GET /v1/tags`. Tags are created by user and speaker payloads, never directly.

use super::{List, Query, authed, query_pairs, with_state};
use crate::auth::{Caller, Need};
use crate::error::{ApiError, json_response};
use crate::{AppState, store};
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    warp::path!("v1" / "tags")
        .and(warp::get())
        .and(authed(state.clone(), Need::Read))
        .and(query_pairs())
        .and(with_state(state))
        .and_then(list)
        .boxed()
}

#[derive(Serialize)]
struct TagOut {
    id: String,
    name: String,
}

/// GET /v1/tags?limit=&after=
async fn list(
    _caller: Caller,
    pairs: Vec<(String, String)>,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    let result = async {
        let q = Query::parse(pairs, &[])?;
        let (tags, next) = store::tags::list(&state.store, q.page).await?;
        let items: Vec<TagOut> = tags
            .into_iter()
            .map(|t| TagOut {
                id: t.id.to_hex(),
                name: t.name,
            })
            .collect();
        Ok::<_, ApiError>(json_response(StatusCode::OK, &List { items, next }))
    };
    Ok(result.await.unwrap_or_else(|e| e.to_response()))
}
