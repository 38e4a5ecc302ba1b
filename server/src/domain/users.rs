//! Users: attendees and speakers.
//!
//! A new user is stored one way only, whoever asks: [`Account`] (a checked payload, its
//! generated password hashed on the pool, its document) inserted by [`Account::insert`] or,
//! inside a sponsor's transaction, by [`Account::insert_once`]. [`create`] (one user),
//! [`create_many`] (a bulk import) and `sponsors::create` (new speakers) all use it.
//! A user's fields change one way too: [`patch_user`] (a `PATCH`, or a bulk row applied as
//! an update), which writes with [`write_patch`].

use super::webhooks::{self, Outbox, Removed};
use super::{DomainError, IfMatch, Page, id, rfc3339, tags};
use crate::AppState;
use crate::hash_budget::Class;
use crate::passwords::{HashError, Password};
use crate::store::users::{Missed, UserDoc, UserFilter, UserUpdate, name_key};
use crate::store::{self, Session, StoreError, Unique};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use mongodb::ClientSession;
use mongodb::bson::{DateTime, oid::ObjectId};
use onboard_shared::{
    BulkRow, Code, EventType, FieldError, NewSpeaker, NewUser, OnExisting, Status, UserOptions,
    UserPatch, UserType, bulk_row_key, bulk_row_patch, check_user_patch, check_users,
    check_users_update, generate_username, normalize_email, normalize_username,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

/// How many generated usernames are tried before giving up (each is random: collisions
/// are rare, twenty in a row mean something else is wrong).
const USERNAME_TRIES: usize = 20;

/// A new user ready to be stored: its document and its password, shown once.
pub(crate) struct Account {
    doc: UserDoc,
    password: Password,
    /// The username was generated, so a collision means generating another one.
    generated: bool,
}

impl Account {
    /// Hashes a new password for `user` in `class`'s line on the pool and builds its
    /// document, with `tag_ids` already upserted.
    pub(crate) async fn new(
        state: &AppState,
        user: &NewUser,
        tag_ids: Vec<ObjectId>,
        class: Class,
    ) -> Result<Account, HashError> {
        let password = Password::generate();
        let hash = state.passwords.hash_as(class, &password).await?;
        let mut doc = user_doc(user, hash);
        doc.tag_ids = tag_ids;
        Ok(Account {
            doc,
            password,
            generated: user.username.is_none(),
        })
    }

    pub(crate) fn id(&self) -> ObjectId {
        self.doc.id
    }

    pub(crate) fn doc(&self) -> &UserDoc {
        &self.doc
    }

    /// The new user as `GET` will show it (its tags by name).
    pub(crate) async fn shown(&self, state: &AppState) -> Result<User, StoreError> {
        let names = store::tags::names(&state.store, &self.doc.tag_ids).await?;
        Ok(User::new(self.doc.clone(), &names))
    }

    /// The account's password, for the one answer that shows it.
    pub(crate) fn into_parts(self) -> (ObjectId, String, Password) {
        (self.doc.id, self.doc.email, self.password)
    }

    /// One insert, in `session` when given: the unique indexes decide, never a read.
    /// With `outbox`, its `user.created` deliveries go in the same command (one round
    /// trip: [`store::Inserts`]) and the same session; without a session a failed write
    /// deletes the user and its deliveries again. Answers the deliveries recorded, for a
    /// caller that must undo them without a transaction.
    pub(crate) async fn insert_once(
        &self,
        state: &AppState,
        outbox: Option<&Outbox>,
        session: Option<&mut ClientSession>,
    ) -> Result<Vec<ObjectId>, StoreError> {
        let store = &state.store;
        let Some(outbox) = outbox else {
            store::users::insert(store, &self.doc, session).await?;
            return Ok(Vec::new());
        };
        let deliveries = outbox.deliveries(&self.shown(state).await?);
        let ids: Vec<ObjectId> = deliveries.iter().map(|d| d.id).collect();
        let mut inserts = store.inserts();
        store::users::add(&mut inserts, &self.doc)?;
        store::webhooks::add_deliveries(&mut inserts, &deliveries)?;
        let undo = session.is_none();
        match inserts.run(session).await {
            Ok(()) => {
                state.webhooks.ring();
                Ok(ids)
            }
            // A taken username or e-mail stopped the writes at the user: nothing in.
            Err(e @ StoreError::Duplicate(_)) => Err(e),
            Err(e) => {
                if undo {
                    store::webhooks::delete_deliveries(store, &ids).await?;
                    store::users::delete_many(store, &[self.doc.id]).await?;
                }
                Err(e)
            }
        }
    }

    /// After a username collision: a new generated username, or false when the username
    /// was chosen (then the collision is the caller's answer).
    pub(crate) fn regenerate_username(&mut self) -> bool {
        if self.generated {
            let username = generate_username(&self.doc.first_name, &self.doc.last_name);
            self.doc.username_norm = normalize_username(&username);
            self.doc.username = username;
        }
        self.generated
    }

    /// Inserts the user, with its `user.created` event in one transaction when a webhook
    /// listens. A generated username that collides is generated again; a chosen one that
    /// is taken, or a taken e-mail, is a conflict.
    pub(crate) async fn insert(&mut self, state: &AppState) -> Result<(), DomainError> {
        self.insert_then(state, false, &()).await
    }

    /// [`Account::insert`], then `then` (the rest of the same change, given the user's id
    /// and the session) before the commit: one transaction when a webhook listens for
    /// `user.created` or `then_records` (it records events too), so that a failed `then`
    /// leaves neither the user nor an event; without a transaction the user and its
    /// events are deleted again.
    pub(crate) async fn insert_then(
        &mut self,
        state: &AppState,
        then_records: bool,
        then: &dyn Then,
    ) -> Result<(), DomainError> {
        let store = &state.store;
        let outbox = webhooks::listening(state, EventType::UserCreated).await?;
        let mut collided = false;
        for attempt in 0..USERNAME_TRIES {
            let mut session = if outbox.is_some() || then_records {
                store.session().await?
            } else {
                Session::none()
            };
            let inserted = self
                .insert_once(state, outbox.as_ref(), session.get())
                .await;
            let failed = match inserted {
                Ok(events) => match then.run(self.doc.id, session.get()).await {
                    Ok(()) => match session.commit().await {
                        Ok(()) => return Ok(()),
                        Err(e) => e,
                    },
                    // A concurrent write to what `then` wrote: the whole change again.
                    Err(DomainError::Store(e @ StoreError::Transient(_)))
                        if session.in_transaction() =>
                    {
                        session.abort().await;
                        e
                    }
                    Err(e) => {
                        if session.in_transaction() {
                            session.abort().await;
                        } else {
                            store::webhooks::delete_deliveries(store, &events).await?;
                            store::users::delete_many(store, &[self.doc.id]).await?;
                        }
                        return Err(e);
                    }
                },
                Err(e) => {
                    session.abort().await;
                    e
                }
            };
            let taken = match failed {
                StoreError::Duplicate(index) => index,
                // Another transaction wrote the same key: its outcome decides the next try.
                StoreError::Transient(_) => {
                    tokio::time::sleep(Duration::from_millis(5 * (attempt as u64 + 1))).await;
                    continue;
                }
                e => return Err(e.into()),
            };
            let email_taken = match taken {
                Unique::Email => true,
                Unique::Username => false,
                // An index we cannot name from the message: ask which value exists.
                _ => store::users::email_exists(store, &self.doc.email_norm).await?,
            };
            if email_taken {
                return Err(DomainError::conflict("email", Code::EmailTaken));
            }
            if !self.regenerate_username() {
                return Err(DomainError::conflict("username", Code::UsernameTaken));
            }
            collided = true;
        }
        if collided {
            // Every draw of `last.first#NNNN` was taken (a name shared by thousands): the
            // caller can choose a username, so this is a conflict on it, not a 500.
            return Err(DomainError::Conflict(vec![FieldError::new(
                "username",
                Code::UsernameTaken,
                "Every generated username for this name is taken: choose a username.",
            )]));
        }
        Err(DomainError::Busy(format!(
            "no insert after {USERNAME_TRIES} tries (transaction conflicts)"
        )))
    }
}

/// The rest of a change that creates a user ([`Account::insert_then`]), written in the
/// same session.
pub(crate) trait Then: Sync {
    fn run<'s>(
        &'s self,
        user: ObjectId,
        session: Option<&'s mut ClientSession>,
    ) -> BoxFuture<'s, Result<(), DomainError>>;
}

