//! `tags`: one document per tag, unique by a case-insensitive key (`nameKey`). The first
//! spelling seen is kept as the display name.

use super::{Page, Store, StoreError, find_page, is_duplicate_key};
use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use mongodb::error::Error as DbError;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub(crate) const COLLECTION: &str = "tags";

#[derive(Debug, Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TagDoc {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    pub(crate) name: String,
    pub(crate) name_key: String,
    pub(crate) created_at: DateTime,
    pub(crate) updated_at: DateTime,
}

/// The key tags are stored and upserted by: the rulebook's, so a payload's de-duplication
/// and storage can never disagree.
pub(crate) fn tag_key(name: &str) -> String {
    onboard_shared::normalize_tag(name)
}

fn coll(store: &Store) -> mongodb::Collection<TagDoc> {
    store.collection(COLLECTION)
}

/// Finds or creates each tag, returning their ids in order.
pub(crate) async fn upsert_many(
    store: &Store,
    names: &[String],
) -> Result<Vec<ObjectId>, StoreError> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        ids.push(upsert(store, name).await?);
    }
    Ok(ids)
}

async fn upsert(store: &Store, name: &str) -> Result<ObjectId, StoreError> {
    let key = tag_key(name);
    let now = DateTime::now();
    let coll = coll(store);
    // Concurrent upserts of a new tag race for the unique index: the loser gets a
    // duplicate-key error (MongoDB), or no document at all (the embedded database answers a
    // lost race with `value: null`). Either way the winner's tag is there to read.
    for _ in 0..3 {
        let upserted = coll
            .find_one_and_update(
                doc! { "nameKey": &key },
                doc! { "$setOnInsert": { "name": name, "nameKey": &key, "createdAt": now, "updatedAt": now } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await;
        match upserted {
            Ok(Some(tag)) => return Ok(tag.id),
            Ok(None) => {}
            Err(e) if is_duplicate_key(&e) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(id) = find_by_name(store, name).await? {
            return Ok(id);
        }
    }
    Err(DbError::custom("tag upsert found no tag after three tries").into())
}

pub(crate) async fn find_by_name(
    store: &Store,
    name: &str,
) -> Result<Option<ObjectId>, StoreError> {
    Ok(coll(store)
        .find_one(doc! { "nameKey": tag_key(name) })
        .await?
        .map(|t| t.id))
}

/// Names of the given tag ids.
pub(crate) async fn names(
    store: &Store,
    ids: &[ObjectId],
) -> Result<HashMap<ObjectId, String>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let tags: Vec<TagDoc> = coll(store)
        .find(doc! { "_id": { "$in": ids } })
        .await?
        .try_collect()
        .await?;
    Ok(tags.into_iter().map(|t| (t.id, t.name)).collect())
}

pub(crate) async fn list(
    store: &Store,
    page: Page,
) -> Result<(Vec<TagDoc>, Option<String>), StoreError> {
    find_page(&coll(store), doc! {}, None, page, |t| t.id).await
}
