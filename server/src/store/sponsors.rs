//! `sponsors`: unique by `slug`. Speakers are referenced by user id.

use super::{Page, Store, find_page};
use futures_util::TryStreamExt;
use mongodb::ClientSession;
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use mongodb::error::Error as DbError;
use onboard_shared::SponsorOptions;
use serde::{Deserialize, Serialize};

pub const COLLECTION: &str = "sponsors";

#[derive(Debug, Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct SponsorDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    pub slug: String,
    pub logo: String,
    pub level: i32,
    pub has_page: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default)]
    pub options: SponsorOptions,
    #[serde(default)]
    pub speaker_ids: Vec<ObjectId>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

fn coll(store: &Store) -> mongodb::Collection<SponsorDoc> {
    store.collection(COLLECTION)
}

pub async fn insert(
    store: &Store,
    s: &SponsorDoc,
    session: Option<&mut ClientSession>,
) -> Result<(), DbError> {
    let coll = coll(store);
    let action = coll.insert_one(s);
    match session {
        Some(sess) => action.session(sess).await?,
        None => action.await?,
    };
    Ok(())
}

pub async fn find_by_id(store: &Store, id: ObjectId) -> Result<Option<SponsorDoc>, DbError> {
    coll(store).find_one(doc! { "_id": id }).await
}

/// Which of `candidates` are already sponsor slugs. Exact matches on the unique index:
/// a pattern on the base would miss the shortened forms that long names get.
pub async fn taken_slugs(store: &Store, candidates: &[String]) -> Result<Vec<String>, DbError> {
    let docs: Vec<SponsorDoc> = coll(store)
        .find(doc! { "slug": { "$in": candidates } })
        .await?
        .try_collect()
        .await?;
    Ok(docs.into_iter().map(|d| d.slug).collect())
}

pub async fn list(
    store: &Store,
    slug: Option<&str>,
    page: Page,
) -> Result<(Vec<SponsorDoc>, Option<String>), DbError> {
    let mut filter = doc! {};
    if let Some(slug) = slug {
        filter.insert("slug", slug);
    }
    find_page(&coll(store), filter, None, page, |s| s.id).await
}
