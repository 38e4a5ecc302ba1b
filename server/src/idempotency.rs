//! `Idempotency-Key` on the creating routes (Stripe's semantics, the IETF
//! draft-ietf-httpapi-idempotency-key-header status codes).
//!
//! The first request with a key claims it in the `idempotency` collection (the `_id`
//! index settles races between instances), runs, and stores its status and body for 24
//! hours. The same key with the same request then gets that answer again, from any
//! instance, with `Idempotent-Replayed: true`; with another body a 422
//! `idempotency_key_reused`; while the first still runs a 409 `idempotency_in_flight`.
//! A 400 or a 5xx is not stored: the request was not acted on (or not surely), so the
//! same key may be sent again.
//!
//! The record is found by SHA-256 of (API key id, Idempotency-Key) and its answer is
//! sealed with AES-256-GCM under a key derived by HKDF-SHA256 from the Idempotency-Key:
//! an answer carrying a generated password is unreadable to whoever reads the database
//! without the client's Idempotency-Key.

use crate::AppState;
use crate::error::ApiError;
use crate::store::idempotency::{self as records, Claim, Record};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use http_body_util::BodyExt;
use mongodb::bson::{DateTime, oid::ObjectId};
use onboard_shared::{Code, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::Duration;
use warp::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use warp::reply::{Reply, Response};

/// The request header.
pub(crate) const HEADER: &str = "Idempotency-Key";
/// The response header of a replayed answer.
pub(crate) const REPLAYED: &str = "Idempotent-Replayed";
/// The longest key accepted.
pub(crate) const MAX_LEN: usize = 255;

/// The routes that honour the header (method, path template).
pub(crate) const ROUTES: &[(Method, &str)] = &[
    (Method::POST, "/v1/users"),
    (Method::POST, "/v1/users/bulk"),
    (Method::POST, "/v1/users/{id}/password"),
    (Method::POST, "/v1/sponsors"),
    (Method::POST, "/v1/sponsors/{id}/speakers"),
];

/// A running claim older than this belongs to an instance that died mid-request: it is
/// dropped and the request runs again. Far longer than any request (a 1,000-row bulk
/// takes seconds).
const STALE: Duration = Duration::from_secs(10 * 60);

/// Whether the route honours `Idempotency-Key`.
pub(crate) fn applies(method: &Method, template: &str) -> bool {
    ROUTES.iter().any(|(m, t)| m == method && *t == template)
}

/// The request's `Idempotency-Key`: absent, or 1-255 visible ASCII characters (a 400
/// otherwise).
pub(crate) fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bad = |message: &str| {
        ApiError::Validation(vec![FieldError::new(
            HEADER,
            Code::InvalidCharacters,
            message,
        )])
    };
    if values.next().is_some() {
        return Err(bad("Send one Idempotency-Key header, not several."));
    }
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_LEN {
        return Err(ApiError::Validation(vec![FieldError::new(
            HEADER,
            if bytes.is_empty() {
                Code::Blank
            } else {
                Code::TooLong
            },
            format!("Must be 1 to {MAX_LEN} characters."),
        )]));
    }
    if !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(bad(
            "Must be visible ASCII characters only (no spaces), such as a UUID.",
        ));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// The sealed part of a stored answer.
#[derive(Serialize, Deserialize)]
struct Answer {
    headers: Vec<(String, String)>,
    body: String,
}

/// The headers an answer keeps (the rest are set per response).
const KEPT: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The record id: SHA-256 of the API key id and the Idempotency-Key.
fn record_id(key_id: &ObjectId, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"onboard idempotency record\0");
    h.update(key_id.bytes());
    h.update(key.as_bytes());
    hex(&h.finalize())
}

/// What makes two requests "the same": method, path and body.
fn fingerprint(method: &Method, path: &str, body: &Value) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(serde_json::to_vec(body).unwrap_or_default());
    hex(&h.finalize())
}

fn cipher(key_id: &ObjectId, key: &str) -> Aes256Gcm {
    let hk = Hkdf::<Sha256>::new(Some(&key_id.bytes()), key.as_bytes());
    let mut okm = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
    let _ = hk.expand(b"onboard idempotency answer v1", &mut okm);
    Aes256Gcm::new(&okm.into())
}

