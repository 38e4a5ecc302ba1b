//! API keys: `Authorization: Bearer <key>` on every `/v1` route.
//!
//! Keys are 256 random bits, shown once at creation and stored as SHA-256 hashes (a fast
//! hash is right here: the input is random, not a human password, so there is nothing to
//! brute-force). Verified keys are cached in memory so the hot path does no database round
//! trip; every instance watches the keys' change stream and evicts a deleted or replaced
//! key as the change arrives (without a stream, entries live half a second), so a
//! deleted key is refused everywhere within a second.

use crate::config::Secret;
use crate::data_dir;
use crate::error::ApiError;
use crate::rate_limit::FailedAuthLimiter;
use crate::store::keys::KeyChange;
use crate::store::{self, Store, StoreError};
use mongodb::bson::oid::ObjectId;
use onboard_shared::Privilege;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use warp::http::HeaderMap;
use warp::http::header::AUTHORIZATION;

/// Who is calling: the key's id (never the key) and what it may do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    pub(crate) key_id: ObjectId,
    pub(crate) privilege: Privilege,
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Read,
    Write,
}

/// The SHA-256 of a key, as stored. Public for the tests, which check that no hash of a
/// key ever reaches a log or a body.
pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// `onb_` + 64 hex characters (256 bits from the thread CSPRNG).
pub(crate) fn generate_key() -> String {
    format!(
        "onb_{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

/// How long a verified key is trusted while the keys' change stream runs: a change or
/// delete evicts it at once (see [`watch_revocations`]), so this only bounds memory.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a verified key is trusted while no change stream runs (it failed, is being
/// reopened, or the database is a standalone server without one): a key deleted through
/// another instance is refused here within this, under the README's 1 second.
const UNWATCHED_TTL: Duration = Duration::from_millis(500);
/// How long to wait before opening a failed change stream again.
const REWATCH_DELAY: Duration = Duration::from_secs(1);
const CACHE_MAX: usize = 10_000;
/// How long an unknown key is remembered as unknown: a burst of wrong keys costs one
/// database read each per this period, not one per request. Keys are 256 random bits
/// made by this server, so an unknown one does not become valid by itself meanwhile.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);

/// Verified keys by hash, per process. Every instance learns of a deleted or replaced key
/// from the database's change stream of the keys; while it has none, entries live only
/// [`UNWATCHED_TTL`].
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    entries: Mutex<Entries>,
    /// Hashes recently looked up and not found.
    unknown: Mutex<HashMap<String, Instant>>,
    /// Hashes found in the database within [`CACHE_TTL`]. Not a cache (such a key is read
    /// again when it is not in `entries`): it only lets a key in use get past the limit on
    /// failed attempts, which is on guessing, not on the address's users; `entries` is
    /// cleared whenever the change stream opens or stops.
    verified: Mutex<HashMap<String, Instant>>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, (Caller, Instant)>,
    /// Counts the changes seen; a key read from the database before a change is not cached
    /// after it (it may be the one that changed).
    generation: u64,
    /// A change stream is open and every entry was read after it opened.
    watched: bool,
}

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, hash: &str) -> Option<Caller> {
        let entries = self.lock();
        let ttl = if entries.watched {
            CACHE_TTL
        } else {
            UNWATCHED_TTL
        };
        entries
            .map
            .get(hash)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(c, _)| *c)
    }

    /// Take before reading a key from the database; give to [`KeyCache::put`].
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Caches a key read from the database when `generation` was current, unless a change
    /// was seen since.
    pub(crate) fn put(&self, hash: String, caller: Caller, generation: u64) {
        let mut entries = self.lock();
        if entries.generation != generation {
            return;
        }
        if entries.map.len() >= CACHE_MAX {
            entries.map.clear();
        }
        entries.map.insert(hash, (caller, Instant::now()));
    }

    fn recently_verified(&self, hash: &str) -> bool {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified
            .get(hash)
            .is_some_and(|at| at.elapsed() < CACHE_TTL)
    }

    fn set_verified(&self, hash: &str, found: bool) {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if !found {
            verified.remove(hash);
            return;
        }
        if verified.len() >= CACHE_MAX {
            verified.retain(|_, at| at.elapsed() < CACHE_TTL);
            if verified.len() >= CACHE_MAX {
                verified.clear();
            }
        }
        verified.insert(hash.to_string(), Instant::now());
    }

    fn known_unknown(&self, hash: &str) -> bool {
        let unknown = self.unknown.lock().unwrap_or_else(|p| p.into_inner());
        unknown
            .get(hash)
            .is_some_and(|at| at.elapsed() < NEGATIVE_TTL)
    }

    fn put_unknown(&self, hash: String) {
        let mut unknown = self.unknown.lock().unwrap_or_else(|p| p.into_inner());
        if unknown.len() >= CACHE_MAX {
            unknown.retain(|_, at| at.elapsed() < NEGATIVE_TTL);
            if unknown.len() >= CACHE_MAX {
                unknown.clear();
            }
        }
        unknown.insert(hash, Instant::now());
    }

    /// A key deleted through this instance.
    pub(crate) fn evict(&self, hash: &str) {
        self.lock().map.remove(hash);
    }

    /// The key `id` was deleted or its hash replaced, maybe by another instance.
    fn forget_key(&self, id: ObjectId) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.map.retain(|_, (c, _)| c.key_id != id);
    }

    /// Changes may go unseen from now on: forget everything, trust new entries briefly.
    fn unwatched(&self) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.watched = false;
        entries.map.clear();
    }

    /// A change stream has just opened: what was read before it is forgotten, what is read
    /// from now on is kept until a change evicts it.
    fn watching(&self) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.watched = true;
        entries.map.clear();
    }
}

