//! Sponsors: `POST /v1/sponsors`, `GET /v1/sponsors/{id}`, `GET /v1/sponsors?slug=`.
//!
//! A sponsor create is all-or-nothing: the sponsor, its new speaker accounts and the
//! Speaker role granted to existing attendees are written in one transaction when the
//! server supports them, otherwise undone by compensating writes on failure.

use super::users::{Taken, set_username, taken, user_doc};
use super::{List, Query, authed, json_body, query_pairs, rfc3339, with_state};
use crate::AppState;
use crate::auth::{Caller, Need};
use crate::error::{ApiError, json_response};
use crate::store::{self, is_duplicate_key, parse_id, sponsors::SponsorDoc, tags, users::UserDoc};
use mongodb::ClientSession;
use mongodb::bson::{DateTime, oid::ObjectId};
use mongodb::error::Error as DbError;
use onboard_shared::{
    Code, FieldError, NewSpeaker, NewSponsor, NewUser, PasswordPolicy, SponsorOptions, UserOptions,
    UserType, check_sponsor, generate_username, normalize_email, slug_with_suffix, slugify,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let create = warp::path!("v1" / "sponsors")
        .and(warp::post())
        .and(authed(state.clone(), Need::Write))
        .and(json_body())
        .and(with_state(state.clone()))
        .and_then(create);
    let get = warp::path!("v1" / "sponsors" / String)
        .and(warp::get())
        .and(authed(state.clone(), Need::Read))
        .and(with_state(state.clone()))
        .and_then(get_one);
    let list = warp::path!("v1" / "sponsors")
        .and(warp::get())
        .and(authed(state.clone(), Need::Read))
        .and(query_pairs())
        .and(with_state(state))
        .and_then(list);
    create.or(get).unify().or(list).unify().boxed()
}

#[derive(Serialize)]
struct Created {
    code: &'static str,
    message: &'static str,
    id: String,
    slug: String,
    speakers: Vec<SpeakerCreated>,
}

#[derive(Serialize)]
struct SpeakerCreated {
    id: String,
    email: String,
    /// Only for accounts created by this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

/// `pageContent` may hold HTML for formatting; ammonia's allow-list drops scripts, event
/// handler attributes and `javascript:` URLs while keeping ordinary markup. On top of its
/// defaults, nothing in it may make a reader's browser fetch anything by itself (no
/// images: no tracking pixels), and links are absolute `https` only.
pub fn sanitize_html(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

static CLEANER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.rm_tags(["img"])
        .url_schemes(["https"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny);
    b
});

/// POST /v1/sponsors with a JSON body
async fn create(
    _caller: Caller,
    body: Value,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    Ok(create_sponsor(&state, &body)
        .await
        .unwrap_or_else(|e| e.to_response()))
}

/// One speaker of the payload, resolved to an account.
// At most 100 per request and short-lived: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Speaker {
    Existing {
        doc: UserDoc,
    },
    New {
        doc: UserDoc,
        password: String,
        generated: bool,
        speaker: NewSpeaker,
    },
}

/// Why the write phase failed.
enum WriteFail {
    Db(DbError),
    /// A unique index refused the i-th new speaker (index into `speakers`).
    Speaker(usize, Taken),
    Slug,
}

impl From<DbError> for WriteFail {
    fn from(e: DbError) -> Self {
        WriteFail::Db(e)
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
    Transient(DbError),
}

async fn create_sponsor(state: &AppState, body: &Value) -> Result<Response, ApiError> {
    // 1. The whole payload against the rulebook, before any read or write.
    let sponsor = check_sponsor(body).map_err(ApiError::Validation)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match create_checked(state, &sponsor).await? {
            Ok(response) => return Ok(response),
            Err(_) if attempt < RESTARTS => {
                tracing::debug!(
                    attempt,
                    "sponsor create raced another; starting again from the lookup"
                );
                // A short, growing pause lets the other request commit first.
                tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt))).await;
            }
            Err(Restart::EmailTaken(i)) => {
                return Err(ApiError::conflict(
                    format!("speakers[{i}].email"),
                    Code::EmailTaken,
                ));
            }
            Err(Restart::Transient(e)) => return Err(e.into()),
        }
    }
}