/// Nothing more: the user alone.
impl Then for () {
    fn run<'s>(
        &'s self,
        _: ObjectId,
        _: Option<&'s mut ClientSession>,
    ) -> BoxFuture<'s, Result<(), DomainError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The stored document of a checked user payload.
fn user_doc(user: &NewUser, hash: String) -> UserDoc {
    let now = DateTime::now();
    let username = user
        .username
        .clone()
        .unwrap_or_else(|| generate_username(&user.first_name, &user.last_name));
    UserDoc {
        id: ObjectId::new(),
        email: user.email.clone(),
        email_norm: normalize_email(&user.email),
        user_type: user.user_type,
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        username_norm: normalize_username(&username),
        username,
        first_name_key: name_key(&user.first_name),
        last_name_key: name_key(&user.last_name),
        avatar: user.avatar.clone(),
        description: user.description.clone(),
        job: user.job.clone(),
        company: user.company.clone(),
        timezone: user.timezone.clone(),
        country: user.country.clone(),
        city: user.city.clone(),
        status: user.status,
        website: user.website.clone(),
        socials: user.socials.clone(),
        options: user.options,
        tag_ids: Vec::new(),
        password_hash: hash,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// The user payload of a sponsor's new speaker (the rulebook checked that the names are
/// there for an e-mail without an account: `NewSpeaker::account_errors`).
pub(crate) fn speaker_user(s: &NewSpeaker) -> NewUser {
    NewUser {
        email: s.email.clone(),
        user_type: UserType::Speaker,
        first_name: s.first_name.clone().unwrap_or_default(),
        last_name: s.last_name.clone().unwrap_or_default(),
        username: s.username.clone(),
        avatar: s.avatar.clone(),
        description: s.description.clone(),
        job: s.job.clone(),
        company: s.company.clone(),
        tags: s.tags.clone(),
        timezone: s.timezone.clone(),
        country: None,
        city: None,
        status: None,
        website: None,
        socials: Default::default(),
        options: UserOptions {
            highlight: s.highlighted,
            end_registration: false,
        },
    }
}

/// A new user, with the password shown once.
pub(crate) struct Created {
    pub(crate) id: ObjectId,
    pub(crate) email: String,
    pub(crate) password: Password,
    /// False when the user exists but its tags could not be attached.
    pub(crate) tags_saved: bool,
}

/// Creates one user. Its tags are upserted first (shared, idempotent data) and stored
/// with it in the insert, so its `user.created` event shows them.
pub(crate) async fn create(state: &AppState, user: &NewUser) -> Result<Created, DomainError> {
    let tag_ids = if user.tags.is_empty() {
        Vec::new()
    } else {
        store::tags::upsert_many(&state.store, &user.tags).await?
    };
    let mut account = Account::new(state, user, tag_ids, Class::Single).await?;
    account.insert(state).await?;
    let tags_saved = true;
    tracing::info!(user_id = %account.id(), "user created");
    let (id, email, password) = account.into_parts();
    Ok(Created {
        id,
        email,
        password,
        tags_saved,
    })
}

/// What happened to one row of a bulk import.
pub(crate) enum RowOutcome {
    /// A new user, with its password shown once.
    Created {
        id: ObjectId,
        email: String,
        password: Password,
    },
    /// `onExisting: "skip"`: the e-mail is already a user; nothing changed.
    Exists { id: ObjectId, email: String },
    /// `onExisting: "update"`: the row was applied to the user with its e-mail.
    Updated { id: ObjectId, email: String },
    /// `onExisting: "update"`: the row's cells are what the user already has.
    Unchanged { id: ObjectId, email: String },
    /// The row must change: the rulebook's errors, a taken username or e-mail
    /// (`onExisting: "fail"`: any existing e-mail).
    Invalid(Vec<FieldError>),
    /// The row could not be stored; sending it again is safe.
    Failed(DomainError),
}

/// A valid bulk row and what it does.
enum Job {
    /// A new user.
    Create(Box<NewUser>),
    /// `onExisting: "update"`: the row applied to the user its e-mail found (as read).
    Update(Box<(UserDoc, User)>),
}

/// Imports many users, each row on its own, and answers one outcome per row in order.
/// `rows` are the request's rows, unchecked: the rulebook checks them here
/// (`check_users`, or `check_users_update` against the users their e-mails find), so a
/// duplicate e-mail inside the batch is an invalid row. A row whose e-mail is already a
/// user is, by `on_existing`: `Exists`; applied as a patch through the same path as
/// `PATCH /v1/users/{id}` ([`update_row`]: `Updated` or `Unchanged`); or `Invalid` with
/// `email_taken`.
///
/// Rows are hashed concurrently, twice the pool's size at a time, so hashing keeps every
/// core busy while other rows are written. A row waits for room in the pool's queue
/// instead of failing with `overloaded`: the request takes as long as the hashing takes.
pub(crate) async fn create_many(
    state: &AppState,
    key_id: ObjectId,
    rows: &[Value],
    on_existing: OnExisting,
) -> Result<Vec<RowOutcome>, DomainError> {
    let mut outcomes: Vec<Option<RowOutcome>> = rows.iter().map(|_| None).collect();
    let mut jobs: Vec<(usize, Job)> = Vec::with_capacity(rows.len());
    match on_existing {
        OnExisting::Update => {
            // The rows' users, read once, as GET shows them: the rulebook checks a row of a
            // known e-mail as a patch of that user (it then needs only the columns it
            // changes). A user created after this read is caught by the unique index on
            // insert and updated then (`create_row`).
            let keys: Vec<String> = rows.iter().filter_map(bulk_row_key).collect();
            let docs = store::users::find_by_emails(&state.store, &keys).await?;
            let shown = with_tags(state, docs.clone()).await?;
            let mut found: HashMap<String, (UserDoc, User, Value)> = HashMap::new();
            for (doc, user) in docs.into_iter().zip(shown) {
                let value = serde_json::to_value(&user)
                    .map_err(|e| DomainError::Internal(format!("user as JSON: {e}")))?;
                found.insert(doc.email_norm.clone(), (doc, user, value));
            }
            let checked = check_users_update(rows, |key| found.get(key).map(|f| &f.2));
            let mut updates = Vec::new();
            for (i, (row, verdict)) in rows.iter().zip(checked).enumerate() {
                match verdict {
                    Err(errors) => outcomes[i] = Some(RowOutcome::Invalid(errors)),
                    Ok(BulkRow::Create(user)) => jobs.push((i, Job::Create(Box::new(user)))),
                    Ok(BulkRow::Update(_)) => updates.push((i, row)),
                }
            }
            // A known e-mail is updated by one row at most (the others are duplicates).
            for (i, row) in updates {
                match bulk_row_key(row).and_then(|k| found.remove(&k)) {
                    Some((doc, user, _)) => jobs.push((i, Job::Update(Box::new((doc, user))))),
                    None => {
                        outcomes[i] = Some(RowOutcome::Failed(DomainError::Internal(
                            "an update row lost its user".into(),
                        )))
                    }
                }
            }
        }
        OnExisting::Skip | OnExisting::Fail => {
            let mut valid: Vec<(usize, NewUser)> = Vec::new();
            for (i, row) in check_users(rows).into_iter().enumerate() {
                match row {
                    Ok(user) => valid.push((i, user)),
                    Err(errors) => outcomes[i] = Some(RowOutcome::Invalid(errors)),
                }
            }
            // One query finds every row whose e-mail is already a user. A user created
            // between this read and a row's insert is caught by the unique index and
            // reported the same way.
            let norms: Vec<String> = valid
                .iter()
                .map(|(_, u)| normalize_email(&u.email))
                .collect();
            let existing: HashMap<String, (ObjectId, String)> =
                store::users::find_by_emails(&state.store, &norms)
                    .await?
                    .into_iter()
                    .map(|u| (u.email_norm, (u.id, u.email)))
                    .collect();
            for ((i, user), norm) in valid.into_iter().zip(&norms) {
                match existing.get(norm) {
                    Some((id, email)) => outcomes[i] = Some(existing_row(on_existing, *id, email)),
                    None => jobs.push((i, Job::Create(Box::new(user)))),
                }
            }
        }
    }

    // Each distinct tag of the new users is upserted once for the batch and its id stored
    // with the user in the insert itself. Nothing is written yet if this fails, so the
    // whole request fails and can simply be sent again. (An update upserts its own tags,
    // as a PATCH does.)
    let tag_ids = tags::upsert_batch(
        state,
        jobs.iter().filter_map(|(_, j)| match j {
            Job::Create(u) => Some(&**u),
            Job::Update(..) => None,
        }),
    )
    .await?;

    let concurrency = (state.passwords.workers() * 2).max(1);
    let done: Vec<(usize, RowOutcome)> = futures_util::stream::iter(jobs)
        .map(|(i, job)| {
            let tag_ids = &tag_ids;
            let row = &rows[i];
            async move {
                let outcome = match job {
                    Job::Create(user) => {
                        let ids: Vec<ObjectId> = user
                            .tags
                            .iter()
                            .filter_map(|t| tag_ids.get(&store::tags::tag_key(t)).copied())
                            .collect();
                        create_row(state, key_id, &user, ids, on_existing, row).await
                    }
                    Job::Update(found) => {
                        let (doc, user) = *found;
                        update_row(state, doc, user, row).await
                    }
                };
                (i, outcome)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (i, outcome) in done {
        outcomes[i] = Some(outcome);
    }
    let outcomes: Vec<RowOutcome> = outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                RowOutcome::Failed(DomainError::Internal("the row was not processed".into()))
            })
        })
        .collect();
    Ok(outcomes)
}

/// The outcome of a row whose e-mail is already a user, when the row is not an update.
fn existing_row(on_existing: OnExisting, id: ObjectId, email: &str) -> RowOutcome {
    match on_existing {
        OnExisting::Fail => match DomainError::conflict("email", Code::EmailTaken) {
            DomainError::Conflict(errors) => RowOutcome::Invalid(errors),
            other => RowOutcome::Failed(other),
        },
        OnExisting::Skip | OnExisting::Update => RowOutcome::Exists {
            id,
            email: email.to_string(),
        },
    }
}

async fn create_row(
    state: &AppState,
    key_id: ObjectId,
    user: &NewUser,
    tag_ids: Vec<ObjectId>,
    on_existing: OnExisting,
    row: &Value,
) -> RowOutcome {
    let failed = |e: DomainError| {
        tracing::warn!(error = %e, "bulk row failed");
        RowOutcome::Failed(e)
    };
    let mut account = match Account::new(state, user, tag_ids, Class::Bulk(key_id)).await {
        Ok(account) => account,
        Err(e) => return failed(e.into()),
    };
    match account.insert(state).await {
        Ok(()) => {
            let (id, email, password) = account.into_parts();
            RowOutcome::Created {
                id,
                email,
                password,
            }
        }
        Err(DomainError::Conflict(errors)) if errors.iter().any(|e| e.field == "email") => {
            // Created by someone else since the batch's lookup: the same answer as if it
            // had been there before.
            let norm = [normalize_email(&user.email)];
            let found = match store::users::find_by_emails(&state.store, &norm).await {
                Ok(found) => found.into_iter().next(),
                Err(e) => return failed(e.into()),
            };
            let Some(doc) = found else {
                return failed(DomainError::Internal(
                    "e-mail reported taken but no user has it".into(),
                ));
            };
            if on_existing != OnExisting::Update {
                return existing_row(on_existing, doc.id, &doc.email);
            }
            match with_tags(state, vec![doc.clone()]).await {
                Ok(mut shown) => match shown.pop() {
                    Some(user) => update_row(state, doc, user, row).await,
                    None => failed(DomainError::Internal("a found user went missing".into())),
                },
                Err(e) => failed(e),
            }
        }
        // A chosen username that belongs to someone else: the row must change.
        Err(DomainError::Conflict(errors)) => RowOutcome::Invalid(errors),
        Err(e) => failed(e),
    }
}

/// A bulk row applied to the user its e-mail found (`doc`, shown as `user`), for
/// `onExisting: "update"`: the patch of its non-empty cells (`bulk_row_patch`) through the
/// one path of a user change, [`patch_user`], as `PATCH /v1/users/{id}` without
/// `If-Match`. A taken username is `Invalid`, like the rulebook's own errors.
async fn update_row(state: &AppState, doc: UserDoc, user: User, row: &Value) -> RowOutcome {
    let id = doc.id;
    match patch_user(
        state,
        id,
        Some((doc, user)),
        &bulk_row_patch(row),
        &IfMatch::default(),
    )
    .await
    {
        Ok(Patched::Unchanged(user)) => RowOutcome::Unchanged {
            id,
            email: user.email,
        },
        Ok(Patched::Written(doc)) => RowOutcome::Updated {
            id,
            email: doc.email,
        },
        Err(DomainError::Invalid(errors) | DomainError::Conflict(errors)) => {
            RowOutcome::Invalid(errors)
        }
        Err(e) => {
            tracing::warn!(error = %e, "bulk row failed");
            RowOutcome::Failed(e)
        }
    }
}

/// A new password for an existing user.
pub(crate) struct Reissued {
    pub(crate) id: ObjectId,
    pub(crate) password: Password,
}

/// Issues a user a new generated password (the old one stops working): the way out when
/// an import's answer, and so its passwords, was lost.
pub(crate) async fn reissue_password(
    state: &AppState,
    id_text: &str,
) -> Result<Reissued, DomainError> {
    let id = id(id_text, "User")?;
    // Look first: an unknown id must not cost a 19 MiB hash.
    if store::users::find_by_id(&state.store, id).await?.is_none() {
        return Err(DomainError::NotFound("User"));
    }
    let password = Password::generate();
    let hash = state.passwords.hash(&password).await?;
    if !store::users::set_password_hash(&state.store, id, &hash).await? {
        return Err(DomainError::NotFound("User"));
    }
    tracing::info!(user_id = %id, "password reissued");
    Ok(Reissued { id, password })
}

/// A user as the API shows it: never a password or hash; tags by name.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct User {
    id: String,
    email: String,
    #[serde(rename = "type")]
    #[schema(schema_with = crate::openapi::user_type)]
    user_type: UserType,
    first_name: String,
    last_name: String,
    username: String,
    #[schema(required = true)]
    avatar: Option<String>,
    #[schema(required = true)]
    description: Option<String>,
    #[schema(required = true)]
    job: Option<String>,
    #[schema(required = true)]
    company: Option<String>,
    tags: Vec<String>,
    #[schema(required = true)]
    timezone: Option<String>,
    #[schema(required = true)]
    country: Option<String>,
    #[schema(required = true)]
    city: Option<String>,
    #[schema(required = true, schema_with = crate::openapi::status_or_null)]
    status: Option<Status>,
    #[schema(required = true)]
    website: Option<String>,
    socials: SocialsOut,
    #[schema(schema_with = crate::openapi::user_options)]
    options: UserOptions,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// The record's version: the `ETag` of the answers, not a member of the body.
    #[serde(skip)]
    pub(crate) version: i64,
}

