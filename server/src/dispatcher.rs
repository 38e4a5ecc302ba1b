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
//! batches and writes the delivered ones' outcomes per batch; the dispatcher itself only
//! looks at the endpoints once a second, or when an endpoint has no sender here yet.
//! A crash between an attempt and its written outcome sends that delivery again, with the
//! same `webhook-id`, which is what Standard Webhooks receivers deduplicate on.
//!
//! An attempt resolves the host again, refuses non-public addresses (unless
//! `ONBOARD_WEBHOOK_ALLOW_PRIVATE`) and connects only to the addresses it checked: the
//! HTTP connector's resolver is [`Guarded`], so a DNS answer cannot change between the
//! check and the connection. A 2xx is delivered; 410 Gone disables the endpoint; anything
//! else (another status, a timeout, a refused connection) waits for the schedule's next
//! step, with jitter, and the endpoint is disabled when the whole schedule failed.

use crate::AppState;
use crate::domain::webhooks::{host_of, is_public, refused_host, sign, webhook_id};
use crate::store::webhooks::{DeliveryDoc, EndpointDoc};
use crate::store::{self, StoreError};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

type Client = HyperClient<HttpsConnector<HttpConnector<Guarded>>, Full<Bytes>>;

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

/// Deliveries a sender reads at once; their outcomes are written together after them.
const BATCH: i64 = 50;

/// After a wake-up call, the dispatcher's wait before it looks: the change that rang is
/// committing.
const SETTLE: Duration = Duration::from_millis(20);

/// After a wake-up call, a sender's wait before it reads: the change that rang is
/// committing, and the events recorded meanwhile go out in the same batch (one read and
/// one write for all of them). This is what a delivery waits at most when the endpoint
/// keeps up.
const GATHER: Duration = Duration::from_millis(100);

/// The resolver of every delivery: the host's addresses, only the public ones (all of them
/// when private destinations are allowed); none left is an error.
#[derive(Clone)]
pub(crate) struct Guarded {
    allow_private: bool,
}

impl tower_service::Service<Name> for Guarded {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(std::io::Error::other(format!(
                    "{host} resolves to no public address"
                )));
            }
            Ok(addrs.into_iter())
        })
    }
}

fn client(allow_private: bool, timeout: Duration) -> Client {
    let mut http = HttpConnector::new_with_resolver(Guarded { allow_private });
    http.set_connect_timeout(Some(timeout));
    http.enforce_http(false);
    let provider = rustls::crypto::ring::default_provider();
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match builder.with_provider_and_native_roots(provider) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "no TLS root certificates: https webhooks will fail");
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            )
        }
    };
    let connector = builder.https_or_http().enable_http1().wrap_connector(http);
    HyperClient::builder(TokioExecutor::new())
        // A new connection, so a new lookup and check, for every attempt.
        .pool_max_idle_per_host(0)
        .build(connector)
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
    let http = client(state.webhooks.allow_private, state.webhooks.timeout);
    let busy: Busy = Arc::default();
    let mut wake = state.webhooks.wake_up_calls();
    // The enabled endpoints at the last look, and when that was.
    let mut known: Vec<ObjectId> = Vec::new();
    let mut looked: Option<(Instant, u64)> = None;
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
    }
}

