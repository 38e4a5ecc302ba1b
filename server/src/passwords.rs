//! Generated passwords and their hashing on a bounded pool of blocking threads.
//!
//! argon2id is CPU- and memory-bound by design (19 MiB and ~tens of ms per hash), so it
//! must not run on the async workers, and an unbounded `spawn_blocking` queue would let a
//! burst of creates grow memory without limit. Instead: one thread per core and a fixed
//! queue (a tokio channel, so a caller waits for room without polling); when the queue is
//! full the caller gets `HashError::Overloaded` (503 `overloaded` + `Retry-After`).
//!
//! Who hashes next is decided by `hash_budget` in front of the pool: single
//! creates before bulk rows, bulk rows per key in turns.
//!
//! A plaintext password lives in a `Password`, whose memory is wiped when it is dropped.

use crate::hash_budget::{Class, HashBudget};
use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version, password_hash};
use onboard_shared::PasswordPolicy;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroizing;

/// A plaintext password: shown once in an answer, hashed, then wiped from memory when
/// dropped. `Debug` never prints it.
#[derive(Clone)]
pub(crate) struct Password(Zeroizing<String>);

impl Password {
    /// A new password from the rulebook's default policy.
    pub(crate) fn generate() -> Self {
        Password(Zeroizing::new(PasswordPolicy::default().generate()))
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Serialized as the plain string: the one place a password leaves the server.
impl serde::Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HashError {
    /// The queue stayed full for the caller's whole patience.
    #[error("the hashing queue is full")]
    Overloaded,
    /// The pool's threads are gone (only while the process stops).
    #[error("the hashing pool stopped")]
    Stopped,
    /// argon2 refused (never with these fixed parameters); the text names no input.
    #[error("{0}")]
    Failed(String),
}

/// OWASP's first argon2id recommendation: m = 19 MiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

thread_local! {
    /// This thread's argon2 memory (19 MiB), reused from one hash to the next: a fresh
    /// allocation per hash had the kernel map and zero 19 MiB each time, about a third of
    /// a create's CPU (bench/results.md, "Webhooks"). Every block is written by the first
    /// pass before it is read, so what a previous hash left there changes nothing.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Hashes on the calling thread: a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`),
/// with a random 16-byte salt. Public for the benchmarks, which seed databases with many
/// users.
pub fn hash_blocking(password: &str) -> Result<String, String> {
    let argon2 = argon2();
    let salt: [u8; 16] = rand::random();
    let mut out = [0u8; 32];
    MEMORY
        .with_borrow_mut(|blocks| {
            blocks.resize(argon2.params().block_count(), Block::new());
            argon2.hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                &mut out,
                &mut blocks[..],
            )
        })
        // The error types say what failed (salt, length); they never contain the input.
        .map_err(|e| format!("argon2 hashing failed: {e}"))?;
    let phc = || -> Result<PasswordHash, password_hash::Error> {
        Ok(PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(argon2.params())?,
            salt: Some(Salt::new(&salt)?),
            hash: Some(Output::new(&out)?),
        })
    };
    phc()
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2 hashing failed: {e}"))
}

/// Checks `password` against a PHC string. Public for the tests, which log in with the
/// passwords the API hands out.
pub fn verify(password: &str, phc: &str) -> bool {
    argon2().verify_password(password.as_bytes(), phc).is_ok()
}

struct Job {
    password: Password,
    reply: oneshot::Sender<Result<String, String>>,
}

/// The bounded hashing pool. Cloning shares it.
#[derive(Clone)]
pub(crate) struct PasswordPool {
    tx: mpsc::Sender<Job>,
    workers: usize,
    budget: HashBudget,
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("workers", &self.workers)
            .finish()
    }
}

impl PasswordPool {
    /// `workers` threads (0 = one per core); at most `queue` single creates wait for one.
    pub(crate) fn new(workers: usize, queue: usize) -> Self {
        let workers = match workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let (tx, rx) = mpsc::channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&rx))
                .expect("spawn argon2 worker thread");
        }
        PasswordPool {
            tx,
            workers,
            budget: HashBudget::new(workers, queue),
        }
    }

    pub(crate) fn workers(&self) -> usize {
        self.workers
    }

    /// Hashes `password` for a single create: ahead of every bulk row;
    /// [`HashError::Overloaded`] at once when the singles' line is full.
    pub(crate) async fn hash(&self, password: &Password) -> Result<String, HashError> {
        self.hash_as(Class::Single, password).await
    }

    /// Hashes `password` in `class`'s line (see [`crate::hash_budget`]).
    pub(crate) async fn hash_as(
        &self,
        class: Class,
        password: &Password,
    ) -> Result<String, HashError> {
        // Held until the hash is done: at most one job per thread is ever in the channel
        // or running, so the channel never fills and the lines decide the order.
        let waiting = crate::metrics::get().hash_waiting();
        let since = std::time::Instant::now();
        let _slot = self.budget.slot(class).await?;
        crate::metrics::get().hash_waited(since.elapsed());
        drop(waiting);
        let (reply, rx) = oneshot::channel();
        let job = Job {
            password: password.clone(),
            reply,
        };
        self.tx.send(job).await.map_err(|_| HashError::Stopped)?;
        match rx.await {
            Ok(result) => result.map_err(HashError::Failed),
            Err(_) => Err(HashError::Stopped),
        }
    }
}

fn worker(rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // Hold the lock only while waiting for a job, not while hashing.
        let job = match rx.lock() {
            Ok(mut rx) => rx.blocking_recv(),
            Err(_) => return,
        };
        let Some(job) = job else { return };
        // A client that went away dropped its receiver; skip the 19 MiB of work.
        if job.reply.is_closed() {
            continue;
        }
        let _ = job.reply.send(hash_blocking(&job.password.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_owasp_argon2id_phc_strings_that_verify() {
        let h = hash_blocking("Correct-Horse-9!").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("Correct-Horse-9!", &h));
        assert!(!verify("correct-horse-9!", &h));
        // The thread's memory, reused, holds the previous hash's blocks: the next hashes
        // are still right (each verifies only its own password) and salted apart.
        let again = hash_blocking("Correct-Horse-9!").unwrap();
        let other = hash_blocking("Another-Pass-7?").unwrap();
        assert_ne!(again, h);
        assert!(verify("Correct-Horse-9!", &again));
        assert!(verify("Another-Pass-7?", &other));
        assert!(!verify("Correct-Horse-9!", &other));
    }

    #[test]
    fn a_password_never_debug_prints() {
        let p = Password::generate();
        assert_eq!(format!("{p:?}"), "[redacted]");
        assert_eq!(
            serde_json::to_value(&p).unwrap().as_str().unwrap().len(),
            20
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_overloaded_instead_of_growing() {
        let pool = PasswordPool::new(1, 1);
        // One job runs, one waits; the rest must be refused at once.
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                pool.hash(&Password::generate()).await
            }));
        }
        let mut overloaded = 0;
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(HashError::Overloaded) => overloaded += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(ok >= 1, "ok={ok}");
        assert!(overloaded >= 1, "overloaded={overloaded}");
    }

    #[tokio::test]
    async fn bulk_rows_wait_for_their_turn_instead_of_failing() {
        let pool = PasswordPool::new(1, 1);
        let key = mongodb::bson::oid::ObjectId::new();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                pool.hash_as(Class::Bulk(key), &Password::generate()).await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
    }
}
