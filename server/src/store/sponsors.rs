//! `sponsors`: unique by `slug`. Speakers are referenced by user id.

use super::users::Missed;
use super::{Page, Store, StoreError, find_page};
use futures_util::TryStreamExt;
use mongodb::ClientSession;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use onboard_shared::SponsorOptions;
use serde::{Deserialize, Serialize};

pub(crate) const COLLECTION: &str = "sponsors";

#[derive(Debug, Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SponsorDoc {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    pub(crate) name: String,
    pub(crate) slug: String,
    pub(crate) logo: String,
    pub(crate) level: i32,
    pub(crate) has_page: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) page_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) icon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) color: Option<String>,
    #[serde(default)]
    pub(crate) options: SponsorOptions,
    #[serde(default)]
    pub(crate) speaker_ids: Vec<ObjectId>,
    pub(crate) created_at: DateTime,
    pub(crate) updated_at: DateTime,
    /// Grows by one at every change of the sponsor (its speakers included); the `ETag`.
    /// Documents written before versions existed read as 0 (and are given 0 at start-up).
    #[serde(default)]
    pub(crate) version: i64,
}

fn coll(store: &Store) -> mongodb::Collection<SponsorDoc> {
    store.collection(COLLECTION)
}

pub(crate) async fn insert(
    store: &Store,
    s: &SponsorDoc,
    session: Option<&mut ClientSession>,
) -> Result<(), StoreError> {
    let coll = coll(store);
    let action = coll.insert_one(s);
    match session {
        Some(sess) => action.session(sess).await?,
        None => action.await?,
    };
    Ok(())
}

pub(crate) async fn find_by_id(
    store: &Store,
    id: ObjectId,
) -> Result<Option<SponsorDoc>, StoreError> {
    Ok(coll(store).find_one(doc! { "_id": id }).await?)
}

/// [`find_by_id`] inside `session` when given (a transaction reads its own writes).
pub(crate) async fn find_by_id_in(
    store: &Store,
    id: ObjectId,
    session: Option<&mut ClientSession>,
) -> Result<Option<SponsorDoc>, StoreError> {
    let coll = coll(store);
    let action = coll.find_one(doc! { "_id": id });
    Ok(in_session!(action, session)?)
}

/// Which of `candidates` are already sponsor slugs. Exact matches on the unique index:
/// a pattern on the base would miss the shortened forms that long names get.
pub(crate) async fn taken_slugs(
    store: &Store,
    candidates: &[String],
) -> Result<Vec<String>, StoreError> {
    let docs: Vec<SponsorDoc> = coll(store)
        .find(doc! { "slug": { "$in": candidates } })
        .await?
        .try_collect()
        .await?;
    Ok(docs.into_iter().map(|d| d.slug).collect())
}

pub(crate) async fn list(
    store: &Store,
    slug: Option<&str>,
    page: Page,
) -> Result<(Vec<SponsorDoc>, Option<String>), StoreError> {
    let mut filter = doc! {};
    if let Some(slug) = slug {
        filter.insert("slug", slug);
    }
    find_page(&coll(store), filter, None, page, |s| s.id).await
}

/// What every change of a sponsor also writes: a new version and `updatedAt`.
fn touched(mut change: Document) -> Document {
    change.insert("$inc", doc! { "version": 1 });
    let set = change.get_document_mut("$set").ok();
    match set {
        Some(set) => {
            set.insert("updatedAt", DateTime::now());
        }
        None => {
            change.insert("$set", doc! { "updatedAt": DateTime::now() });
        }
    }
    change
}

async fn missed(store: &Store, id: ObjectId) -> Result<Missed, StoreError> {
    let n = coll(store)
        .count_documents(doc! { "_id": id })
        .limit(1)
        .await?;
    Ok(if n > 0 {
        Missed::Changed
    } else {
        Missed::NotFound
    })
}

/// Writes a patch's `$set` and `$unset` if the sponsor is still at `version`: the version
/// in the filter makes read-merge-write atomic. A taken slug is `StoreError::Duplicate`.
pub(crate) async fn update_at_version(
    store: &Store,
    id: ObjectId,
    version: i64,
    set: Document,
    unset: &[&str],
    session: Option<&mut ClientSession>,
) -> Result<Result<(), Missed>, StoreError> {
    let new_slug = set.contains_key("slug");
    let mut change = doc! { "$set": set };
    if !unset.is_empty() {
        let unset: Document = unset
            .iter()
            .map(|k| ((*k).to_string(), "".into()))
            .collect();
        change.insert("$unset", unset);
    }
    let filter = doc! { "_id": id, "version": version };
    let matched = if new_slug {
        // A new slug: see `rewrite` for why it is not `update_one`.
        store
            .update_unique_in(COLLECTION, filter, touched(change), session)
            .await?
    } else {
        let coll = coll(store);
        let action = coll.update_one(filter, touched(change));
        let r = in_session!(action, session)?;
        r.matched_count == 1
    };
    if matched {
        return Ok(Ok(()));
    }
    Ok(Err(missed(store, id).await?))
}

