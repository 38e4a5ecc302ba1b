//! Tags: created by user and speaker payloads, never directly; listed.

use super::{DomainError, Page};
use crate::AppState;
use crate::store;
use mongodb::bson::oid::ObjectId;
use onboard_shared::NewUser;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// Upserts each distinct tag of `users` once; answers their ids by tag key.
pub(crate) async fn upsert_batch<'u>(
    state: &AppState,
    users: impl Iterator<Item = &'u NewUser>,
) -> Result<HashMap<String, ObjectId>, DomainError> {
    let mut names: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for user in users {
        for tag in &user.tags {
            let key = store::tags::tag_key(tag);
            if !keys.contains(&key) {
                keys.push(key);
                names.push(tag.clone());
            }
        }
    }
    let ids = store::tags::upsert_many(&state.store, &names).await?;
    Ok(keys.into_iter().zip(ids).collect())
}

/// A tag as the API shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tag {
    id: String,
    name: String,
}

/// One page of tags and the cursor of the next.
pub(crate) async fn list(
    state: &AppState,
    page: Page,
) -> Result<(Vec<Tag>, Option<String>), DomainError> {
    let (tags, next) = store::tags::list(&state.store, page).await?;
    let items = tags
        .into_iter()
        .map(|t| Tag {
            id: t.id.to_hex(),
            name: t.name,
        })
        .collect();
    Ok((items, next))
}
