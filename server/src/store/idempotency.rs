//! `idempotency`: the outcome of requests sent with an `Idempotency-Key`, for 24 hours
//! (TTL index on `createdAt`). A record's `_id` is a hash of (API key id, Idempotency-Key)
//! and its stored answer is ciphertext: the database alone reveals neither the key nor a
//! password the answer carried (see `crate::idempotency`).

use super::{Store, StoreError};
use mongodb::bson::{Binary, DateTime, doc, spec::BinarySubtype};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub(crate) const COLLECTION: &str = "idempotency";

/// How long a finished answer is kept.
pub(crate) const KEEP: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record {
    #[serde(rename = "_id")]
    pub(crate) id: String,
    /// SHA-256 of the request (method, route, body): a different body is refused.
    pub(crate) fingerprint: String,
    /// Absent while the first request still runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<Binary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sealed: Option<Binary>,
    /// When the first request started (or the answer was stored): the TTL index's field.
    pub(crate) created_at: DateTime,
}

fn coll(store: &Store) -> mongodb::Collection<Record> {
    store.collection(COLLECTION)
}

/// What claiming a key found.
pub(crate) enum Claim {
    /// Nobody had it: the caller runs the request, then [`finish`] or [`release`].
    Mine,
    /// Someone had it first: their record (running or finished).
    Taken(Record),
}

/// Claims `id` for a request with `fingerprint`: the `_id` index settles races between
/// instances, so exactly one request runs.
pub(crate) async fn claim(store: &Store, id: &str, fingerprint: &str) -> Result<Claim, StoreError> {
    let record = Record {
        id: id.to_string(),
        fingerprint: fingerprint.to_string(),
        status: None,
        nonce: None,
        sealed: None,
        created_at: DateTime::now(),
    };
    match coll(store)
        .insert_one(&record)
        .await
        .map_err(StoreError::from)
    {
        Ok(_) => Ok(Claim::Mine),
        Err(StoreError::Duplicate(_)) => {
            match coll(store).find_one(doc! { "_id": id }).await? {
                Some(found) => Ok(Claim::Taken(found)),
                // Expired or released between the insert and the read: try once more.
                None => match coll(store)
                    .insert_one(&record)
                    .await
                    .map_err(StoreError::from)
                {
                    Ok(_) => Ok(Claim::Mine),
                    Err(StoreError::Duplicate(_)) => {
                        let found = coll(store).find_one(doc! { "_id": id }).await?;
                        found.map_or(Ok(Claim::Mine), |r| Ok(Claim::Taken(r)))
                    }
                    Err(e) => Err(e),
                },
            }
        }
        Err(e) => Err(e),
    }
}

/// Stores the sealed answer of a claimed key.
pub(crate) async fn finish(
    store: &Store,
    id: &str,
    status: u16,
    nonce: Vec<u8>,
    sealed: Vec<u8>,
) -> Result<(), StoreError> {
    let bin = |bytes| Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    };
    coll(store)
        .update_one(
            doc! { "_id": id, "status": { "$exists": false } },
            doc! { "$set": {
                "status": i32::from(status),
                "nonce": bin(nonce),
                "sealed": bin(sealed),
                "createdAt": DateTime::now(),
            } },
        )
        .await?;
    Ok(())
}

/// Gives a claimed key back (the answer is not stored: a 400 or a 5xx), so a retry runs.
pub(crate) async fn release(store: &Store, id: &str) -> Result<(), StoreError> {
    coll(store)
        .delete_one(doc! { "_id": id, "status": { "$exists": false } })
        .await?;
    Ok(())
}

/// Drops a running claim older than `started_before` (its instance died mid-request).
pub(crate) async fn drop_stale(
    store: &Store,
    id: &str,
    started_before: DateTime,
) -> Result<(), StoreError> {
    coll(store)
        .delete_one(doc! {
            "_id": id,
            "status": { "$exists": false },
            "createdAt": { "$lt": started_before },
        })
        .await?;
    Ok(())
}
