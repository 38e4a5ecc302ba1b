//! Users: `POST /v1/users`, `GET /v1/users/{id}`, `GET /v1/users`, and in submodules
//! `POST /v1/users/bulk` (`bulk`) and `POST /v1/users/{id}/password` (`password`).

mod bulk;
mod password;

use super::{List, Query, authed, json_body, query_pairs, rfc3339, with_state};
use crate::AppState;
use crate::auth::{Caller, Need};
use crate::error::{ApiError, json_response};
use crate::store::{
    self, duplicate_key_message, is_duplicate_key, parse_id, tags, users::UserDoc,
    users::UserFilter,
};
use mongodb::ClientSession;
use mongodb::bson::{DateTime, oid::ObjectId};
use onboard_shared::{
    Code, NewUser, PasswordPolicy, Status, UserOptions, UserType, check_user, generate_username,
    normalize_email, normalize_username,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let create = warp::path!("v1" / "users")
        .and(warp::post())
        .and(authed(state.clone(), Need::Write))
        .and(json_body())
        .and(with_state(state.clone()))
        .and_then(create);
    let get = warp::path!("v1" / "users" / String)
        .and(warp::get())
        .and(authed(state.clone(), Need::Read))
        .and(with_state(state.clone()))
        .and_then(get_one);
    let list = warp::path!("v1" / "users")
        .and(warp::get())
        .and(authed(state.clone(), Need::Read))
        .and(query_pairs())
        .and(with_state(state.clone()))
        .and_then(list);
    bulk::routes(state.clone())
        .or(password::routes(state))
        .unify()
        .or(create)
        .unify()
        .or(get)
        .unify()
        .or(list)
        .unify()
        .boxed()
}

/// The 201 body of `POST /v1/users`, as in the seed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    code: &'static str,
    message: &'static str,
    id: String,
    email: String,
    password: String,
    side_errors: Vec<SideError>,
}

/// A non-blocking problem after the user was stored.
#[derive(Serialize)]
pub struct SideError {
    pub message: String,
    pub error: String,
}

/// POST /v1/users with a JSON body
async fn create(
    _caller: Caller,
    body: Value,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    Ok(create_user(&state, &body)
        .await
        .unwrap_or_else(|e| e.to_response()))
}

async fn create_user(state: &AppState, body: &Value) -> Result<Response, ApiError> {
    let user = check_user(body).map_err(ApiError::Validation)?;
    let password = PasswordPolicy::default().generate();
    let hash = state.passwords.hash(&password).await?;
    let doc = insert_new_user(state, &user, hash, Vec::new()).await?;
    let mut side_errors = Vec::new();
    if !user.tags.is_empty() {
        // The user exists now; a failing tag step must not turn the create into an error.
        let tagged = async {
            let ids = tags::upsert_many(&state.store, &user.tags).await?;
            store::users::set_tags(&state.store, doc.id, &ids).await
        };
        if let Err(e) = tagged.await {
            tracing::warn!(user_id = %doc.id, error = %e, "tags could not be attached");
            side_errors.push(SideError {
                message: "The user was created but its tags could not be saved.".into(),
                error: "tags_not_saved".into(),
            });
        }
    }
    tracing::info!(user_id = %doc.id, "user created");
    let body = Created {
        code: "ok",
        message: "User created successfully",
        id: doc.id.to_hex(),
        email: doc.email,
        password,
        side_errors,
    };
    let mut res = json_response(StatusCode::CREATED, &body);
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/users/{}", body.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// Which unique value a failed insert collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Email,
    Username,
    Other,
}

/// Reads the index name out of a duplicate-key error.
pub fn taken(e: &mongodb::error::Error) -> Taken {
    let msg = duplicate_key_message(e);
    if msg.contains("emailNorm") {
        Taken::Email
    } else if msg.contains("usernameNorm") {
        Taken::Username
    } else {
        Taken::Other
    }
}

