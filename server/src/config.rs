//! Typed configuration, loaded once (by clap in `main.rs`, or built directly by tests).

use crate::store::TransactionMode;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A value that must never be printed: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// Default of `ONBOARD_MAX_KEYS`: far more than a team needs, few enough that a leaked
/// standard key cannot mint keys without bound.
pub const DEFAULT_MAX_KEYS: u64 = 100;

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP server listens (`127.0.0.1:0` picks a free port).
    pub bind: SocketAddr,
    /// A MongoDB server to use; `None` starts the embedded one (see `embedded_db`).
    /// Secret because it may carry credentials.
    pub mongodb_uri: Option<Secret>,
    /// Database name inside the server.
    pub database: String,
    /// The embedded database's files live in `<data_dir>/db`.
    pub data_dir: PathBuf,
    /// The bootstrap admin key; when unset and no key is stored, one is generated.
    pub api_key: Option<Secret>,
    /// Writes (every method but GET and HEAD) per minute per key, over all instances; 0
    /// disables rate limiting altogether (reads too).
    pub rate_limit: u32,
    /// Reads (GET, HEAD) per minute per key, over all instances; 0: reads unlimited.
    pub read_rate_limit: u32,
    /// The rate limits' window: a minute, shorter only in tests.
    pub rate_window: Duration,
    /// Static files served at `/` (the web page's build).
    pub web_dir: PathBuf,
    pub transactions: TransactionMode,
    /// argon2 threads (0 = one per core).
    pub hash_workers: usize,
    /// Hash jobs allowed to wait; more get 503 `overloaded`.
    pub hash_queue: usize,
    /// The embedded database binary; `None` looks for `secantusd-rs` on PATH.
    pub secantusd_bin: Option<PathBuf>,
    /// The most API keys that may exist; `POST /v1/keys` beyond it answers 409
    /// `too_many_keys`.
    pub max_keys: u64,

    // ---- Hardening: what one client may hold or cost (see `transport`, README "Security").
    /// Time from a request head's first byte to its end; slower heads are dropped.
    pub header_timeout: Duration,
    /// Time from a request head to the end of its body; slower bodies get 408.
    pub body_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// Open connections at most; one more gets 503 `overloaded` and is closed.
    pub max_connections: usize,
    /// Failed authentications per client address per minute (a burst of this many, then
    /// 429); 0 disables the limit.
    pub auth_failures: u32,
    /// Origins whose pages may call the API from a browser (exact, e.g.
    /// `https://app.example.com`); empty: none.
    pub cors_origins: Vec<String>,

    // ---- Webhooks (see `domain::webhooks`, README "Webhooks").
    /// `ONBOARD_WEBHOOK_ALLOW_PRIVATE`: allow plain `http://` and non-public destinations
    /// (tests, local setups).
    pub webhook_allow_private: bool,
    /// `ONBOARD_WEBHOOK_RETRY_SCHEDULE`: the waits after each failed attempt; when all
    /// have failed the endpoint is disabled.
    pub webhook_retry_schedule: Vec<Duration>,
    /// `ONBOARD_WEBHOOK_TIMEOUT`: one attempt, from connecting to the answer's head.
    pub webhook_timeout: Duration,
    /// Where `GET /metrics` is served (Prometheus text format), on its own listener;
    /// `None`: no metrics endpoint.
    pub metrics_bind: Option<SocketAddr>,
}

impl Config {
    /// Defaults for tests and embedding: a random port, a given server and database.
    pub fn for_database(uri: &str, database: &str) -> Self {
        Config {
            bind: "127.0.0.1:0".parse().expect("literal address"),
            mongodb_uri: Some(Secret::new(uri)),
            database: database.to_string(),
            data_dir: PathBuf::from("./data"),
            api_key: None,
            rate_limit: 0,
            read_rate_limit: DEFAULT_READ_RATE_LIMIT,
            rate_window: Duration::from_secs(60),
            web_dir: PathBuf::from("web/dist"),
            transactions: TransactionMode::Auto,
            hash_workers: 0,
            hash_queue: 256,
            secantusd_bin: None,
            max_keys: DEFAULT_MAX_KEYS,
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_S),
            body_timeout: Duration::from_secs(DEFAULT_BODY_TIMEOUT_S),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_S),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            auth_failures: DEFAULT_AUTH_FAILURES,
            cors_origins: Vec::new(),
            webhook_allow_private: false,
            webhook_retry_schedule: parse_schedule(DEFAULT_WEBHOOK_RETRY_SCHEDULE)
                .expect("the default schedule parses"),
            webhook_timeout: Duration::from_secs(DEFAULT_WEBHOOK_TIMEOUT_S),
            metrics_bind: None,
        }
    }

    pub(crate) fn limits(&self) -> crate::transport::Limits {
        crate::transport::Limits {
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
        }
    }
}

/// Default of `ONBOARD_RATE_LIMIT`: writes per minute per key. A person at the page or an
/// import (1,000 rows a request) stays far below it; a runaway script does not.
pub const DEFAULT_RATE_LIMIT: u32 = 100;
/// Default of `ONBOARD_READ_RATE_LIMIT`: reads per minute per key. Listing 10,000 users at
/// the default page size of 20 is 500 requests, so a whole listing (or two) fits in a
/// minute; the People view's search sends one request per pause in typing.
pub const DEFAULT_READ_RATE_LIMIT: u32 = 1200;

/// Defaults of the hardening settings, shared with the command line.
pub const DEFAULT_HEADER_TIMEOUT_S: u64 = 10;
pub const DEFAULT_BODY_TIMEOUT_S: u64 = 60;
pub const DEFAULT_IDLE_TIMEOUT_S: u64 = 30;
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_AUTH_FAILURES: u32 = 20;

/// Default of `ONBOARD_WEBHOOK_RETRY_SCHEDULE`: about a day of retries.
pub const DEFAULT_WEBHOOK_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";
/// Default of `ONBOARD_WEBHOOK_TIMEOUT`, in seconds.
pub const DEFAULT_WEBHOOK_TIMEOUT_S: u64 = 10;

/// A duration such as `250ms`, `5s`, `5m`, `2h` or `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 5s, 5m, 2h"))?;
    let ms = match unit {
        "ms" => n,
        "" | "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        "d" => n.saturating_mul(86_400_000),
        _ => return Err(format!("{text:?}: the unit must be ms, s, m, h or d")),
    };
    Ok(Duration::from_millis(ms))
}

/// A comma-separated list of durations (at least one).
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    let list: Vec<Duration> = text
        .split(',')
        .map(parse_duration)
        .collect::<Result<_, _>>()?;
    if list.is_empty() {
        return Err("the retry schedule needs at least one delay".into());
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_schedules_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("5x").is_err() && parse_duration("").is_err());
        let s = parse_schedule(DEFAULT_WEBHOOK_RETRY_SCHEDULE).unwrap();
        assert_eq!(s.len(), 7);
        assert_eq!(s[1], Duration::from_secs(300));
        assert!(parse_schedule("1s,,2s").is_err());
    }
}
