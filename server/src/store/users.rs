//! `users`: attendees and speakers. `emailNorm` and `usernameNorm` are normalized copies
//! (rulebook's `normalize_email` / `normalize_username`) under unique indexes, which is
//! what makes e-mails and usernames unique case-insensitively, races included.
//!
//! No `Debug` on [`UserDoc`]: it holds the password hash.

use super::{Page, Store, find_page};
use futures_util::TryStreamExt;
use mongodb::ClientSession;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::error::Error as DbError;
use onboard_shared::{Socials, Status, UserOptions, UserType};
use serde::{Deserialize, Serialize};

pub const COLLECTION: &str = "users";

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub email: String,
    pub email_norm: String,
    #[serde(rename = "type")]
    pub user_type: UserType,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub username_norm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default)]
    pub socials: Socials,
    #[serde(default)]
    pub options: UserOptions,
    #[serde(default)]
    pub tag_ids: Vec<ObjectId>,
    /// Empty when read with [`PUBLIC`] (reads never fetch it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_hash: String,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

/// Projection for every read: the hash never leaves the database on a read path.
fn public() -> Document {
    doc! { "passwordHash": 0 }
}

fn coll(store: &Store) -> mongodb::Collection<UserDoc> {
    store.collection(COLLECTION)
}

pub async fn insert(
    store: &Store,
    user: &UserDoc,
    session: Option<&mut ClientSession>,
) -> Result<(), DbError> {
    let coll = coll(store);
    let action = coll.insert_one(user);
    match session {
        Some(s) => action.session(s).await?,
        None => action.await?,
    };
    Ok(())
}

pub async fn find_by_id(store: &Store, id: ObjectId) -> Result<Option<UserDoc>, DbError> {
    coll(store)
        .find_one(doc! { "_id": id })
        .projection(public())
        .await
}

pub async fn email_exists(store: &Store, email_norm: &str) -> Result<bool, DbError> {
    Ok(coll(store)
        .count_documents(doc! { "emailNorm": email_norm })
        .limit(1)
        .await?
        > 0)
}

/// The users whose normalized e-mail is in `norms`.
pub async fn find_by_emails(store: &Store, norms: &[String]) -> Result<Vec<UserDoc>, DbError> {
    if norms.is_empty() {
        return Ok(Vec::new());
    }
    coll(store)
        .find(doc! { "emailNorm": { "$in": norms } })
        .projection(public())
        .await?
        .try_collect()
        .await
}

/// Users by id, in no particular order.
pub async fn find_by_ids(store: &Store, ids: &[ObjectId]) -> Result<Vec<UserDoc>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    coll(store)
        .find(doc! { "_id": { "$in": ids } })
        .projection(public())
        .await?
        .try_collect()
        .await
}

/// Filters of `GET /v1/users`.
#[derive(Debug, Default)]
pub struct UserFilter {
    pub email_norm: Option<String>,
    pub user_type: Option<UserType>,
    pub tag_id: Option<ObjectId>,
}

pub async fn list(
    store: &Store,
    f: &UserFilter,
    page: Page,
) -> Result<(Vec<UserDoc>, Option<String>), DbError> {
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
pub async fn set_password_hash(store: &Store, id: ObjectId, hash: &str) -> Result<bool, DbError> {
    let r = coll(store)
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "passwordHash": hash, "updatedAt": DateTime::now() } },
        )
        .await?;
    Ok(r.matched_count == 1)
}

pub async fn set_tags(store: &Store, id: ObjectId, tag_ids: &[ObjectId]) -> Result<(), DbError> {
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
pub async fn grant_speaker(
    store: &Store,
    ids: &[ObjectId],
    session: Option<&mut ClientSession>,
) -> Result<u64, DbError> {
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
pub async fn revoke_speaker(store: &Store, ids: &[ObjectId]) -> Result<(), DbError> {
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
pub async fn delete_many(store: &Store, ids: &[ObjectId]) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    coll(store)
        .delete_many(doc! { "_id": { "$in": ids } })
        .await?;
    Ok(())
}