/// Keeps `cache` true to the database for as long as it runs (the app aborts it at
/// shutdown): a key deleted or replaced through any instance is evicted as its change
/// arrives. When the stream cannot be opened or fails, the cache falls back to
/// [`UNWATCHED_TTL`] and the stream is opened again after [`REWATCH_DELAY`].
pub(crate) async fn watch_revocations(store: Store, cache: std::sync::Arc<KeyCache>) {
    let mut failing = false;
    loop {
        match store::keys::watch(&store).await {
            Ok(mut changes) => {
                cache.watching();
                if failing {
                    tracing::info!("watching API key changes again");
                }
                loop {
                    match changes.next().await {
                        Ok(KeyChange::Changed(id)) => cache.forget_key(id),
                        Ok(KeyChange::All) => cache.unwatched(),
                        Ok(KeyChange::Added) => {}
                        Err(e) => {
                            cache.unwatched();
                            tracing::warn!(error = %e, "the change stream of API keys stopped; verified keys are re-read every 0.5 s until it is back");
                            failing = true;
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                cache.unwatched();
                if !failing {
                    tracing::warn!(error = %e, "cannot watch API key changes (a standalone MongoDB has no change streams); verified keys are re-read every 0.5 s");
                    failing = true;
                }
            }
        }
        tokio::time::sleep(REWATCH_DELAY).await;
    }
}

/// The one `Authorization` header's value: `None` when there is none; 400 when there are
/// several (which one would be the caller?) or its bytes are not text.
pub(crate) fn authorization(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::BadRequest(
            "Send exactly one Authorization header.",
        ));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| ApiError::BadRequest("The Authorization header must be visible ASCII text."))
}

/// Checks the `Authorization` header and the key's privilege for `need`.
///
/// A key not in memory and not found in the database lately is refused with 429 while
/// `client` has used up its failed attempts (see [`FailedAuthLimiter`]); each unknown key
/// counts one failure.
pub(crate) async fn authenticate(
    store: &Store,
    cache: &KeyCache,
    failures: &FailedAuthLimiter,
    client: Option<IpAddr>,
    header: Option<&str>,
    need: Need,
) -> Result<Caller, ApiError> {
    let header = header.ok_or(ApiError::MissingAuth)?;
    let key = match header.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty() => {
            key.trim()
        }
        _ => return Err(ApiError::InvalidKey),
    };
    let hash = hash_key(key);
    let caller = match cache.get(&hash) {
        Some(c) => c,
        None => {
            if let Some(addr) = client
                && !cache.recently_verified(&hash)
            {
                failures.check(addr).map_err(|info| {
                    crate::metrics::get().rate_limited("auth_failures");
                    ApiError::RateLimited(info)
                })?;
            }
            let unknown = |hash| {
                if let Some(addr) = client {
                    failures.failed(addr);
                }
                cache.put_unknown(hash);
                ApiError::InvalidKey
            };
            if cache.known_unknown(&hash) {
                return Err(unknown(hash));
            }
            let generation = cache.generation();
            let Some(doc) = store::keys::find_by_hash(store, &hash).await? else {
                cache.set_verified(&hash, false);
                return Err(unknown(hash));
            };
            cache.set_verified(&hash, true);
            let caller = Caller {
                key_id: doc.id,
                privilege: doc.privilege,
            };
            cache.put(hash, caller, generation);
            caller
        }
    };
    if need == Need::Write && caller.privilege != Privilege::Standard {
        return Err(ApiError::Forbidden);
    }
    Ok(caller)
}

