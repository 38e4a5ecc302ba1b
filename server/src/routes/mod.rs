//! The HTTP surface: one module per resource, each owning its filters, handlers and
//! wire types. This module composes them and holds the filters they share (state,
//! authentication + rate limit, JSON bodies, pagination).
//!
//! Filter order matters: path, then method, then auth, so an unknown path is a 404 and a
//! known path with the wrong method a 405, never a 401.

pub mod health;
pub mod keys;
pub mod openapi;
pub mod sponsors;
pub mod tags;
pub mod users;
pub mod web;

use crate::auth::{self, Caller, Need};
use crate::error::{ApiError, BODY_LIMIT, handle_rejection};
use crate::store::{Page, parse_id};
use crate::transport::ClientAddr;
use crate::{AppState, request};
use bytes::{Buf, BufMut, BytesMut};
use futures_util::{Stream, StreamExt};
use onboard_shared::{Code, ERRORS_MAX, FieldError, too_many_errors};
use serde_json::Value;
use std::collections::HashSet;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection};

/// Every route, with the one rejection handler at the end.
pub fn routes(state: Arc<AppState>, web_dir: PathBuf) -> BoxedFilter<(Response,)> {
    health::routes(state.clone())
        .or(openapi::routes())
        .unify()
        .or(users::routes(state.clone()))
        .unify()
        .or(sponsors::routes(state.clone()))
        .unify()
        .or(tags::routes(state.clone()))
        .unify()
        .or(keys::routes(state))
        .unify()
        .or(web::routes(web_dir))
        .unify()
        .recover(handle_rejection)
        .unify()
        .boxed()
}

pub fn with_state(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Arc<AppState>,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// Authenticates the caller for `need`, then takes one token from its rate-limit bucket.
pub fn authed(
    state: Arc<AppState>,
    need: Need,
) -> impl Filter<Extract = (Caller,), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and(warp::ext::optional::<ClientAddr>())
        .and(with_state(state))
        .and_then(
            move |headers: HeaderMap, client: Option<ClientAddr>, state: Arc<AppState>| async move {
                let header = auth::authorization(&headers).map_err(warp::reject::custom)?;
                let caller = auth::authenticate(
                    &state.store,
                    &state.keys,
                    &state.auth_failures,
                    client.map(|c| c.0.ip()),
                    header,
                    need,
                )
                .await?;
                request::set_key_id(caller.key_id.to_hex());
                match state.limiter.check(&caller.key_id.to_hex()) {
                    Ok(Some(info)) => request::set_rate(info),
                    Ok(None) => {}
                    Err(info) => {
                        request::set_rate(info);
                        return Err(warp::reject::custom(ApiError::RateLimited(info)));
                    }
                }
                Ok::<_, Rejection>(caller)
            },
        )
}

/// A JSON body: `Content-Type: application/json` (415 otherwise), at most 1 MiB (413),
/// parsed strictly by the rulebook's `parse_json` (400 `invalid_json` with line/column).
pub fn json_body() -> impl Filter<Extract = (Value,), Error = Rejection> + Clone {
    json_body_limited(BODY_LIMIT)
}

/// [`json_body`] with another size limit in bytes.
pub fn json_body_limited(limit: u64) -> impl Filter<Extract = (Value,), Error = Rejection> + Clone {
    // Raw header values: a Content-Type that is not even text is simply not JSON (415),
    // not a header error that warp would let another route's 405 outrank.
    warp::header::value("content-type")
        .map(Some)
        .or(warp::any().map(|| None))
        .unify()
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .and_then(
            move |ctype: Option<HeaderValue>, length: Option<u64>, body| async move {
                if !is_json(ctype.as_ref().and_then(|v| v.to_str().ok())) {
                    return Err(warp::reject::custom(ApiError::UnsupportedMediaType));
                }
                // Refuse a declared oversize body without reading it; count chunked ones.
                if length.is_some_and(|n| n > limit) {
                    return Err(warp::reject::custom(ApiError::PayloadTooLarge(limit)));
                }
                let bytes = read_capped(body, limit)
                    .await
                    .map_err(warp::reject::custom)?;
                let text = std::str::from_utf8(&bytes).map_err(|e| {
                    warp::reject::custom(ApiError::InvalidJson(onboard_shared::JsonError {
                        line: 1,
                        column: 1,
                        message: format!("body is not valid UTF-8 (byte {})", e.valid_up_to()),
                    }))
                })?;
                onboard_shared::parse_json(text)
                    .map_err(|e| warp::reject::custom(ApiError::InvalidJson(e)))
            },
        )
}

