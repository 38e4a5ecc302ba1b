//! Webhooks: endpoints (created, listed, changed, removed, their secret rotated), the
//! outbox that every write path fills, and the rules a destination must follow.
//!
//! **The outbox.** A write path asks [`listening`] which endpoints want its event type,
//! and when some do, records the event with [`Outbox::record`] in the same session as the
//! change: one delivery document per endpoint, committed or rolled back with it. Without a
//! transaction the caller records right after its write and compensates on failure. The
//! dispatcher (`crate::dispatcher`) sends what is recorded.
//!
//! **Destinations (SSRF).** Only `https`, to public addresses: `localhost`, a non-public IP
//! literal, or a name resolving to a non-public address is refused at creation (a name
//! that does not resolve now is accepted); each delivery resolves again and connects only
//! to the addresses it checked. `ONBOARD_WEBHOOK_ALLOW_PRIVATE=1` lifts both rules.

use super::{DomainError, Page, id, rfc3339};
use crate::AppState;
use crate::store::webhooks::{DeliveryDoc, DeliveryState, EndpointDoc};
use crate::store::{self, StoreError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use mongodb::ClientSession;
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use onboard_shared::{Code, EventType, FieldError, NewWebhook, WebhookPatch};
use serde::Serialize;
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use utoipa::ToSchema;

/// What the operator configured (`ONBOARD_WEBHOOK_*`), and the dispatcher's wake-up call.
#[derive(Debug)]
pub(crate) struct Settings {
    /// `ONBOARD_WEBHOOK_ALLOW_PRIVATE`: plain `http` and non-public addresses allowed.
    pub(crate) allow_private: bool,
    /// `ONBOARD_WEBHOOK_RETRY_SCHEDULE`: the waits after each failed attempt.
    pub(crate) schedule: Vec<Duration>,
    /// `ONBOARD_WEBHOOK_TIMEOUT`: one attempt, connection to answer.
    pub(crate) timeout: Duration,
    /// Rung when an event is recorded or an endpoint changes here, so the dispatcher and
    /// its senders look at once (each holds a receiver: [`Settings::wake_up_calls`]).
    wake: tokio::sync::watch::Sender<()>,
    /// Counts this instance's endpoint changes: a sender reads its endpoint again when it
    /// moved (a rotated secret signs the next delivery).
    generation: AtomicU64,
    /// What [`listening`] reads on every write, kept while a change stream watches.
    listeners: Listeners,
}

impl Settings {
    pub(crate) fn new(allow_private: bool, schedule: Vec<Duration>, timeout: Duration) -> Self {
        Self {
            allow_private,
            schedule,
            timeout,
            wake: tokio::sync::watch::Sender::new(()),
            generation: AtomicU64::new(0),
            listeners: Listeners::default(),
        }
    }

    /// A receiver of the wake-up calls rung after it was made.
    pub(crate) fn wake_up_calls(&self) -> tokio::sync::watch::Receiver<()> {
        self.wake.subscribe()
    }

    /// Something may be due now: an event was recorded, a delivery retried.
    pub(crate) fn ring(&self) {
        self.wake.send_replace(());
    }

    /// An endpoint was created, changed or removed on this instance.
    fn endpoint_changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.listeners.forget();
        self.ring();
    }

    /// How many endpoint changes this instance has made.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// Bytes of a new signing secret (the Standard Webhooks spec asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A webhook endpoint as the API shows it: never its secret.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Webhook {
    id: String,
    url: String,
    /// The event types sent; empty: every type.
    #[schema(schema_with = crate::openapi::event_types)]
    events: Vec<String>,
    #[schema(required = true)]
    description: Option<String>,
    disabled: bool,
    /// Why the server disabled it (`410 Gone`, or every attempt of the retry schedule
    /// failed); null when enabled or disabled by a `PATCH`.
    #[schema(required = true)]
    disabled_reason: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// A new endpoint, with its signing secret: the only time it is shown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = WebhookCreated)]
pub(crate) struct Created {
    id: String,
    url: String,
    #[schema(schema_with = crate::openapi::event_types)]
    events: Vec<String>,
    #[schema(required = true)]
    description: Option<String>,
    disabled: bool,
    #[schema(required = true)]
    disabled_reason: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// `whsec_` + base64 of 32 random bytes; verify deliveries with it.
    secret: String,
}

impl Created {
    fn new(w: Webhook, secret: String) -> Created {
        Created {
            id: w.id,
            url: w.url,
            events: w.events,
            description: w.description,
            disabled: w.disabled,
            disabled_reason: w.disabled_reason,
            created_at: w.created_at,
            updated_at: w.updated_at,
            secret,
        }
    }

    pub(crate) fn webhook_id(&self) -> &str {
        &self.id
    }
}

/// A rotated secret: the only time it is shown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = WebhookSecret)]
pub(crate) struct Rotated {
    id: String,
    /// Signs every delivery from the next one on.
    secret: String,
}

/// One event sent (or to be sent) to one endpoint.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = WebhookDelivery)]
pub(crate) struct Delivery {
    /// The delivery's id (for `.../deliveries/{deliveryId}/retry`).
    id: String,
    /// The `webhook-id` header: the same on every attempt.
    webhook_id: String,
    /// The change's id: the same for every endpoint told about it.
    event_id: String,
    #[serde(rename = "type")]
    #[schema(schema_with = crate::openapi::event_type)]
    event_type: String,
    /// `pending` (an attempt is due at `nextAttemptAt`), `delivered`, or `failed` (given
    /// up: the schedule ran out or the endpoint answered 410).
    #[schema(schema_with = crate::openapi::delivery_state)]
    state: DeliveryState,
    attempts: i32,
    /// The HTTP status of the last attempt; null when it got no answer (or none yet).
    #[schema(required = true)]
    last_status: Option<i32>,
    /// Why the last attempt failed (timeout, connection, refused address); null otherwise.
    #[schema(required = true)]
    last_error: Option<String>,
    #[schema(required = true, format = DateTime)]
    last_attempt_at: Option<String>,
    /// When the next attempt is due; null unless `pending`.
    #[schema(required = true, format = DateTime)]
    next_attempt_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

fn shown(e: EndpointDoc) -> Webhook {
    Webhook {
        id: e.id.to_hex(),
        url: e.url,
        events: e.events,
        description: e.description,
        disabled: e.disabled,
        disabled_reason: if e.disabled { e.disabled_reason } else { None },
        created_at: rfc3339(e.created_at),
        updated_at: rfc3339(e.updated_at),
    }
}

pub(crate) fn delivery_view(d: DeliveryDoc) -> Delivery {
    Delivery {
        id: d.id.to_hex(),
        webhook_id: webhook_id(d.id),
        event_id: format!("evt_{}", d.event_id.to_hex()),
        event_type: d.event_type,
        state: d.state,
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        last_attempt_at: d.last_attempt_at.map(rfc3339),
        next_attempt_at: (d.state == DeliveryState::Pending).then(|| rfc3339(d.next_attempt_at)),
        created_at: rfc3339(d.created_at),
    }
}

/// The `webhook-id` of a delivery.
pub(crate) fn webhook_id(delivery: ObjectId) -> String {
    format!("msg_{}", delivery.to_hex())
}

fn new_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    format!("whsec_{}", B64.encode(bytes))
}

fn names(events: &[EventType]) -> Vec<String> {
    events.iter().map(|e| e.as_str().to_string()).collect()
}

/// Creates an endpoint from a checked request, after the destination rules.
pub(crate) async fn create(state: &AppState, new: NewWebhook) -> Result<Created, DomainError> {
    check_destination(&new.url, state.webhooks.allow_private).await?;
    let now = DateTime::now();
    let doc = EndpointDoc {
        id: ObjectId::new(),
        url: new.url,
        events: names(&new.events),
        description: new.description,
        secret: new_secret(),
        disabled: false,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        lease_owner: None,
        lease_until: DateTime::from_millis(0),
    };
    store::webhooks::insert_endpoint(&state.store, &doc).await?;
    tracing::info!(webhook_id = %doc.id, "webhook created");
    state.webhooks.endpoint_changed();
    let secret = doc.secret.clone();
    Ok(Created::new(shown(doc), secret))
}

async fn find(state: &AppState, id_text: &str) -> Result<EndpointDoc, DomainError> {
    let id = id(id_text, "Webhook")?;
    store::webhooks::find_endpoint(&state.store, id)
        .await?
        .ok_or(DomainError::NotFound("Webhook"))
}

pub(crate) async fn get(state: &AppState, id_text: &str) -> Result<Webhook, DomainError> {
    Ok(shown(find(state, id_text).await?))
}

pub(crate) async fn list(
    state: &AppState,
    page: Page,
) -> Result<(Vec<Webhook>, Option<String>), DomainError> {
    let (docs, next) = store::webhooks::list_endpoints(&state.store, page).await?;
    Ok((docs.into_iter().map(shown).collect(), next))
}

/// Applies a checked patch. Enabling an endpoint again clears why it was disabled; its
/// pending deliveries then go out.
pub(crate) async fn update(
    state: &AppState,
    id_text: &str,
    patch: WebhookPatch,
) -> Result<Webhook, DomainError> {
    let id = id(id_text, "Webhook")?;
    if let Some(url) = &patch.url {
        check_destination(url, state.webhooks.allow_private).await?;
    }
    let mut set = doc! {};
    let mut unset = Vec::new();
    if let Some(url) = patch.url {
        set.insert("url", url);
    }
    if let Some(events) = patch.events {
        set.insert("events", names(&events));
    }
    match patch.description {
        Some(Some(d)) => {
            set.insert("description", d);
        }
        Some(None) => unset.push("description"),
        None => {}
    }
    if let Some(disabled) = patch.disabled {
        set.insert("disabled", disabled);
        unset.push("disabledReason");
    }
    if !store::webhooks::update_endpoint(&state.store, id, set, &unset).await? {
        return Err(DomainError::NotFound("Webhook"));
    }
    tracing::info!(webhook_id = %id, "webhook updated");
    state.webhooks.endpoint_changed();
    get(state, id_text).await
}

/// Deletes an endpoint and its deliveries (nothing more is sent to it).
pub(crate) async fn delete(state: &AppState, id_text: &str) -> Result<(), DomainError> {
    let id = id(id_text, "Webhook")?;
    if !store::webhooks::delete_endpoint(&state.store, id).await? {
        return Err(DomainError::NotFound("Webhook"));
    }
    tracing::info!(webhook_id = %id, "webhook deleted");
    state.webhooks.endpoint_changed();
    Ok(())
}

/// A new signing secret; the next delivery is signed with it (the old one stops).
pub(crate) async fn rotate_secret(state: &AppState, id_text: &str) -> Result<Rotated, DomainError> {
    let id = id(id_text, "Webhook")?;
    let secret = new_secret();
    if !store::webhooks::update_endpoint(&state.store, id, doc! { "secret": &secret }, &[]).await? {
        return Err(DomainError::NotFound("Webhook"));
    }
    tracing::info!(webhook_id = %id, "webhook secret rotated");
    state.webhooks.endpoint_changed();
    Ok(Rotated {
        id: id.to_hex(),
        secret,
    })
}

pub(crate) async fn deliveries(
    state: &AppState,
    id_text: &str,
    page: Page,
) -> Result<(Vec<Delivery>, Option<String>), DomainError> {
    let endpoint = find(state, id_text).await?;
    let (docs, next) = store::webhooks::list_deliveries(&state.store, endpoint.id, page).await?;
    Ok((docs.into_iter().map(delivery_view).collect(), next))
}

/// Sends a delivery again now (same `webhook-id`), from the start of the retry schedule.
pub(crate) async fn retry(
    state: &AppState,
    id_text: &str,
    delivery_text: &str,
) -> Result<Delivery, DomainError> {
    let endpoint = id(id_text, "Webhook")?;
    let delivery = id(delivery_text, "Delivery")?;
    let found = store::webhooks::retry_delivery(&state.store, endpoint, delivery)
        .await?
        .ok_or(DomainError::NotFound("Delivery"))?;
    state.webhooks.ring();
    Ok(delivery_view(found))
}

// ---- the outbox ----

/// The endpoints that want one event type.
pub(crate) struct Outbox {
    kind: EventType,
    endpoints: Vec<ObjectId>,
}

/// Who wants `kind` events now: `None` when nobody (then the write path builds nothing).
pub(crate) async fn listening(
    state: &AppState,
    kind: EventType,
) -> Result<Option<Outbox>, StoreError> {
    let listeners = &state.webhooks.listeners;
    let enabled = match listeners.get() {
        Some(kept) => kept,
        None => {
            let generation = listeners.generation();
            let read: Enabled = Arc::new(
                store::webhooks::enabled_endpoints(&state.store)
                    .await?
                    .into_iter()
                    .map(|e| (e.id, e.events))
                    .collect(),
            );
            listeners.keep(generation, read.clone());
            read
        }
    };
    let endpoints: Vec<ObjectId> = enabled
        .iter()
        .filter(|(_, events)| events.is_empty() || events.iter().any(|t| t == kind.as_str()))
        .map(|(id, _)| *id)
        .collect();
    Ok((!endpoints.is_empty()).then_some(Outbox { kind, endpoints }))
}

/// The enabled endpoints (id, event types) that [`listening`] reads on every write, kept in
/// memory only while a change stream of the endpoints is open: any change, through any
/// instance, forgets them (a change through another instance is seen as its event
/// arrives, in well under a second; one here at once). Without a stream (a standalone
/// MongoDB has none) every write reads them.
#[derive(Debug, Default)]
struct Listeners(Mutex<Kept>);

/// The enabled endpoints: (id, the event types it wants; empty: all).
type Enabled = Arc<Vec<(ObjectId, Vec<String>)>>;

#[derive(Debug, Default)]
struct Kept {
    watched: bool,
    /// Moves at every forget: a read that started before one is not kept.
    generation: u64,
    endpoints: Option<Enabled>,
}

impl Listeners {
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self) -> Option<Enabled> {
        self.lock().endpoints.clone()
    }

    fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps what a read that started at `generation` found, when nothing changed since
    /// and a stream watches.
    fn keep(&self, generation: u64, endpoints: Enabled) {
        let mut kept = self.lock();
        if kept.watched && kept.generation == generation {
            kept.endpoints = Some(endpoints);
        }
    }

    fn forget(&self) {
        let mut kept = self.lock();
        kept.generation += 1;
        kept.endpoints = None;
    }

    fn watching(&self, watched: bool) {
        self.forget();
        self.lock().watched = watched;
    }
}

