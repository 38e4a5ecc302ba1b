//! The connection layer under the routes: the accept loop, per-connection limits, and
//! what every response carries whatever route answered it (request id, rate-limit
//! headers, one log line).
//!
//! Limits (all in `Config`, documented in the README's security section):
//! - at most `max_connections` open connections; one more is answered `503 overloaded`
//!   (the error body, `Retry-After: 1`, `Connection: close`) and closed;
//! - a request head must arrive within `header_timeout` of its first byte, or the
//!   connection is dropped;
//! - a request body must arrive within `body_timeout` of its head, or the request is
//!   answered `408 request_timeout` and the connection closed;
//! - a keep-alive connection with no request for `idle_timeout` is closed.

mod body;
mod conn;
pub mod cors;
pub mod headers;

pub use body::DeadlineBody;
pub(crate) use conn::Limits;
pub use cors::Cors;

use crate::error::ApiError;
use crate::request::RequestCtx;
use conn::{Verdict, Watch, WatchedIo};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot, watch};
use tower_service::Service;
use warp::Reply;
use warp::http::{HeaderName, HeaderValue, Method, header};
use warp::reply::Response;

/// The client's address, in every request's extensions (the failed-authentication
/// limiter counts per address).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// Connections answered "too many" at once; beyond this they are closed unanswered, so
/// a flood cannot turn the polite refusal itself into unbounded work.
const MAX_REFUSALS: usize = 64;

/// How long in-flight requests may run after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The accept loop: HTTP/1 and HTTP/2 via hyper-util, each request wrapped by [`handle`],
/// graceful shutdown when `shutdown` fires.
pub(crate) async fn serve<S>(
    listener: TcpListener,
    svc: S,
    shared: Shared,
    mut shutdown: oneshot::Receiver<()>,
) where
    S: Service<http::Request<DeadlineBody>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let limits = shared.limits;
    let shared = Arc::new(shared);
    let max = limits.max_connections.max(1);
    let open = Arc::new(Semaphore::new(max));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // HTTP/2 pings need a timer; HTTP/1's header timer is replaced by the watcher (see
    // `conn`), so none is set there.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.idle_timeout))
        .keep_alive_timeout(limits.header_timeout);
    let builder = Arc::new(builder);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    if let Ok(p) = refusals.clone().try_acquire_owned() {
                        tokio::spawn(async move {
                            refuse(stream, limits.header_timeout).await;
                            drop(p);
                        });
                    }
                    continue;
                };
                let conn = connection(builder.clone(), stream, peer, svc.clone(), shared.clone(), stop_rx.clone());
                tokio::spawn(async move {
                    conn.await;
                    drop(permit);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, open.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests still running after 30 s; closing anyway");
    }
}

