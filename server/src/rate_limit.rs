//! Per-key token buckets: each API key may send `per_minute` requests in a burst, refilled
//! continuously at `per_minute / 60` per second. In memory, so each server instance
//! limits on its own (documented; a shared limiter would need Redis or similar).

use std::collections::HashMap;
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
    fn zero_disables_limiting() {
        let rl = RateLimiter::new(0);
        for _ in 0..1000 {
            assert_eq!(rl.check("k"), Ok(None));
        }
    }
}