/// Keeps [`listening`]'s memory of the endpoints true for as long as it runs (the
/// dispatcher runs it): every change of the endpoints forgets it; while no stream is
/// open nothing is kept, and the stream is opened again after a second.
pub(crate) async fn watch_endpoints(state: Arc<AppState>) {
    let listeners = &state.webhooks.listeners;
    let mut failing = false;
    loop {
        match store::webhooks::watch(&state.store).await {
            Ok(mut changes) => {
                listeners.watching(true);
                failing = false;
                while changes.next().await.is_ok() {
                    listeners.forget();
                }
                listeners.watching(false);
                tracing::warn!(
                    "the change stream of webhook endpoints stopped; endpoints are read at each write until it is back"
                );
            }
            Err(e) => {
                listeners.watching(false);
                if !failing {
                    tracing::info!(error = %e, "cannot watch webhook endpoints (a standalone MongoDB has no change streams); endpoints are read at each write");
                    failing = true;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// An id-only `data`, for deletions.
#[derive(Serialize)]
pub(crate) struct Removed {
    pub(crate) id: String,
}

impl Outbox {
    /// Records the event (`data`: the resource as `GET` shows it) for every listening
    /// endpoint, in `session` when given. Answers the deliveries' ids, for a caller that
    /// must undo them without a transaction.
    pub(crate) async fn record<T: Serialize>(
        &self,
        state: &AppState,
        session: Option<&mut ClientSession>,
        data: &T,
    ) -> Result<Vec<ObjectId>, StoreError> {
        let docs = self.deliveries(data);
        store::webhooks::insert_deliveries(&state.store, &docs, session).await?;
        state.webhooks.ring();
        Ok(docs.iter().map(|d| d.id).collect())
    }

    /// The event's deliveries (`data`: the resource as `GET` shows it), one per listening
    /// endpoint, for a caller that writes them with its change ([`store::Inserts`]) and
    /// then rings the dispatcher ([`Settings::ring`]).
    pub(crate) fn deliveries<T: Serialize>(&self, data: &T) -> Vec<DeliveryDoc> {
        let now = DateTime::now();
        let body = serde_json::json!({
            "type": self.kind.as_str(),
            "timestamp": rfc3339(now),
            "data": data,
        });
        let mut mentions = Vec::new();
        ids_in(&body, &mut mentions);
        let body = body.to_string();
        let event_id = ObjectId::new();
        self.endpoints
            .iter()
            .map(|e| DeliveryDoc {
                id: ObjectId::new(),
                endpoint_id: *e,
                event_id,
                event_type: self.kind.as_str().to_string(),
                body: body.clone(),
                mentions: mentions.clone(),
                state: DeliveryState::Pending,
                attempts: 0,
                failures: 0,
                next_attempt_at: now,
                last_attempt_at: None,
                last_status: None,
                last_error: None,
                created_at: now,
            })
            .collect()
    }
}

/// Every string in `v` that is an id (24 hex digits), once each, into `out`.
fn ids_in(v: &serde_json::Value, out: &mut Vec<ObjectId>) {
    match v {
        serde_json::Value::String(s) if s.len() == 24 => {
            if let Ok(id) = ObjectId::parse_str(s)
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| ids_in(i, out)),
        serde_json::Value::Object(members) => members.values().for_each(|m| ids_in(m, out)),
        _ => {}
    }
}

/// Erasure (`DELETE /v1/users/{id}`) reaches the outbox too: no copy of the person's data
/// stays in a recorded delivery. Events about the user are deleted, delivered or not (the
/// `user.deleted` recorded after this tells the endpoints); sponsor events that list them
/// as a speaker lose that speaker from their body (the other speakers and the sponsor are
/// still delivered).
pub(crate) async fn forget_person(
    state: &AppState,
    mut session: Option<&mut ClientSession>,
    user: ObjectId,
) -> Result<(), StoreError> {
    let found =
        store::webhooks::deliveries_naming(&state.store, user, session.as_deref_mut()).await?;
    let hex = user.to_hex();
    let mut gone = Vec::new();
    let mut rewritten = Vec::new();
    for d in found {
        let mut body: Option<serde_json::Value> = serde_json::from_str(&d.body).ok();
        let speakers = body
            .as_mut()
            .filter(|_| !d.event_type.starts_with("user."))
            .and_then(|b| b.pointer_mut("/data/speakers"))
            .and_then(serde_json::Value::as_array_mut);
        match speakers {
            Some(list) => {
                list.retain(|s| s["id"].as_str() != Some(hex.as_str()));
                let body = body.map(|b| b.to_string()).unwrap_or_default();
                rewritten.push((d.id, body));
            }
            // A user event about them (or a body naming them that cannot be edited).
            None => gone.push(d.id),
        }
    }
    store::webhooks::forget(&state.store, user, &gone, &rewritten, session).await
}

/// Records `kind` with `data` when someone listens: for events whose `data` costs nothing
/// to build (deletions).
pub(crate) async fn emit<T: Serialize>(
    state: &AppState,
    session: Option<&mut ClientSession>,
    kind: EventType,
    data: &T,
) -> Result<Vec<ObjectId>, StoreError> {
    match listening(state, kind).await? {
        Some(outbox) => outbox.record(state, session, data).await,
        None => Ok(Vec::new()),
    }
}

// ---- signing (Standard Webhooks) ----

/// `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed with the secret's bytes
/// (the base64 after `whsec_`).
pub(crate) fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> String {
    let key = B64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .unwrap_or_default();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

// ---- destinations (SSRF) ----

/// Whether `ip` is a public unicast address (not loopback, private, link-local, shared,
/// documentation, multicast, reserved, or an IPv6 form of one of those).
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address: judge that one.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if s[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    // Global unicast is 2000::/3; inside it, Teredo (2001::/32), documentation
    // (2001:db8::/32) and ORCHIDv2/benchmarking (2001:2::/48, 2001:20::/28) are not
    // destinations.
    (s[0] & 0xe000) == 0x2000
        && !(s[0] == 0x2001 && (s[1] == 0 || s[1] == 0xdb8 || s[1] == 2 || (s[1] & 0xfff0) == 0x20))
}

/// The host of a URL the rulebook accepted (brackets of an IPv6 literal removed).
pub(crate) fn host_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let host = uri.host()?;
    Some(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
    )
}

/// Why a host may not be a destination, before any lookup: `localhost`, or an IP literal
/// that is not public. `None` when it may (names are resolved by the caller).
pub(crate) fn refused_host(host: &str) -> Option<&'static str> {
    let host = host.trim_end_matches('.');
    if host == "localhost" || host.ends_with(".localhost") {
        return Some("localhost");
    }
    match host.parse::<IpAddr>() {
        Ok(ip) if !is_public(ip) => Some("a non-public address"),
        _ => None,
    }
}

/// How long a creation waits for DNS before accepting the name unresolved.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

fn refused(message: String) -> DomainError {
    DomainError::Invalid(vec![FieldError::new("url", Code::UrlInvalid, message)])
}

/// The creation-time SSRF rules (see the module's doc).
async fn check_destination(url: &str, allow_private: bool) -> Result<(), DomainError> {
    if allow_private {
        return Ok(());
    }
    let host = host_of(url).ok_or_else(|| refused("Must be a full URL with a host.".into()))?;
    if let Some(why) = refused_host(&host) {
        return Err(refused(format!(
            "Must be a public address, not {why} (the server refuses private destinations)."
        )));
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let lookup = tokio::time::timeout(
        LOOKUP_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), 443)),
    );
    match lookup.await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<_> = addrs.collect();
            if addrs.iter().any(|a| !is_public(a.ip())) {
                return Err(refused(format!(
                    "Must be a public address: {host} resolves to a non-public address."
                )));
            }
            Ok(())
        }
        // Not resolvable now: DNS changes, and every delivery checks again.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_mentions_every_id_it_names_once() {
        let (user, sponsor, speaker) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
        let body = serde_json::json!({
            "type": "sponsor.created",
            "data": {
                "id": sponsor.to_hex(),
                "speakers": [ { "id": speaker.to_hex() }, { "id": user.to_hex(), "again": user.to_hex() } ],
                "name": "0123456789abcdef01234567 is text, not an id",
                "tag": "not-an-id-but-24-chars!!",
            },
        });
        let mut found = Vec::new();
        ids_in(&body, &mut found);
        found.sort();
        let mut want = vec![user, sponsor, speaker];
        want.sort();
        assert_eq!(found, want);
    }

    #[test]
    fn only_public_addresses_are_destinations() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        assert_eq!(refused_host("localhost"), Some("localhost"));
        assert_eq!(refused_host("api.localhost."), Some("localhost"));
        assert!(refused_host("example.com").is_none());
        assert_eq!(host_of("https://[::1]:8443/x").as_deref(), Some("::1"));
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let s = new_secret();
        assert!(s.starts_with("whsec_") && B64.decode(&s[6..]).unwrap().len() == SECRET_BYTES);
    }
}