/// `socials` with every network present (`null` when not given).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Socials)]
pub(crate) struct SocialsOut {
    #[schema(required = true)]
    facebook: Option<String>,
    #[schema(required = true)]
    linkedin: Option<String>,
    #[schema(required = true)]
    twitter: Option<String>,
    #[schema(required = true)]
    youtube: Option<String>,
}

impl User {
    fn new(u: UserDoc, tag_names: &HashMap<ObjectId, String>) -> Self {
        User {
            id: u.id.to_hex(),
            email: u.email,
            user_type: u.user_type,
            first_name: u.first_name,
            last_name: u.last_name,
            username: u.username,
            avatar: u.avatar,
            description: u.description,
            job: u.job,
            company: u.company,
            tags: u
                .tag_ids
                .iter()
                .filter_map(|id| tag_names.get(id).cloned())
                .collect(),
            timezone: u.timezone,
            country: u.country,
            city: u.city,
            status: u.status,
            website: u.website,
            socials: SocialsOut {
                facebook: u.socials.facebook,
                linkedin: u.socials.linkedin,
                twitter: u.socials.twitter,
                youtube: u.socials.youtube,
            },
            options: u.options,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
            version: u.version,
        }
    }
}

/// Users with their tag names, one tag query for the whole page.
async fn with_tags(state: &AppState, users: Vec<UserDoc>) -> Result<Vec<User>, DomainError> {
    let ids: Vec<ObjectId> = users
        .iter()
        .flat_map(|u| u.tag_ids.iter().copied())
        .collect();
    let names = store::tags::names(&state.store, &ids).await?;
    Ok(users.into_iter().map(|u| User::new(u, &names)).collect())
}

