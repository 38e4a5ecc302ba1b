//! Rate limits.
//!
//! **Per API key, across every instance** ([`SharedLimiter`]): each key has two budgets per
//! window (a minute), reads (`GET`, `HEAD`) and writes (everything else), counted in
//! MongoDB (`store::rate_limits`). An instance takes tokens from the shared count in batches
//! of about a fiftieth of the limit and spends them locally, so a request pays a database
//! round trip only once per batch. The database grants at most the limit per window over
//! all instances together; tokens an instance took but did not spend before the window
//! ended are lost (it admits less, never more). Windows are aligned to the clock (`unix
//! time / window`), so instances agree on them, and slide: the previous window's grants
//! still count in proportion to its part in the last minute (see [`SharedLimiter::check`]).
//!
//! **Failed authentications per client address, per process** ([`FailedAuthLimiter`]): a
//! token bucket in memory; N instances allow N times the burst, which is fine for what it
//! is for (making a wrong-key flood cost memory lookups, not database reads).

use crate::store::{self, Store};
use mongodb::bson::{DateTime, oid::ObjectId};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Budget {
    /// `GET` and `HEAD`: lists, records, keys.
    Read,
    /// Every other method: creates, changes, deletes.
    Write,
}

impl Budget {
    pub(crate) fn of(method: &warp::http::Method) -> Budget {
        if method == warp::http::Method::GET || method == warp::http::Method::HEAD {
            Budget::Read
        } else {
            Budget::Write
        }
    }

    /// Its name in the database and in the `budget` label of the metrics.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Budget::Read => "read",
            Budget::Write => "write",
        }
    }
}

/// The per-key limits (`ONBOARD_READ_RATE_LIMIT`, `ONBOARD_RATE_LIMIT`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Reads per window; 0: unlimited.
    pub(crate) read: u32,
    /// Writes per window; 0: unlimited.
    pub(crate) write: u32,
    /// A minute, except in tests.
    pub(crate) window: Duration,
}

/// One key's budget as this instance sees it in the current window.
#[derive(Debug, Default)]
struct Local {
    /// The window these tokens belong to (`unix ms / window ms`).
    window: u64,
    /// Tokens granted by the shared count and not spent yet.
    tokens: u32,
    /// Left in the shared count at the last take, as far as known (`RateLimit-Remaining`).
    shared_left: u32,
    /// Tokens granted in the previous window (read once per window).
    previous: Option<i64>,
    /// Refused until then (Unix ms): no database round trip for a spent budget.
    refused_until: u64,
}

/// One key's budget, locked while its tokens are counted or taken.
type Shared = Arc<tokio::sync::Mutex<Local>>;

/// Per-key budgets shared by every instance through the database.
#[derive(Debug)]
pub(crate) struct SharedLimiter {
    store: Store,
    limits: Limits,
    /// One lock per (key, budget): concurrent requests of one key wait for one take
    /// instead of each asking the database.
    buckets: Mutex<HashMap<(ObjectId, Budget), Shared>>,
}

