//! The HTTP surface. [`ROUTES`] is the one route table: every method and path of the API,
//! what it needs (a key and its privilege, a JSON body and its size limit) and its handler.
//! The dispatcher reads it to answer a request, to answer 405 with the path's `Allow`, and
//! the OpenAPI document lists the same operations.
//!
//! A handler only translates HTTP: it reads the path, query and body it was given, calls
//! the rulebook to parse the payload into a typed value and a `domain` function to act,
//! and turns the typed result into a response. Its errors become responses in one place
//! ([`ApiError`]'s `Reply`).
//!
//! Order of checks: path, then method, then the key, then the body, so an unknown path is
//! a 404 and a known path with the wrong method a 405, never a 401.

pub(crate) mod health;
pub(crate) mod keys;
mod openapi;
pub(crate) mod sponsors;
pub(crate) mod tags;
pub(crate) mod users;
mod web;
pub(crate) mod webhooks;

use crate::auth::{self, Caller, Need};
use crate::domain::{IfMatch, Page, cursor};
use crate::error::{ApiError, BODY_LIMIT, BULK_BODY_LIMIT, handle_rejection};
use crate::rate_limit::Budget;
use crate::transport::ClientAddr;
use crate::{AppState, idempotency, request};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use mongodb::bson::oid::ObjectId;
use onboard_shared::{Code, ERRORS_MAX, FieldError, too_many_errors};
use serde_json::Value;
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

/// What a route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// No key (health checks, the OpenAPI document).
    Public,
    /// A key with this privilege.
    Key(Need),
}

/// The body a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// None: whatever is sent is not read.
    None,
    /// A JSON body of at most this many bytes.
    Json(u64),
}

/// What a handler is given.
pub(crate) struct Request {
    pub(crate) state: Arc<AppState>,
    /// The route being answered.
    pub(crate) route: &'static Route,
    /// The `{...}` segments of the path, in order.
    pub(crate) params: Vec<String>,
    /// The query string as ordered pairs.
    pub(crate) query: Vec<(String, String)>,
    /// The parsed body (`Null` for routes without one).
    pub(crate) body: Value,
    /// Who is calling (`None` on public routes).
    pub(crate) caller: Option<Caller>,
    pub(crate) headers: HeaderMap,
}

impl Request {
    /// The first path parameter (`{id}`).
    pub(crate) fn id(&self) -> &str {
        self.params.first().map_or("", String::as_str)
    }

    /// The calling key's id; only routes that need a key may ask.
    pub(crate) fn key_id(&self) -> Result<ObjectId, ApiError> {
        self.caller
            .map(|c| c.key_id)
            .ok_or_else(|| ApiError::Internal("a public route asked for the caller's key".into()))
    }

    /// The second path parameter (`{userId}`).
    pub(crate) fn second_id(&self) -> &str {
        self.params.get(1).map_or("", String::as_str)
    }

    /// The request's `If-Match`, parsed (see [`if_match`]).
    pub(crate) fn if_match(&self) -> Result<IfMatch, ApiError> {
        if_match(&self.headers)
    }
}

/// The `ETag` of a record at `version`: a strong entity tag, `"3"`.
pub(crate) fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// A JSON 200 with the record's `ETag`.
pub(crate) fn versioned<T: serde::Serialize>(body: &T, version: i64) -> Response {
    let mut res = json(StatusCode::OK, body);
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// `If-Match` (RFC 9110 13.1.1): absent, `*`, or a list of entity tags compared strongly
/// (a weak `W/"3"` never matches; a well-formed tag this server never gave matches
/// nothing, so the change is a 412). Anything that is not that syntax is a 400.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<IfMatch, ApiError> {
    let values: Vec<&HeaderValue> = headers.get_all(header::IF_MATCH).iter().collect();
    if values.is_empty() {
        return Ok(IfMatch::Unconditional);
    }
    let garbage = || {
        ApiError::Validation(vec![FieldError::new(
            "If-Match",
            Code::WrongType,
            "Must be `*` or the ETag of a previous answer, such as \"3\" (quotes included).",
        )])
    };
    let mut versions = Vec::new();
    let mut any = false;
    for value in values {
        let text = value.to_str().map_err(|_| garbage())?;
        let mut rest = text.trim();
        if rest == "*" {
            any = true;
            continue;
        }
        loop {
            let weak = rest.starts_with("W/");
            if weak {
                rest = &rest[2..];
            }
            let inner = rest.strip_prefix('"').ok_or_else(garbage)?;
            let end = inner.find('"').ok_or_else(garbage)?;
            let tag = &inner[..end];
            if tag.bytes().any(|b| b < 0x21 || b == 0x7f) {
                return Err(garbage());
            }
            if !weak && let Ok(v) = tag.parse::<i64>() {
                versions.push(v);
            }
            rest = inner[end + 1..].trim_start();
            if rest.is_empty() {
                break;
            }
            rest = rest.strip_prefix(',').ok_or_else(garbage)?.trim_start();
        }
    }
    Ok(if any {
        IfMatch::Any
    } else {
        IfMatch::Versions(versions)
    })
}

