//! The webhook dispatcher: one per instance, sending what the outbox recorded.
//!
//! Each endpoint's deliveries are sent by whichever instance holds the endpoint's lease in
//! MongoDB (`store::webhooks::take_lease`), one at a time, oldest due first: with several
//! instances each attempt is made once, and a crashed instance's lease runs out (twice the
//! timeout plus 10 s) and another instance takes over. Every endpoint has its own task (a
//! [`Sender`]), so a slow endpoint only delays itself; the API never waits for a delivery.
//!
//! What a delivery costs the database is kept small, since it shares the machine with the
//! API (bench/results.md, "Webhooks"): a sender keeps its lease while events keep coming
//! (renewed once a second, and for [`LINGER`] after the last one), reads due deliveries in
//! batches (one read per batch, up to [`READ`]; after one that was not full it waits for
//! the next event) and writes the delivered ones' outcomes when it renews the lease (one
//! update a second) or when [`BATCH`] are waiting;
//! the dispatcher itself only looks at the endpoints once a second, or when an endpoint
//! has no sender here yet.
//! A crash between an attempt and its written outcome sends that delivery again, with the
//! same `webhook-id`, which is what Standard Webhooks receivers deduplicate on.
//!
//! An attempt resolves the host again, refuses non-public addresses (unless
//! `ONBOARD_WEBHOOK_ALLOW_PRIVATE`) and connects only to the addresses it checked: a new
//! connection's resolver is [`Checked`], those addresses, so a DNS answer cannot change
//! between the check and the connection; the sender's kept connection serves the attempt
//! only when its peer is one of them. A 2xx is delivered; 410 Gone disables the endpoint; anything
//! else (another status, a timeout, a refused connection) waits for the schedule's next
//! step, with jitter, and the endpoint is disabled when the whole schedule failed.

use crate::AppState;
use crate::domain::webhooks::{host_of, is_public, refused_host, sign, webhook_id};
use crate::store::webhooks::{DeliveryDoc, EndpointDoc};
use crate::store::{self, StoreError};
use bytes::Bytes;
use http::Uri;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::{Connection as _, HttpConnector, HttpInfo};
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How often the dispatcher looks at every endpoint (for one that no sender here holds:
/// created on another instance, a retry due, another instance's lease run out), and how
/// often an idle sender looks for due deliveries.
const TICK: Duration = Duration::from_secs(1);

/// How often a sender renews its lease and reads its endpoint again (a secret rotated,
/// the endpoint disabled or deleted on another instance; on this one a change is seen
/// before the next attempt).
const RENEW: Duration = Duration::from_secs(1);

/// How long a sender with nothing due keeps its lease, waiting for the next event.
const LINGER: Duration = Duration::from_secs(5);

/// The most of an endpoint's answer body read to keep its connection; a longer answer
/// closes it (the body is never used).
const ANSWER_MAX: usize = 64 * 1024;

/// Deliveries a sender reads at once. A read costs the embedded database the whole set of
/// due deliveries (it evaluates the filter before the limit: 190 ms at 50,000 due), and a
/// real MongoDB a sort of their index keys, so an endpoint working off a backlog (back after
/// an outage, enabled again) reads many at once: a tenth of the reads of batches of 50.
const READ: i64 = 500;

/// Delivered outcomes written together at the latest (besides at each lease renewal).
const BATCH: usize = 50;

/// How often the dispatcher measures the age of the oldest pending delivery (the
/// `onboard_webhook_queue_age_seconds` gauge): a query that costs the embedded database a
/// read of every pending delivery of each endpoint (160 ms at 50,000: it evaluates the whole
/// filter before the limit), so not at every look; metrics are scraped at such intervals.
const QUEUE_AGE_EVERY: Duration = Duration::from_secs(15);

/// After a wake-up call, the dispatcher's wait before it looks: the change that rang is
/// committing.
const SETTLE: Duration = Duration::from_millis(20);

/// After a wake-up call, a sender's wait before it reads: the change that rang is
/// committing, and the events recorded meanwhile go out in the same batch (one read and
/// one write for all of them). This is what a delivery waits at most when the endpoint
/// keeps up.
const GATHER: Duration = Duration::from_millis(100);

/// The host's addresses (port 0), only the public ones unless private destinations are
/// allowed; none left is an error. Every attempt asks again.
async fn checked_addresses(host: &str, allow_private: bool) -> std::io::Result<Vec<IpAddr>> {
    // An IP literal in brackets (`[::1]`) is looked up without them.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = tokio::net::lookup_host((bare, 0))
        .await?
        .map(|a| a.ip())
        .filter(|ip| allow_private || is_public(*ip))
        .collect();
    if addrs.is_empty() {
        return Err(std::io::Error::other(format!(
            "{host} resolves to no public address"
        )));
    }
    Ok(addrs)
}

/// The resolver of a new delivery connection: the addresses the attempt just checked, so
/// a DNS answer cannot change between the check and the connection.
#[derive(Clone)]
struct Checked(Arc<Vec<IpAddr>>);

impl tower_service::Service<Name> for Checked {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Name) -> Self::Future {
        // Port 0: the connector puts the URL's port in.
        let addrs: Vec<SocketAddr> = self.0.iter().map(|ip| SocketAddr::new(*ip, 0)).collect();
        std::future::ready(Ok(addrs.into_iter()))
    }
}

