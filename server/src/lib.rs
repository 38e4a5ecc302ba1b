#![recursion_limit = "512"]
//! # onboard: the REST server
//!
//! The HTTP face of the rulebook (`onboard-shared`): every payload is checked by the
//! same functions the browser runs (through the wasm package), then stored in MongoDB.
//!
//! Layers, each calling only the next: `routes/` (the route table; handlers translate
//! HTTP) → `domain/` (one module per resource: what the API does, typed in and out) →
//! `store/` (one module per collection; the only code that speaks to MongoDB) → MongoDB.
//! Beside them: `error` (the one HTTP error type), `auth` (API keys), `rate_limit`,
//! `passwords` (argon2id on a bounded pool), `metrics` (Prometheus, `GET /metrics`),
//! `request` (request ids), `embedded_db` (the local database process), `openapi` (the
//! document). `import` and `export` are the `onboard import` and `onboard export`
//! commands, clients of the API, not part of the server.
//!
//! What this crate must NOT do: re-implement a validation rule (call the rulebook), log a
//! password, API key or hash, or decide uniqueness by reading before writing (unique
//! indexes decide).

pub mod auth;
pub mod config;
pub(crate) mod data_dir;
mod dispatcher;
mod domain;
pub mod embedded_db;
mod error;
pub mod export;
mod hash_budget;
mod idempotency;
pub mod import;
mod metrics;
pub mod openapi;
pub mod passwords;
mod rate_limit;
mod request;
mod routes;
mod store;
mod transport;

pub use store::TransactionMode;

use crate::auth::KeyCache;
use crate::config::Config;
use crate::embedded_db::{EmbeddedDb, EmbeddedError};
use crate::passwords::PasswordPool;
use crate::rate_limit::{FailedAuthLimiter, SharedLimiter};
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// What every request can reach.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) passwords: PasswordPool,
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) limiter: SharedLimiter,
    /// The most API keys that may exist (`ONBOARD_MAX_KEYS`).
    pub(crate) max_keys: u64,
    /// Failed authentications per client address.
    pub(crate) auth_failures: FailedAuthLimiter,
    /// Webhook settings and the dispatcher's wake-up call.
    pub(crate) webhooks: domain::webhooks::Settings,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no MONGODB_URI given (the embedded database is started by `run`, not `spawn`)")]
    NoDatabase,
    /// The first contact failed: the server is not there, the URI is wrong, or the
    /// credentials are refused.
    #[error("could not connect to the database: {0}")]
    Connect(mongodb::error::Error),
    /// Connected, but a start-up step failed.
    #[error("the database refused a start-up step ({step}): {source}")]
    Setup {
        step: &'static str,
        source: mongodb::error::Error,
    },
    #[error("stored documents could not be brought up to date: {0}")]
    Migrate(String),
    #[error(transparent)]
    Bootstrap(#[from] auth::BootstrapError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
}

/// A running server.
#[derive(Debug)]
pub struct App {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
    /// Keeps the key cache true to the database (`auth::watch_revocations`).
    watcher: JoinHandle<()>,
    /// `GET /metrics` on its own listener (`ONBOARD_METRICS_BIND`), and its address.
    metrics: Option<(SocketAddr, JoinHandle<()>)>,
    state: Arc<AppState>,
}

impl App {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where `GET /metrics` is served, when `ONBOARD_METRICS_BIND` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(addr, _)| *addr)
    }

    /// Whether multi-document writes run in transactions (resolved from
    /// [`TransactionMode`] at start-up).
    pub fn transactions(&self) -> bool {
        self.state.store.transactions
    }

    /// Stops accepting connections and waits for in-flight requests to finish (30 s max).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.watcher.abort();
        self.dispatcher.abort();
        if let Some((_, task)) = &self.metrics {
            task.abort();
        }
    }
}

/// Attempts of each idempotent start-up step (indexes, bootstrap key).
const START_ATTEMPTS: u64 = 4;

