//! Sponsors, and the speakers they bring.
//!
//! A sponsor create is all-or-nothing: the sponsor, its new speaker accounts and the
//! Speaker role granted to existing attendees are written in one transaction when the
//! server supports them, otherwise undone by compensating writes on failure.

use super::users::{self, Account, speaker_user};
use super::webhooks::{self, Outbox, Removed};
use super::{DomainError, IfMatch, Page, id, rfc3339};
use crate::AppState;
use crate::hash_budget::Class;
use crate::passwords::Password;
use crate::store::sponsors::{SpeakerMiss, SponsorDoc};
use crate::store::users::Missed;
use crate::store::users::UserDoc;
use crate::store::{self, Session, StoreError, Unique};
use futures_util::future::BoxFuture;
use mongodb::bson::{DateTime, oid::ObjectId};
use onboard_shared::{
    Code, EventType, FieldError, NewSpeaker, NewSponsor, SponsorOptions, UserType,
    check_sponsor_patch, normalize_email, slug_with_suffix, slugify,
};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// `pageContent` may hold HTML for formatting; ammonia's allow-list drops scripts, event
/// handler attributes and `javascript:` URLs while keeping ordinary markup.
///
/// On top of ammonia's defaults, nothing in it may make a reader's browser fetch anything
/// by itself (no images: no tracking pixels), and links are absolute `https` only.
fn sanitize_html(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

static CLEANER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.rm_tags(["img"])
        .url_schemes(["https"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny);
    b
});

/// One speaker of the payload, resolved to an account.
// At most 100 per request and short-lived: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Speaker {
    Existing(UserDoc),
    New(Account),
}

impl Speaker {
    fn id(&self) -> ObjectId {
        match self {
            Speaker::Existing(doc) => doc.id,
            Speaker::New(account) => account.id(),
        }
    }
}

/// Why the write phase failed.
enum WriteFail {
    Store(StoreError),
    /// A unique index refused the i-th speaker's insert.
    Speaker(usize, Unique),
    Slug,
}

impl From<StoreError> for WriteFail {
    fn from(e: StoreError) -> Self {
        WriteFail::Store(e)
    }
}

/// How many times a create starts again from the e-mail lookup when a concurrent create got
/// in between (see `Restart`).
const RESTARTS: u32 = 8;

/// Why an attempt must start again from step 2: another request created one of our "new"
/// speakers after our lookup, or its transaction conflicted with ours (MongoDB's
/// TransientTransactionError, whose documented answer is to retry the whole transaction).
/// A fresh lookup then links the account the other request made.
enum Restart {
    EmailTaken(usize),
    Transient(StoreError),
}

/// A speaker of a new sponsor: an existing account (no password) or one made now.
pub(crate) struct SpeakerAccount {
    pub(crate) id: ObjectId,
    pub(crate) email: String,
    /// Only for accounts created by this request.
    pub(crate) password: Option<Password>,
}

/// A new sponsor.
pub(crate) struct Created {
    pub(crate) id: ObjectId,
    pub(crate) slug: String,
    pub(crate) speakers: Vec<SpeakerAccount>,
}

/// Creates a sponsor from a checked payload: links the speakers whose e-mail has an
/// account (granting attendees the Speaker role), creates the others, all at once.
pub(crate) async fn create(state: &AppState, sponsor: &NewSponsor) -> Result<Created, DomainError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match create_checked(state, sponsor).await? {
            Ok(created) => {
                let linked: Vec<ObjectId> = created.speakers.iter().map(|s| s.id).collect();
                settle_links(state, created.id, &linked).await?;
                return Ok(created);
            }
            Err(_) if attempt < RESTARTS => {
                tracing::debug!(
                    attempt,
                    "sponsor create raced another; starting again from the lookup"
                );
                store::pause_before_rerun(attempt).await;
            }
            Err(Restart::EmailTaken(i)) => {
                return Err(DomainError::conflict(
                    format!("speakers[{i}].email"),
                    Code::EmailTaken,
                ));
            }
            Err(Restart::Transient(e)) => return Err(e.into()),
        }
    }
}

