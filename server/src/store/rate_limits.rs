//! `rate_buckets`: the tokens each API key has been granted from each budget in each window,
//! shared by every instance. One document per (key id, budget, window start) whose `n` only
//! grows by what was granted; a TTL index on `expiresAt` drops it after the next window.
//! Instances take tokens in batches (see `crate::rate_limit`), so this is not on the path
//! of every request.

use super::{Store, StoreError};
use mongodb::bson::{Bson, DateTime, Document, doc, oid::ObjectId};
use mongodb::options::ReturnDocument;

pub(crate) const COLLECTION: &str = "rate_buckets";

fn id(key: ObjectId, budget: &str, window_start_ms: i64) -> Document {
    doc! { "k": key, "b": budget, "w": window_start_ms }
}

fn count(doc: Option<&Document>) -> Option<i64> {
    match doc?.get("n")? {
        Bson::Int64(n) => Some(*n),
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}

/// The tokens granted in the window starting at `window_start_ms` (0 when none were).
pub(crate) async fn granted(
    store: &Store,
    key: ObjectId,
    budget: &str,
    window_start_ms: i64,
) -> Result<i64, StoreError> {
    let found = store
        .collection::<Document>(COLLECTION)
        .find_one(doc! { "_id": id(key, budget, window_start_ms) })
        .await?;
    Ok(count(found.as_ref()).unwrap_or(0))
}

/// Grants `want` tokens of the window starting at `window_start_ms` if the window's count
/// stays within `allowance` (the caller makes sure `want <= allowance`); one atomic
/// update, so instances racing for the last tokens cannot both get them. `Some(count
/// after)` when granted (the count may be unknown after a race: then `allowance`), `None`
/// when fewer than `want` are left.
pub(crate) async fn take(
    store: &Store,
    key: ObjectId,
    budget: &str,
    window_start_ms: i64,
    want: u32,
    allowance: i64,
    expires: DateTime,
) -> Result<Option<i64>, StoreError> {
    let filter = doc! {
        "_id": id(key, budget, window_start_ms),
        "n": { "$lte": allowance - i64::from(want) },
    };
    let update = doc! {
        "$inc": { "n": i64::from(want) },
        "$setOnInsert": { "expiresAt": expires },
    };
    let coll = store.collection::<Document>(COLLECTION);
    // Upsert: the window's first take creates its document.
    match coll
        .find_one_and_update(filter.clone(), update.clone())
        .upsert(true)
        .return_document(ReturnDocument::After)
        .await
        .map_err(StoreError::from)
    {
        // No document back: the embedded database's answer to an upsert that lost a race
        // to create the document. Its `$inc` was applied within the filter all the same
        // (pymongo, 16 at once on 30 new windows: every no-document answer's increment in
        // the final count, the allowance never passed), so it is a grant of unknown count.
        Ok(after) => Ok(Some(count(after.as_ref()).unwrap_or(allowance))),
        // The document exists and the filter did not match it (too few left), or another
        // instance created it a moment ago: update it if it has room, without inserting.
        Err(StoreError::Duplicate(_)) => {
            let done = coll.update_one(filter, update).await?;
            Ok((done.matched_count == 1).then_some(allowance))
        }
        Err(e) => Err(e),
    }
}