/// Connects to `config.mongodb_uri`, creates indexes, stores the bootstrap key and starts
/// serving on `config.bind` (port 0 picks a free one; see [`App::addr`]).
pub async fn spawn(config: &Config) -> Result<App, StartError> {
    auth::check_configured(config.api_key.as_ref())?;
    let uri = config.mongodb_uri.as_ref().ok_or(StartError::NoDatabase)?;
    let store = Store::connect(uri.expose(), &config.database, config.transactions)
        .await
        .map_err(StartError::Connect)?;
    // Both steps are idempotent; instances starting together on one database can still
    // trip over each other's half-done work (a collection being created, an upsert racing),
    // so a failed attempt is retried a few times before the start is given up.
    let mut attempt = 1;
    loop {
        match store.ensure_indexes().await {
            Ok(()) => break,
            Err(e) if attempt < START_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "creating indexes failed; retrying");
            }
            Err(source) => {
                return Err(StartError::Setup {
                    step: "creating indexes",
                    source,
                });
            }
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
    }
    store
        .migrate()
        .await
        .map_err(|e| StartError::Migrate(e.to_string()))?;
    let mut attempt = 1;
    loop {
        match auth::bootstrap(&store, config.api_key.as_ref(), &config.data_dir).await {
            Ok(()) => break,
            Err(e @ auth::BootstrapError::Database(_)) if attempt < START_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "storing the bootstrap key failed; retrying");
            }
            Err(e) => return Err(e.into()),
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
    }
    let keys = Arc::new(KeyCache::default());
    let watcher = tokio::spawn(auth::watch_revocations(store.clone(), keys.clone()));
    tracing::info!(database = %config.database, transactions = store.transactions, "database ready");
    let state = Arc::new(AppState {
        store: store.clone(),
        passwords: PasswordPool::new(config.hash_workers, config.hash_queue),
        keys,
        limiter: SharedLimiter::new(
            store.clone(),
            rate_limit::Limits {
                write: config.rate_limit,
                // 0 for writes turns limiting off altogether, as it always did.
                read: if config.rate_limit == 0 {
                    0
                } else {
                    config.read_rate_limit
                },
                window: config.rate_window,
            },
        ),
        max_keys: config.max_keys,
        auth_failures: FailedAuthLimiter::new(config.auth_failures),
        webhooks: domain::webhooks::Settings::new(
            config.webhook_allow_private,
            config.webhook_retry_schedule.clone(),
            config.webhook_timeout,
        ),
    });
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let metrics = match config.metrics_bind {
        Some(bind) => {
            let listener = TcpListener::bind(bind)
                .await
                .map_err(|source| StartError::Bind { addr: bind, source })?;
            let addr = listener
                .local_addr()
                .map_err(|source| StartError::Bind { addr: bind, source })?;
            tracing::info!(url = %format!("http://{addr}/metrics"), "metrics listening");
            Some((addr, tokio::spawn(metrics::serve(listener))))
        }
        None => None,
    };
    let dispatcher = dispatcher::spawn(state.clone());
    let routes = routes::routes(state.clone(), config.web_dir.clone());
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(transport::serve(
        listener,
        warp::service(routes),
        transport::Shared {
            limits: config.limits(),
            cors: transport::Cors::new(&config.cors_origins),
        },
        rx,
    ));
    Ok(App {
        addr,
        shutdown: Some(tx),
        task,
        dispatcher,
        watcher,
        metrics,
        state,
    })
}

/// `onboard serve`: starts the embedded database when no URI is configured, serves until
/// SIGTERM / Ctrl-C, then shuts down gracefully and stops the database.
pub async fn run(mut config: Config) -> Result<(), StartError> {
    // Before anything starts: a refused setting should not leave a database behind.
    auth::check_configured(config.api_key.as_ref())?;
    let mut supervisor = None;
    if config.mongodb_uri.is_none() {
        let bin = embedded_db::find_binary(config.secantusd_bin.as_deref())?;
        let db = EmbeddedDb::start(&bin, &config.data_dir, 0).await?;
        config.mongodb_uri = Some(config::Secret::new(db.uri()));
        supervisor = Some(supervise(db, bin));
    }
    let app = match spawn(&config).await {
        Ok(app) => app,
        Err(e) => {
            if let Some(s) = supervisor {
                s.stop().await;
            }
            return Err(e);
        }
    };
    tracing::info!(url = %app.url(), "onboard listening");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    app.shutdown().await;
    if let Some(s) = supervisor {
        s.stop().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Keeps the embedded database up: if it dies, it is started again on the same port and
/// directory (the driver reconnects by itself; meanwhile requests get 503).
struct Supervisor {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Supervisor {
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn supervise(db: EmbeddedDb, bin: std::path::PathBuf) -> Supervisor {
    let (stop, mut stopping) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut db = db;
        loop {
            tokio::select! {
                status = db.exited() => {
                    tracing::error!(%status, "embedded database exited; restarting it");
                }
                _ = stopping.changed() => {
                    db.stop().await;
                    return;
                }
            }
            let (port, dir) = (db.port(), db.data_dir().to_path_buf());
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if *stopping.borrow() {
                    return;
                }
                match EmbeddedDb::start(&bin, &dir, port).await {
                    Ok(new) => {
                        metrics::get().embedded_db_restart();
                        db = new;
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "embedded database restart failed; retrying")
                    }
                }
            }
        }
    });
    Supervisor { stop, task }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
