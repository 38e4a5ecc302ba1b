//! `rate_buckets`: the tokens each API key has taken from each budget in each window, shared
//! by every instance. One document per (key id, budget, window start), counted with an
//! atomic `$inc`; a TTL index on `expiresAt` drops a window's document after it ends.
//! Instances take tokens in batches (see `crate::rate_limit`), so this is not on the path
//! of every request.

use super::{Store, StoreError};
use mongodb::bson::{Bson, DateTime, Document, doc, oid::ObjectId};
use mongodb::options::ReturnDocument;

pub(crate) const COLLECTION: &str = "rate_buckets";

/// Adds `batch` tokens to those taken by `key` from `budget` in the window starting at
/// `window_start_ms` (Unix milliseconds); returns how many had been taken before. The
/// count may pass the limit: the caller grants only what was left below it, so over every
/// instance together no more than the limit is ever granted in a window.
pub(crate) async fn take(
    store: &Store,
    key: ObjectId,
    budget: &str,
    window_start_ms: i64,
    batch: u32,
    expires: DateTime,
) -> Result<i64, StoreError> {
    let filter = doc! { "_id": { "k": key, "b": budget, "w": window_start_ms } };
    let update = doc! {
        "$inc": { "n": i64::from(batch) },
        "$setOnInsert": { "expiresAt": expires },
    };
    let run = || async {
        store
            .collection::<Document>(COLLECTION)
            .find_one_and_update(filter.clone(), update.clone())
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(StoreError::from)
    };
    let after = match run().await {
        // Two instances upserting a window's first document at once: the loser's retry
        // updates the winner's.
        Err(StoreError::Duplicate(_)) => run().await?,
        other => other?,
    };
    let taken = match after.as_ref().and_then(|d| d.get("n")) {
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Double(n)) => *n as i64,
        // An upsert that answered without its document: count the batch as the first.
        _ => i64::from(batch),
    };
    Ok(taken - i64::from(batch))
}
