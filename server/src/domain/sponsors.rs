//! Sponsors, and the speakers they bring.
//!
//! A sponsor create is all-or-nothing: the sponsor, its new speaker accounts and the
//! Speaker role granted to existing attendees are written in one transaction when the
//! server supports them, otherwise undone by compensating writes on failure.

use super::users::{Account, speaker_user};
use super::{DomainError, Page, id, rfc3339};
use crate::AppState;
use crate::passwords::Password;
use crate::store::sponsors::SponsorDoc;
use crate::store::users::UserDoc;
use crate::store::{self, Session, StoreError, Unique};
use mongodb::bson::{DateTime, oid::ObjectId};
use onboard_shared::{
    Code, FieldError, NewSponsor, SponsorOptions, UserType, normalize_email, slug_with_suffix,
    slugify,
};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;
use utoipa::ToSchema;

/// `pageContent` may hold HTML for formatting; ammonia's allow-list drops scripts, event
/// handler attributes and `javascript:` URLs while keeping ordinary markup.
fn sanitize_html(html: &str) -> String {
    ammonia::clean(html)
}

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
            Ok(created) => return Ok(created),
            Err(_) if attempt < RESTARTS => {
                tracing::debug!(
                    attempt,
                    "sponsor create raced another; starting again from the lookup"
                );
                // A short, growing pause lets the other request commit first.
                tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
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
            Account::new(state, &user, tag_ids, Duration::ZERO)
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
    };
    let base = slugify(&sponsor.name);

    // 4. The atomic write, retried when a slug or generated username was taken meanwhile.
    let mut attempt = 0;
    loop {
        attempt += 1;
        doc.slug = free_slug(state, &base).await?;
        match write(state, &doc, &speakers).await {
            Ok(()) => break,
            Err(WriteFail::Store(e @ StoreError::Transient(_))) => {
                return Ok(Err(Restart::Transient(e)));
            }
            Err(WriteFail::Store(e)) => return Err(e.into()),
            Err(_) if attempt >= 10 => {
                return Err(DomainError::Internal("sponsor write kept colliding".into()));
            }
            Err(WriteFail::Slug) => continue,
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
/// which cuts long bases so the slug fits). Candidates are looked up 16 at a time. A
/// concurrent create can still take the one chosen; the unique index then refuses the
/// insert and the caller retries.
async fn free_slug(state: &AppState, base: &str) -> Result<String, DomainError> {
    const BATCH: u32 = 16;
    let mut first = 1;
    loop {
        let candidates: Vec<String> = (first..first + BATCH)
            .map(|n| slug_with_suffix(base, n))
            .collect();
        let taken = store::sponsors::taken_slugs(&state.store, &candidates).await?;
        if let Some(free) = candidates.into_iter().find(|c| !taken.contains(c)) {
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
}

/// New speakers, then the role grants, then the sponsor: in one transaction, or, without
/// one, the same writes one by one, undone on failure (new speakers deleted, granted roles
/// revoked).
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
                .insert_once(&state.store, session.get())
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
    store::sponsors::insert(&state.store, doc, session.get())
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => WriteFail::Slug,
            e => WriteFail::Store(e),
        })
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
        .into_iter()
        .map(|u| {
            let out = SpeakerOut {
                id: u.id.to_hex(),
                email: u.email,
                first_name: u.first_name,
                last_name: u.last_name,
                username: u.username,
            };
            (u.id, out)
        })
        .collect();
    Ok(sponsors
        .into_iter()
        .map(|s| Sponsor {
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
        })
        .collect())
}

/// One sponsor by id.
pub(crate) async fn get(state: &AppState, id_text: &str) -> Result<Sponsor, DomainError> {
    let id = id(id_text, "Sponsor")?;
    let sponsor = store::sponsors::find_by_id(&state.store, id)
        .await?
        .ok_or(DomainError::NotFound("Sponsor"))?;
    let mut out = with_speakers(state, vec![sponsor]).await?;
    out.pop()
        .ok_or_else(|| DomainError::Internal("a found sponsor went missing".into()))
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