/// Opens delivery connections (TLS with the system's roots, HTTP/1.1).
#[derive(Clone)]
struct Connector {
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl Connector {
    fn new(timeout: Duration) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions");
        let tls = match hyper_rustls::ConfigBuilderExt::with_native_roots(builder.clone()) {
            Ok(b) => b.with_no_client_auth(),
            Err(e) => {
                tracing::error!(error = %e, "no TLS root certificates: https webhooks will fail");
                builder
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            }
        };
        Connector {
            tls: Arc::new(tls),
            timeout,
        }
    }

    /// A new connection to `url`'s host at one of `addresses` (checked by the caller).
    async fn open(&self, url: &Uri, addresses: Vec<IpAddr>) -> Result<Kept, String> {
        let mut http = HttpConnector::new_with_resolver(Checked(Arc::new(addresses)));
        http.set_connect_timeout(Some(self.timeout));
        http.enforce_http(false);
        let mut connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*self.tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let stream = tower_service::Service::call(&mut connector, url.clone())
            .await
            .map_err(|e| error_text(e.as_ref()))?;
        let mut info = http::Extensions::new();
        stream.connected().get_extras(&mut info);
        let peer = info
            .get::<HttpInfo>()
            .map(|i| i.remote_addr().ip())
            .ok_or("no peer address")?;
        let (send, connection) = hyper::client::conn::http1::handshake(stream)
            .await
            .map_err(|e| error_text(&e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Kept {
            origin: origin(url),
            peer,
            send,
        })
    }
}

/// A connection to an endpoint kept between attempts. An attempt uses it only when the
/// host still resolves (and is checked) to the address it is connected to.
struct Kept {
    /// Scheme, host and port it serves.
    origin: String,
    peer: IpAddr,
    send: SendRequest<Full<Bytes>>,
}

fn origin(url: &Uri) -> String {
    format!(
        "{}://{}",
        url.scheme_str().unwrap_or(""),
        url.authority().map_or("", |a| a.as_str())
    )
}

/// Starts this instance's dispatcher, and the watch that keeps the write path's memory of
/// the endpoints true (`domain::webhooks::watch_endpoints`): one task, ended as one.
pub(crate) fn spawn(state: Arc<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::join!(
            run(state.clone()),
            crate::domain::webhooks::watch_endpoints(state)
        );
    })
}

/// The endpoints that have a sender on this instance.
type Busy = Arc<Mutex<HashSet<ObjectId>>>;

