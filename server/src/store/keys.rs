//! `api_keys`: API keys, stored only as SHA-256 hashes (unique index on `hash`).
//!
//! No `Debug` on [`KeyDoc`]: it holds a hash, and hashes never reach a log line.

use super::{Page, Store, StoreError, find_page};
use mongodb::bson::{DateTime, doc, oid::ObjectId};
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
        created_at: now,
        updated_at: now,
    };
    coll(store).insert_one(&key).await?;
    Ok(key)
}

/// Stores the configured bootstrap key's hash once (idempotent across restarts); returns
/// its document.
pub(crate) async fn upsert_bootstrap(store: &Store, hash: &str) -> Result<KeyDoc, StoreError> {
    let now = DateTime::now();
    Ok(coll(store)
        .find_one_and_update(
            doc! { "hash": hash },
            doc! { "$setOnInsert": {
                "_id": ObjectId::new(),
                "hash": hash,
                "description": "Bootstrap key (ONBOARD_API_KEY)",
                "privilege": "standard",
                "createdAt": now,
                "updatedAt": now,
            } },
        )
        .upsert(true)
        .return_document(ReturnDocument::After)
        .await?
        .ok_or_else(|| DbError::custom("bootstrap key upsert returned no document"))?)
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

/// Deletes a key; returns its hash (to evict it from caches), or None when unknown.
pub(crate) async fn delete(store: &Store, id: ObjectId) -> Result<Option<String>, StoreError> {
    Ok(coll(store)
        .find_one_and_delete(doc! { "_id": id })
        .await?
        .map(|k| k.hash))
}
