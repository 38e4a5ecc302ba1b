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
    /// `firstName` and `lastName` lowercased ([`name_key`]), for `GET /v1/users?q=` prefix
    /// searches on an index. Filled at start-up for documents written before they existed.
    #[serde(default)]
    pub(crate) first_name_key: String,
    #[serde(default)]
    pub(crate) last_name_key: String,
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
    /// Grows by one at every change; the `ETag`. Documents written before versions existed
    /// read as 0 (and are given 0 at start-up).
    #[serde(default)]
    pub(crate) version: i64,
}

/// The key a name is searched by: lowercase, so `?q=` is case-insensitive.
pub(crate) fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
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
    in_session!(action, session)?;
    Ok(())
}

/// Adds `user` to `inserts` (sent with what else they hold: [`super::Inserts`]).
pub(crate) fn add(inserts: &mut super::Inserts<'_>, user: &UserDoc) -> Result<(), StoreError> {
    inserts.add(COLLECTION, user)
}

pub(crate) async fn find_by_id(store: &Store, id: ObjectId) -> Result<Option<UserDoc>, StoreError> {
    Ok(coll(store)
        .find_one(doc! { "_id": id })
        .projection(public())
        .await?)
}

/// [`find_by_id`] inside `session` when given (a transaction reads its own writes).
pub(crate) async fn find_by_id_in(
    store: &Store,
    id: ObjectId,
    session: Option<&mut ClientSession>,
) -> Result<Option<UserDoc>, StoreError> {
    let coll = coll(store);
    let action = coll.find_one(doc! { "_id": id }).projection(public());
    Ok(in_session!(action, session)?)
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
    /// A search prefix (`?q=`), already lowercased: matches the start of the e-mail, the
    /// username, the first or the last name.
    pub(crate) prefix: Option<String>,
}

/// `{field: {$gte: p, $lt: p + U+10FFFF}}`: an anchored prefix as a range, which an
/// ascending index answers directly (every string starting with `p` sorts in it).
fn prefix_range(field: &str, p: &str) -> Document {
    let upper = format!("{p}\u{10FFFF}");
    doc! { field: { "$gte": p, "$lt": upper } }
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
    if let Some(p) = &f.prefix {
        filter.insert(
            "$or",
            vec![
                prefix_range("emailNorm", p),
                prefix_range("usernameNorm", p),
                prefix_range("firstNameKey", p),
                prefix_range("lastNameKey", p),
            ],
        );
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
            doc! { "$set": { "passwordHash": hash, "updatedAt": DateTime::now() }, "$inc": { "version": 1 } },
        )
        .await?;
    Ok(r.matched_count == 1)
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
        doc! { "$set": { "type": "Speaker", "updatedAt": DateTime::now() }, "$inc": { "version": 1 } },
    );
    let r = in_session!(action, session)?;
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
            doc! { "$set": { "type": "Attendee", "updatedAt": DateTime::now() }, "$inc": { "version": 1 } },
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

/// The fields a patch writes: every payload field of the user, `None` ones removed.
pub(crate) struct UserUpdate<'a> {
    /// The new values (`$set`), as stored.
    pub(crate) set: Document,
    /// Optional fields the user no longer has (`$unset`).
    pub(crate) unset: Vec<&'a str>,
}

/// Why a conditional write did not happen.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Missed {
    /// No document has this id.
    NotFound,
    /// The document exists at another version.
    Changed,
}

/// Writes `update` if the user is still at `version` (and bumps it): the version in the
/// filter makes read-merge-write atomic, so two writers never both succeed from the same
/// read. A unique index refusing the new e-mail or username is `StoreError::Duplicate`.
pub(crate) async fn update_at_version(
    store: &Store,
    id: ObjectId,
    version: i64,
    update: UserUpdate<'_>,
    session: Option<&mut ClientSession>,
) -> Result<Result<(), Missed>, StoreError> {
    let mut set = update.set;
    set.insert("updatedAt", DateTime::now());
    let mut change = doc! { "$set": set, "$inc": { "version": 1 } };
    if !update.unset.is_empty() {
        let unset: Document = update
            .unset
            .iter()
            .map(|k| ((*k).to_string(), "".into()))
            .collect();
        change.insert("$unset", unset);
    }
    // The change holds the e-mail and username: see `rewrite` for why it is not `update_one`.
    if store
        .update_unique_in(
            COLLECTION,
            doc! { "_id": id, "version": version },
            change,
            session,
        )
        .await?
    {
        return Ok(Ok(()));
    }
    Ok(Err(missed(store, id).await?))
}

async fn missed(store: &Store, id: ObjectId) -> Result<Missed, StoreError> {
    let exists = coll(store)
        .count_documents(doc! { "_id": id })
        .limit(1)
        .await?
        > 0;
    Ok(if exists {
        Missed::Changed
    } else {
        Missed::NotFound
    })
}

/// Deletes the user, only at `version` when given. The whole document goes: no copy of
/// the person's data stays in this collection.
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

/// Which of `ids` are users.
pub(crate) async fn existing_ids(
    store: &Store,
    ids: &[ObjectId],
) -> Result<Vec<ObjectId>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Document> = store
        .collection::<Document>(COLLECTION)
        .find(doc! { "_id": { "$in": ids } })
        .projection(doc! { "_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(found
        .iter()
        .filter_map(|d| d.get_object_id("_id").ok())
        .collect())
}

/// Brings documents written by older versions up to date: a `version` (0) and the name
/// keys of `?q=`. Only documents missing one are touched, so this runs at every start.
pub(crate) async fn migrate(store: &Store) -> Result<u64, StoreError> {
    let coll = store.collection::<Document>(COLLECTION);
    let old: Vec<Document> = coll
        .find(doc! { "$or": [
            { "version": { "$exists": false } },
            { "firstNameKey": { "$exists": false } },
            { "lastNameKey": { "$exists": false } },
        ] })
        .projection(doc! { "firstName": 1, "lastName": 1, "version": 1 })
        .await?
        .try_collect()
        .await?;
    let mut n = 0;
    for d in old {
        let Ok(id) = d.get_object_id("_id") else {
            continue;
        };
        let mut set = doc! {
            "firstNameKey": name_key(d.get_str("firstName").unwrap_or_default()),
            "lastNameKey": name_key(d.get_str("lastName").unwrap_or_default()),
        };
        if !d.contains_key("version") {
            set.insert("version", 0_i64);
        }
        coll.update_one(doc! { "_id": id }, doc! { "$set": set })
            .await?;
        n += 1;
    }
    Ok(n)
}