/// Runs `handler` under `key` for the caller `key_id`, or answers from the stored record.
pub(crate) async fn run<F>(
    state: &AppState,
    key_id: ObjectId,
    key: &str,
    method: &Method,
    path: &str,
    body: &Value,
    handler: F,
) -> Result<Response, ApiError>
where
    F: Future<Output = Result<Response, ApiError>>,
{
    let id = record_id(&key_id, key);
    let print = fingerprint(method, path, body);
    let mut claim = records::claim(&state.store, &id, &print).await?;
    if let Claim::Taken(found) = &claim
        && found.status.is_none()
        && found.fingerprint == print
        && is_stale(found)
    {
        let before =
            DateTime::from_millis(DateTime::now().timestamp_millis() - STALE.as_millis() as i64);
        records::drop_stale(&state.store, &id, before).await?;
        claim = records::claim(&state.store, &id, &print).await?;
    }
    match claim {
        Claim::Taken(found) => replay(&found, &print, &key_id, key),
        Claim::Mine => {
            let res = handler.await.unwrap_or_else(Reply::into_response);
            store_answer(state, &id, &key_id, key, res).await
        }
    }
}

fn is_stale(found: &Record) -> bool {
    DateTime::now().timestamp_millis() - found.created_at.timestamp_millis()
        > STALE.as_millis() as i64
}

/// Stores the handler's answer (unless a 400 or a 5xx) and returns it.
async fn store_answer(
    state: &AppState,
    id: &str,
    key_id: &ObjectId,
    key: &str,
    res: Response,
) -> Result<Response, ApiError> {
    let status = res.status();
    if status == StatusCode::BAD_REQUEST || status.is_server_error() {
        if let Err(e) = records::release(&state.store, id).await {
            tracing::warn!(error = %e, "an idempotency claim could not be released");
        }
        return Ok(res);
    }
    let (parts, body) = res.into_parts();
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => return Err(ApiError::Internal(format!("reading an answer: {e}"))),
    };
    let answer = Answer {
        headers: KEPT
            .iter()
            .filter_map(|n| {
                let v = parts.headers.get(n)?.to_str().ok()?;
                Some((n.as_str().to_string(), v.to_string()))
            })
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    let nonce: [u8; 12] = rand::random();
    let plain = serde_json::to_vec(&answer).unwrap_or_default();
    let sealed = cipher(key_id, key)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: id.as_bytes(),
            },
        )
        .map_err(|_| ApiError::Internal("sealing an idempotent answer failed".into()))?;
    // The request has been acted on: if the answer cannot be stored, the client still gets
    // it, and a retry with the same key would find the claim running until it is stale.
    if let Err(e) = records::finish(&state.store, id, status.as_u16(), nonce.to_vec(), sealed).await
    {
        tracing::warn!(error = %e, "an idempotent answer could not be stored");
    }
    Ok(Response::from_parts(parts, bytes.into()))
}

/// The answer to a request whose key was claimed before.
fn replay(found: &Record, print: &str, key_id: &ObjectId, key: &str) -> Result<Response, ApiError> {
    if found.fingerprint != print {
        return Err(ApiError::IdempotencyKeyReused);
    }
    let (Some(status), Some(nonce), Some(sealed)) = (found.status, &found.nonce, &found.sealed)
    else {
        return Err(ApiError::IdempotencyInFlight);
    };
    if nonce.bytes.len() != 12 {
        return Err(ApiError::Internal(
            "a stored idempotent answer is malformed".into(),
        ));
    }
    let plain = cipher(key_id, key)
        .decrypt(
            Nonce::from_slice(&nonce.bytes),
            Payload {
                msg: &sealed.bytes,
                aad: found.id.as_bytes(),
            },
        )
        .map_err(|_| ApiError::Internal("a stored idempotent answer does not open".into()))?;
    let answer: Answer = serde_json::from_slice(&plain)
        .map_err(|e| ApiError::Internal(format!("a stored idempotent answer: {e}")))?;
    let mut res = Response::new(answer.body.into());
    *res.status_mut() = StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in answer.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            res.headers_mut().insert(n, v);
        }
    }
    res.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    crate::metrics::get().idempotent_replay();
    Ok(res)
}