/// One user by id.
pub(crate) async fn get(state: &AppState, id_text: &str) -> Result<User, DomainError> {
    let id = id(id_text, "User")?;
    Ok(read(state, id).await?.1)
}

/// The stored user and how the API shows it.
async fn read(state: &AppState, id: ObjectId) -> Result<(UserDoc, User), DomainError> {
    let user = store::users::find_by_id(&state.store, id)
        .await?
        .ok_or(DomainError::NotFound("User"))?;
    let mut out = with_tags(state, vec![user.clone()]).await?;
    let shown = out
        .pop()
        .ok_or_else(|| DomainError::Internal("a found user went missing".into()))?;
    Ok((user, shown))
}

/// How many times a patch without `If-Match` starts again from a fresh read when another
/// write got in between (the last write wins, but it is still merged onto the newest user).
const UPDATE_TRIES: u32 = 16;

/// Optional fields a patch may remove (`$unset` when the merged user has none).
const OPTIONAL: &[&str] = &[
    "avatar",
    "description",
    "job",
    "company",
    "timezone",
    "country",
    "city",
    "status",
    "website",
];

/// Applies a JSON Merge Patch to a user (`PATCH /v1/users/{id}`), answering the user as
/// `GET` shows it afterwards. See [`patch_user`].
pub(crate) async fn update(
    state: &AppState,
    id_text: &str,
    patch: &serde_json::Value,
    if_match: &IfMatch,
) -> Result<User, DomainError> {
    let id = id(id_text, "User")?;
    match patch_user(state, id, None, patch, if_match).await? {
        Patched::Unchanged(user) => Ok(user),
        Patched::Written(_) => Ok(read(state, id).await?.1),
    }
}

