//! `users`: attendees and speakers. `emailNorm` and `usernameNorm` are normalized copies
//! (rulebook's `normalize_email` / `normalize_username`) under unique indexes, which is
//! what makes e-mails and usernames unique case-insensitively, races included.
//!
//! No `Debug` on [`UserDoc`]: it holds the password hash.

use super::{Page, Store, StoreError, find_page};
use futures_util::TryStreamExt;
use mongodb::ClientSession;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use onboard_shared::{Socials, Status, UserOptions, UserType};
use serde::{Deserialize, Serialize};

pub(crate) const COLLECTION: &str = "users";

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserDoc {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    pub(crate) email: String,
    pub(crate) email_norm: String,
    #[serde(rename = "type")]
    pub(crate) user_type: UserType,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) username: String,
    pub(crate) username_norm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) job: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) website: Option<String>,
    #[serde(default)]
    pub(crate) socials: Socials,
    #[serde(default)]
    pub(crate) options: UserOptions,
    #[serde(default)]
    pub(crate) tag_ids: Vec<ObjectId>,
    /// Empty when read: every read's projection leaves it out.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) password_hash: String,
    pub(crate) created_at: DateTime,
    pub(crate) updated_at: DateTime,
}

/// Projection for every read: the hash never leaves the database on a read path.
fn public() -> Document {
    doc! { "passwordHash": 0 }
}

fn coll(store: &Store) -> mongodb::Collection<UserDoc> {
    store.collection(COLLECTION)
}

pub(crate) async fn insert(
    store: &Store,
    user: &UserDoc,
    session: Option<&mut ClientSession>,
) -> Result<(), StoreError> {
    let coll = coll(store);
    let action = coll.insert_one(user);
    match session {
        Some(s) => action.session(s).await?,
        None => action.await?,
    };
    Ok(())
}

pub(crate) async fn find_by_id(store: &Store, id: ObjectId) -> Result<Option<UserDoc>, StoreError> {
    Ok(coll(store)
        .find_one(doc! { "_id": id })
        .projection(public())
        .await?)
}

pub(crate) async fn email_exists(store: &Store, email_norm: &str) -> Result<bool, StoreError> {
    Ok(coll(store)
        .count_documents(doc! { "emailNorm": email_norm })
        .limit(1)
        .await?
        > 0)
}

/// The users whose normalized e-mail is in `norms`.
pub(crate) async fn find_by_emails(
    store: &Store,
    norms: &[String],
) -> Result<Vec<UserDoc>, StoreError> {
    if norms.is_empty() {
        return Ok(Vec::new());
    }
    Ok(coll(store)
        .find(doc! { "emailNorm": { "$in": norms } })
        .projection(public())
        .await?
        .try_collect()
        .await?)
}

/// Users by id, in no particular order.
pub(crate) async fn find_by_ids(
    store: &Store,
    ids: &[ObjectId],
) -> Result<Vec<UserDoc>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(coll(store)
        .find(doc! { "_id": { "$in": ids } })
        .projection(public())
        .await?
        .try_collect()
        .await?)
}

/// Filters of `GET /v1/users`.
#[derive(Debug, Default)]
pub(crate) struct UserFilter {
    pub(crate) email_norm: Option<String>,
    pub(crate) user_type: Option<UserType>,
    pub(crate) tag_id: Option<ObjectId>,
}

pub(crate) async fn list(
    store: &Store,
    f: &UserFilter,
    page: Page,
) -> Result<(Vec<UserDoc>, Option<String>), StoreError> {
    let mut filter = doc! {};
    if let Some(e) = &f.email_norm {
        filter.insert("emailNorm", e);
    }
    if let Some(t) = f.user_type {
        filter.insert("type", t.as_str());
    }
    if let Some(t) = f.tag_id {
        filter.insert("tagIds", t);
    }
    // The projection keeps the password hash out of every listed user.
    find_page(&coll(store), filter, Some(public()), page, |u| u.id).await
}

/// Replaces a user's password hash; false when no such user.
pub(crate) async fn set_password_hash(
    store: &Store,
    id: ObjectId,
    hash: &str,
) -> Result<bool, StoreError> {
    let r = coll(store)
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "passwordHash": hash, "updatedAt": DateTime::now() } },
        )
        .await?;
    Ok(r.matched_count == 1)
}

pub(crate) async fn set_tags(
    store: &Store,
    id: ObjectId,
    tag_ids: &[ObjectId],
) -> Result<(), StoreError> {
    coll(store)
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "tagIds": tag_ids, "updatedAt": DateTime::now() } },
        )
        .await?;
    Ok(())
}

/// Grants the Speaker role to these attendees; returns how many changed. Only `type` and
/// `updatedAt` change: an existing account is never updated with sponsor data.
pub(crate) async fn grant_speaker(
    store: &Store,
    ids: &[ObjectId],
    session: Option<&mut ClientSession>,
) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let coll = coll(store);
    let action = coll.update_many(
        doc! { "_id": { "$in": ids }, "type": "Attendee" },
        doc! { "$set": { "type": "Speaker", "updatedAt": DateTime::now() } },
    );
    let r = match session {
        Some(s) => action.session(s).await?,
        None => action.await?,
    };
    Ok(r.modified_count)
}

/// Compensation for [`grant_speaker`] when transactions are off.
pub(crate) async fn revoke_speaker(store: &Store, ids: &[ObjectId]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    coll(store)
        .update_many(
            doc! { "_id": { "$in": ids }, "type": "Speaker" },
            doc! { "$set": { "type": "Attendee", "updatedAt": DateTime::now() } },
        )
        .await?;
    Ok(())
}

/// Compensation for inserts when transactions are off.
pub(crate) async fn delete_many(store: &Store, ids: &[ObjectId]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    coll(store)
        .delete_many(doc! { "_id": { "$in": ids } })
        .await?;
    Ok(())
}
