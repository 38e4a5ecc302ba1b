//! API keys: created (shown once), listed (never the key or its hash), deleted.

use super::{DomainError, Page, id, rfc3339};
use crate::AppState;
use crate::auth::{Caller, generate_key, hash_key};
use crate::store;
use onboard_shared::{NewKey, Privilege};
use serde::Serialize;
use utoipa::ToSchema;

/// A key as listed: never the key or its hash.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Key {
    id: String,
    description: String,
    #[schema(schema_with = crate::openapi::privilege)]
    privilege: Privilege,
    #[schema(format = DateTime)]
    created_at: String,
}

/// A new key: the only time it is shown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = KeyCreated)]
pub(crate) struct CreatedKey {
    pub(crate) id: String,
    key: String,
    description: String,
    #[schema(schema_with = crate::openapi::privilege)]
    privilege: Privilege,
    #[schema(format = DateTime)]
    created_at: String,
}

/// Creates a key from a checked request; it works at once on this instance. At most
/// `ONBOARD_MAX_KEYS` keys exist: [`DomainError::TooManyKeys`] beyond.
pub(crate) async fn create(state: &AppState, request: NewKey) -> Result<CreatedKey, DomainError> {
    let key = generate_key();
    let hash = hash_key(&key);
    let privilege = request.privilege;
    let generation = state.keys.generation();
    let doc = store::keys::insert_capped(
        &state.store,
        hash.clone(),
        request.description,
        privilege,
        state.max_keys,
    )
    .await?
    .ok_or(DomainError::TooManyKeys(state.max_keys))?;
    state.keys.put(
        hash,
        Caller {
            key_id: doc.id,
            privilege,
        },
        generation,
    );
    tracing::info!(key_id = %doc.id, ?privilege, "API key created");
    Ok(CreatedKey {
        id: doc.id.to_hex(),
        key,
        description: doc.description,
        privilege,
        created_at: rfc3339(doc.created_at),
    })
}

/// One page of keys and the cursor of the next.
pub(crate) async fn list(
    state: &AppState,
    page: Page,
) -> Result<(Vec<Key>, Option<String>), DomainError> {
    let (keys, next) = store::keys::list(&state.store, page).await?;
    let items = keys
        .into_iter()
        .map(|k| Key {
            id: k.id.to_hex(),
            description: k.description,
            privilege: k.privilege,
            created_at: rfc3339(k.created_at),
        })
        .collect();
    Ok((items, next))
}

/// Deletes a key; it stops working at once on this instance. The configured key is not
/// deleted (its setting defines it): [`DomainError::KeyConfigured`].
pub(crate) async fn delete(state: &AppState, id_text: &str) -> Result<(), DomainError> {
    let id = id(id_text, "API key")?;
    let Some(hash) = store::keys::delete(&state.store, id).await? else {
        return Err(if store::keys::is_configured(&state.store, id).await? {
            DomainError::KeyConfigured
        } else {
            DomainError::NotFound("API key")
        });
    };
    state.keys.evict(&hash);
    tracing::info!(key_id = %id, "API key deleted");
    Ok(())
}