/// Steps 2 to 4 of a create: `Ok(Err(Restart))` when a concurrent create got in between
/// and the caller should start again.
async fn create_checked(
    state: &AppState,
    sponsor: &NewSponsor,
) -> Result<Result<Created, Restart>, DomainError> {
    // 2. Every speaker e-mail in one query.
    let norms: Vec<String> = sponsor
        .speakers
        .iter()
        .map(|s| normalize_email(&s.email))
        .collect();
    let mut found: HashMap<String, UserDoc> = store::users::find_by_emails(&state.store, &norms)
        .await?
        .into_iter()
        .map(|u| (u.email_norm.clone(), u))
        .collect();
    let errors: Vec<FieldError> = sponsor
        .speakers
        .iter()
        .enumerate()
        .filter(|(i, _)| !found.contains_key(&norms[*i]))
        .flat_map(|(i, s)| s.account_errors(i))
        .collect();
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }

    // 3. New accounts: tags upserted (shared, idempotent data: harmless if the sponsor
    // fails), then passwords hashed concurrently on the bounded pool.
    let mut new_users = Vec::new();
    for (i, (s, norm)) in sponsor.speakers.iter().zip(&norms).enumerate() {
        if !found.contains_key(norm) {
            let tag_ids = if s.tags.is_empty() {
                Vec::new()
            } else {
                store::tags::upsert_many(&state.store, &s.tags).await?
            };
            new_users.push((i, speaker_user(s), tag_ids));
        }
    }
    let accounts = futures_util::future::join_all(new_users.into_iter().map(
        |(i, user, tag_ids)| async move {
            Account::new(state, &user, tag_ids, Class::Single)
                .await
                .map(|a| (i, a))
        },
    ))
    .await;
    let mut accounts: HashMap<usize, Account> = accounts.into_iter().collect::<Result<_, _>>()?;
    let mut speakers = Vec::with_capacity(sponsor.speakers.len());
    for (i, norm) in norms.iter().enumerate() {
        match found.remove(norm) {
            Some(doc) => speakers.push(Speaker::Existing(doc)),
            None => {
                let account = accounts
                    .remove(&i)
                    .ok_or_else(|| DomainError::Internal("a new speaker has no account".into()))?;
                speakers.push(Speaker::New(account));
            }
        }
    }

    let now = DateTime::now();
    let mut doc = SponsorDoc {
        id: ObjectId::new(),
        name: sponsor.name.clone(),
        slug: String::new(),
        logo: sponsor.logo.clone(),
        level: i32::from(sponsor.level),
        has_page: sponsor.has_page,
        page_content: sponsor.page_content.as_deref().map(sanitize_html),
        website: sponsor.website.clone(),
        icon: sponsor.icon.clone(),
        color: sponsor.color.clone(),
        options: sponsor.options,
        speaker_ids: speakers.iter().map(Speaker::id).collect(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let base = slugify(&sponsor.name);

    // 4. The atomic write, retried when a slug or generated username was taken meanwhile.
    // A slug the unique index refused is skipped from then on: a concurrent create may hold
    // it in a transaction not yet committed, which the lookup cannot see.
    let mut refused: Vec<String> = Vec::new();
    let mut attempt = 0;
    loop {
        attempt += 1;
        doc.slug = free_slug(state, &base, &refused).await?;
        match write(state, &doc, &speakers).await {
            Ok(()) => break,
            Err(WriteFail::Store(e @ StoreError::Transient(_))) => {
                return Ok(Err(Restart::Transient(e)));
            }
            Err(WriteFail::Store(e)) => return Err(e.into()),
            // Every refused slug is skipped after, so each attempt lost to another create.
            Err(_) if attempt >= 32 => {
                return Err(DomainError::Busy("sponsor write kept colliding".into()));
            }
            Err(WriteFail::Slug) => refused.push(std::mem::take(&mut doc.slug)),
            Err(WriteFail::Speaker(i, index)) => {
                let Some(Speaker::New(account)) = speakers.get_mut(i) else {
                    return Err(DomainError::Internal("speaker index out of range".into()));
                };
                match index {
                    Unique::Username if account.regenerate_username() => {}
                    Unique::Username => {
                        return Err(DomainError::conflict(
                            format!("speakers[{i}].username"),
                            Code::UsernameTaken,
                        ));
                    }
                    // Created by someone else since step 2: a new lookup links it.
                    _ => return Ok(Err(Restart::EmailTaken(i))),
                }
            }
        }
    }
    tracing::info!(sponsor_id = %doc.id, slug = %doc.slug, "sponsor created");

    Ok(Ok(Created {
        id: doc.id,
        slug: doc.slug,
        speakers: speakers
            .into_iter()
            .map(|s| match s {
                Speaker::Existing(doc) => SpeakerAccount {
                    id: doc.id,
                    email: doc.email,
                    password: None,
                },
                Speaker::New(account) => {
                    let (id, email, password) = account.into_parts();
                    SpeakerAccount {
                        id,
                        email,
                        password: Some(password),
                    }
                }
            })
            .collect(),
    }))
}

/// `base`, or the first free `base-2`, `base-3`... (the rulebook's `slug_with_suffix`,
/// which cuts long bases so the slug fits), leaving out the `refused` ones. Candidates are
/// looked up 16 at a time. A concurrent create can still take the one chosen; the unique
/// index then refuses the insert and the caller retries without it.
async fn free_slug(
    state: &AppState,
    base: &str,
    refused: &[String],
) -> Result<String, DomainError> {
    const BATCH: u32 = 16;
    let mut first = 1;
    loop {
        let candidates: Vec<String> = (first..first + BATCH)
            .map(|n| slug_with_suffix(base, n))
            .collect();
        let taken = store::sponsors::taken_slugs(&state.store, &candidates).await?;
        if let Some(free) = candidates
            .into_iter()
            .find(|c| !taken.contains(c) && !refused.contains(c))
        {
            return Ok(free);
        }
        first += BATCH;
    }
}

fn attendee_ids(speakers: &[Speaker]) -> Vec<ObjectId> {
    speakers
        .iter()
        .filter_map(|s| match s {
            Speaker::Existing(doc) if doc.user_type == UserType::Attendee => Some(doc.id),
            _ => None,
        })
        .collect()
}

/// What the writes did so far, for compensation without a transaction.
#[derive(Default)]
struct Done {
    inserted: Vec<ObjectId>,
    granted: Vec<ObjectId>,
    /// Deliveries recorded (the outbox).
    events: Vec<ObjectId>,
}

/// New speakers, then the role grants, then the sponsor, then the events (`user.created`
/// per new speaker, `sponsor.created`): in one transaction, or, without one, the same
/// writes one by one, undone on failure (events and new speakers deleted, granted roles
/// revoked). A create that fails emits nothing.
async fn write(state: &AppState, doc: &SponsorDoc, speakers: &[Speaker]) -> Result<(), WriteFail> {
    let mut session = state.store.session().await?;
    let mut done = Done::default();
    match write_steps(state, doc, speakers, &mut session, &mut done).await {
        Ok(()) => Ok(session.commit().await?),
        Err(e) if session.in_transaction() => {
            session.abort().await;
            Err(e)
        }
        Err(e) => {
            let undo = async {
                store::webhooks::delete_deliveries(&state.store, &done.events).await?;
                store::users::delete_many(&state.store, &done.inserted).await?;
                store::users::revoke_speaker(&state.store, &done.granted).await
            };
            if let Err(undo) = undo.await {
                // Left as is, the partial state would be visible: say so loudly.
                tracing::error!(error = %undo, new_speakers = ?done.inserted, "compensation after a failed sponsor create failed");
            }
            Err(e)
        }
    }
}

async fn write_steps(
    state: &AppState,
    doc: &SponsorDoc,
    speakers: &[Speaker],
    session: &mut Session,
    done: &mut Done,
) -> Result<(), WriteFail> {
    for (i, s) in speakers.iter().enumerate() {
        if let Speaker::New(account) = s {
            account
                .insert_once(state, None, session.get())
                .await
                .map_err(|e| match e {
                    StoreError::Duplicate(index) => WriteFail::Speaker(i, index),
                    e => WriteFail::Store(e),
                })?;
            done.inserted.push(account.id());
        }
    }
    let attendees = attendee_ids(speakers);
    done.granted.clone_from(&attendees);
    store::users::grant_speaker(&state.store, &attendees, session.get()).await?;
    let granted = super::users::record_updated(state, session.get(), &attendees).await?;
    done.events.extend(granted);
    store::sponsors::insert(&state.store, doc, session.get())
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => WriteFail::Slug,
            e => WriteFail::Store(e),
        })?;
    if let Some(outbox) = webhooks::listening(state, EventType::UserCreated).await? {
        for s in speakers {
            if let Speaker::New(account) = s {
                let shown = account.shown(state).await?;
                let ids = outbox.record(state, session.get(), &shown).await?;
                done.events.extend(ids);
            }
        }
    }
    if let Some(outbox) = webhooks::listening(state, EventType::SponsorCreated).await? {
        let users: HashMap<ObjectId, SpeakerOut> = speakers
            .iter()
            .map(|s| {
                let doc = match s {
                    Speaker::Existing(doc) => doc,
                    Speaker::New(account) => account.doc(),
                };
                (doc.id, speaker_out(doc))
            })
            .collect();
        let shown = sponsor_view(doc.clone(), &users);
        done.events
            .extend(outbox.record(state, session.get(), &shown).await?);
    }
    Ok(())
}