async fn run(state: Arc<AppState>) {
    let owner = format!("{:032x}", rand::random::<u128>());
    let http = Connector::new(state.webhooks.timeout);
    let busy: Busy = Arc::default();
    let mut wake = state.webhooks.wake_up_calls();
    // The enabled endpoints at the last look, and when that was.
    let mut known: Vec<ObjectId> = Vec::new();
    let mut looked: Option<(Instant, u64)> = None;
    // When the queue's age was last measured.
    let mut aged: Option<Instant> = None;
    loop {
        tokio::select! {
            r = wake.changed() => {
                if r.is_err() {
                    return;
                }
                tokio::time::sleep(SETTLE).await;
            }
            _ = tokio::time::sleep(TICK) => {}
        }
        // A wake-up call needs no look when every endpoint already has its sender here (it
        // hears the call too); a second passed or an endpoint changed here does.
        let fresh = looked.is_some_and(|(at, generation)| {
            at.elapsed() < TICK && generation == state.webhooks.generation()
        });
        if fresh
            && busy
                .lock()
                .is_ok_and(|b| known.iter().all(|id| b.contains(id)))
        {
            continue;
        }
        let generation = state.webhooks.generation();
        match look(&state, &owner, &http, &busy).await {
            Ok(endpoints) => {
                known = endpoints;
                looked = Some((Instant::now(), generation));
            }
            Err(e) => tracing::debug!(error = %e, "webhook dispatcher could not look for work"),
        }
        if aged.is_none_or(|at| at.elapsed() >= QUEUE_AGE_EVERY) {
            aged = Some(Instant::now());
            if let Err(e) = measure_queue_age(&state, &known).await {
                tracing::debug!(error = %e, "webhook dispatcher could not measure its queue");
            }
        }
    }
}

/// Starts a sender for each enabled endpoint that has a delivery due, no sender here, and
/// no other instance holding its lease; answers the enabled endpoints.
async fn look(
    state: &Arc<AppState>,
    owner: &str,
    http: &Connector,
    busy: &Busy,
) -> Result<Vec<ObjectId>, StoreError> {
    let endpoints = store::webhooks::enabled_endpoints(&state.store).await?;
    let ids: Vec<ObjectId> = endpoints.iter().map(|e| e.id).collect();
    let now = DateTime::now();
    for endpoint in endpoints {
        let taken = busy
            .lock()
            .map(|b| b.contains(&endpoint.id))
            .unwrap_or(true);
        // Another instance's sender holds it: no need to ask what is due (a count that
        // costs the embedded database a read of every due delivery).
        let elsewhere =
            endpoint.lease_until > now && endpoint.lease_owner.as_deref() != Some(owner);
        if taken || elsewhere || !store::webhooks::has_due(&state.store, endpoint.id).await? {
            continue;
        }
        let generation = state.webhooks.generation();
        let until = lease_end(state);
        let Some(ep) = store::webhooks::take_lease(&state.store, endpoint.id, owner, until).await?
        else {
            continue;
        };
        if let Ok(mut b) = busy.lock() {
            b.insert(endpoint.id);
        }
        let (state, owner, http, busy) =
            (state.clone(), owner.to_string(), http.clone(), busy.clone());
        tokio::spawn(async move {
            let id = ep.id;
            let mut sender = Sender::new(ep, generation);
            if let Err(e) = sender.drain(&state, &owner, &http).await {
                tracing::warn!(webhook_id = %id, error = %e, "webhook deliveries paused");
            }
            let _ = store::webhooks::release_lease(&state.store, id, &owner).await;
            if let Ok(mut b) = busy.lock() {
                b.remove(&id);
            }
        });
    }
    Ok(ids)
}

/// Sets the queue-age gauge: the oldest pending delivery of the enabled endpoints.
async fn measure_queue_age(state: &AppState, endpoints: &[ObjectId]) -> Result<(), StoreError> {
    let mut oldest: Option<DateTime> = None;
    for id in endpoints {
        if let Some(t) = store::webhooks::oldest_pending(&state.store, *id).await? {
            oldest = Some(oldest.map_or(t, |o| o.min(t)));
        }
    }
    let age = match oldest {
        Some(t) => Duration::from_millis(
            u64::try_from(DateTime::now().timestamp_millis() - t.timestamp_millis()).unwrap_or(0),
        ),
        None => Duration::ZERO,
    };
    crate::metrics::get().webhook_queue_age(age);
    Ok(())
}