impl SharedLimiter {
    pub(crate) fn new(store: Store, limits: Limits) -> Self {
        SharedLimiter {
            store,
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn limit(&self, budget: Budget) -> u32 {
        match budget {
            Budget::Read => self.limits.read,
            Budget::Write => self.limits.write,
        }
    }

    /// Spends one of `key`'s tokens from `budget`. `Ok` carries the headers' state (None
    /// when the budget is unlimited); `Err` means the budget is spent for now.
    ///
    /// The window slides: what was granted in the previous window still counts, in
    /// proportion to how much of it is still within the last minute (`previous × (1 −
    /// elapsed fraction)`, rounded up). So a budget spent at the end of one window does not
    /// come back whole the moment the next one starts; it comes back at the limit's pace.
    pub(crate) async fn check(
        &self,
        key: ObjectId,
        budget: Budget,
    ) -> Result<Option<RateInfo>, RateInfo> {
        let limit = self.limit(budget);
        if limit == 0 {
            return Ok(None);
        }
        let window_ms = u64::try_from(self.limits.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let window = now_ms / window_ms;
        let start_ms = window * window_ms;
        let end_ms = start_ms.saturating_add(window_ms);
        let bucket = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&(key, budget)) {
                // Forgetting a key's local tokens only makes it ask the database again.
                buckets.clear();
            }
            buckets.entry((key, budget)).or_default().clone()
        };
        let mut local = bucket.lock().await;
        if local.window != window {
            // Unspent tokens of an ended window are lost.
            *local = Local {
                window,
                ..Local::default()
            };
        }
        if local.tokens == 0 && now_ms >= local.refused_until {
            self.take(&mut local, key, budget, limit, (start_ms, now_ms, end_ms))
                .await;
        }
        let reset = (end_ms - now_ms).div_ceil(1000).max(1);
        if local.tokens == 0 {
            let retry_after = local
                .refused_until
                .saturating_sub(now_ms)
                .div_ceil(1000)
                .max(1);
            return Err(RateInfo {
                limit,
                remaining: 0,
                reset,
                retry_after,
            });
        }
        local.tokens -= 1;
        Ok(Some(RateInfo {
            limit,
            remaining: local.tokens.saturating_add(local.shared_left),
            reset,
            retry_after: 0,
        }))
    }

    /// Asks the shared count for a batch (or, when less is left, one token) into `local`;
    /// when none is granted, sets when to ask again.
    async fn take(
        &self,
        local: &mut Local,
        key: ObjectId,
        budget: Budget,
        limit: u32,
        (start_ms, now_ms, end_ms): (u64, u64, u64),
    ) {
        let window_ms = end_ms - start_ms;
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let previous = match local.previous {
            Some(p) => p,
            None => {
                let p = store::rate_limits::granted(
                    &self.store,
                    key,
                    budget.name(),
                    to_i64(start_ms - window_ms.min(start_ms)),
                )
                .await
                .unwrap_or(0)
                .clamp(0, i64::from(limit));
                local.previous = Some(p);
                p
            }
        };
        let elapsed = (now_ms - start_ms) as f64 / window_ms as f64;
        let carried = (previous as f64 * (1.0 - elapsed)).ceil() as i64;
        let allowance = i64::from(limit) - carried;
        // When the previous window's share will let one more token in.
        let next_free = if previous > 0 {
            now_ms + window_ms.div_ceil(u64::try_from(previous).unwrap_or(1))
        } else {
            end_ms
        };
        let expires = DateTime::from_millis(to_i64(end_ms.saturating_add(window_ms)));
        let batch = i64::from((limit / BATCH_DIVISOR).max(1));
        let mut want = batch.min(allowance);
        while want > 0 {
            let taken = store::rate_limits::take(
                &self.store,
                key,
                budget.name(),
                to_i64(start_ms),
                u32::try_from(want).unwrap_or(1),
                allowance,
                expires,
            )
            .await;
            match taken {
                Ok(Some(count)) => {
                    local.tokens = u32::try_from(want).unwrap_or(0);
                    local.shared_left = u32::try_from((allowance - count).max(0)).unwrap_or(0);
                    return;
                }
                // Less than a batch is left: try for one token.
                Ok(None) if want > 1 => want = 1,
                Ok(None) => break,
                Err(e) => {
                    // The database is away: this instance admits one batch on its own
                    // rather than refuse every caller (the request will likely meet the
                    // same outage in its handler and answer 503).
                    tracing::warn!(error = %e, budget = budget.name(), "rate limit: taking tokens failed; admitting a local batch");
                    local.tokens = u32::try_from(batch).unwrap_or(1);
                    return;
                }
            }
        }
        local.shared_left = 0;
        local.refused_until = next_free.min(end_ms);
    }
}

/// An instance takes `limit / BATCH_DIVISOR` tokens (at least one) per database round
/// trip: 2 for the default 100 writes a minute, 24 for the default 1,200 reads. With three
/// instances at most three batches' worth go unspent at a window's end.
const BATCH_DIVISOR: u32 = 50;

/// What the `RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateInfo {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Seconds until the bucket is full again.
    pub(crate) reset: u64,
    /// Seconds until one more request is allowed (0 when one is allowed now).
    pub(crate) retry_after: u64,
}

