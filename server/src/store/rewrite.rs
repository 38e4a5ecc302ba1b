//! Updates that may change a unique field (a user's e-mail or username, a sponsor's slug).
//!
//! The embedded database, secantusd-rs 0.5.3-beta.196, keeps the *old* value of a unique
//! field in its index after an update: change a user's e-mail and the old address stays
//! "taken" for good, even after the user is erased (found by schemathesis: a sponsor whose
//! slug was patched blocked every later sponsor of the same name with a 500). A delete does
//! remove its index entries, so such an update is written as a delete of the document and an
//! insert of its changed copy (same `_id`), in one transaction: a refused insert rolls the
//! delete back. Without transactions (a standalone MongoDB, which has no such defect) it is
//! the plain `update_one` it stands for. Reproduced by `server/tests/api/lifecycle.rs`
//! (`old_unique_values_are_free_after_a_change`).

use super::{Store, StoreError};
use mongodb::ClientSession;
use mongodb::bson::{Bson, Document};

/// How often a rewrite whose transaction conflicted with another write runs again. A rerun
/// reads afresh, so a write that changed the version meanwhile makes it miss, as the
/// conditional `update_one` would.
const TRIES: usize = 8;

impl Store {
    /// Applies `change` (top-level `$set`, `$unset` and `$inc`) to the one document of
    /// `collection` that `filter` matches; true when one matched. A unique index refusing
    /// the new values is `StoreError::Duplicate`, and then nothing changed.
    pub(crate) async fn update_unique(
        &self,
        collection: &str,
        filter: Document,
        change: Document,
    ) -> Result<bool, StoreError> {
        let coll = self.collection::<Document>(collection);
        if !self.transactions {
            let r = coll.update_one(filter, change).await?;
            return Ok(r.matched_count == 1);
        }
        let mut tries = 0;
        loop {
            tries += 1;
            match self.rewrite(&coll, &filter, &change).await {
                Err(StoreError::Transient(e)) if tries < TRIES => {
                    tracing::debug!(error = %e, tries, "rewrite conflicted; running it again");
                    // A short, growing pause lets the other writer commit first.
                    tokio::time::sleep(std::time::Duration::from_millis(5 * tries as u64)).await;
                }
                other => return other,
            }
        }
    }

    /// [`Store::update_unique`] inside `session` when given (the caller's transaction,
    /// which then also settles conflicts and commits), else in its own.
    pub(crate) async fn update_unique_in(
        &self,
        collection: &str,
        filter: Document,
        change: Document,
        session: Option<&mut ClientSession>,
    ) -> Result<bool, StoreError> {
        let Some(s) = session else {
            return self.update_unique(collection, filter, change).await;
        };
        let coll = self.collection::<Document>(collection);
        let Some(mut doc) = coll.find_one_and_delete(filter).session(&mut *s).await? else {
            return Ok(false);
        };
        apply(&mut doc, &change);
        coll.insert_one(doc).session(s).await?;
        Ok(true)
    }

    async fn rewrite(
        &self,
        coll: &mongodb::Collection<Document>,
        filter: &Document,
        change: &Document,
    ) -> Result<bool, StoreError> {
        let mut session = self.session().await?;
        let result = async {
            let Some(s) = session.get() else {
                // Not in a transaction after all: the plain update.
                let r = coll.update_one(filter.clone(), change.clone()).await?;
                return Ok(r.matched_count == 1);
            };
            let Some(mut doc) = coll
                .find_one_and_delete(filter.clone())
                .session(&mut *s)
                .await?
            else {
                return Ok(false);
            };
            apply(&mut doc, change);
            coll.insert_one(doc).session(s).await?;
            Ok(true)
        }
        .await;
        match result {
            Ok(true) => {
                session.commit().await?;
                Ok(true)
            }
            other => {
                session.abort().await;
                other
            }
        }
    }
}

/// `change`'s `$set`, `$unset` and `$inc` of top-level fields, done in memory.
fn apply(doc: &mut Document, change: &Document) {
    debug_assert!(
        change
            .values()
            .filter_map(Bson::as_document)
            .all(|d| d.keys().all(|k| !k.contains('.'))),
        "only top-level fields: {change}"
    );
    if let Ok(set) = change.get_document("$set") {
        for (k, v) in set {
            doc.insert(k.clone(), v.clone());
        }
    }
    if let Ok(unset) = change.get_document("$unset") {
        for k in unset.keys() {
            doc.remove(k);
        }
    }
    if let Ok(inc) = change.get_document("$inc") {
        for (k, by) in inc {
            let by = match by {
                Bson::Int32(n) => i64::from(*n),
                Bson::Int64(n) => *n,
                _ => 0,
            };
            let now = match doc.get(k) {
                Some(Bson::Int32(n)) => i64::from(*n),
                Some(Bson::Int64(n)) => *n,
                _ => 0,
            };
            doc.insert(k.clone(), now + by);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn apply_sets_unsets_and_increments_top_level_fields() {
        let mut d = doc! { "a": 1, "b": "x", "gone": true, "version": 3_i64, "small": 1_i32 };
        apply(
            &mut d,
            &doc! {
                "$set": { "b": "y", "c": { "n": 1 } },
                "$unset": { "gone": "" },
                "$inc": { "version": 1, "small": 2, "fresh": 1 },
            },
        );
        assert_eq!(
            d,
            doc! { "a": 1, "b": "y", "version": 4_i64, "small": 3_i64, "c": { "n": 1 }, "fresh": 1_i64 }
        );
    }
}
