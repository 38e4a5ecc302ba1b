//! Prometheus metrics: `ONBOARD_METRICS_BIND` (off by default) serves `GET /metrics` in the
//! Prometheus text format (0.0.4) on its own listener, apart from the API.
//!
//! One registry per process (a `static`): the counters are the process's, whichever part of
//! it counts (a request, the hashing pool, the database driver's command events, the
//! embedded database's supervisor). Labels are closed sets: HTTP methods, route templates
//! from [`crate::routes::ROUTES`] (never the raw path: ids must not become labels), status
//! codes, database command names, rate-limit budgets. No e-mail, id, key or path is ever a
//! label, so no scrape can show one.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use mongodb::event::command::CommandEvent;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::convert::Infallible;
use std::sync::LazyLock;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// A route template (`/v1/users/{id}`), or `other` for anything outside the API table
    /// (the page's files, unknown paths).
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    budget: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The `outcome` label of `onboard_webhook_deliveries_total`: an attempt answered 2xx, one
/// that failed and will be retried, a 410 Gone, and the last attempt of a failed schedule.
pub(crate) const WEBHOOK_OUTCOMES: [&str; 4] = ["delivered", "retry", "gone", "failed"];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// The `budget` label of `onboard_rate_limited_total`.
pub(crate) const RATE_BUDGETS: [&str; 3] = ["read", "write", "auth_failures"];

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds, 0.5 ms to about 16 s in 16 doubling buckets: a rejected payload, a database
/// round trip and a queue of argon2 hashes all fall inside.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Histograms<RequestLabels>,
    hash_waiting: Gauge,
    hash_wait: Histogram,
    db_duration: Histograms<OperationLabels>,
    db_errors: Family<OperationLabels, Counter>,
    rate_limited: Family<BudgetLabels, Counter>,
    overloaded: Counter,
    idempotent_replays: Counter,
    embedded_db_restarts: Counter,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    webhook_queue_age: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub(crate) fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "onboard_http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let request_duration: Histograms<RequestLabels> = Family::new_with_constructor(seconds);
        registry.register(
            "onboard_http_request_duration_seconds",
            "Time from a request's arrival at the router to its answer, by method, route template and status",
            request_duration.clone(),
        );
        let hash_waiting = Gauge::default();
        registry.register(
            "onboard_hash_queue_depth",
            "Password hashes waiting for a thread of the argon2id pool",
            hash_waiting.clone(),
        );
        let hash_wait = seconds();
        registry.register(
            "onboard_hash_wait_seconds",
            "Time a password hash waited for a thread of the argon2id pool",
            hash_wait.clone(),
        );
        let db_duration: Histograms<OperationLabels> = Family::new_with_constructor(seconds);
        registry.register(
            "onboard_db_operation_duration_seconds",
            "Database commands' round trips, by command (getMore includes a change stream's wait of up to 0.5 s)",
            db_duration.clone(),
        );
        let db_errors = Family::<OperationLabels, Counter>::default();
        registry.register(
            "onboard_db_operation_errors",
            "Database commands that failed, by command",
            db_errors.clone(),
        );
        let rate_limited = Family::<BudgetLabels, Counter>::default();
        // Every budget shows from the start, at 0.
        for budget in RATE_BUDGETS {
            rate_limited
                .get_or_create(&BudgetLabels { budget })
                .inc_by(0);
        }
        registry.register(
            "onboard_rate_limited",
            "Requests answered 429 rate_limited, by budget",
            rate_limited.clone(),
        );
        let overloaded = Counter::default();
        registry.register(
            "onboard_overloaded",
            "Requests and connections answered 503 overloaded (hashing queue or connection cap full)",
            overloaded.clone(),
        );
        let idempotent_replays = Counter::default();
        registry.register(
            "onboard_idempotent_replays",
            "Answers replayed for a repeated Idempotency-Key",
            idempotent_replays.clone(),
        );
        let embedded_db_restarts = Counter::default();
        registry.register(
            "onboard_embedded_db_restarts",
            "Restarts of the embedded database after it exited",
            embedded_db_restarts.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        for outcome in WEBHOOK_OUTCOMES {
            webhook_deliveries
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(0);
        }
        registry.register(
            "onboard_webhook_deliveries",
            "Webhook delivery attempts made by this instance, by outcome (delivered, retry, gone, failed)",
            webhook_deliveries.clone(),
        );
        let webhook_queue_age = Gauge::default();
        registry.register(
            "onboard_webhook_queue_age_seconds",
            "Age of the oldest webhook event still pending for an enabled endpoint (0: none), as this instance's dispatcher last saw it",
            webhook_queue_age.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register(
            "onboard_build_info",
            "The running build: always 1, its version as a label",
            build_info,
        );
        Metrics {
            registry,
            requests,
            request_duration,
            hash_waiting,
            hash_wait,
            db_duration,
            db_errors,
            rate_limited,
            overloaded,
            idempotent_replays,
            embedded_db_restarts,
            webhook_deliveries,
            webhook_queue_age,
        }
    }

    /// One webhook attempt; `outcome` is one of [`WEBHOOK_OUTCOMES`].
    pub(crate) fn webhook_attempt(&self, outcome: &'static str) {
        self.webhook_deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub(crate) fn webhook_queue_age(&self, age: Duration) {
        self.webhook_queue_age
            .set(i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
    }

    /// One answered request; `route` is a template from the route table or `other`.
    pub(crate) fn request(
        &self,
        method: &Method,
        route: &'static str,
        status: StatusCode,
        took: Duration,
    ) {
        let labels = RequestLabels {
            method: method_label(method),
            route,
            status: status.as_u16(),
        };
        self.requests.get_or_create(&labels).inc();
        self.request_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts a hash waiting for a thread until the guard is dropped.
    pub(crate) fn hash_waiting(&self) -> HashWaiting {
        self.hash_waiting.inc();
        HashWaiting
    }

    pub(crate) fn hash_waited(&self, took: Duration) {
        self.hash_wait.observe(took.as_secs_f64());
    }

    /// A 429; `budget` names the limit that refused it.
    pub(crate) fn rate_limited(&self, budget: &'static str) {
        self.rate_limited
            .get_or_create(&BudgetLabels { budget })
            .inc();
    }

    pub(crate) fn overloaded(&self) {
        self.overloaded.inc();
    }

    pub(crate) fn idempotent_replay(&self) {
        self.idempotent_replays.inc();
    }

    pub(crate) fn embedded_db_restart(&self) {
        self.embedded_db_restarts.inc();
    }

    /// The database driver's command monitoring (set on the client in `store`).
    pub(crate) fn database(&self, event: CommandEvent) {
        match event {
            CommandEvent::Succeeded(e) => self
                .db_duration
                .get_or_create(&OperationLabels {
                    operation: command_label(&e.command_name),
                })
                .observe(e.duration.as_secs_f64()),
            CommandEvent::Failed(e) => {
                let labels = OperationLabels {
                    operation: command_label(&e.command_name),
                };
                self.db_duration
                    .get_or_create(&labels)
                    .observe(e.duration.as_secs_f64());
                self.db_errors.get_or_create(&labels).inc();
            }
            _ => {}
        }
    }

    /// The scrape: every metric in the Prometheus text format.
    fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Ends a hash's wait in `onboard_hash_queue_depth`.
pub(crate) struct HashWaiting;

impl Drop for HashWaiting {
    fn drop(&mut self) {
        get().hash_waiting.dec();
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The commands `onboard` sends; anything else is `other`, so a label never carries more
/// than this list.
fn command_label(name: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "find",
        "insert",
        "update",
        "delete",
        "findAndModify",
        "bulkWrite",
        "aggregate",
        "getMore",
        "killCursors",
        "count",
        "distinct",
        "createIndexes",
        "listIndexes",
        "listCollections",
        "commitTransaction",
        "abortTransaction",
        "hello",
        "ping",
        "endSessions",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .copied()
        .unwrap_or("other")
}

/// Serves `GET /metrics` (and `HEAD`) on `listener` until the task is aborted; every other
/// request is a 404. HTTP/1.1 only, for a scraper on a private address.
pub(crate) async fn serve(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, most likely: wait instead of spinning.
                tracing::warn!(error = %e, "metrics listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                    Ok::<_, Infallible>(answer(&req))
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer<B>(req: &Request<B>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = if req.uri().path() != "/metrics" {
        (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "Not found: scrape /metrics.\n".to_string(),
        )
    } else if req.method() != Method::GET && req.method() != Method::HEAD {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            String::new(),
        )
    } else {
        (
            StatusCode::OK,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            get().encode(),
        )
    };
    let body = if req.method() == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(body)
    };
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        res.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        res.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_closed_sets() {
        assert_eq!(command_label("findAndModify"), "findAndModify");
        assert_eq!(command_label("someNewCommand"), "other");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