fn lease_end(state: &AppState) -> DateTime {
    let lease = state.webhooks.timeout * 2 + Duration::from_secs(10);
    DateTime::from_millis(DateTime::now().timestamp_millis() + lease.as_millis() as i64)
}

/// One endpoint's sender: while this instance holds the endpoint's lease it sends the due
/// deliveries, oldest first, and waits a little for more before giving the lease back.
/// The lease (which is also a fresh read of the endpoint) is renewed every [`RENEW`] and
/// whenever an endpoint changed on this instance. Delivered outcomes are written when the
/// lease is renewed (about once a second), before a failed attempt's, and when the sender
/// stops, so a crash may send a delivered event again, with its same `webhook-id`.
struct Sender {
    ep: EndpointDoc,
    renewed: Instant,
    /// `Settings::generation` when `ep` was read.
    generation: u64,
    /// Delivered, not yet written: `(delivery, status)`.
    delivered: Vec<(ObjectId, u16)>,
    /// The connection kept from the last attempt.
    kept: Option<Kept>,
}

impl Sender {
    fn new(ep: EndpointDoc, generation: u64) -> Self {
        Self {
            ep,
            renewed: Instant::now(),
            generation,
            delivered: Vec::new(),
            kept: None,
        }
    }

    async fn drain(
        &mut self,
        state: &AppState,
        owner: &str,
        http: &Connector,
    ) -> Result<(), StoreError> {
        let mut wake = state.webhooks.wake_up_calls();
        let mut idle = Instant::now();
        loop {
            if !self.renew(state, owner).await? {
                return self.flush(state).await;
            }
            // Calls rung from here on are heard below, whatever the read finds.
            wake.borrow_and_update();
            let sent: Vec<ObjectId> = self.delivered.iter().map(|(id, _)| *id).collect();
            let batch = store::webhooks::due(&state.store, self.ep.id, READ, &sent).await?;
            let full = batch.len() == READ as usize;
            if batch.is_empty() && idle.elapsed() >= LINGER {
                return self.flush(state).await;
            }
            for delivery in &batch {
                if !self.renew(state, owner).await? {
                    return self.flush(state).await;
                }
                match self.attempt(state, http, delivery).await {
                    Ok(status) => {
                        self.delivered.push((delivery.id, status));
                        if self.delivered.len() >= BATCH {
                            self.flush(state).await?;
                        }
                    }
                    Err(failure) => {
                        self.flush(state).await?;
                        if !settle(state, &self.ep, delivery, failure).await? {
                            return Ok(());
                        }
                    }
                }
                idle = Instant::now();
            }
            if full {
                continue;
            }
            // Nothing more was due when read: wait for the next event (a wake-up call),
            // or a second for a retry coming due or another instance's events. Outcomes
            // are written once no event came for a moment (quiet) or at the next renewal
            // (busy: one update a second).
            let look_again = tokio::time::Instant::now() + TICK;
            let mut written = self.delivered.is_empty();
            loop {
                let until = if written {
                    look_again
                } else {
                    tokio::time::Instant::now() + GATHER
                };
                tokio::select! {
                    r = wake.changed() => {
                        if r.is_err() {
                            return self.flush(state).await;
                        }
                        tokio::time::sleep(GATHER).await;
                        break;
                    }
                    _ = tokio::time::sleep_until(until) => {
                        if written {
                            break;
                        }
                        self.flush(state).await?;
                        written = true;
                    }
                }
            }
        }
    }