/// Steps 2 to 4 of a create for a checked payload: `Ok(Err(Restart))` when a concurrent
/// create got in between and the caller should start again.
async fn create_checked(
    state: &AppState,
    sponsor: &NewSponsor,
) -> Result<Result<Response, Restart>, ApiError> {
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
        return Err(ApiError::Validation(errors));
    }

    // 3. New accounts: passwords hashed concurrently on the bounded pool.
    let new_count = norms.iter().filter(|n| !found.contains_key(*n)).count();
    let passwords: Vec<String> = (0..new_count)
        .map(|_| PasswordPolicy::default().generate())
        .collect();
    let hashes = futures_util::future::join_all(passwords.iter().map(|p| state.passwords.hash(p)))
        .await
        .into_iter()
        .collect::<Result<Vec<String>, ApiError>>()?;
    let mut passwords = passwords.into_iter().zip(hashes);
    let mut speakers = Vec::with_capacity(sponsor.speakers.len());
    for (s, norm) in sponsor.speakers.iter().zip(&norms) {
        match found.remove(norm) {
            Some(doc) => speakers.push(Speaker::Existing { doc }),
            None => {
                let (password, hash) = passwords
                    .next()
                    .ok_or_else(|| ApiError::internal("password count mismatch"))?;
                let user = speaker_user(s);
                let mut doc = user_doc(&user, hash);
                doc.tag_ids = if s.tags.is_empty() {
                    Vec::new()
                } else {
                    // Tags are shared, idempotent data: upserting them outside the atomic
                    // part is harmless if the sponsor fails.
                    tags::upsert_many(&state.store, &s.tags).await?
                };
                speakers.push(Speaker::New {
                    doc,
                    password,
                    generated: s.username.is_none(),
                    speaker: s.clone(),
                });
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
        speaker_ids: speakers
            .iter()
            .map(|s| match s {
                Speaker::Existing { doc } | Speaker::New { doc, .. } => doc.id,
            })
            .collect(),
        created_at: now,
        updated_at: now,
    };
    let base = slugify(&sponsor.name);

    // 4. The atomic write, retried when a slug or generated username was taken meanwhile.
    let mut attempt = 0;
    loop {
        attempt += 1;
        doc.slug = free_slug(state, &base).await?;
        let result = if state.store.transactions {
            write_in_transaction(state, &doc, &speakers).await
        } else {
            write_compensating(state, &doc, &speakers).await
        };
        match result {
            Ok(()) => break,
            Err(WriteFail::Db(e)) if e.contains_label("TransientTransactionError") => {
                return Ok(Err(Restart::Transient(e)));
            }
            Err(WriteFail::Db(e)) => return Err(e.into()),
            Err(_) if attempt >= 10 => {
                return Err(ApiError::internal("sponsor write kept colliding"));
            }
            Err(WriteFail::Slug) => continue,
            Err(WriteFail::Speaker(i, kind)) => {
                let Some(Speaker::New {
                    doc: user,
                    generated,
                    speaker,
                    ..
                }) = speakers.get_mut(i)
                else {
                    return Err(ApiError::internal("speaker index out of range"));
                };
                match kind {
                    Taken::Username if *generated => {
                        let first = speaker.first_name.clone().unwrap_or_default();
                        let last = speaker.last_name.clone().unwrap_or_default();
                        set_username(user, generate_username(&first, &last));
                    }
                    Taken::Username => {
                        return Err(ApiError::conflict(
                            format!("speakers[{i}].username"),
                            Code::UsernameTaken,
                        ));
                    }
                    // Created by someone else since step 2: a new lookup links it.
                    Taken::Email | Taken::Other => return Ok(Err(Restart::EmailTaken(i))),
                }
            }
        }
    }
    tracing::info!(sponsor_id = %doc.id, slug = %doc.slug, "sponsor created");

    let body = Created {
        code: "ok",
        message: "Sponsor created successfully",
        id: doc.id.to_hex(),
        slug: doc.slug.clone(),
        speakers: speakers
            .into_iter()
            .map(|s| match s {
                Speaker::Existing { doc } => SpeakerCreated {
                    id: doc.id.to_hex(),
                    email: doc.email,
                    password: None,
                },
                Speaker::New { doc, password, .. } => SpeakerCreated {
                    id: doc.id.to_hex(),
                    email: doc.email,
                    password: Some(password),
                },
            })
            .collect(),
    };
    let mut res = json_response(StatusCode::CREATED, &body);
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/sponsors/{}", body.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(Ok(res))
}

/// The user payload of a new speaker account (names were checked present by
/// `account_errors`).
fn speaker_user(s: &NewSpeaker) -> NewUser {
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

/// `base`, or the first free `base-2`, `base-3`... (the rulebook's `slug_with_suffix`,
/// which cuts long bases so the slug fits). Candidates are looked up 16 at a time. A
/// concurrent create can still take the one chosen; the unique index then refuses the
/// insert and the caller retries.
async fn free_slug(state: &AppState, base: &str) -> Result<String, ApiError> {
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

fn classify_speaker(e: DbError, i: usize) -> WriteFail {
    if is_duplicate_key(&e) {
        WriteFail::Speaker(i, taken(&e))
    } else {
        WriteFail::Db(e)
    }
}

fn classify_sponsor(e: DbError) -> WriteFail {
    if is_duplicate_key(&e) {
        WriteFail::Slug
    } else {
        WriteFail::Db(e)
    }
}

fn attendee_ids(speakers: &[Speaker]) -> Vec<ObjectId> {
    speakers
        .iter()
        .filter_map(|s| match s {
            Speaker::Existing { doc } if doc.user_type == UserType::Attendee => Some(doc.id),
            _ => None,
        })
        .collect()
}

async fn write_steps(
    state: &AppState,
    doc: &SponsorDoc,
    speakers: &[Speaker],
    session: &mut ClientSession,
) -> Result<(), WriteFail> {
    for (i, s) in speakers.iter().enumerate() {
        if let Speaker::New { doc: user, .. } = s {
            store::users::insert(&state.store, user, Some(&mut *session))
                .await
                .map_err(|e| classify_speaker(e, i))?;
        }
    }
    store::users::grant_speaker(&state.store, &attendee_ids(speakers), Some(&mut *session)).await?;
    store::sponsors::insert(&state.store, doc, Some(session))
        .await
        .map_err(classify_sponsor)
}

async fn write_in_transaction(
    state: &AppState,
    doc: &SponsorDoc,
    speakers: &[Speaker],
) -> Result<(), WriteFail> {
    let mut session = state.store.client.start_session().await?;
    session.start_transaction().await?;
    match write_steps(state, doc, speakers, &mut session).await {
        Ok(()) => {
            session.commit_transaction().await?;
            Ok(())
        }
        Err(e) => {
            if let Err(abort) = session.abort_transaction().await {
                tracing::warn!(error = %abort, "transaction abort failed (the server drops it on its own)");
            }
            Err(e)
        }
    }
}

/// Without transactions: the same writes one by one, and on failure the ones already
/// done are undone (new speakers deleted, granted roles revoked).
async fn write_compensating(
    state: &AppState,
    doc: &SponsorDoc,
    speakers: &[Speaker],
) -> Result<(), WriteFail> {
    let mut inserted: Vec<ObjectId> = Vec::new();
    let mut granted: Vec<ObjectId> = Vec::new();
    let result = async {
        for (i, s) in speakers.iter().enumerate() {
            if let Speaker::New { doc: user, .. } = s {
                store::users::insert(&state.store, user, None)
                    .await
                    .map_err(|e| classify_speaker(e, i))?;
                inserted.push(user.id);
            }
        }
        let attendees = attendee_ids(speakers);
        granted.clone_from(&attendees);
        store::users::grant_speaker(&state.store, &attendees, None).await?;
        store::sponsors::insert(&state.store, doc, None)
            .await
            .map_err(classify_sponsor)
    }
    .await;
    if result.is_err() {
        let undo = async {
            store::users::delete_many(&state.store, &inserted).await?;
            store::users::revoke_speaker(&state.store, &granted).await
        };
        if let Err(e) = undo.await {
            // Left as is, the partial state would be visible: say so loudly.
            tracing::error!(error = %e, new_speakers = ?inserted, "compensation after a failed sponsor create failed");
        }
    }
    result
}

/// A sponsor as the API shows it, with its speakers' public identity.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SponsorOut {
    id: String,
    name: String,
    slug: String,
    logo: String,
    level: i32,
    has_page: bool,
    page_content: Option<String>,
    website: Option<String>,
    icon: Option<String>,
    color: Option<String>,
    options: SponsorOptions,
    speakers: Vec<SpeakerOut>,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct SpeakerOut {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    username: String,
}

async fn with_speakers(
    state: &AppState,
    sponsors: Vec<SponsorDoc>,
) -> Result<Vec<SponsorOut>, ApiError> {
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
        .map(|s| SponsorOut {
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

/// GET /v1/sponsors/{id}
async fn get_one(
    id: String,
    _caller: Caller,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    let result = async {
        let id = parse_id(&id).ok_or(ApiError::NotFound("Sponsor"))?;
        let sponsor = store::sponsors::find_by_id(&state.store, id)
            .await?
            .ok_or(ApiError::NotFound("Sponsor"))?;
        let out = with_speakers(&state, vec![sponsor]).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &out[0]))
    };
    Ok(result.await.unwrap_or_else(|e| e.to_response()))
}

/// GET /v1/sponsors?slug=&limit=&after=
async fn list(
    _caller: Caller,
    pairs: Vec<(String, String)>,
    state: Arc<AppState>,
) -> Result<Response, Infallible> {
    let result = async {
        let q = Query::parse(pairs, &["slug"])?;
        let (sponsors, next) = store::sponsors::list(&state.store, q.get("slug"), q.page).await?;
        let items = with_speakers(&state, sponsors).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &List { items, next }))
    };
    Ok(result.await.unwrap_or_else(|e| e.to_response()))
}