/// What [`patch_user`] did.
enum Patched {
    /// The patch changes nothing: the user as read.
    Unchanged(User),
    /// Written: the stored user as it was before the write.
    Written(UserDoc),
}

/// The one path of a change to a user's fields: a single `PATCH`, and a bulk row applied
/// as an update (`onExisting: "update"`).
///
/// The rulebook checks the patch against the user as `GET` shows it
/// (`check_user_patch`); the write ([`write_patch`]) then happens only if the user is
/// still at the version that was read (the update's filter), so a concurrent change is
/// never overwritten unseen: with `If-Match` it is a 412, without one the patch is merged
/// again onto the newer user. The unique indexes settle a new e-mail or username (409).
/// `first` is the user already read, if the caller has it (a bulk import reads its rows'
/// users in one query).
async fn patch_user(
    state: &AppState,
    id: ObjectId,
    mut first: Option<(UserDoc, User)>,
    patch: &serde_json::Value,
    if_match: &IfMatch,
) -> Result<Patched, DomainError> {
    for attempt in 1..=UPDATE_TRIES {
        if attempt > 1 {
            store::pause_before_rerun(attempt - 1).await;
        }
        let (doc, shown) = match first.take() {
            Some(read) => read,
            None => read(state, id).await?,
        };
        if !if_match.allows(shown.version) {
            return Err(DomainError::PreconditionFailed);
        }
        let existing = serde_json::to_value(&shown)
            .map_err(|e| DomainError::Internal(format!("user as JSON: {e}")))?;
        let checked = check_user_patch(&existing, patch).map_err(DomainError::Invalid)?;
        if checked.is_unchanged() {
            return Ok(Patched::Unchanged(shown));
        }
        match write_patch(state, &doc, &checked).await? {
            Ok(()) => return Ok(Patched::Written(doc)),
            Err(Missed::NotFound) => return Err(DomainError::NotFound("User")),
            Err(Missed::Changed) if if_match.is_conditional() => {
                return Err(DomainError::PreconditionFailed);
            }
            Err(Missed::Changed) => continue,
        }
    }
    Err(DomainError::Busy(format!(
        "user kept changing during {UPDATE_TRIES} patch attempts"
    )))
}