/// Starts a sender for each enabled endpoint that has a delivery due, no sender here, and
/// no other instance holding its lease; answers the enabled endpoints.
async fn look(
    state: &Arc<AppState>,
    owner: &str,
    http: &Client,
    busy: &Busy,
) -> Result<Vec<ObjectId>, StoreError> {
    let endpoints = store::webhooks::enabled_endpoints(&state.store).await?;
    let ids: Vec<ObjectId> = endpoints.iter().map(|e| e.id).collect();
    let age = match store::webhooks::oldest_pending(&state.store, &ids).await? {
        Some(t) => Duration::from_millis(
            u64::try_from(DateTime::now().timestamp_millis() - t.timestamp_millis()).unwrap_or(0),
        ),
        None => Duration::ZERO,
    };
    crate::metrics::get().webhook_queue_age(age);
    for endpoint in endpoints {
        let taken = busy
            .lock()
            .map(|b| b.contains(&endpoint.id))
            .unwrap_or(true);
        if taken || !store::webhooks::has_due(&state.store, endpoint.id).await? {
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

fn lease_end(state: &AppState) -> DateTime {
    let lease = state.webhooks.timeout * 2 + Duration::from_secs(10);
    DateTime::from_millis(DateTime::now().timestamp_millis() + lease.as_millis() as i64)
}

/// One endpoint's sender: while this instance holds the endpoint's lease it sends the due
/// deliveries, oldest first, and waits a little for more before giving the lease back.
/// The lease (which is also a fresh read of the endpoint) is renewed every [`RENEW`] and
/// whenever an endpoint changed on this instance; delivered outcomes are written per
/// batch, so a crash may send a delivered event again, with its same `webhook-id`.
struct Sender {
    ep: EndpointDoc,
    renewed: Instant,
    /// `Settings::generation` when `ep` was read.
    generation: u64,
    /// Delivered, not yet written: `(delivery, status)`.
    delivered: Vec<(ObjectId, u16)>,
}

impl Sender {
    fn new(ep: EndpointDoc, generation: u64) -> Self {
        Self {
            ep,
            renewed: Instant::now(),
            generation,
            delivered: Vec::new(),
        }
    }

    async fn drain(
        &mut self,
        state: &AppState,
        owner: &str,
        http: &Client,
    ) -> Result<(), StoreError> {
        let mut wake = state.webhooks.wake_up_calls();
        let mut idle = Instant::now();
        loop {
            if !self.renew(state, owner).await? {
                return Ok(());
            }
            // Calls rung from here on are heard below, whatever the read finds.
            wake.borrow_and_update();
            let batch = store::webhooks::due(&state.store, self.ep.id, BATCH).await?;
            if batch.is_empty() {
                if idle.elapsed() >= LINGER {
                    return Ok(());
                }
                tokio::select! {
                    r = wake.changed() => {
                        if r.is_err() {
                            return Ok(());
                        }
                        tokio::time::sleep(GATHER).await;
                    }
                    _ = tokio::time::sleep(TICK) => {}
                }
                continue;
            }
            for delivery in &batch {
                if !self.renew(state, owner).await? {
                    return self.flush(state).await;
                }
                match attempt(state, http, &self.ep, delivery).await {
                    Outcome::Delivered(status) => self.delivered.push((delivery.id, status)),
                    outcome => {
                        self.flush(state).await?;
                        if !settle(state, &self.ep, delivery, outcome).await? {
                            return Ok(());
                        }
                    }
                }
            }
            self.flush(state).await?;
            idle = Instant::now();
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
}

/// What one attempt got.
enum Outcome {
    Delivered(u16),
    Gone,
    Failed(Option<u16>, String),
}

async fn attempt(state: &AppState, http: &Client, ep: &EndpointDoc, d: &DeliveryDoc) -> Outcome {
    let allow_private = state.webhooks.allow_private;
    if !allow_private {
        if !ep
            .url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        {
            return Outcome::Failed(None, "refused: only https:// destinations".into());
        }
        match host_of(&ep.url) {
            Some(host) => {
                // IP literals never reach the resolver: judged here.
                if let Some(why) = refused_host(&host) {
                    return Outcome::Failed(None, format!("refused: {why}"));
                }
            }
            None => return Outcome::Failed(None, "refused: no host in the URL".into()),
        }
    }
    let msg_id = webhook_id(d.id);
    let timestamp = DateTime::now().timestamp_millis() / 1000;
    let signature = sign(&ep.secret, &msg_id, timestamp, &d.body);
    let request = http::Request::post(ep.url.as_str())
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("onboard-webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .header("webhook-id", &msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(Full::new(Bytes::from(d.body.clone())));
    let request = match request {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(None, format!("bad request: {e}")),
    };
    match tokio::time::timeout(state.webhooks.timeout, http.request(request)).await {
        Err(_) => Outcome::Failed(
            None,
            format!("timeout after {} ms", state.webhooks.timeout.as_millis()),
        ),
        Ok(Err(e)) => Outcome::Failed(None, error_text(&e)),
        Ok(Ok(response)) => {
            let status = response.status().as_u16();
            match status {
                200..=299 => Outcome::Delivered(status),
                410 => Outcome::Gone,
                _ => Outcome::Failed(Some(status), format!("HTTP {status}")),
            }
        }
    }
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

/// Records an attempt; false when the endpoint is now disabled (stop sending to it).
async fn settle(
    state: &AppState,
    ep: &EndpointDoc,
    d: &DeliveryDoc,
    outcome: Outcome,
) -> Result<bool, StoreError> {
    let now = DateTime::now();
    let id = d.id;
    match outcome {
        // Written per batch by `Sender::flush`.
        Outcome::Delivered(_) => Ok(true),
        Outcome::Gone => {
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
        Outcome::Failed(status, error) => {
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