/// The shortest `ONBOARD_API_KEY` accepted: a guessable bootstrap key would open everything.
pub const CONFIGURED_KEY_MIN: usize = 32;

/// Where a generated key is written when no terminal can show it.
pub fn generated_key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("bootstrap-api-key")
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "ONBOARD_API_KEY is {0} characters long; it must have at least {CONFIGURED_KEY_MIN} (e.g. `printf 'onb_%s' \"$(openssl rand -hex 32)\"`)"
    )]
    KeyTooShort(usize),
    /// The store's error, as text: the store's types stay inside the crate.
    #[error("could not store the bootstrap API key: {0}")]
    Database(String),
    #[error(
        "could not write the generated API key to {0}: {1} (no key was kept; fix the data dir or set ONBOARD_API_KEY)"
    )]
    KeyFile(PathBuf, std::io::Error),
}

impl From<StoreError> for BootstrapError {
    fn from(e: StoreError) -> Self {
        BootstrapError::Database(e.to_string())
    }
}

/// Refuses a configured key shorter than [`CONFIGURED_KEY_MIN`], before anything starts.
pub(crate) fn check_configured(configured: Option<&Secret>) -> Result<(), BootstrapError> {
    match configured {
        Some(key) if key.expose().chars().count() < CONFIGURED_KEY_MIN => {
            Err(BootstrapError::KeyTooShort(key.expose().chars().count()))
        }
        _ => Ok(()),
    }
}

/// At start-up, makes sure someone can get in, without ever logging a key:
/// - `ONBOARD_API_KEY` set: it becomes (or replaces) the one configured record;
/// - not set: a configured record left from an earlier start is deleted (the setting is
///   what defines it, so removing the setting revokes it); then, when no key exists at all,
///   one instance generates a standard key and shows it once: on the terminal when stderr
///   is one, else in a 0600 file in the data dir whose path is logged (stderr is also the
///   log stream, which ends up in journald or container logs);
/// - otherwise the log says how to get access.
pub(crate) async fn bootstrap(
    store: &Store,
    configured: Option<&Secret>,
    data_dir: &Path,
) -> Result<(), BootstrapError> {
    check_configured(configured)?;
    if let Some(key) = configured {
        let doc = store::keys::set_configured(store, &hash_key(key.expose())).await?;
        tracing::info!(key_id = %doc.id, "access: the configured key (ONBOARD_API_KEY), standard privilege");
        return Ok(());
    }
    if store::keys::remove_configured(store).await? {
        tracing::warn!("ONBOARD_API_KEY is no longer set: the key it configured was deleted");
    }
    let getting_in = "no API key was generated (keys exist). To get access without one, set ONBOARD_API_KEY \
                      (32 characters or more) and restart: it becomes the configured standard key";
    if store::keys::count(store).await? > 0 {
        tracing::info!("{getting_in}");
        return Ok(());
    }
    let key = generate_key();
    if !store::keys::insert_generated(store, hash_key(&key)).await? {
        // Another instance starting at the same time generated it.
        tracing::info!("{getting_in}");
        return Ok(());
    }
    if std::io::stderr().is_terminal() {
        eprintln!(
            "\n  onboard: generated the bootstrap API key (standard). It is shown ONCE; store it now:\n\n      {key}\n\n  Use it as `Authorization: Bearer <key>`; create more keys with POST /v1/keys.\n"
        );
        return Ok(());
    }
    let file = generated_key_file(data_dir);
    let written = data_dir::ensure_dir(data_dir)
        .and_then(|()| data_dir::write_private(&file, format!("{key}\n").as_bytes()));
    if let Err(e) = written {
        // A key nobody can read is no key: undo it so the next start tries again.
        let _ = store::keys::delete_generated(store).await;
        return Err(BootstrapError::KeyFile(file, e));
    }
    tracing::warn!(
        file = %file.display(),
        "generated the bootstrap API key (standard) and wrote it to this file (0600), the only copy: store it elsewhere, then delete the file"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hash_to_sha256_hex() {
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a, b);
        assert!(a.starts_with("onb_") && a.len() == 68);
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_do_not_debug_print() {
        assert_eq!(format!("{:?}", Secret::new("onb_x")), "[redacted]");
    }
}