/// Writes a checked patch of the stored user `doc`: the one place a user's fields change
/// (a single `PATCH`, and a bulk row applied as an update), so whatever must follow every
/// change goes here. New tags are upserted first. The write happens only if the user is
/// still at `doc.version`; `Err(Missed)` says why not. A new e-mail or username that a
/// unique index refuses is a 409 (`email_taken` / `username_taken`).
pub(crate) async fn write_patch(
    state: &AppState,
    doc: &UserDoc,
    checked: &UserPatch,
) -> Result<Result<(), Missed>, DomainError> {
    let tag_ids = if checked.changes("tags") {
        store::tags::upsert_many(&state.store, &checked.user.tags).await?
    } else {
        doc.tag_ids.clone()
    };
    let update = patched(doc, &checked.user, tag_ids)?;
    match updated(state, doc, update).await {
        Ok(Ok(())) => {
            tracing::info!(user_id = %doc.id, fields = ?checked.changed, "user updated");
            Ok(Ok(()))
        }
        Ok(Err(missed)) => Ok(Err(missed)),
        Err(StoreError::Duplicate(index)) => Err(taken(state, index, &checked.user.email).await?),
        Err(e) => Err(e.into()),
    }
}

/// The write of a patch, with its `user.updated` event (the user as `GET` will show it)
/// in the same transaction when a webhook listens. A transaction that conflicted with
/// another write is reported as the user having changed.
async fn updated(
    state: &AppState,
    doc: &UserDoc,
    update: UserUpdate<'static>,
) -> Result<Result<(), Missed>, StoreError> {
    let Some(outbox) = webhooks::listening(state, EventType::UserUpdated).await? else {
        return store::users::update_at_version(&state.store, doc.id, doc.version, update, None)
            .await;
    };
    let mut session = state.store.session().await?;
    let steps = async {
        let written = store::users::update_at_version(
            &state.store,
            doc.id,
            doc.version,
            update,
            session.get(),
        )
        .await?;
        // Just written in this session: it is there.
        if written.is_ok()
            && let Some(after) =
                store::users::find_by_id_in(&state.store, doc.id, session.get()).await?
        {
            let names = store::tags::names(&state.store, &after.tag_ids).await?;
            outbox
                .record(state, session.get(), &User::new(after, &names))
                .await?;
        }
        Ok::<_, StoreError>(written)
    };
    match steps.await {
        Ok(Ok(())) => match session.commit().await {
            Err(StoreError::Transient(_)) => Ok(Err(Missed::Changed)),
            other => other.map(Ok),
        },
        Ok(missed) => {
            session.abort().await;
            Ok(missed)
        }
        Err(StoreError::Transient(_)) => {
            session.abort().await;
            Ok(Err(Missed::Changed))
        }
        Err(e) => {
            session.abort().await;
            Err(e)
        }
    }
}