/// Commits a sponsor change with `outbox`'s event (the sponsor as it now is in `session`,
/// as `GET` will show it). Without a transaction the event is recorded after the write.
async fn commit_with_event(
    state: &AppState,
    outbox: Option<&Outbox>,
    id: ObjectId,
    mut session: Session,
) -> Result<(), DomainError> {
    if let Err(e) = record_event(state, outbox, id, session.get()).await {
        session.abort().await;
        return Err(e);
    }
    Ok(session.commit().await?)
}

/// Records `outbox`'s event about sponsor `id` as it now is in `session`.
async fn record_event(
    state: &AppState,
    outbox: Option<&Outbox>,
    id: ObjectId,
    mut session: Option<&mut mongodb::ClientSession>,
) -> Result<(), DomainError> {
    let Some(outbox) = outbox else {
        return Ok(());
    };
    let Some(doc) =
        store::sponsors::find_by_id_in(&state.store, id, session.as_deref_mut()).await?
    else {
        return Ok(());
    };
    if let Some(shown) = with_speakers(state, vec![doc]).await?.first() {
        outbox.record(state, session, shown).await?;
    }
    Ok(())
}

/// Records `sponsor.speaker_removed` for each of `sponsors`, as they now stand in
/// `session`: what an erasure that unlinked a speaker from them tells the endpoints.
pub(crate) async fn record_speaker_removed(
    state: &AppState,
    mut session: Option<&mut mongodb::ClientSession>,
    sponsors: &[ObjectId],
) -> Result<(), DomainError> {
    if sponsors.is_empty() {
        return Ok(());
    }
    let Some(outbox) = webhooks::listening(state, EventType::SponsorSpeakerRemoved).await? else {
        return Ok(());
    };
    for id in sponsors {
        record_event(state, Some(&outbox), *id, session.as_deref_mut()).await?;
    }
    Ok(())
}

