//! The HTTP client of `onboard import`: one `POST /v1/users/bulk` per chunk, retried only
//! when the server said it did nothing (429, 503) or the connection never opened, so a
//! retry can never hide a created row's password.

use crate::config::Secret;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// How many times a chunk is sent again after 429 / 503 / a refused connection.
const RETRIES: u32 = 6;
/// A 1,000-row chunk is 1,000 argon2 hashes on the server: give it time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(900);

pub struct Client {
    http: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: http::Uri,
    /// The `--url`, without a trailing slash.
    base: String,
    key: Secret,
}

/// The 200 body of `POST /v1/users/bulk`.
#[derive(Deserialize)]
pub struct BulkAnswer {
    pub results: Vec<RowAnswer>,
}

#[derive(Deserialize)]
pub struct RowAnswer {
    pub index: usize,
    pub status: String,
    pub id: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    #[serde(default)]
    pub errors: Vec<WireError>,
    pub error: Option<String>,
}

/// A field error as sent; the code stays text so a code added to the server later does
/// not break an older client.
#[derive(Deserialize)]
pub struct WireError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// Why a chunk got no per-row answer.
pub enum ChunkError {
    /// Every further chunk would fail the same way (bad key, restricted key, wrong URL).
    Fatal(String),
    /// This chunk failed; others may still go through.
    Failed(String),
}

/// What came back: a status, the Retry-After seconds, the body.
struct Answer {
    status: http::StatusCode,
    retry_after: Option<u64>,
    body: Bytes,
}

enum SendError {
    /// The connection never opened: nothing was sent.
    Connect(String),
    /// Sent, but no complete answer: the server may have processed it.
    Lost(String),
}

impl Client {
    pub fn new(base_url: &str, key: Secret) -> Result<Client, String> {
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "--url must start with http:// or https:// (got {base})"
            ));
        }
        let endpoint: http::Uri = format!("{base}/v1/users/bulk")
            .parse()
            .map_err(|e| format!("--url is not a URL: {e}"))?;
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls_ring())
            .map_err(|e| format!("no TLS root certificates on this system: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Client {
            http: HyperClient::builder(TokioExecutor::new()).build(connector),
            endpoint,
            base: base.to_string(),
            key,
        })
    }

    /// `GET {url}{path_and_query}` with the key and `Accept: accept`: the response with its
    /// body still to read (`onboard export` streams it). Errors say what failed.
    pub(crate) async fn get(
        &self,
        path_and_query: &str,
        accept: &str,
    ) -> Result<http::Response<hyper::body::Incoming>, String> {
        let url = format!("{}{path_and_query}", self.base);
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("--url is not a URL: {e}"))?;
        let request = http::Request::get(uri)
            .header("authorization", format!("Bearer {}", self.key.expose()))
            .header("accept", accept)
            .header(
                "user-agent",
                concat!("onboard-export/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(60), self.http.request(request))
            .await
            .map_err(|_| format!("no answer from {url} within 60 s"))?
            .map_err(|e| format!("cannot reach {url}: {e}"))
    }

    async fn send(&self, body: &Bytes, idempotency_key: &str) -> Result<Answer, SendError> {
        let request = http::Request::post(self.endpoint.clone())
            .header("authorization", format!("Bearer {}", self.key.expose()))
            .header("idempotency-key", idempotency_key)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("onboard-import/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(body.clone()))
            .map_err(|e| SendError::Connect(e.to_string()))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                if e.is_connect() {
                    SendError::Connect(e.to_string())
                } else {
                    SendError::Lost(e.to_string())
                }
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| SendError::Lost(e.to_string()))?
                .to_bytes();
            Ok(Answer {
                status,
                retry_after,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(SendError::Lost("timed out".into())))
    }

    /// Sends one chunk of payloads under `idempotency_key` (the same key for the same chunk
    /// of the same file, so a retry after a lost answer gets the first answer again, with
    /// its passwords, instead of creating nothing and reporting `exists`); the answer has
    /// one result per payload, in order.
    /// `on_existing` is the request's `onExisting`, left out when `None` (the server's
    /// default, `skip`, which servers from before the policy also do).
    pub async fn bulk(
        &self,
        users: &[Value],
        on_existing: Option<&str>,
        idempotency_key: &str,
    ) -> Result<BulkAnswer, ChunkError> {
        let body = match on_existing {
            Some(policy) => json!({ "users": users, "onExisting": policy }),
            None => json!({ "users": users }),
        };
        let body = Bytes::from(body.to_string());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = match self.send(&body, idempotency_key).await {
                Ok(a) => a,
                Err(SendError::Connect(_)) if attempt <= RETRIES => {
                    tokio::time::sleep(backoff(attempt, None)).await;
                    continue;
                }
                Err(SendError::Connect(e)) => {
                    return Err(ChunkError::Fatal(format!(
                        "cannot connect to {}: {e}",
                        self.endpoint
                    )));
                }
                // The request may have been processed: the same Idempotency-Key makes the
                // retry answer with the first request's results.
                Err(SendError::Lost(_)) if attempt <= RETRIES => {
                    tokio::time::sleep(backoff(attempt, None)).await;
                    continue;
                }
                Err(SendError::Lost(e)) => {
                    return Err(ChunkError::Failed(format!(
                        "no answer from the server ({e}); these rows may have been created: \
                         import the file again (they will show as `exists`) and issue their \
                         passwords with POST /v1/users/{{id}}/password"
                    )));
                }
            };
            let status = answer.status;
            if status.is_success() {
                return serde_json::from_slice::<BulkAnswer>(&answer.body).map_err(|e| {
                    ChunkError::Failed(format!("the server's answer cannot be read: {e}"))
                });
            }
            let message = error_message(&answer.body);
            match status.as_u16() {
                // 409: the first send of this chunk is still running on the server.
                409 | 429 | 503 if attempt <= RETRIES => {
                    tokio::time::sleep(backoff(attempt, answer.retry_after)).await;
                }
                409 | 429 | 503 => {
                    return Err(ChunkError::Failed(format!(
                        "{status} after {RETRIES} retries: {message}"
                    )));
                }
                500..=599 => return Err(ChunkError::Failed(format!("{status}: {message}"))),
                _ => return Err(ChunkError::Fatal(format!("{status}: {message}"))),
            }
        }
    }
}

fn rustls_ring() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn backoff(attempt: u32, retry_after: Option<u64>) -> Duration {
    match retry_after {
        Some(s) => Duration::from_secs(s.clamp(1, 60)),
        None => Duration::from_millis(500 * 2u64.pow(attempt.min(6))),
    }
}

/// The `message` of an error body, or the raw text.
pub(crate) fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}