/// The 409 of a unique index that refused a user write.
async fn taken(state: &AppState, index: Unique, email: &str) -> Result<DomainError, DomainError> {
    let email_taken = match index {
        Unique::Email => true,
        Unique::Username => false,
        _ => store::users::email_exists(&state.store, &normalize_email(email)).await?,
    };
    Ok(if email_taken {
        DomainError::conflict("email", Code::EmailTaken)
    } else {
        DomainError::conflict("username", Code::UsernameTaken)
    })
}

/// The `$set` and `$unset` that make `doc` the merged `user`.
fn patched(
    doc: &UserDoc,
    user: &NewUser,
    tag_ids: Vec<ObjectId>,
) -> Result<UserUpdate<'static>, DomainError> {
    let mut merged = user_doc(user, String::new());
    if user.username.is_none() {
        merged.username.clone_from(&doc.username);
        merged.username_norm.clone_from(&doc.username_norm);
    }
    merged.tag_ids = tag_ids;
    let mut set = mongodb::bson::to_document(&merged)
        .map_err(|e| DomainError::Internal(format!("user as BSON: {e}")))?;
    for kept in ["_id", "passwordHash", "createdAt", "updatedAt", "version"] {
        set.remove(kept);
    }
    let unset = OPTIONAL
        .iter()
        .copied()
        .filter(|k| !set.contains_key(*k))
        .collect();
    Ok(UserUpdate { set, unset })
}

/// Records `user.updated` for each of `ids` as they stand in `session`, when a webhook
/// listens: for a change another write path makes to users (the Speaker role a sponsor's
/// link grants). Answers the deliveries' ids, for a caller that must undo them.
pub(crate) async fn record_updated(
    state: &AppState,
    mut session: Option<&mut ClientSession>,
    ids: &[ObjectId],
) -> Result<Vec<ObjectId>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let Some(outbox) = webhooks::listening(state, EventType::UserUpdated).await? else {
        return Ok(Vec::new());
    };
    let mut recorded = Vec::new();
    for id in ids {
        let found = store::users::find_by_id_in(&state.store, *id, session.as_deref_mut()).await?;
        if let Some(after) = found {
            let names = store::tags::names(&state.store, &after.tag_ids).await?;
            let shown = User::new(after, &names);
            recorded.extend(outbox.record(state, session.as_deref_mut(), &shown).await?);
        }
    }
    Ok(recorded)
}