type Handler = fn(Request) -> BoxFuture<'static, Result<Response, ApiError>>;

/// One line of the API.
pub(crate) struct Route {
    pub(crate) method: Method,
    /// `/v1/users/{id}`: literal segments and `{name}` parameters.
    pub(crate) path: &'static str,
    pub(crate) access: Access,
    pub(crate) body: Body,
    handler: Handler,
    pub(crate) doc: Doc,
}

/// What the OpenAPI document says of a route (`openapi.rs` adds the answers every route
/// of its kind can give: 401, 403, 429, 500, 503, and 400/413/415 for a JSON body).
pub(crate) struct Doc {
    /// The `operationId`.
    pub(crate) id: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) tag: &'static str,
    /// The success answer: status, description and body schema (`None`: no JSON body).
    pub(crate) ok: (u16, &'static str, Option<&'static str>),
    /// The request body's schema.
    pub(crate) input: Option<&'static str>,
    /// A list's query parameters besides `limit` and `after` (`None`: not a list).
    pub(crate) query: Option<&'static [&'static str]>,
    /// The other answers of this route: status and description (a 2xx one has the success
    /// schema, the others the error schema).
    pub(crate) answers: &'static [(u16, &'static str)],
    /// The record has a version: GET and PATCH answer its `ETag`, PATCH and DELETE take
    /// `If-Match`.
    pub(crate) versioned: bool,
}

const NOT_FOUND: (u16, &str) = (
    404,
    "No such resource (also for ids that are not 24 hex characters).",
);
const TOO_MANY_KEYS: (u16, &str) = (
    409,
    "`too_many_keys`: the number of keys is at its cap (`ONBOARD_MAX_KEYS`); delete one first.",
);
const KEY_CONFIGURED: (u16, &str) = (
    409,
    "`key_configured`: the key is the configured `ONBOARD_API_KEY`; change the setting instead.",
);
const CONFLICT: (u16, &str) = (
    409,
    "A unique value is taken: `errors` names the field (`email_taken`, `username_taken`, `slug_taken`).",
);

const PRECONDITION: (u16, &str) = (
    412,
    "`precondition_failed`: the record changed since the version in `If-Match`.",
);
const BAD_IF_MATCH: (u16, &str) = (400, "`If-Match` is not `*` or a list of entity tags.");

const READ: Access = Access::Key(Need::Read);
const WRITE: Access = Access::Key(Need::Write);
const JSON: Body = Body::Json(BODY_LIMIT);