    /// Renews the lease and reads the endpoint again when [`RENEW`] passed or an endpoint
    /// changed here; false when the lease is lost or the endpoint disabled or deleted.
    async fn renew(&mut self, state: &AppState, owner: &str) -> Result<bool, StoreError> {
        let generation = state.webhooks.generation();
        if self.renewed.elapsed() < RENEW && generation == self.generation {
            return Ok(true);
        }
        self.flush(state).await?;
        let until = lease_end(state);
        match store::webhooks::take_lease(&state.store, self.ep.id, owner, until).await? {
            Some(ep) => {
                self.ep = ep;
                self.renewed = Instant::now();
                self.generation = generation;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Writes the delivered outcomes not written yet.
    async fn flush(&mut self, state: &AppState) -> Result<(), StoreError> {
        if self.delivered.is_empty() {
            return Ok(());
        }
        store::webhooks::record_delivered(&state.store, &self.delivered, DateTime::now()).await?;
        for (id, _) in self.delivered.drain(..) {
            crate::metrics::get().webhook_attempt("delivered");
            tracing::debug!(webhook_id = %self.ep.id, delivery = %id, "webhook delivered");
        }
        Ok(())
    }

    /// One attempt of `d`, within the configured timeout.
    async fn attempt(&mut self, state: &AppState, http: &Connector, d: &DeliveryDoc) -> Outcome {
        let timeout = state.webhooks.timeout;
        match tokio::time::timeout(timeout, self.send(state, http, d)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // A connection that timed out may still deliver the late answer: not reused.
                self.kept = None;
                failed(None, format!("timeout after {} ms", timeout.as_millis()))
            }
        }
    }

    async fn send(&mut self, state: &AppState, http: &Connector, d: &DeliveryDoc) -> Outcome {
        let allow_private = state.webhooks.allow_private;
        let url = &self.ep.url;
        if !allow_private
            && !url
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        {
            return failed(None, "refused: only https:// destinations");
        }
        let Some(host) = host_of(url) else {
            return failed(None, "refused: no host in the URL");
        };
        // IP literals never reach the resolver: judged here.
        if !allow_private && let Some(why) = refused_host(&host) {
            return failed(None, format!("refused: {why}"));
        }
        let uri: Uri = match url.parse() {
            Ok(u) => u,
            Err(e) => return failed(None, format!("bad URL: {e}")),
        };
        // Resolved and checked again for every attempt; a kept connection serves it only
        // when it is connected to one of the addresses checked now.
        let addresses = match checked_addresses(&host, allow_private).await {
            Ok(a) => a,
            Err(e) => {
                self.kept = None;
                return failed(None, e.to_string());
            }
        };
        let reusable = self.kept.as_ref().is_some_and(|k| {
            k.origin == origin(&uri) && addresses.contains(&k.peer) && !k.send.is_closed()
        });
        let msg_id = webhook_id(d.id);
        let timestamp = DateTime::now().timestamp_millis() / 1000;
        let signature = sign(&self.ep.secret, &msg_id, timestamp, &d.body);
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        let authority = uri.authority().map_or("", |a| a.as_str());
        let request = http::Request::post(target)
            .header("host", authority)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("onboard-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(Full::new(Bytes::from(d.body.clone())));
        let mut request = match request {
            Ok(r) => r,
            Err(e) => return failed(None, format!("bad request: {e}")),
        };
        if let Some(mut k) = self.kept.take().filter(|_| reusable) {
            // The endpoint may have closed it since: then the request was not sent, and
            // goes once on a new connection.
            if k.send.ready().await.is_ok() {
                match k.send.try_send_request(request).await {
                    Ok(response) => return self.answered(k, response).await,
                    Err(mut e) => match e.take_message() {
                        Some(unsent) => request = unsent,
                        None => return failed(None, error_text(e.error())),
                    },
                }
            }
        }
        let mut kept = match http.open(&uri, addresses).await {
            Ok(k) => k,
            Err(e) => return failed(None, e),
        };
        if let Err(e) = kept.send.ready().await {
            return failed(None, error_text(&e));
        }
        match kept.send.send_request(request).await {
            Ok(response) => self.answered(kept, response).await,
            Err(e) => failed(None, error_text(&e)),
        }
    }

    /// The outcome of an answer; its connection is kept for the next attempt once the
    /// (small) body is read.
    async fn answered(
        &mut self,
        kept: Kept,
        response: http::Response<hyper::body::Incoming>,
    ) -> Outcome {
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), ANSWER_MAX);
        if http_body_util::BodyExt::collect(body).await.is_ok() {
            self.kept = Some(kept);
        }
        match status {
            200..=299 => Ok(status),
            410 => Err(Failure::Gone),
            _ => failed(Some(status), format!("HTTP {status}")),
        }
    }
}

/// What one attempt got: delivered with this 2xx status, or not.
type Outcome = Result<u16, Failure>;

fn failed(status: Option<u16>, why: impl Into<String>) -> Outcome {
    Err(Failure::Failed(status, why.into()))
}

/// Why an attempt did not deliver.
enum Failure {
    /// 410 Gone: the endpoint is to be disabled.
    Gone,
    /// Another status, a timeout, a refused connection or address: the schedule's next step.
    Failed(Option<u16>, String),
}

/// The error and its causes, one line (the connector's DNS or TLS reason is in a source).
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Records an attempt that did not deliver (delivered ones are written by
/// [`Sender::flush`]); false when the endpoint is now disabled (stop sending to it).
async fn settle(
    state: &AppState,
    ep: &EndpointDoc,
    d: &DeliveryDoc,
    failure: Failure,
) -> Result<bool, StoreError> {
    let now = DateTime::now();
    let id = d.id;
    match failure {
        Failure::Gone => {
            store::webhooks::record_attempt(
                &state.store,
                id,
                doc! { "state": "failed", "lastStatus": 410, "lastError": "410 Gone: endpoint disabled", "lastAttemptAt": now },
                &[],
            )
            .await?;
            crate::metrics::get().webhook_attempt("gone");
            store::webhooks::disable(&state.store, ep.id, "the endpoint answered 410 Gone").await?;
            tracing::warn!(webhook_id = %ep.id, "webhook endpoint answered 410 Gone: disabled");
            Ok(false)
        }
        Failure::Failed(status, error) => {
            let failures = d.failures + 1;
            let schedule = &state.webhooks.schedule;
            let mut set = doc! { "failures": failures, "lastError": &error, "lastAttemptAt": now };
            let unset: &[&str] = match status {
                Some(s) => {
                    set.insert("lastStatus", i32::from(s));
                    &[]
                }
                None => &["lastStatus"],
            };
            let step = usize::try_from(failures - 1).unwrap_or(usize::MAX);
            match schedule.get(step) {
                Some(wait) => {
                    let wait = jitter(*wait);
                    set.insert(
                        "nextAttemptAt",
                        DateTime::from_millis(now.timestamp_millis() + wait.as_millis() as i64),
                    );
                    store::webhooks::record_attempt(&state.store, id, set, unset).await?;
                    crate::metrics::get().webhook_attempt("retry");
                    tracing::info!(webhook_id = %ep.id, delivery = %id, failures, error = %error, "webhook attempt failed; retrying later");
                    Ok(true)
                }
                None => {
                    set.insert("state", "failed");
                    store::webhooks::record_attempt(&state.store, id, set, unset).await?;
                    crate::metrics::get().webhook_attempt("failed");
                    store::webhooks::disable(
                        &state.store,
                        ep.id,
                        "every attempt of the retry schedule failed",
                    )
                    .await?;
                    tracing::warn!(webhook_id = %ep.id, delivery = %id, "webhook failed for the whole retry schedule: endpoint disabled");
                    Ok(false)
                }
            }
        }
    }
}

/// `wait` give or take a fifth, so endpoints that failed together do not retry together.
fn jitter(wait: Duration) -> Duration {
    let factor = 0.8 + 0.4 * (rand::random::<u32>() as f64 / u32::MAX as f64);
    wait.mul_f64(factor)
}