/// Erases a user: the one write path of a removal. The document goes (the e-mail and
/// username are free at once) and every sponsor stops listing it, in one transaction when
/// the server has them. Without one, the sponsors are cleaned right after the delete;
/// sponsors are always shown through the users that exist, so a sponsor never shows a
/// missing speaker, even in between. Only the id is logged.
pub(crate) async fn delete(
    state: &AppState,
    id_text: &str,
    if_match: &IfMatch,
) -> Result<(), DomainError> {
    let id = id(id_text, "User")?;
    let version = if if_match.is_conditional() {
        let (doc, _) = read(state, id).await?;
        if !if_match.allows(doc.version) {
            return Err(DomainError::PreconditionFailed);
        }
        Some(doc.version)
    } else {
        None
    };
    super::rerun_on_conflict(|| erase(state, id, version)).await
}

async fn erase(state: &AppState, id: ObjectId, version: Option<i64>) -> Result<(), DomainError> {
    let mut session = state.store.session().await?;
    let steps = async {
        match store::users::delete(&state.store, id, version, session.get()).await? {
            Ok(()) => {}
            Err(Missed::NotFound) => return Ok(Err(DomainError::NotFound("User"))),
            Err(Missed::Changed) => return Ok(Err(DomainError::PreconditionFailed)),
        }
        let listing = store::sponsors::listing(&state.store, id, session.get()).await?;
        let sponsors =
            store::sponsors::unlink_everywhere(&state.store, &[id], session.get()).await?;
        webhooks::forget_person(state, session.get(), id).await?;
        let removed = Removed { id: id.to_hex() };
        webhooks::emit(state, session.get(), EventType::UserDeleted, &removed).await?;
        super::sponsors::record_speaker_removed(state, session.get(), &listing).await?;
        Ok::<_, DomainError>(Ok(sponsors))
    };
    match steps.await {
        Ok(Ok(sponsors)) => {
            session.commit().await?;
            tracing::info!(user_id = %id, sponsors, "user erased");
            Ok(())
        }
        Ok(Err(refused)) => {
            session.abort().await;
            Err(refused)
        }
        Err(e) => {
            session.abort().await;
            Err(e)
        }
    }
}

/// What `list` filters on (all optional, combined with and).
#[derive(Debug, Default)]
pub(crate) struct ListFilter {
    pub(crate) email: Option<String>,
    pub(crate) user_type: Option<UserType>,
    pub(crate) tag: Option<String>,
    /// A case-insensitive prefix of the e-mail, username, first or last name.
    pub(crate) q: Option<String>,
}

/// The store's filter of `filter`; `None` when no user can match (an unknown tag).
async fn store_filter(
    state: &AppState,
    filter: &ListFilter,
) -> Result<Option<UserFilter>, DomainError> {
    let mut f = UserFilter {
        email_norm: filter.email.as_deref().map(normalize_email),
        user_type: filter.user_type,
        tag_id: None,
        prefix: filter.q.as_deref().map(name_key).filter(|p| !p.is_empty()),
    };
    if let Some(tag) = &filter.tag {
        match store::tags::find_by_name(&state.store, tag).await? {
            Some(id) => f.tag_id = Some(id),
            // No such tag: no user can carry it.
            None => return Ok(None),
        }
    }
    Ok(Some(f))
}

/// One page of users and the cursor of the next.
pub(crate) async fn list(
    state: &AppState,
    filter: &ListFilter,
    page: Page,
) -> Result<(Vec<User>, Option<String>), DomainError> {
    let Some(f) = store_filter(state, filter).await? else {
        return Ok((Vec::new(), None));
    };
    let (users, next) = store::users::list(&state.store, &f, page).await?;
    Ok((with_tags(state, users).await?, next))
}

/// Users an export reads per query: one such page is all it holds in memory.
pub(crate) const EXPORT_PAGE: i64 = 500;

/// Every user a filter matches, read [`EXPORT_PAGE`] at a time in id order (keyset pages,
/// as the list's), for an export of any size: [`Pages::next`] until it answers `None`.
/// A user created or removed while the pages are read is listed or not depending on its
/// id's place relative to the pages already read; none is listed twice.
pub(crate) struct Pages {
    state: Arc<AppState>,
    /// `None` once the last page was read (or when no user can match).
    filter: Option<UserFilter>,
    after: Option<ObjectId>,
}

/// The pages of every user `filter` matches, after the id `after` when given.
pub(crate) async fn pages(
    state: Arc<AppState>,
    filter: &ListFilter,
    after: Option<ObjectId>,
) -> Result<Pages, DomainError> {
    let filter = store_filter(&state, filter).await?;
    Ok(Pages {
        state,
        filter,
        after,
    })
}

impl Pages {
    /// The next page of users (never empty), or `None` after the last one.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<User>>, DomainError> {
        let Some(filter) = &self.filter else {
            return Ok(None);
        };
        let page = Page {
            limit: EXPORT_PAGE,
            after: self.after,
        };
        let (users, next) = store::users::list(&self.state.store, filter, page).await?;
        if next.is_some() {
            self.after = users.last().map(|u| u.id);
        } else {
            self.filter = None;
        }
        if users.is_empty() {
            return Ok(None);
        }
        Ok(Some(with_tags(&self.state, users).await?))
    }
}