/// Inserts a user. A generated username that collides is generated again; a chosen one
/// that is taken, or a taken e-mail, is a 409. The unique indexes decide, never a read.
/// `tag_ids` are stored with the user (bulk imports upsert a batch's tags beforehand).
async fn insert_new_user(
    state: &AppState,
    user: &NewUser,
    hash: String,
    tag_ids: Vec<ObjectId>,
) -> Result<UserDoc, ApiError> {
    let generated = user.username.is_none();
    let mut doc = user_doc(user, hash);
    doc.tag_ids = tag_ids;
    for _ in 0..20 {
        match store::users::insert(&state.store, &doc, None).await {
            Ok(()) => return Ok(doc),
            Err(e) if is_duplicate_key(&e) => match taken(&e) {
                Taken::Email => return Err(ApiError::conflict("email", Code::EmailTaken)),
                Taken::Username if generated => {
                    set_username(
                        &mut doc,
                        generate_username(&user.first_name, &user.last_name),
                    );
                }
                Taken::Username => return Err(ApiError::conflict("username", Code::UsernameTaken)),
                Taken::Other => {
                    // An index we cannot name from the message: ask which value exists.
                    if store::users::email_exists(&state.store, &doc.email_norm).await? {
                        return Err(ApiError::conflict("email", Code::EmailTaken));
                    }
                    if !generated {
                        return Err(ApiError::conflict("username", Code::UsernameTaken));
                    }
                    set_username(
                        &mut doc,
                        generate_username(&user.first_name, &user.last_name),
                    );
                }
            },
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal(
        "no free generated username after 20 tries",
    ))
}

pub fn set_username(doc: &mut UserDoc, username: String) {
    doc.username_norm = normalize_username(&username);
    doc.username = username;
}

/// The stored document of a checked user payload.
pub fn user_doc(user: &NewUser, hash: String) -> UserDoc {
    let now = DateTime::now();
    let username = user
        .username
        .clone()
        .unwrap_or_else(|| generate_username(&user.first_name, &user.last_name));
    UserDoc {
        id: ObjectId::new(),
        email: user.email.clone(),
        email_norm: normalize_email(&user.email),
        user_type: user.user_type,
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        username_norm: normalize_username(&username),
        username,
        avatar: user.avatar.clone(),
        description: user.description.clone(),
        job: user.job.clone(),
        company: user.company.clone(),
        timezone: user.timezone.clone(),
        country: user.country.clone(),
        city: user.city.clone(),
        status: user.status,
        website: user.website.clone(),
        socials: user.socials.clone(),
        options: user.options,
        tag_ids: Vec::new(),
        password_hash: hash,
        created_at: now,
        updated_at: now,
    }
}

/// Inserts inside an optional transaction session (used by sponsors for new speakers).
pub async fn insert_in(
    state: &AppState,
    doc: &UserDoc,
    session: Option<&mut ClientSession>,
) -> Result<(), mongodb::error::Error> {
    store::users::insert(&state.store, doc, session).await
}

/// A user as the API shows it: never a password or hash; tags by name.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOut {
    id: String,
    email: String,
    #[serde(rename = "type")]
    user_type: UserType,
    first_name: String,
    last_name: String,
    username: String,
    avatar: Option<String>,
    description: Option<String>,
    job: Option<String>,
    company: Option<String>,
    tags: Vec<String>,
    timezone: Option<String>,
    country: Option<String>,
    city: Option<String>,
    status: Option<Status>,
    website: Option<String>,
    socials: SocialsOut,
    options: UserOptions,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize)]
struct SocialsOut {
    facebook: Option<String>,
    linkedin: Option<String>,
    twitter: Option<String>,
    youtube: Option<String>,
}

impl UserOut {
    pub fn new(u: UserDoc, tag_names: &HashMap<ObjectId, String>) -> Self {
        UserOut {
            id: u.id.to_hex(),
            email: u.email,
            user_type: u.user_type,
            first_name: u.first_name,
            last_name: u.last_name,
            username: u.username,
            avatar: u.avatar,
            description: u.description,
            job: u.job,
            company: u.company,
            tags: u
                .tag_ids
                .iter()
                .filter_map(|id| tag_names.get(id).cloned())
                .collect(),
            timezone: u.timezone,
            country: u.country,
            city: u.city,
            status: u.status,
            website: u.website,
            socials: SocialsOut {
                facebook: u.socials.facebook,
                linkedin: u.socials.linkedin,
                twitter: u.socials.twitter,
                youtube: u.socials.youtube,
            },
            options: u.options,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

/// Users with their tag names, one tag query for the whole page.
async fn with_tags(state: &AppState, users: Vec<UserDoc>) -> Result<Vec<UserOut>, ApiError> {
    let ids: Vec<ObjectId> = users
        .iter()
        .flat_map(|u| u.tag_ids.iter().copied())
        .collect();
    let names = tags::names(&state.store, &ids).await?;
    Ok(users.into_iter().map(|u| UserOut::new(u, &names)).collect())
}

/// GET /v1/users/{id}
async fn get_one(
    id: String,
    _caller: Caller,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    let result = async {
        // `/v1/users/bulk` is a POST-only path, not a user id.
        if id == "bulk" {
            return Err(ApiError::MethodNotAllowed);
        }
        let id = parse_id(&id).ok_or(ApiError::NotFound("User"))?;
        let user = store::users::find_by_id(&state.store, id)
            .await?
            .ok_or(ApiError::NotFound("User"))?;
        let out = with_tags(&state, vec![user]).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &out[0]))
    };
    Ok(result.await.unwrap_or_else(|e| e.to_response()))
}

/// GET /v1/users?email=&type=&tag=&limit=&after=
async fn list(
    _caller: Caller,
    pairs: Vec<(String, String)>,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    let result = async {
        let q = Query::parse(pairs, &["email", "type", "tag"])?;
        let mut filter = UserFilter {
            email_norm: q.get("email").map(normalize_email),
            ..UserFilter::default()
        };
        if let Some(t) = q.get("type") {
            filter.user_type = Some(match t {
                "Attendee" => UserType::Attendee,
                "Speaker" => UserType::Speaker,
                _ => {
                    return Err(ApiError::Validation(vec![onboard_shared::FieldError::new(
                        "type",
                        Code::InvalidChoice,
                        "Must be Attendee or Speaker.",
                    )]));
                }
            });
        }
        if let Some(tag) = q.get("tag") {
            match tags::find_by_name(&state.store, tag).await? {
                Some(id) => filter.tag_id = Some(id),
                // No such tag: no user can carry it.
                None => {
                    return Ok(json_response(
                        StatusCode::OK,
                        &List::<UserOut> {
                            items: vec![],
                            next: None,
                        },
                    ));
                }
            }
        }
        let (users, next) = store::users::list(&state.store, &filter, q.page).await?;
        let items = with_tags(&state, users).await?;
        Ok(json_response(StatusCode::OK, &List { items, next }))
    };
    Ok(result.await.unwrap_or_else(|e| e.to_response()))
}
