//! API keys: `POST /v1/keys`, `GET /v1/keys`, `DELETE /v1/keys/{id}`. Standard keys only.

use super::{List, Query, authed, json_body, query_pairs, rfc3339, with_state};
use crate::AppState;
use crate::auth::{Caller, Need, Privilege, generate_key, hash_key};
use crate::error::{ApiError, json_response};
use crate::store::{self, parse_id};
use onboard_shared::{Code, FieldError};
use serde::Serialize;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let create = warp::path!("v1" / "keys")
        .and(warp::post())
        .and(authed(state.clone(), Need::Write))
        .and(json_body())
        .and(with_state(state.clone()))
        .and_then(create);
    let list = warp::path!("v1" / "keys")
        .and(warp::get())
        .and(authed(state.clone(), Need::Write))
        .and(query_pairs())
        .and(with_state(state.clone()))
        .and_then(list);
    let delete = warp::path!("v1" / "keys" / String)
        .and(warp::delete())
        .and(authed(state.clone(), Need::Write))
        .and(with_state(state))
        .and_then(delete);
    create.or(list).unify().or(delete).unify().boxed()
}

pub const DESCRIPTION_MAX: usize = 200;

/// A key as listed: never the key or its hash.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyOut {
    id: String,
    description: String,
    privilege: Privilege,
    created_at: String,
}

/// The 201 body: the only time the key is shown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyCreated {
    id: String,
    key: String,
    description: String,
    privilege: Privilege,
    created_at: String,
}

/// `{description, privilege}`: description required (1 to 200 characters), privilege
/// `standard` or `restricted` (default `restricted`: least privilege unless asked).
fn check_key_request(body: &Value) -> Result<(String, Privilege), Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            Code::WrongType,
            "Must be a JSON object.",
        )]);
    };
    let mut errors = Vec::new();
    for k in obj.keys() {
        if k != "description" && k != "privilege" {
            errors.push(FieldError::new(
                k.clone(),
                Code::UnknownField,
                "Is not a field of an API key.",
            ));
        }
    }
    let description = match obj.get("description") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "description",
                Code::Required,
                "Is required.",
            ));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.push(FieldError::new(
                "description",
                Code::Blank,
                "Must not be blank.",
            ));
            None
        }
        Some(Value::String(s)) if s.trim().chars().count() > DESCRIPTION_MAX => {
            errors.push(FieldError::new(
                "description",
                Code::TooLong,
                format!("Must be at most {DESCRIPTION_MAX} characters."),
            ));
            None
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            errors.push(FieldError::new(
                "description",
                Code::InvalidCharacters,
                "Must not contain control characters.",
            ));
            None
        }
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => {
            errors.push(FieldError::new(
                "description",
                Code::WrongType,
                "Must be a string.",
            ));
            None
        }
    };
    let privilege = match obj.get("privilege") {
        None | Some(Value::Null) => Some(Privilege::Restricted),
        Some(Value::String(s)) if s == "standard" => Some(Privilege::Standard),
        Some(Value::String(s)) if s == "restricted" => Some(Privilege::Restricted),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(
                "privilege",
                Code::InvalidChoice,
                "Must be standard or restricted.",
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                "privilege",
                Code::WrongType,
                "Must be a string.",
            ));
            None
        }
    };
    match (description, privilege) {
        (Some(d), Some(p)) if errors.is_empty() => Ok((d, p)),
        _ => Err(errors),
    }
}

/// POST /v1/keys with a JSON body
async fn create(
    _caller: Caller,
    body: Value,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    let result = async {
        let (description, privilege) = check_key_request(&body).map_err(ApiError::Validation)?;
        let key = generate_key();
        let hash = hash_key(&key);
        let doc = store::keys::insert_capped(
            &state.store,
            hash.clone(),
            description,
            privilege,
            state.max_keys,
        )
        .await?
        .ok_or(ApiError::TooManyKeys(state.max_keys))?;
        state.keys.put(
            hash,
            Caller {
                key_id: doc.id,
                privilege,
            },
        );
        tracing::info!(key_id = %doc.id, ?privilege, "API key created");
        let body = KeyCreated {
            id: doc.id.to_hex(),
            key,
            description: doc.description,
            privilege,
            created_at: rfc3339(doc.created_at),
        };
        let mut res = json_response(StatusCode::CREATED, &body);
        if let Ok(v) = HeaderValue::from_str(&format!("/v1/keys/{}", body.id)) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Ok::<_, ApiError>(res)
    };
    Ok(result.await.unwrap_or_else(|e| e.to_response()))
}

/// GET /v1/keys?limit=&after=
async fn list(
    _caller: Caller,
    pairs: Vec<(String, String)>,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    let result = async {
        let q = Query::parse(pairs, &[])?;
        let (keys, next) = store::keys::list(&state.store, q.page).await?;
        let items: Vec<KeyOut> = keys
            .into_iter()
            .map(|k| KeyOut {
                id: k.id.to_hex(),
                description: k.description,
                privilege: k.privilege,
                created_at: rfc3339(k.created_at),
            })
            .collect();
        Ok::<_, ApiError>(json_response(StatusCode::OK, &List { items, next }))
    };
    Ok(result.await.unwrap_or_else(|e| e.to_response()))
}

/// DELETE /v1/keys/{id}: 204; the key stops working at once on this instance. The
/// configured key: 409 (its setting defines it).
async fn delete(id: String, _caller: Caller, state: Arc<AppState>) -> Result<Response, Infallible> {
    let result = async {
        let id = parse_id(&id).ok_or(ApiError::NotFound("API key"))?;
        let Some(hash) = store::keys::delete(&state.store, id).await? else {
            return Err(if store::keys::is_configured(&state.store, id).await? {
                ApiError::KeyConfigured
            } else {
                ApiError::NotFound("API key")
            });
        };
        state.keys.evict(&hash);
        tracing::info!(key_id = %id, "API key deleted");
        let mut res = Response::new(Default::default());
        *res.status_mut() = StatusCode::NO_CONTENT;
        Ok::<_, ApiError>(res)
    };
    Ok(result.await.unwrap_or_else(|e| e.to_response()))
}
