//! Per-key token buckets: each API key may send `per_minute` requests in a burst, refilled
//! continuously at `per_minute / 60` per second. In memory, so each server instance
//! limits on its own (documented; a shared limiter would need Redis or similar).
//!
//! The same buckets, keyed by client address, limit failed authentications
//! ([`FailedAuthLimiter`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

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
