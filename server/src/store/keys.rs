//! `api_keys`: API keys, stored only as SHA-256 hashes (unique index on `hash`).
//!
//! No `Debug` on [`KeyDoc`]: it holds a hash, and hashes never reach a log line.

use super::{Changes, Page, Store, StoreError, Unique, find_page};
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use mongodb::change_stream::event::OperationType;
use mongodb::error::Error as DbError;
use mongodb::options::ReturnDocument;
use onboard_shared::Privilege;
use serde::{Deserialize, Serialize};

pub(crate) const COLLECTION: &str = "api_keys";

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyDoc {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    pub(crate) hash: String,
    pub(crate) description: String,
    pub(crate) privilege: Privilege,
    /// The configured key (`ONBOARD_API_KEY`): replaced by changing the setting, never
    /// deleted through the API.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) configured: bool,
    pub(crate) created_at: DateTime,
    pub(crate) updated_at: DateTime,
}

fn coll(store: &Store) -> mongodb::Collection<KeyDoc> {
    store.collection(COLLECTION)
}

pub(crate) async fn insert(
    store: &Store,
    hash: String,
    description: String,
    privilege: Privilege,
) -> Result<KeyDoc, StoreError> {
    let now = DateTime::now();
    let key = KeyDoc {
        id: ObjectId::new(),
        hash,
        description,
        privilege,
        configured: false,
        created_at: now,
        updated_at: now,
    };
    coll(store).insert_one(&key).await?;
    Ok(key)
}

/// The record of the configured key (`ONBOARD_API_KEY`). A fixed id makes it one record
/// however many instances start at once: the `_id` index settles their upserts.
pub(crate) const CONFIGURED_ID: ObjectId =
    ObjectId::from_bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/// The record of a key generated at first start. A fixed id lets only one of several
/// instances starting together on an empty database generate (and show) a key.
pub(crate) const GENERATED_ID: ObjectId =
    ObjectId::from_bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

/// The description the configured key had before it was one fixed record; such records
/// (one per key ever configured, each still valid) are deleted at start.
const LEGACY_CONFIGURED: &str = "Bootstrap key (ONBOARD_API_KEY)";

