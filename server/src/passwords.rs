//! Generated passwords and their hashing on a bounded pool of blocking threads.
//!
//! argon2id is CPU- and memory-bound by design (19 MiB and ~tens of ms per hash), so it
//! must not run on the async workers, and an unbounded `spawn_blocking` queue would let a
//! burst of creates grow memory without limit. Instead: one thread per core and a fixed
//! queue (a tokio channel, so a caller waits for room without polling); when the queue is
//! full the caller gets `HashError::Overloaded` (503 `overloaded` + `Retry-After`).
//!
//! A plaintext password lives in a `Password`, whose memory is wiped when it is dropped.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use onboard_shared::PasswordPolicy;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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

/// Hashes on the calling thread: a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
/// Public for the benchmarks, which seed databases with many users.
pub fn hash_blocking(password: &str) -> Result<String, String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        // The error type says what failed (salt, length); it never contains the input.
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
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("workers", &self.workers)
            .finish()
    }
}

impl PasswordPool {
    /// `workers` threads (0 = one per core) and room for `queue` waiting jobs.
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
        PasswordPool { tx, workers }
    }

    pub(crate) fn workers(&self) -> usize {
        self.workers
    }

    /// Hashes `password` on the pool; [`HashError::Overloaded`] at once when the queue is full.
    pub(crate) async fn hash(&self, password: &Password) -> Result<String, HashError> {
        self.hash_within(password, Duration::ZERO).await
    }

    /// Hashes `password`, waiting up to `patience` for room in a full queue. Bulk imports
    /// use this: a request that carries hundreds of rows is already slow by nature, and
    /// failing rows because single creates filled the queue for a moment would only make
    /// the client send them again.
    pub(crate) async fn hash_within(
        &self,
        password: &Password,
        patience: Duration,
    ) -> Result<String, HashError> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            password: password.clone(),
            reply,
        };
        let sent = if patience.is_zero() {
            self.tx.try_send(job).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => HashError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => HashError::Stopped,
            })
        } else {
            match tokio::time::timeout(patience, self.tx.send(job)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(HashError::Stopped),
                Err(_) => Err(HashError::Overloaded),
            }
        };
        sent?;
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
    async fn a_patient_caller_waits_for_room_instead_of_failing() {
        let pool = PasswordPool::new(1, 1);
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                pool.hash_within(&Password::generate(), Duration::from_secs(60))
                    .await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
    }

    #[tokio::test]
    async fn an_impatient_caller_gives_up_after_its_patience() {
        let pool = PasswordPool::new(1, 1);
        // Fill the worker and the queue, then one more waits 10 ms and gives up.
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    pool.hash_within(&Password::generate(), Duration::from_secs(60))
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        let mut refused = false;
        for _ in 0..4 {
            if let Err(HashError::Overloaded) = pool
                .hash_within(&Password::generate(), Duration::from_millis(10))
                .await
            {
                refused = true;
                break;
            }
        }
        assert!(refused);
        for t in busy {
            assert!(t.await.unwrap().is_ok());
        }
    }
}