/// Every route of the API. To add one: a line here and its handler in the resource's
/// module (and its operation in `openapi.rs`, which a test checks against this table).
pub(crate) static ROUTES: &[Route] = &[
    Route {
        method: Method::GET,
        path: "/healthz",
        access: Access::Public,
        body: Body::None,
        handler: |r| Box::pin(health::healthz(r)),
        doc: Doc {
            id: "healthz",
            summary: "The process is up",
            tag: "health",
            ok: (200, "Up.", Some("Health")),
            input: None,
            query: None,
            answers: &[],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/readyz",
        access: Access::Public,
        body: Body::None,
        handler: |r| Box::pin(health::readyz(r)),
        doc: Doc {
            id: "readyz",
            summary: "The database answers",
            tag: "health",
            ok: (200, "Ready.", Some("Health")),
            input: None,
            query: None,
            answers: &[(503, "`database_unavailable`.")],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/openapi.json",
        access: Access::Public,
        body: Body::None,
        handler: |r| Box::pin(openapi::document(r)),
        doc: Doc {
            id: "openapi",
            summary: "This document",
            tag: "meta",
            ok: (200, "OpenAPI 3.1.", None),
            input: None,
            query: None,
            answers: &[],
            versioned: false,
        },
    },
    Route {
        method: Method::POST,
        path: "/v1/users",
        access: WRITE,
        body: JSON,
        handler: |r| Box::pin(users::create(r)),
        doc: Doc {
            id: "createUser",
            summary: "Create a user",
            tag: "users",
            ok: (
                201,
                "Created; the password is shown only here.",
                Some("UserCreated"),
            ),
            input: Some("UserInput"),
            query: None,
            answers: &[CONFLICT],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/v1/users",
        access: READ,
        body: Body::None,
        handler: |r| Box::pin(users::list(r)),
        doc: Doc {
            id: "listUsers",
            summary: "List users",
            tag: "users",
            ok: (200, "A page of users.", Some("UserList")),
            input: None,
            query: Some(&["email", "q", "type", "tag"]),
            answers: &[],
            versioned: false,
        },
    },
    Route {
        method: Method::POST,
        path: "/v1/users/bulk",
        access: WRITE,
        body: Body::Json(BULK_BODY_LIMIT),
        handler: |r| Box::pin(users::bulk(r)),
        doc: Doc {
            id: "bulkCreateUsers",
            summary: "Create (or update) many users, each row on its own",
            tag: "users",
            ok: (
                200,
                "One result per row, in request order: `created` (password shown only here), `exists` (`onExisting: skip`: the e-mail is already a user; nothing changed), `updated` / `unchanged` (`onExisting: update`: the row applied to the user with its e-mail), `invalid` (rulebook errors, `duplicate_in_batch`, `username_taken`, or `email_taken`: with `onExisting: fail` any existing e-mail, with `update` a new username or e-mail taken), `failed` (not stored; safe to send again).",
                Some("BulkResult"),
            ),
            input: Some("BulkInput"),
            query: None,
            answers: &[(413, "Body larger than 8 MiB, or more than 1,000 users.")],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/v1/users/{id}",
        access: READ,
        body: Body::None,
        handler: |r| Box::pin(users::get_one(r)),
        doc: Doc {
            id: "getUser",
            summary: "Get a user",
            tag: "users",
            ok: (200, "The user.", Some("User")),
            input: None,
            query: None,
            answers: &[NOT_FOUND],
            versioned: true,
        },
    },
    Route {
        method: Method::PATCH,
        path: "/v1/users/{id}",
        access: WRITE,
        body: JSON,
        handler: |r| Box::pin(users::patch(r)),
        doc: Doc {
            id: "updateUser",
            summary: "Correct a user (JSON Merge Patch)",
            tag: "users",
            ok: (
                200,
                "The user after the patch, as GET returns it.",
                Some("User"),
            ),
            input: Some("UserPatch"),
            query: None,
            answers: &[NOT_FOUND, CONFLICT, PRECONDITION],
            versioned: true,
        },
    },
    Route {
        method: Method::DELETE,
        path: "/v1/users/{id}",
        access: WRITE,
        body: Body::None,
        handler: |r| Box::pin(users::delete(r)),
        doc: Doc {
            id: "deleteUser",
            summary: "Erase a user (and unlink it from every sponsor)",
            tag: "users",
            ok: (204, "Erased: no copy of the person's data is left.", None),
            input: None,
            query: None,
            answers: &[BAD_IF_MATCH, NOT_FOUND, PRECONDITION],
            versioned: true,
        },
    },
    Route {
        method: Method::POST,
        path: "/v1/users/{id}/password",
        access: WRITE,
        body: Body::None,
        handler: |r| Box::pin(users::reissue_password(r)),
        doc: Doc {
            id: "reissuePassword",
            summary: "Issue a new generated password (the old one stops working)",
            tag: "users",
            ok: (
                200,
                "The new password, shown only here.",
                Some("PasswordReissued"),
            ),
            input: None,
            query: None,
            answers: &[NOT_FOUND],
            versioned: false,
        },
    },
    Route {
        method: Method::POST,
        path: "/v1/sponsors",
        access: WRITE,
        body: JSON,
        handler: |r| Box::pin(sponsors::create(r)),
        doc: Doc {
            id: "createSponsor",
            summary: "Create a sponsor and its new speakers, atomically",
            tag: "sponsors",
            ok: (
                201,
                "Created; passwords only for new speaker accounts.",
                Some("SponsorCreated"),
            ),
            input: Some("SponsorInput"),
            query: None,
            answers: &[CONFLICT],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/v1/sponsors",
        access: READ,
        body: Body::None,
        handler: |r| Box::pin(sponsors::list(r)),
        doc: Doc {
            id: "listSponsors",
            summary: "List sponsors",
            tag: "sponsors",
            ok: (200, "A page of sponsors.", Some("SponsorList")),
            input: None,
            query: Some(&["slug"]),
            answers: &[],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/v1/sponsors/{id}",
        access: READ,
        body: Body::None,
        handler: |r| Box::pin(sponsors::get_one(r)),
        doc: Doc {
            id: "getSponsor",
            summary: "Get a sponsor",
            tag: "sponsors",
            ok: (200, "The sponsor.", Some("Sponsor")),
            input: None,
            query: None,
            answers: &[NOT_FOUND],
            versioned: true,
        },
    },
    Route {
        method: Method::PATCH,
        path: "/v1/sponsors/{id}",
        access: WRITE,
        body: JSON,
        handler: |r| Box::pin(sponsors::patch(r)),
        doc: Doc {
            id: "updateSponsor",
            summary: "Correct a sponsor's own fields (JSON Merge Patch; the slug changes only when given)",
            tag: "sponsors",
            ok: (
                200,
                "The sponsor after the patch, as GET returns it.",
                Some("Sponsor"),
            ),
            input: Some("SponsorPatch"),
            query: None,
            answers: &[NOT_FOUND, CONFLICT, PRECONDITION],
            versioned: true,
        },
    },
    Route {
        method: Method::DELETE,
        path: "/v1/sponsors/{id}",
        access: WRITE,
        body: Body::None,
        handler: |r| Box::pin(sponsors::delete(r)),
        doc: Doc {
            id: "deleteSponsor",
            summary: "Delete a sponsor (its speakers' accounts stay)",
            tag: "sponsors",
            ok: (204, "Deleted.", None),
            input: None,
            query: None,
            answers: &[BAD_IF_MATCH, NOT_FOUND, PRECONDITION],
            versioned: true,
        },
    },
    Route {
        method: Method::POST,
        path: "/v1/sponsors/{id}/speakers",
        access: WRITE,
        body: JSON,
        handler: |r| Box::pin(sponsors::add_speaker(r)),
        doc: Doc {
            id: "addSpeaker",
            summary: "Add a speaker: link the account with this e-mail, or create one",
            tag: "sponsors",
            ok: (
                201,
                "A new account; its password is shown only here.",
                Some("SpeakerAdded"),
            ),
            input: Some("SpeakerInput"),
            query: None,
            answers: &[
                (
                    200,
                    "An existing account, linked (an attendee becomes a Speaker).",
                ),
                NOT_FOUND,
                (
                    409,
                    "`already_speaker`, or a taken `username` (`username_taken`).",
                ),
            ],
            versioned: false,
        },
    },
    Route {
        method: Method::DELETE,
        path: "/v1/sponsors/{id}/speakers/{userId}",
        access: WRITE,
        body: Body::None,
        handler: |r| Box::pin(sponsors::remove_speaker(r)),
        doc: Doc {
            id: "removeSpeaker",
            summary: "Remove a speaker from a sponsor (the account stays)",
            tag: "sponsors",
            ok: (204, "Unlinked.", None),
            input: None,
            query: None,
            answers: &[(
                404,
                "No such sponsor, or the user is not one of its speakers.",
            )],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/v1/tags",
        access: READ,
        body: Body::None,
        handler: |r| Box::pin(tags::list(r)),
        doc: Doc {
            id: "listTags",
            summary: "List tags",
            tag: "tags",
            ok: (200, "A page of tags.", Some("TagList")),
            input: None,
            query: Some(&[]),
            answers: &[],
            versioned: false,
        },
    },
    Route {
        method: Method::POST,
        path: "/v1/keys",
        access: WRITE,
        body: JSON,
        handler: |r| Box::pin(keys::create(r)),
        doc: Doc {
            id: "createKey",
            summary: "Create an API key (standard keys only)",
            tag: "keys",
            ok: (
                201,
                "Created; the key is shown only here.",
                Some("KeyCreated"),
            ),
            input: Some("KeyInput"),
            query: None,
            answers: &[TOO_MANY_KEYS],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/v1/keys",
        access: WRITE,
        body: Body::None,
        handler: |r| Box::pin(keys::list(r)),
        doc: Doc {
            id: "listKeys",
            summary: "List API keys (standard keys only; never the keys)",
            tag: "keys",
            ok: (200, "A page of keys.", Some("KeyList")),
            input: None,
            query: Some(&[]),
            answers: &[],
            versioned: false,
        },
    },
    Route {
        method: Method::DELETE,
        path: "/v1/keys/{id}",
        access: WRITE,
        body: Body::None,
        handler: |r| Box::pin(keys::delete(r)),
        doc: Doc {
            id: "deleteKey",
            summary: "Delete an API key (standard keys only)",
            tag: "keys",
            ok: (204, "Deleted.", None),
            input: None,
            query: None,
            answers: &[NOT_FOUND, KEY_CONFIGURED],
            versioned: false,
        },
    },
    Route {
        method: Method::POST,
        path: "/v1/webhooks",
        access: WRITE,
        body: JSON,
        handler: |r| Box::pin(webhooks::create(r)),
        doc: Doc {
            id: "createWebhook",
            summary: "Create a webhook endpoint (standard keys only)",
            tag: "webhooks",
            ok: (
                201,
                "Created; the signing secret is shown only here.",
                Some("WebhookCreated"),
            ),
            input: Some("WebhookInput"),
            query: None,
            answers: &[],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/v1/webhooks",
        access: READ,
        body: Body::None,
        handler: |r| Box::pin(webhooks::list(r)),
        doc: Doc {
            id: "listWebhooks",
            summary: "List webhook endpoints (never their secrets)",
            tag: "webhooks",
            ok: (200, "A page of webhook endpoints.", Some("WebhookList")),
            input: None,
            query: Some(&[]),
            answers: &[],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/v1/webhooks/{id}",
        access: READ,
        body: Body::None,
        handler: |r| Box::pin(webhooks::get_one(r)),
        doc: Doc {
            id: "getWebhook",
            summary: "Get a webhook endpoint",
            tag: "webhooks",
            ok: (200, "The endpoint.", Some("Webhook")),
            input: None,
            query: None,
            answers: &[NOT_FOUND],
            versioned: false,
        },
    },
    Route {
        method: Method::PATCH,
        path: "/v1/webhooks/{id}",
        access: WRITE,
        body: JSON,
        handler: |r| Box::pin(webhooks::patch(r)),
        doc: Doc {
            id: "updateWebhook",
            summary: "Change a webhook endpoint (url, events, description, disabled)",
            tag: "webhooks",
            ok: (200, "The endpoint after the change.", Some("Webhook")),
            input: Some("WebhookPatch"),
            query: None,
            answers: &[NOT_FOUND],
            versioned: false,
        },
    },
    Route {
        method: Method::DELETE,
        path: "/v1/webhooks/{id}",
        access: WRITE,
        body: Body::None,
        handler: |r| Box::pin(webhooks::delete(r)),
        doc: Doc {
            id: "deleteWebhook",
            summary: "Delete a webhook endpoint and its deliveries",
            tag: "webhooks",
            ok: (204, "Deleted.", None),
            input: None,
            query: None,
            answers: &[NOT_FOUND],
            versioned: false,
        },
    },
    Route {
        method: Method::POST,
        path: "/v1/webhooks/{id}/rotate-secret",
        access: WRITE,
        body: Body::None,
        handler: |r| Box::pin(webhooks::rotate_secret(r)),
        doc: Doc {
            id: "rotateWebhookSecret",
            summary: "Replace a webhook endpoint's signing secret",
            tag: "webhooks",
            ok: (
                200,
                "The new secret, shown only here; it signs every delivery from the next one on.",
                Some("WebhookSecret"),
            ),
            input: None,
            query: None,
            answers: &[NOT_FOUND],
            versioned: false,
        },
    },
    Route {
        method: Method::GET,
        path: "/v1/webhooks/{id}/deliveries",
        access: READ,
        body: Body::None,
        handler: |r| Box::pin(webhooks::deliveries(r)),
        doc: Doc {
            id: "listWebhookDeliveries",
            summary: "List an endpoint's deliveries, oldest first",
            tag: "webhooks",
            ok: (200, "A page of deliveries.", Some("WebhookDeliveryList")),
            input: None,
            query: Some(&[]),
            answers: &[NOT_FOUND],
            versioned: false,
        },
    },
    Route {
        method: Method::POST,
        path: "/v1/webhooks/{id}/deliveries/{deliveryId}/retry",
        access: WRITE,
        body: Body::None,
        handler: |r| Box::pin(webhooks::retry(r)),
        doc: Doc {
            id: "retryWebhookDelivery",
            summary: "Send a delivery again now (same webhook-id), from the start of the retry schedule",
            tag: "webhooks",
            ok: (202, "Due now.", Some("WebhookDelivery")),
            input: None,
            query: None,
            answers: &[(404, "No such endpoint, or no such delivery of it.")],
            versioned: false,
        },
    },
];

/// The API, and the static page (with the one rejection handler) for other paths.
pub(crate) fn routes(state: Arc<AppState>, web_dir: PathBuf) -> BoxedFilter<(Response,)> {
    let api =
        warp::method()
            .and(warp::path::full())
            .and(query_pairs())
            .and(warp::header::headers_cloned())
            .and(warp::ext::optional::<ClientAddr>())
            .and(warp::body::stream())
            .and_then(
                move |method,
                      path: warp::path::FullPath,
                      query,
                      headers,
                      client: Option<ClientAddr>,
                      body| {
                    let state = state.clone();
                    let client = client.map(|c| c.0.ip());
                    async move {
                        dispatch(state, method, path.as_str(), query, headers, client, body).await
                    }
                },
            );
    // The page's files and unknown paths, counted under one route label (`other`); the
    // API's requests are counted by `dispatch` under their route template.
    let web = web::routes(web_dir)
        .recover(handle_rejection)
        .unify()
        .with(warp::log::custom(|info| {
            crate::metrics::get().request(info.method(), "other", info.status(), info.elapsed());
        }))
        .map(Reply::into_response);
    api.or(web).unify().boxed()
}

/// The path's segments, ignoring one trailing slash.
fn segments(path: &str) -> Vec<&str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/').collect()
}

/// The parameters of `path` if it matches `template`, and how many literal segments matched.
fn matches(template: &str, path: &[&str]) -> Option<(usize, Vec<String>)> {
    let template = segments(template);
    if template.len() != path.len() {
        return None;
    }
    let mut params = Vec::new();
    let mut literals = 0;
    for (t, p) in template.iter().zip(path) {
        if t.starts_with('{') {
            if p.is_empty() {
                return None;
            }
            params.push((*p).to_string());
        } else if t == p {
            literals += 1;
        } else {
            return None;
        }
    }
    Some((literals, params))
}

/// The routes of the most specific templates matching `path` (a literal segment beats a
/// parameter: `/v1/users/bulk` is not a user id), with their parameters.
pub(crate) fn lookup(path: &str) -> Vec<(&'static Route, Vec<String>)> {
    let path = segments(path);
    let found: Vec<(usize, &Route, Vec<String>)> = ROUTES
        .iter()
        .filter_map(|r| matches(r.path, &path).map(|(lit, params)| (lit, r, params)))
        .collect();
    let best = found.iter().map(|(lit, _, _)| *lit).max().unwrap_or(0);
    found
        .into_iter()
        .filter(|(lit, _, _)| *lit == best)
        .map(|(_, r, params)| (r, params))
        .collect()
}

/// The `Allow` header of a path: the methods of its routes, in table order. HEAD is
/// listed wherever GET is: the transport layer answers it as a GET without the body.
pub(crate) fn allow(routes: &[(&'static Route, Vec<String>)]) -> String {
    let mut methods: Vec<&str> = Vec::new();
    for (r, _) in routes {
        if !methods.contains(&r.method.as_str()) {
            methods.push(r.method.as_str());
        }
        if r.method == Method::GET && !methods.contains(&"HEAD") {
            methods.push("HEAD");
        }
    }
    methods.sort_by_key(|m| match *m {
        "GET" => 0,
        "HEAD" => 1,
        "POST" => 2,
        "PATCH" => 3,
        _ => 4,
    });
    methods.join(", ")
}

async fn dispatch<S, B>(
    state: Arc<AppState>,
    method: Method,
    path: &str,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    client: Option<IpAddr>,
    body: S,
) -> Result<Response, Rejection>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let found = lookup(path);
    if found.is_empty() {
        // Not an API path: the static page may have it.
        return Err(warp::reject::not_found());
    }
    let started = std::time::Instant::now();
    let Some((route, params)) = found.iter().find(|(r, _)| r.method == method) else {
        let res = ApiError::MethodNotAllowed(allow(&found)).into_response();
        crate::metrics::get().request(&method, found[0].0.path, res.status(), started.elapsed());
        return Ok(res);
    };
    let answer = async {
        let caller = match route.access {
            Access::Key(need) => Some(authorize(&state, &headers, client, need, &method).await?),
            Access::Public => None,
        };
        let idempotency_key = if idempotency::applies(&route.method, route.path) {
            idempotency::key_of(&headers)?
        } else {
            None
        };
        let body = match route.body {
            Body::None => Value::Null,
            Body::Json(limit) => json_body(&headers, body, limit).await?,
        };
        let request = Request {
            state: state.clone(),
            route,
            params: params.clone(),
            query,
            body,
            caller,

            headers: headers.clone(),
        };
        match (caller, idempotency_key) {
            (Some(caller), Some(key)) => {
                let body = request.body.clone();
                idempotency::run(
                    &state,
                    caller.key_id,
                    &key,
                    &method,
                    path,
                    &body,
                    (route.handler)(request),
                )
                .await
            }
            _ => (route.handler)(request).await,
        }
    };
    let res = answer.await.unwrap_or_else(Reply::into_response);
    crate::metrics::get().request(&method, route.path, res.status(), started.elapsed());
    Ok(res)
}

/// Authenticates the caller for `need`, then spends one token of its read or write budget.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<IpAddr>,
    need: Need,
    method: &Method,
) -> Result<Caller, ApiError> {
    let header = auth::authorization(headers)?;
    let caller = auth::authenticate(
        &state.store,
        &state.keys,
        &state.auth_failures,
        client,
        header,
        need,
    )
    .await?;
    request::set_key_id(caller.key_id.to_hex());
    let budget = Budget::of(method);
    match state.limiter.check(caller.key_id, budget).await {
        Ok(Some(info)) => request::set_rate(info),
        Ok(None) => {}
        Err(info) => {
            request::set_rate(info);
            crate::metrics::get().rate_limited(budget.name());
            return Err(ApiError::RateLimited(info));
        }
    }
    Ok(caller)
}

/// A JSON body: `Content-Type: application/json` (415 otherwise), at most `limit` bytes
/// (413), parsed strictly by the rulebook's `parse_json` (400 `invalid_json` with
/// line/column).
async fn json_body<S, B>(headers: &HeaderMap, body: S, limit: u64) -> Result<Value, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !is_json(ctype) {
        return Err(ApiError::UnsupportedMediaType);
    }
    // Refuse a declared oversize body without reading it; count chunked ones.
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let bytes = read_capped(body, limit).await?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ApiError::InvalidJson(onboard_shared::JsonError {
            line: 1,
            column: 1,
            message: format!("body is not valid UTF-8 (byte {})", e.valid_up_to()),
        })
    })?;
    onboard_shared::parse_json(text).map_err(ApiError::InvalidJson)
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
fn query_pairs()
-> impl Filter<Extract = (Vec<(String, String)>,), Error = std::convert::Infallible> + Clone {
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
pub(crate) struct Query {
    pub(crate) page: Page,
    values: Vec<(String, String)>,
}

/// Keeps one more error than the rulebook's cap, so the caller knows to cap the list.
fn note(errors: &mut Vec<FieldError>, e: FieldError) {
    if errors.len() <= ERRORS_MAX {
        errors.push(e);
    }
}

pub(crate) const LIMIT_DEFAULT: i64 = 20;
pub(crate) const LIMIT_MAX: i64 = 100;

impl Query {
    /// The request's query against its route's parameters (`Doc::query`).
    pub(crate) fn parse(request: &Request) -> Result<Query, ApiError> {
        let allowed = request.route.doc.query.unwrap_or(&[]);
        let pairs = &request.query;
        let mut errors = Vec::new();
        let mut page = Page {
            limit: LIMIT_DEFAULT,
            after: None,
        };
        let mut values = Vec::new();
        // A set: a long query of distinct names must not cost a scan per name.
        let mut seen: HashSet<&str> = HashSet::new();
        for (k, v) in pairs {
            if !seen.insert(k.as_str()) {
                note(
                    &mut errors,
                    FieldError::new(k.clone(), Code::WrongType, "Is given more than once."),
                );
                continue;
            }
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
                "after" => match cursor(v) {
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
                name if allowed.contains(&name) => values.push((k.clone(), v.clone())),
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

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `{items, next}`: the shape of every list.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct List<T> {
    pub(crate) items: Vec<T>,
    /// The `after` of the next page; null on the last one.
    #[schema(required = true)]
    pub(crate) next: Option<String>,
}

/// A JSON response with `status`.
pub(crate) fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    crate::error::json_response(status, body)
}

/// Where a streamed body's producer sends its chunks ([`streamed`]).
pub(crate) struct Chunks(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Chunks {
    /// Sends one chunk once the client has taken the previous one; false when the client
    /// is gone (stop producing).
    pub(crate) async fn send(&self, chunk: Bytes) -> bool {
        self.0.send(Ok(chunk)).await.is_ok()
    }
}

/// The receiving end of [`Chunks`], as the response body's stream.
struct ChunkStream(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl Stream for ChunkStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A 200 whose body is `head` and then whatever `produce` sends, chunk by chunk, each
/// sent only when the client has taken the one before (one chunk in flight: a slow
/// client slows the producer instead of growing memory). The status is already sent when
/// `produce` fails: the failure is logged with the request id and the body is cut short,
/// so the client sees an incomplete transfer, never a shorter answer that looks whole.
pub(crate) fn streamed<F, Fut>(head: Bytes, produce: F) -> Response
where
    F: FnOnce(Chunks) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let failed = tx.clone();
    let producing = produce(Chunks(tx));
    let request_id = request::current_id();
    tokio::spawn(async move {
        if failed.send(Ok(head)).await.is_err() {
            return;
        }
        if let Err(e) = producing.await {
            tracing::error!(request_id, error = %e, "streamed answer cut short");
            let _ = failed
                .send(Err(std::io::Error::other(
                    "the answer could not be completed",
                )))
                .await;
        }
    });
    warp::reply::stream(ChunkStream(rx)).into_response()
}

/// An empty 204.
pub(crate) fn no_content() -> Response {
    let mut res = Response::new(Default::default());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

/// A 201 with its JSON body and the `Location` of what was created.
pub(crate) fn created<T: serde::Serialize>(location: String, body: &T) -> Response {
    let mut res = json(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<IfMatch, ApiError> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::IF_MATCH, HeaderValue::from_str(v).unwrap());
        }
        if_match(&h)
    }

    #[test]
    fn if_match_is_star_or_strong_tags_and_garbage_is_refused() {
        assert_eq!(parse(&[]).unwrap(), IfMatch::Unconditional);
        assert_eq!(parse(&["*"]).unwrap(), IfMatch::Any);
        assert_eq!(parse(&["\"3\""]).unwrap(), IfMatch::Versions(vec![3]));
        assert_eq!(
            parse(&["\"3\", W/\"4\" ,\"x\"", "\"5\""]).unwrap(),
            IfMatch::Versions(vec![3, 5])
        );
        for bad in ["3", "\"3", "\"3\" \"4\"", "\"3\",", "W/3", "", "**"] {
            assert!(parse(&[bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn one_route_per_method_and_path() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn literal_segments_beat_parameters_and_allow_lists_the_path_methods() {
        let found = lookup("/v1/users/bulk");
        assert_eq!(allow(&found), "POST");
        let found = lookup("/v1/users/0123456789abcdef01234567");
        assert_eq!(allow(&found), "GET, HEAD, PATCH, DELETE");
        assert_eq!(found[0].1, ["0123456789abcdef01234567"]);
        assert_eq!(allow(&lookup("/v1/users")), "GET, HEAD, POST");
        assert_eq!(allow(&lookup("/v1/users/")), "GET, HEAD, POST");
        assert_eq!(allow(&lookup("/v1/keys/x")), "DELETE");
        assert!(lookup("/v1/users/a/b").is_empty());
        assert!(lookup("/v1//users").is_empty());
        assert!(lookup("/").is_empty());
    }
}