/// A session for a change when a webhook listens (a transaction when the server has
/// them), none otherwise.
async fn session_for(state: &AppState, outbox: &Option<Outbox>) -> Result<Session, StoreError> {
    match outbox {
        Some(_) => state.store.session().await,
        None => Ok(Session::none()),
    }
}

/// A sponsor as the API shows it, with its speakers' public identity.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Sponsor {
    id: String,
    name: String,
    slug: String,
    logo: String,
    level: i32,
    has_page: bool,
    #[schema(required = true)]
    page_content: Option<String>,
    #[schema(required = true)]
    website: Option<String>,
    #[schema(required = true)]
    icon: Option<String>,
    #[schema(required = true)]
    color: Option<String>,
    #[schema(schema_with = crate::openapi::sponsor_options)]
    options: SponsorOptions,
    speakers: Vec<SpeakerOut>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// The record's version: the `ETag` of the answers, not a member of the body.
    #[serde(skip)]
    pub(crate) version: i64,
}

/// A sponsor's speaker as the API shows it.
#[derive(Serialize, Clone, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = SponsorSpeaker)]
pub(crate) struct SpeakerOut {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    username: String,
}

async fn with_speakers(
    state: &AppState,
    sponsors: Vec<SponsorDoc>,
) -> Result<Vec<Sponsor>, DomainError> {
    let ids: Vec<ObjectId> = sponsors
        .iter()
        .flat_map(|s| s.speaker_ids.iter().copied())
        .collect();
    let users: HashMap<ObjectId, SpeakerOut> = store::users::find_by_ids(&state.store, &ids)
        .await?
        .iter()
        .map(|u| (u.id, speaker_out(u)))
        .collect();
    Ok(sponsors
        .into_iter()
        .map(|s| sponsor_view(s, &users))
        .collect())
}