/// Deletes the sponsor, only at `version` when given.
pub(crate) async fn delete(
    store: &Store,
    id: ObjectId,
    version: Option<i64>,
    session: Option<&mut ClientSession>,
) -> Result<Result<(), Missed>, StoreError> {
    let mut filter = doc! { "_id": id };
    if let Some(v) = version {
        filter.insert("version", v);
    }
    let coll = coll(store);
    let action = coll.delete_one(filter);
    let r = in_session!(action, session)?;
    if r.deleted_count == 1 {
        return Ok(Ok(()));
    }
    Ok(Err(missed(store, id).await?))
}

/// Why a speaker was not added or removed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SpeakerMiss {
    NoSponsor,
    /// Adding: already a speaker. Removing: not one.
    AlreadyOrNot,
}

/// Adds `user` to the sponsor's speakers, at the end, unless it is one already (decided by
/// the update's filter, so two concurrent adds of one user cannot both succeed).
pub(crate) async fn add_speaker(
    store: &Store,
    id: ObjectId,
    user: ObjectId,
    session: Option<&mut ClientSession>,
) -> Result<Result<(), SpeakerMiss>, StoreError> {
    let coll = coll(store);
    let action = coll.update_one(
        doc! { "_id": id, "speakerIds": { "$ne": user } },
        touched(doc! { "$push": { "speakerIds": user } }),
    );
    let r = in_session!(action, session)?;
    speaker_outcome(store, id, r.matched_count).await
}

/// Removes `user` from the sponsor's speakers.
pub(crate) async fn remove_speaker(
    store: &Store,
    id: ObjectId,
    user: ObjectId,
    session: Option<&mut ClientSession>,
) -> Result<Result<(), SpeakerMiss>, StoreError> {
    let coll = coll(store);
    let action = coll.update_one(
        doc! { "_id": id, "speakerIds": user },
        touched(doc! { "$pull": { "speakerIds": user } }),
    );
    let r = in_session!(action, session)?;
    speaker_outcome(store, id, r.matched_count).await
}

async fn speaker_outcome(
    store: &Store,
    id: ObjectId,
    matched: u64,
) -> Result<Result<(), SpeakerMiss>, StoreError> {
    if matched == 1 {
        return Ok(Ok(()));
    }
    Ok(Err(match missed(store, id).await? {
        Missed::NotFound => SpeakerMiss::NoSponsor,
        Missed::Changed => SpeakerMiss::AlreadyOrNot,
    }))
}

/// The ids of the sponsors listing `user` as a speaker.
pub(crate) async fn listing(
    store: &Store,
    user: ObjectId,
    session: Option<&mut ClientSession>,
) -> Result<Vec<ObjectId>, StoreError> {
    let coll = store.collection::<Document>(COLLECTION);
    let find = coll
        .find(doc! { "speakerIds": user })
        .projection(doc! { "_id": 1 });
    let docs = super::find_all(find, session).await?;
    Ok(docs
        .iter()
        .filter_map(|d| d.get_object_id("_id").ok())
        .collect())
}

/// Removes `users` from the speakers of every sponsor that lists one of them; answers how
/// many sponsors changed.
pub(crate) async fn unlink_everywhere(
    store: &Store,
    users: &[ObjectId],
    session: Option<&mut ClientSession>,
) -> Result<u64, StoreError> {
    if users.is_empty() {
        return Ok(0);
    }
    let coll = coll(store);
    let action = coll.update_many(
        doc! { "speakerIds": { "$in": users } },
        touched(doc! { "$pull": { "speakerIds": { "$in": users } } }),
    );
    let r = in_session!(action, session)?;
    Ok(r.modified_count)
}

/// Gives documents written before versions existed version 0 (only those: runs at every
/// start).
pub(crate) async fn migrate(store: &Store) -> Result<u64, StoreError> {
    let r = coll(store)
        .update_many(
            doc! { "version": { "$exists": false } },
            doc! { "$set": { "version": 0_i64 } },
        )
        .await?;
    Ok(r.modified_count)
}
