//! The webhook dispatcher: one per instance, sending what the outbox recorded.
//!
//! Each endpoint's deliveries are sent by whichever instance holds the endpoint's lease in
//! MongoDB (`store::webhooks::take_lease`), one at a time, oldest due first: with several
//! instances each attempt is made once, and a crashed instance's lease runs out (twice the
//! timeout plus 10 s) and another instance takes over. Every endpoint has its own task, so
//! a slow endpoint only delays itself; the API never waits for a delivery.
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
use std::time::Duration;
use tokio::task::JoinHandle;

type Client = HyperClient<HttpsConnector<HttpConnector<Guarded>>, Full<Bytes>>;

/// How often the dispatcher looks for due deliveries when nothing woke it.
const TICK: Duration = Duration::from_secs(1);

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

/// Starts this instance's dispatcher.
pub(crate) fn spawn(state: Arc<AppState>) -> JoinHandle<()> {
    tokio::spawn(run(state))
}

async fn run(state: Arc<AppState>) {
    let owner = format!("{:032x}", rand::random::<u128>());
    let http = client(state.webhooks.allow_private, state.webhooks.timeout);
    let busy: Arc<Mutex<HashSet<ObjectId>>> = Arc::default();
    loop {
        tokio::select! {
            _ = state.webhooks.wake.notified() => {
                // The change that rang is committing: give it a moment.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            _ = tokio::time::sleep(TICK) => {}
        }
        if let Err(e) = tick(&state, &owner, &http, &busy).await {
            tracing::debug!(error = %e, "webhook dispatcher could not look for work");
        }
    }
}

async fn tick(
    state: &Arc<AppState>,
    owner: &str,
    http: &Client,
    busy: &Arc<Mutex<HashSet<ObjectId>>>,
) -> Result<(), StoreError> {
    for endpoint in store::webhooks::enabled_endpoints(&state.store).await? {
        let taken = busy
            .lock()
            .map(|b| b.contains(&endpoint.id))
            .unwrap_or(true);
        if taken || !store::webhooks::has_due(&state.store, endpoint.id).await? {
            continue;
        }
        let until = lease_end(state);
        if store::webhooks::take_lease(&state.store, endpoint.id, owner, until)
            .await?
            .is_none()
        {
            continue;
        }
        if let Ok(mut b) = busy.lock() {
            b.insert(endpoint.id);
        }
        let (state, owner, http, busy) =
            (state.clone(), owner.to_string(), http.clone(), busy.clone());
        tokio::spawn(async move {
            if let Err(e) = drain(&state, endpoint.id, &owner, &http).await {
                tracing::warn!(webhook_id = %endpoint.id, error = %e, "webhook deliveries paused");
            }
            let _ = store::webhooks::release_lease(&state.store, endpoint.id, &owner).await;
            if let Ok(mut b) = busy.lock() {
                b.remove(&endpoint.id);
            }
        });
    }
    Ok(())
}

fn lease_end(state: &AppState) -> DateTime {
    let lease = state.webhooks.timeout * 2 + Duration::from_secs(10);
    DateTime::from_millis(DateTime::now().timestamp_millis() + lease.as_millis() as i64)
}

/// Sends the endpoint's due deliveries, oldest first, while this instance holds its lease.
async fn drain(
    state: &AppState,
    endpoint: ObjectId,
    owner: &str,
    http: &Client,
) -> Result<(), StoreError> {
    loop {
        // Renewed before each attempt; the endpoint as it is now (its secret rotated, it
        // disabled or deleted meanwhile).
        let Some(ep) =
            store::webhooks::take_lease(&state.store, endpoint, owner, lease_end(state)).await?
        else {
            return Ok(());
        };
        let Some(delivery) = store::webhooks::next_due(&state.store, endpoint).await? else {
            return Ok(());
        };
        let outcome = attempt(state, http, &ep, &delivery).await;
        if !settle(state, &ep, &delivery, outcome).await? {
            return Ok(());
        }
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
        Outcome::Delivered(status) => {
            store::webhooks::record_attempt(
                &state.store,
                id,
                doc! { "state": "delivered", "lastStatus": i32::from(status), "lastAttemptAt": now, "failures": 0 },
                &["lastError"],
            )
            .await?;
            tracing::debug!(webhook_id = %ep.id, delivery = %id, "webhook delivered");
            Ok(true)
        }
        Outcome::Gone => {
            store::webhooks::record_attempt(
                &state.store,
                id,
                doc! { "state": "failed", "lastStatus": 410, "lastError": "410 Gone: endpoint disabled", "lastAttemptAt": now },
                &[],
            )
            .await?;
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
                    tracing::info!(webhook_id = %ep.id, delivery = %id, failures, error = %error, "webhook attempt failed; retrying later");
                    Ok(true)
                }
                None => {
                    set.insert("state", "failed");
                    store::webhooks::record_attempt(&state.store, id, set, unset).await?;
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