fn speaker_out(u: &UserDoc) -> SpeakerOut {
    SpeakerOut {
        id: u.id.to_hex(),
        email: u.email.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        username: u.username.clone(),
    }
}

/// A sponsor as the API shows it, its speakers taken from `users` (those missing are
/// not shown: erased meanwhile).
fn sponsor_view(s: SponsorDoc, users: &HashMap<ObjectId, SpeakerOut>) -> Sponsor {
    Sponsor {
        id: s.id.to_hex(),
        name: s.name,
        slug: s.slug,
        logo: s.logo,
        level: s.level,
        has_page: s.has_page,
        page_content: s.page_content,
        website: s.website,
        icon: s.icon,
        color: s.color,
        options: s.options,
        speakers: s
            .speaker_ids
            .iter()
            .filter_map(|id| users.get(id).cloned())
            .collect(),
        created_at: rfc3339(s.created_at),
        updated_at: rfc3339(s.updated_at),
        version: s.version,
    }
}

/// One sponsor by id.
pub(crate) async fn get(state: &AppState, id_text: &str) -> Result<Sponsor, DomainError> {
    let id = id(id_text, "Sponsor")?;
    Ok(read(state, id).await?.1)
}

async fn read(state: &AppState, id: ObjectId) -> Result<(SponsorDoc, Sponsor), DomainError> {
    let sponsor = store::sponsors::find_by_id(&state.store, id)
        .await?
        .ok_or(DomainError::NotFound("Sponsor"))?;
    let mut out = with_speakers(state, vec![sponsor.clone()]).await?;
    let shown = out
        .pop()
        .ok_or_else(|| DomainError::Internal("a found sponsor went missing".into()))?;
    Ok((sponsor, shown))
}

/// A user deleted while this request linked it would stay listed by id: after a link,
/// the linked users that no longer exist are unlinked again. With the erasure's own
/// unlink (which runs after its delete), whichever order the two requests take, no
/// sponsor keeps a missing user: if the erasure's unlink ran before the link was written,
/// the delete did too, and this check sees it.
async fn settle_links(
    state: &AppState,
    sponsor: ObjectId,
    linked: &[ObjectId],
) -> Result<(), DomainError> {
    let alive = store::users::existing_ids(&state.store, linked).await?;
    let gone: Vec<ObjectId> = linked
        .iter()
        .copied()
        .filter(|id| !alive.contains(id))
        .collect();
    if !gone.is_empty() {
        for user in &gone {
            // Not a speaker any more (already unlinked by the erasure) is fine.
            let _ = store::sponsors::remove_speaker(&state.store, sponsor, *user, None).await?;
        }
        tracing::info!(sponsor_id = %sponsor, unlinked = gone.len(), "speakers erased meanwhile unlinked");
    }
    Ok(())
}

/// How many times a patch without `If-Match` starts again from a fresh read.
const UPDATE_TRIES: u32 = 16;

/// Optional fields a patch may remove.
const OPTIONAL: &[&str] = &["pageContent", "website", "icon", "color"];

