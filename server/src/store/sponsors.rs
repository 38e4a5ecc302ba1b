//! `sponsors`: unique by `slug`. Speakers are referenced by user id.

use super::{Page, Store, StoreError, find_page};
use futures_util::TryStreamExt;
use mongodb::ClientSession;
use mongodb::bson::{DateTime, doc, oid::ObjectId};
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