fn is_json(ctype: Option<&str>) -> bool {
    let Some(ctype) = ctype else { return false };
    let essence = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_capped<S, B>(body: S, limit: u64) -> Result<BytesMut, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = std::pin::pin!(body);
    let mut out = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::InvalidJson(onboard_shared::JsonError {
                line: 1,
                column: 1,
                message: format!("the body could not be read ({e})"),
            })
        })?;
        if out.len() as u64 + chunk.remaining() as u64 > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        out.put(chunk);
    }
    Ok(out)
}

/// Query parameters as ordered pairs (an absent query string is no parameters).
pub fn query_pairs() -> impl Filter<Extract = (Vec<(String, String)>,), Error = Infallible> + Clone
{
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .map(|raw: String| {
            form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect()
        })
}

/// Validated query parameters: the allowed names, plus `limit` (1..=100, default 20)
/// and `after` (a 24-hex id from a previous page's `next`). Unknown names are errors,
/// as unknown body fields are.
pub struct Query {
    pub page: Page,
    pub values: Vec<(String, String)>,
}

/// Keeps one more error than the rulebook's cap, so the caller knows to cap the list.
fn note(errors: &mut Vec<FieldError>, e: FieldError) {
    if errors.len() <= ERRORS_MAX {
        errors.push(e);
    }
}

pub const LIMIT_DEFAULT: i64 = 20;
pub const LIMIT_MAX: i64 = 100;

impl Query {
    pub fn parse(pairs: Vec<(String, String)>, allowed: &[&str]) -> Result<Query, ApiError> {
        let mut errors = Vec::new();
        let mut page = Page {
            limit: LIMIT_DEFAULT,
            after: None,
        };
        let mut values = Vec::new();
        // A set: a long query of distinct names must not cost a scan per name.
        let mut seen: HashSet<String> = HashSet::new();
        for (k, v) in pairs {
            if seen.contains(&k) {
                note(
                    &mut errors,
                    FieldError::new(k.clone(), Code::WrongType, "Is given more than once."),
                );
                continue;
            }
            seen.insert(k.clone());
            match k.as_str() {
                "limit" => match v.parse::<i64>() {
                    Ok(n) if (1..=LIMIT_MAX).contains(&n) => page.limit = n,
                    Ok(_) => note(
                        &mut errors,
                        FieldError::new(
                            "limit",
                            Code::OutOfRange,
                            format!("Must be between 1 and {LIMIT_MAX}."),
                        ),
                    ),
                    Err(_) => note(
                        &mut errors,
                        FieldError::new("limit", Code::NotInteger, "Must be a whole number."),
                    ),
                },
                "after" => match parse_id(&v) {
                    Some(id) => page.after = Some(id),
                    None => note(
                        &mut errors,
                        FieldError::new(
                            "after",
                            Code::WrongType,
                            "Must be the `next` cursor of a previous page (24 hex characters).",
                        ),
                    ),
                },
                name if allowed.contains(&name) => values.push((k, v)),
                _ => note(
                    &mut errors,
                    FieldError::new(
                        k.clone(),
                        Code::UnknownField,
                        "Is not a parameter of this list.",
                    ),
                ),
            }
        }
        if errors.len() > ERRORS_MAX {
            errors.truncate(ERRORS_MAX);
            errors.push(too_many_errors());
        }
        if errors.is_empty() {
            Ok(Query { page, values })
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `{items, next}`: the shape of every list.
#[derive(serde::Serialize)]
pub struct List<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// RFC 3339 with milliseconds, UTC: `2024-04-23T12:00:00.000Z`.
pub fn rfc3339(d: mongodb::bson::DateTime) -> String {
    d.try_to_rfc3339_string().unwrap_or_default()
}