/// Applies a JSON Merge Patch to a sponsor's own fields: the one write path of a sponsor
/// change. Checked by the rulebook (`check_sponsor_patch`) against the sponsor as `GET`
/// shows it, written only at the version read (see `users::update`). The slug changes only
/// when the patch gives one; the unique index settles it (409 `slug_taken`).
pub(crate) async fn update(
    state: &AppState,
    id_text: &str,
    patch: &serde_json::Value,
    if_match: &IfMatch,
) -> Result<Sponsor, DomainError> {
    let id = id(id_text, "Sponsor")?;
    for attempt in 1..=UPDATE_TRIES {
        if attempt > 1 {
            store::pause_before_rerun(attempt - 1).await;
        }
        let (doc, shown) = read(state, id).await?;
        if !if_match.allows(doc.version) {
            return Err(DomainError::PreconditionFailed);
        }
        let existing = serde_json::to_value(&shown)
            .map_err(|e| DomainError::Internal(format!("sponsor as JSON: {e}")))?;
        let checked = check_sponsor_patch(&existing, patch).map_err(DomainError::Invalid)?;
        if checked.changed.is_empty() {
            return Ok(shown);
        }
        let f = &checked.sponsor;
        let mut set = mongodb::bson::doc! {
            "name": &f.name,
            "logo": &f.logo,
            "level": i32::from(f.level),
            "hasPage": f.has_page,
            "options": mongodb::bson::to_bson(&f.options)
                .map_err(|e| DomainError::Internal(format!("options as BSON: {e}")))?,
        };
        let optional = [
            ("pageContent", f.page_content.as_deref().map(sanitize_html)),
            ("website", f.website.clone()),
            ("icon", f.icon.clone()),
            ("color", f.color.clone()),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                set.insert(k, v);
            }
        }
        if let Some(slug) = &checked.slug {
            set.insert("slug", slug);
        }
        let unset: Vec<&str> = OPTIONAL
            .iter()
            .copied()
            .filter(|k| !set.contains_key(*k))
            .collect();
        let outbox = webhooks::listening(state, EventType::SponsorUpdated).await?;
        let mut session = session_for(state, &outbox).await?;
        let written = store::sponsors::update_at_version(
            &state.store,
            id,
            doc.version,
            set,
            &unset,
            session.get(),
        )
        .await;
        if let Ok(Ok(())) = written {
            match commit_with_event(state, outbox.as_ref(), id, session).await {
                Err(DomainError::Store(StoreError::Transient(_))) if !if_match.is_conditional() => {
                    continue;
                }
                Err(DomainError::Store(StoreError::Transient(_))) => {
                    return Err(DomainError::PreconditionFailed);
                }
                other => other?,
            }
            tracing::info!(sponsor_id = %id, fields = ?checked.changed, "sponsor updated");
            return Ok(read(state, id).await?.1);
        }
        session.abort().await;
        match written {
            Ok(Ok(())) => unreachable!("handled above"),
            Ok(Err(Missed::NotFound)) => return Err(DomainError::NotFound("Sponsor")),
            Ok(Err(Missed::Changed)) | Err(StoreError::Transient(_))
                if if_match.is_conditional() =>
            {
                return Err(DomainError::PreconditionFailed);
            }
            Ok(Err(Missed::Changed)) | Err(StoreError::Transient(_)) => continue,
            Err(StoreError::Duplicate(_)) => {
                return Err(DomainError::conflict("slug", Code::SlugTaken));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(DomainError::Busy(format!(
        "sponsor kept changing during {UPDATE_TRIES} patch attempts"
    )))
}

/// Deletes a sponsor: the one write path of a sponsor removal. Its speakers' accounts stay.
pub(crate) async fn delete(
    state: &AppState,
    id_text: &str,
    if_match: &IfMatch,
) -> Result<(), DomainError> {
    let id = id(id_text, "Sponsor")?;
    let version = if if_match.is_conditional() {
        let (doc, _) = read(state, id).await?;
        if !if_match.allows(doc.version) {
            return Err(DomainError::PreconditionFailed);
        }
        Some(doc.version)
    } else {
        None
    };
    for attempt in 1..=UPDATE_TRIES {
        let outbox = webhooks::listening(state, EventType::SponsorDeleted).await?;
        let mut session = session_for(state, &outbox).await?;
        let deleted = async {
            let r = store::sponsors::delete(&state.store, id, version, session.get()).await?;
            if let (Ok(()), Some(outbox)) = (&r, &outbox) {
                let removed = Removed { id: id.to_hex() };
                outbox.record(state, session.get(), &removed).await?;
            }
            Ok::<_, StoreError>(r)
        }
        .await;
        let failed = match deleted {
            Ok(Ok(())) => match session.commit().await {
                Ok(()) => {
                    tracing::info!(sponsor_id = %id, "sponsor deleted");
                    return Ok(());
                }
                Err(e) => e,
            },
            Err(e) => {
                session.abort().await;
                e
            }
            Ok(Err(missed)) => {
                session.abort().await;
                return Err(match missed {
                    Missed::NotFound => DomainError::NotFound("Sponsor"),
                    Missed::Changed => DomainError::PreconditionFailed,
                });
            }
        };
        match failed {
            // Another transaction wrote the sponsor meanwhile (a speaker linked): the
            // documented answer is to run the whole transaction again; a conditional
            // delete's version has moved.
            StoreError::Transient(_) if version.is_some() => {
                return Err(DomainError::PreconditionFailed);
            }
            StoreError::Transient(_) => store::pause_before_rerun(attempt).await,
            e => return Err(e.into()),
        }
    }
    Err(DomainError::Busy(format!(
        "sponsor kept changing during {UPDATE_TRIES} delete attempts"
    )))
}

/// How `add_speaker` got its account.
pub(crate) struct AddedSpeaker {
    pub(crate) speaker: SpeakerAccount,
    /// True when the account was made by this request (then `password` is set).
    pub(crate) created: bool,
}

/// Adds one speaker to a sponsor: the one write path of a link. The account with the
/// speaker's e-mail is linked (an attendee becomes a Speaker), or one is created with
/// exactly a sponsor create's rules. Already a speaker of this sponsor: 409
/// `already_speaker`. A link that met another write of the sponsor or the user runs
/// again ([`super::rerun_on_conflict`]): links of one sponsor at once through several
/// instances all get through, or the last answers 503.
pub(crate) async fn add_speaker(
    state: &AppState,
    id_text: &str,
    speaker: &NewSpeaker,
) -> Result<AddedSpeaker, DomainError> {
    let id = id(id_text, "Sponsor")?;
    let norm = normalize_email(&speaker.email);
    super::rerun_on_conflict(|| add_speaker_once(state, id, &norm, speaker)).await
}

/// One run of [`add_speaker`]: links the account with the e-mail `norm`, or creates it;
/// when another request creates that account between the lookup and the create, looks
/// it up again and links it.
async fn add_speaker_once(
    state: &AppState,
    id: ObjectId,
    norm: &str,
    speaker: &NewSpeaker,
) -> Result<AddedSpeaker, DomainError> {
    let mut lookups = 0;
    loop {
        lookups += 1;
        // The sponsor first: an unknown sponsor must not cost an account.
        let (doc, _) = read(state, id).await?;
        let found = store::users::find_by_emails(&state.store, &[norm.to_string()])
            .await?
            .into_iter()
            .next();
        if let Some(user) = found {
            return link_existing(state, id, &doc, user).await;
        }
        let errors = speaker.account_errors_at("");
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        let tag_ids = if speaker.tags.is_empty() {
            Vec::new()
        } else {
            store::tags::upsert_many(&state.store, &speaker.tags).await?
        };
        let mut account =
            Account::new(state, &speaker_user(speaker), tag_ids, Class::Single).await?;
        // The account, its `user.created`, the link and `sponsor.speaker_added` are one
        // change: a sponsor gone meanwhile leaves neither an account nor an event.
        let outbox = webhooks::listening(state, EventType::SponsorSpeakerAdded).await?;
        let link = Link {
            state,
            sponsor: id,
            outbox: outbox.as_ref(),
        };
        match account.insert_then(state, outbox.is_some(), &link).await {
            Ok(()) => {}
            // Made by someone else since the lookup: look it up again, and link it (once;
            // an account that keeps appearing and going is the answer's `email_taken`).
            Err(DomainError::Conflict(e))
                if lookups < 2 && e.iter().any(|e| e.code == Code::EmailTaken) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
        tracing::info!(sponsor_id = %id, user_id = %account.id(), "speaker created");
        let (uid, email, password) = account.into_parts();
        return Ok(AddedSpeaker {
            speaker: SpeakerAccount {
                id: uid,
                email,
                password: Some(password),
            },
            created: true,
        });
    }
}

/// Links an existing account to the sponsor `doc` (an attendee becomes a Speaker), with
/// its events, in one transaction when a webhook listens.
async fn link_existing(
    state: &AppState,
    id: ObjectId,
    doc: &SponsorDoc,
    user: UserDoc,
) -> Result<AddedSpeaker, DomainError> {
    if doc.speaker_ids.contains(&user.id) {
        return Err(already_speaker());
    }
    let outbox = webhooks::listening(state, EventType::SponsorSpeakerAdded).await?;
    let mut session = session_for(state, &outbox).await?;
    let linked = async {
        let r = store::sponsors::add_speaker(&state.store, id, user.id, session.get()).await?;
        if r.is_ok() && user.user_type == UserType::Attendee {
            store::users::grant_speaker(&state.store, &[user.id], session.get()).await?;
            super::users::record_updated(state, session.get(), &[user.id]).await?;
        }
        Ok::<_, StoreError>(r)
    }
    .await;
    match linked {
        // Another transaction wrote the sponsor or the user: the caller runs it all again.
        Ok(Ok(())) => commit_with_event(state, outbox.as_ref(), id, session).await?,
        Err(e) => {
            session.abort().await;
            return Err(e.into());
        }
        Ok(Err(miss)) => {
            session.abort().await;
            return Err(match miss {
                SpeakerMiss::NoSponsor => DomainError::NotFound("Sponsor"),
                SpeakerMiss::AlreadyOrNot => already_speaker(),
            });
        }
    }
    settle_links(state, id, &[user.id]).await?;
    tracing::info!(sponsor_id = %id, user_id = %user.id, "speaker linked");
    Ok(AddedSpeaker {
        speaker: SpeakerAccount {
            id: user.id,
            email: user.email,
            password: None,
        },
        created: false,
    })
}

/// The answer to linking someone who already is a speaker of the sponsor.
fn already_speaker() -> DomainError {
    DomainError::Conflict(vec![FieldError::new(
        "email",
        Code::AlreadySpeaker,
        "This person is already a speaker of this sponsor.",
    )])
}

/// Links a new account to a sponsor in the account's own change
/// ([`Account::insert_then`]), with the sponsor's `sponsor.speaker_added`.
struct Link<'a> {
    state: &'a AppState,
    sponsor: ObjectId,
    outbox: Option<&'a Outbox>,
}

impl users::Then for Link<'_> {
    fn run<'s>(
        &'s self,
        user: ObjectId,
        mut session: Option<&'s mut mongodb::ClientSession>,
    ) -> BoxFuture<'s, Result<(), DomainError>> {
        Box::pin(async move {
            let link = store::sponsors::add_speaker(
                &self.state.store,
                self.sponsor,
                user,
                session.as_deref_mut(),
            )
            .await?;
            match link {
                Ok(()) => record_event(self.state, self.outbox, self.sponsor, session).await,
                Err(SpeakerMiss::NoSponsor) => Err(DomainError::NotFound("Sponsor")),
                Err(SpeakerMiss::AlreadyOrNot) => Err(already_speaker()),
            }
        })
    }
}