/// Beyond this many buckets, full ones are dropped (client addresses are unbounded).
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `per_minute == 0` disables limiting.
    pub(crate) fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`. `Ok` carries the headers' state (None when disabled);
    /// `Err` means the bucket is empty.
    pub(crate) fn check(&self, key: &str) -> Result<Option<RateInfo>, RateInfo> {
        if self.per_minute == 0 {
            return Ok(None);
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            // A bucket refilled to capacity is the same as no bucket: forget those.
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.last).as_secs_f64() * per_sec < capacity
            });
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.last = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let info = RateInfo {
            limit: self.per_minute,
            remaining: bucket.tokens.floor() as u32,
            reset: ((capacity - bucket.tokens) / per_sec).ceil() as u64,
            retry_after: if allowed {
                0
            } else {
                ((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64
            },
        };
        if allowed { Ok(Some(info)) } else { Err(info) }
    }

    /// `Err` when `key`'s bucket has no token left; takes nothing.
    pub fn peek(&self, key: &str) -> Result<(), RateInfo> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = buckets.get(key) else {
            return Ok(());
        };
        let tokens = (bucket.tokens + bucket.last.elapsed().as_secs_f64() * per_sec).min(capacity);
        if tokens >= 1.0 {
            return Ok(());
        }
        Err(RateInfo {
            limit: self.per_minute,
            remaining: 0,
            reset: ((capacity - tokens) / per_sec).ceil() as u64,
            retry_after: ((1.0 - tokens) / per_sec).ceil().max(1.0) as u64,
        })
    }
}

/// Failed authentications per client address: `per_minute` wrong keys in a burst, then
/// 429 with `Retry-After` until the bucket refills. A wrong key costs a hash and, unless
/// recently seen, a database read; this caps what one address can make the server do
/// and how fast it can guess. IPv6 clients are counted per /64, the block one host
/// usually holds.
#[derive(Debug)]
pub struct FailedAuthLimiter {
    buckets: RateLimiter,
}

impl FailedAuthLimiter {
    /// `per_minute == 0` disables the limit.
    pub fn new(per_minute: u32) -> Self {
        FailedAuthLimiter {
            buckets: RateLimiter::new(per_minute),
        }
    }

    /// `Err` (with the retry time) while `addr` has used up its failures.
    pub fn check(&self, addr: IpAddr) -> Result<(), RateInfo> {
        self.buckets.peek(&client_key(addr))
    }

    /// Records one failed authentication from `addr`.
    pub fn failed(&self, addr: IpAddr) {
        let _ = self.buckets.check(&client_key(addr));
    }
}

fn client_key(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_capacity_then_refuses_with_a_retry_time() {
        let rl = RateLimiter::new(3);
        for left in [2, 1, 0] {
            assert_eq!(rl.check("k").unwrap().unwrap().remaining, left);
        }
        let refused = rl.check("k").unwrap_err();
        assert_eq!(refused.remaining, 0);
        assert!(
            refused.retry_after >= 1 && refused.retry_after <= 20,
            "{refused:?}"
        );
        // Buckets are per key.
        assert!(rl.check("other").is_ok());
    }

    #[test]
    fn failures_are_counted_per_address_and_ipv6_per_64() {
        let f = FailedAuthLimiter::new(2);
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(f.check(a).is_ok());
        f.failed(a);
        f.failed(same_64);
        let refused = f.check(a).unwrap_err();
        assert!(refused.retry_after >= 1, "{refused:?}");
        assert!(f.check(same_64).is_err());
        assert!(f.check(other).is_ok());
    }

    #[test]
    fn zero_disables_limiting() {
        let rl = RateLimiter::new(0);
        for _ in 0..1000 {
            assert_eq!(rl.check("k"), Ok(None));
        }
    }
}
