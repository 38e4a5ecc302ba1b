//! `POST /v1/users/{id}/password`: a new generated password for a user, shown once. The
//! way out when an import's answer (and so its passwords) was lost: re-sending the file
//! reports those rows as `exists`, and this issues each of them a password again.

use crate::AppState;
use crate::auth::{Caller, Need};
use crate::error::{ApiError, json_response};
use crate::routes::{authed, with_state};
use crate::store::{self, parse_id};
use onboard_shared::PasswordPolicy;
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    warp::path!("v1" / "users" / String / "password")
        .and(warp::post())
        .and(authed(state.clone(), Need::Write))
        .and(with_state(state))
        .and_then(reissue)
        .boxed()
}

#[derive(Serialize)]
struct Reissued {
    code: &'static str,
    message: &'static str,
    id: String,
    password: String,
}

/// POST /v1/users/{id}/password (no body)
async fn reissue(
    id: String,
    _caller: Caller,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    let result = async {
        let id = parse_id(&id).ok_or(ApiError::NotFound("User"))?;
        // Look first: an unknown id must not cost a 19 MiB hash.
        if store::users::find_by_id(&state.store, id).await?.is_none() {
            return Err(ApiError::NotFound("User"));
        }
        let password = PasswordPolicy::default().generate();
        let hash = state.passwords.hash(&password).await?;
        if !store::users::set_password_hash(&state.store, id, &hash).await? {
            return Err(ApiError::NotFound("User"));
        }
        tracing::info!(user_id = %id, "password reissued");
        Ok::<_, ApiError>(json_response(
            StatusCode::OK,
            &Reissued {
                code: "ok",
                message: "Password reissued successfully",
                id: id.to_hex(),
                password,
            },
        ))
    };
    Ok(result.await.unwrap_or_else(|e| e.to_response()))
}