/// Makes `hash` the configured key: creates its record or replaces the hash of the existing
/// one (the previous configured key stops working). Deletes the records older versions
/// made for configured keys. Idempotent; safe for instances starting together.
pub(crate) async fn set_configured(store: &Store, hash: &str) -> Result<KeyDoc, StoreError> {
    coll(store)
        .delete_many(doc! { "description": LEGACY_CONFIGURED, "_id": { "$ne": CONFIGURED_ID } })
        .await?;
    let upsert = || async {
        let now = DateTime::now();
        coll(store)
            .find_one_and_update(
                doc! { "_id": CONFIGURED_ID },
                doc! {
                    "$set": { "hash": hash, "configured": true, "privilege": "standard",
                              "description": "Configured key (ONBOARD_API_KEY)" },
                    "$setOnInsert": { "createdAt": now, "updatedAt": now },
                },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(StoreError::from)
    };
    let found = match upsert().await {
        // Two upserts racing to insert: the loser's retry finds the winner's record. (A
        // duplicate *hash* is a configured key equal to a key made through the API.)
        Err(StoreError::Duplicate(index)) if index != Unique::KeyHash => upsert().await?,
        other => other?,
    };
    match found {
        Some(doc) => Ok(doc),
        // A racing upsert can answer without the document; it is there all the same.
        None => coll(store)
            .find_one(doc! { "_id": CONFIGURED_ID })
            .await?
            .ok_or_else(|| {
                StoreError::Other(DbError::custom(
                    "the configured key's record is missing after its upsert",
                ))
            }),
    }
}

/// Deletes the configured key's record (the setting was removed); true when there was one.
pub(crate) async fn remove_configured(store: &Store) -> Result<bool, StoreError> {
    Ok(coll(store)
        .delete_many(
            doc! { "$or": [{ "_id": CONFIGURED_ID }, { "description": LEGACY_CONFIGURED }] },
        )
        .await?
        .deleted_count
        > 0)
}

/// Stores a generated first-start key under [`GENERATED_ID`]; `false` when another instance
/// did it first (or a generated key already exists).
pub(crate) async fn insert_generated(store: &Store, hash: String) -> Result<bool, StoreError> {
    let now = DateTime::now();
    let key = KeyDoc {
        id: GENERATED_ID,
        hash,
        description: "Bootstrap key (generated)".into(),
        privilege: Privilege::Standard,
        configured: false,
        created_at: now,
        updated_at: now,
    };
    match coll(store).insert_one(&key).await.map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(StoreError::Duplicate(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Undoes [`insert_generated`] (its key could not be shown).
pub(crate) async fn delete_generated(store: &Store) -> Result<(), StoreError> {
    coll(store).delete_one(doc! { "_id": GENERATED_ID }).await?;
    Ok(())
}

/// Inserts a key unless more than `max` keys would then exist (`None`). Counting after the
/// insert, and undoing it when over, keeps the cap exact when creates race.
pub(crate) async fn insert_capped(
    store: &Store,
    hash: String,
    description: String,
    privilege: Privilege,
    max: u64,
) -> Result<Option<KeyDoc>, StoreError> {
    let key = insert(store, hash, description, privilege).await?;
    if count(store).await? > max {
        coll(store).delete_one(doc! { "_id": key.id }).await?;
        return Ok(None);
    }
    Ok(Some(key))
}

/// True when `id` is the configured key's record.
pub(crate) async fn is_configured(store: &Store, id: ObjectId) -> Result<bool, StoreError> {
    Ok(coll(store)
        .find_one(doc! { "_id": id, "configured": true })
        .await?
        .is_some())
}

pub(crate) async fn find_by_hash(store: &Store, hash: &str) -> Result<Option<KeyDoc>, StoreError> {
    Ok(coll(store).find_one(doc! { "hash": hash }).await?)
}

pub(crate) async fn count(store: &Store) -> Result<u64, StoreError> {
    Ok(coll(store).count_documents(doc! {}).await?)
}

pub(crate) async fn list(
    store: &Store,
    page: Page,
) -> Result<(Vec<KeyDoc>, Option<String>), StoreError> {
    find_page(&coll(store), doc! {}, None, page, |k| k.id).await
}

/// Deletes a key that is not the configured one; returns its hash (to evict it from
/// caches), or None when there is no such key.
pub(crate) async fn delete(store: &Store, id: ObjectId) -> Result<Option<String>, StoreError> {
    Ok(coll(store)
        .find_one_and_delete(doc! { "_id": id, "configured": { "$ne": true } })
        .await?
        .map(|k| k.hash))
}

/// What happened to the stored keys, as a cache of verified keys needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyChange {
    /// This key was deleted or changed (its hash replaced): forget it.
    Changed(ObjectId),
    /// The collection itself went away (dropped, renamed): forget every key.
    All,
    /// A key was added: nothing known is wrong.
    Added,
}

/// The change stream of [`COLLECTION`]; see [`watch`].
pub(crate) struct KeyChanges(Changes);

impl KeyChanges {
    /// The next change; an error means the stream is over (open a new one).
    pub(crate) async fn next(&mut self) -> Result<KeyChange, StoreError> {
        let event = self.0.next().await?;
        let id = event
            .document_key
            .as_ref()
            .and_then(|k| k.get_object_id("_id").ok());
        Ok(match (event.operation_type, id) {
            (OperationType::Insert, _) => KeyChange::Added,
            (OperationType::Update | OperationType::Replace | OperationType::Delete, Some(id)) => {
                KeyChange::Changed(id)
            }
            _ => KeyChange::All,
        })
    }
}

/// Opens a change stream on the keys: every update, replace and delete after this call
/// returns is seen by [`KeyChanges::next`] (see [`Changes::open`]).
pub(crate) async fn watch(store: &Store) -> Result<KeyChanges, StoreError> {
    Ok(KeyChanges(Changes::open(store, COLLECTION).await?))
}