/// Unlinks a speaker from a sponsor (the account stays): the one write path of an unlink.
pub(crate) async fn remove_speaker(
    state: &AppState,
    id_text: &str,
    user_text: &str,
) -> Result<(), DomainError> {
    let id = id(id_text, "Sponsor")?;
    let user = super::id(user_text, "Speaker")?;
    super::rerun_on_conflict(|| unlink(state, id, user)).await
}

/// [`remove_speaker`]'s transaction.
async fn unlink(state: &AppState, id: ObjectId, user: ObjectId) -> Result<(), DomainError> {
    let outbox = webhooks::listening(state, EventType::SponsorSpeakerRemoved).await?;
    let mut session = session_for(state, &outbox).await?;
    let removed = store::sponsors::remove_speaker(&state.store, id, user, session.get()).await;
    if let Ok(Ok(())) = removed {
        commit_with_event(state, outbox.as_ref(), id, session).await?;
        tracing::info!(sponsor_id = %id, user_id = %user, "speaker unlinked");
        return Ok(());
    }
    session.abort().await;
    match removed? {
        Ok(()) => Ok(()),
        Err(SpeakerMiss::NoSponsor) => Err(DomainError::NotFound("Sponsor")),
        Err(SpeakerMiss::AlreadyOrNot) => Err(DomainError::NotFound("Speaker")),
    }
}

/// One page of sponsors (only the one with `slug` when given) and the cursor of the next.
pub(crate) async fn list(
    state: &AppState,
    slug: Option<&str>,
    page: Page,
) -> Result<(Vec<Sponsor>, Option<String>), DomainError> {
    let (sponsors, next) = store::sponsors::list(&state.store, slug, page).await?;
    Ok((with_speakers(state, sponsors).await?, next))
}