/// One connection: served until it ends, closed politely when idle or at shutdown, dropped
/// when a request head dawdles.
async fn connection<S>(
    builder: Arc<hyper_util::server::conn::auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    peer: SocketAddr,
    svc: S,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) where
    S: Service<http::Request<DeadlineBody>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let limits = shared.limits;
    let watch = Arc::new(Watch::new());
    let io = TokioIo::new(WatchedIo {
        io: stream,
        watch: watch.clone(),
    });
    let w = watch.clone();
    let service = hyper::service::service_fn(move |req| {
        handle(svc.clone(), req, peer, w.clone(), shared.clone())
    });
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut closing = false;
    loop {
        let next = match watch.verdict(&limits) {
            Verdict::Wait(at) => at,
            Verdict::Idle if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
                // hyper finishes the exchange in progress, if any; bound the wait.
                tokio::time::Instant::now() + limits.header_timeout
            }
            Verdict::Idle => {
                tracing::debug!(%peer, "closing a connection that did not finish closing");
                return;
            }
            Verdict::SlowHead => {
                tracing::debug!(%peer, "request head not received within the header timeout; closing");
                return;
            }
        };
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tokio::time::sleep_until(next) => {}
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A connection over the limit: one `503 overloaded` in the error shape, then close.
/// The request is read (briefly, bounded) first so the client is not reset before it
/// sees the answer.
async fn refuse(mut stream: TcpStream, patience: Duration) {
    let res = ApiError::Overloaded.into_response();
    let status = res.status();
    let headers = res.headers().clone();
    let body = match res.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return,
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in &headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(patience.min(Duration::from_secs(1)), stream.read(&mut buf)).await;
    let _ = tokio::time::timeout(patience, async {
        stream.write_all(&out).await?;
        stream.shutdown().await?;
        // Drain what the client still sends until it closes, so it reads the answer.
        while stream.read(&mut buf).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Longest request target (path and query) the routes see; hyper refuses far longer ones
/// itself (414 without a body).
const MAX_URI: usize = 8 * 1024;
/// Most request header bytes (names and values) and headers the routes see; hyper refuses
/// more than 100 headers or a head over ~400 KiB itself (431 without a body).
const MAX_HEADER_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// What the request wrapper needs besides the request.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub limits: Limits,
    pub cors: Cors,
}

/// One request: a fresh request id in a task-local context, the route's response, then
/// the headers every response carries and one log line.
async fn handle<S>(
    mut svc: S,
    req: http::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    watch: Arc<Watch>,
    shared: Arc<Shared>,
) -> Result<Response, Infallible>
where
    S: Service<http::Request<DeadlineBody>, Response = Response, Error = Infallible>,
{
    let _active = Active::start(watch);
    let ctx = RequestCtx::new(req.method().as_str(), req.uri().path());
    let start = Instant::now();
    let timed_out = Arc::new(AtomicBool::new(false));
    let deadline = tokio::time::Instant::now() + shared.limits.body_timeout;
    let origin = shared.cors.allowed(req.headers());
    let early = if req.uri().path_and_query().map_or(0, |p| p.as_str().len()) > MAX_URI {
        Some(ApiError::UriTooLong)
    } else if req.headers().len() > MAX_HEADERS
        || req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum::<usize>()
            > MAX_HEADER_BYTES
    {
        Some(ApiError::HeadersTooLarge)
    } else {
        None
    };
    let mut res = if let Some(e) = early {
        ctx.clone().scope(async { e.into_response() }).await
    } else if let (Some(origin), true) = (
        origin.clone(),
        cors::is_preflight(req.method(), req.headers()),
    ) {
        cors::preflight(origin)
    } else {
        let mut req = req.map(|b| DeadlineBody::new(b, deadline, timed_out.clone()));
        req.extensions_mut().insert(ClientAddr(peer));
        // HEAD is GET without the body, on every route that answers GET: hyper knows
        // the request was HEAD and sends the head only.
        if req.method() == Method::HEAD {
            *req.method_mut() = Method::GET;
        }
        ctx.clone().scope(svc.call(req)).await?
    };
    if timed_out.load(Ordering::SeqCst) {
        res = ctx
            .clone()
            .scope(async { ApiError::RequestTimeout.into_response() })
            .await;
        // The rest of the body is still on the wire: this connection cannot be reused.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let headers = res.headers_mut();
    headers::secure(&ctx.path, headers);
    if shared.cors.enabled() {
        cors::vary(headers);
        cors::expose(origin, headers);
    }
    if let Ok(v) = HeaderValue::from_str(&ctx.id) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    if let Some(rate) = ctx.rate() {
        headers.insert(
            HeaderName::from_static("ratelimit-limit"),
            HeaderValue::from(rate.limit),
        );
        headers.insert(
            HeaderName::from_static("ratelimit-remaining"),
            HeaderValue::from(rate.remaining),
        );
        headers.insert(
            HeaderName::from_static("ratelimit-reset"),
            HeaderValue::from(rate.reset),
        );
    }
    // The acting key's id ("-" before authentication) lets an operator tell which key
    // reset a password or erased a person.
    tracing::info!(
        request_id = %ctx.id,
        method = %ctx.method,
        path = %ctx.path,
        key_id = %ctx.key_id().as_deref().unwrap_or("-"),
        status = res.status().as_u16(),
        ms = start.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    Ok(res)
}

/// Counts a request as in flight until its answer is ready or it is abandoned (an
/// HTTP/2 stream reset drops the future), so the idle timer never waits on a ghost.
struct Active(Arc<Watch>);

impl Active {
    fn start(watch: Arc<Watch>) -> Self {
        watch.request_started();
        Active(watch)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}
