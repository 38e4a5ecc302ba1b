//! Sponsors: `POST /v1/sponsors`, `GET /v1/sponsors/{id}`, `GET /v1/sponsors?slug=`.

use super::{List, Query, Request, created, json, no_content, versioned};
use crate::domain::sponsors;
use crate::error::ApiError;
use crate::passwords::Password;
use onboard_shared::{check_speaker, check_sponsor};
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;

/// The 201 body of `POST /v1/sponsors`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SponsorCreated)]
pub(crate) struct Created {
    code: &'static str,
    message: &'static str,
    id: String,
    slug: String,
    speakers: Vec<SpeakerCreated>,
}

/// A speaker's account: made by this request (then with its password), or linked.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpeakerCreated {
    id: String,
    email: String,
    /// Only for accounts created by this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    password: Option<Password>,
}

/// POST /v1/sponsors with a JSON body
pub(super) async fn create(r: Request) -> Result<Response, ApiError> {
    let sponsor = check_sponsor(&r.body).map_err(ApiError::Validation)?;
    let done = sponsors::create(&r.state, &sponsor).await?;
    let id = done.id.to_hex();
    Ok(created(
        format!("/v1/sponsors/{id}"),
        &Created {
            code: "ok",
            message: "Sponsor created successfully",
            id,
            slug: done.slug,
            speakers: done
                .speakers
                .into_iter()
                .map(|s| SpeakerCreated {
                    id: s.id.to_hex(),
                    email: s.email,
                    password: s.password,
                })
                .collect(),
        },
    ))
}

/// GET /v1/sponsors/{id}, with its `ETag`
pub(super) async fn get_one(r: Request) -> Result<Response, ApiError> {
    let sponsor = sponsors::get(&r.state, r.id()).await?;
    Ok(versioned(&sponsor, sponsor.version))
}

/// PATCH /v1/sponsors/{id} with a JSON Merge Patch of the sponsor's own fields.
pub(super) async fn patch(r: Request) -> Result<Response, ApiError> {
    let if_match = r.if_match()?;
    let sponsor = sponsors::update(&r.state, r.id(), &r.body, &if_match).await?;
    Ok(versioned(&sponsor, sponsor.version))
}

/// DELETE /v1/sponsors/{id}: 204; the speakers' accounts stay.
pub(super) async fn delete(r: Request) -> Result<Response, ApiError> {
    let if_match = r.if_match()?;
    sponsors::delete(&r.state, r.id(), &if_match).await?;
    Ok(no_content())
}

/// POST /v1/sponsors/{id}/speakers with one speaker: 201 with `{id, email, password}` when
/// the account was created, 200 with `{id, email}` when an existing one was linked.
pub(super) async fn add_speaker(r: Request) -> Result<Response, ApiError> {
    let speaker = check_speaker(&r.body).map_err(ApiError::Validation)?;
    let added = sponsors::add_speaker(&r.state, r.id(), &speaker).await?;
    let body = SpeakerCreated {
        id: added.speaker.id.to_hex(),
        email: added.speaker.email,
        password: added.speaker.password,
    };
    Ok(if added.created {
        created(format!("/v1/users/{}", body.id), &body)
    } else {
        json(StatusCode::OK, &body)
    })
}

/// DELETE /v1/sponsors/{id}/speakers/{userId}: 204; the account stays.
pub(super) async fn remove_speaker(r: Request) -> Result<Response, ApiError> {
    sponsors::remove_speaker(&r.state, r.id(), r.second_id()).await?;
    Ok(no_content())
}

/// GET /v1/sponsors?slug=&limit=&after=
pub(super) async fn list(r: Request) -> Result<Response, ApiError> {
    let q = Query::parse(&r)?;
    let (items, next) = sponsors::list(&r.state, q.get("slug"), q.page).await?;
    Ok(json(StatusCode::OK, &List { items, next }))
}
