//! Password hashing on a bounded pool of blocking threads.
//!
//! argon2id is CPU- and memory-bound by design (19 MiB and ~tens of ms per hash), so it
//! must not run on the async workers, and an unbounded `spawn_blocking` queue would let a
//! burst of creates grow memory without limit. Instead: one thread per core and a fixed
//! queue; when the queue is full the request gets 503 `overloaded` + `Retry-After`.

use crate::error::ApiError;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// OWASP's first argon2id recommendation: m = 19 MiB, t = 2, p = 1.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on the calling thread: a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash_blocking(password: &str) -> Result<String, String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        // The error type says what failed (salt, length); it never contains the input.
        .map_err(|e| format!("argon2 hashing failed: {e}"))
}

/// Checks `password` against a PHC string.
pub fn verify(password: &str, phc: &str) -> bool {
    argon2().verify_password(password.as_bytes(), phc).is_ok()
}

struct Job {
    password: String,
    reply: oneshot::Sender<Result<String, String>>,
}

/// The bounded hashing pool. Cloning shares it.
#[derive(Clone)]
pub struct PasswordPool {
    tx: SyncSender<Job>,
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
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = match workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let (tx, rx) = sync_channel::<Job>(queue.max(1));
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

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Hashes `password` on the pool; 503 `overloaded` when the queue is full.
    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        self.hash_within(password, Duration::ZERO).await
    }

    /// Hashes `password`, waiting up to `patience` for room in a full queue; `overloaded`
    /// after that. Bulk imports use this: a request that carries hundreds of rows is
    /// already slow by nature, and failing rows because single creates filled the queue
    /// for a moment would only make the client send them again.
    pub async fn hash_within(
        &self,
        password: &str,
        patience: Duration,
    ) -> Result<String, ApiError> {
        let (reply, rx) = oneshot::channel();
        let mut job = Job {
            password: password.to_string(),
            reply,
        };
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            match self.tx.try_send(job) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(ApiError::Overloaded);
                    }
                    job = back;
                    // A std channel cannot be awaited; a short sleep is far below the time
                    // of one hash, so a freed slot is taken almost at once.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(TrySendError::Disconnected(_)) => {
                    return Err(ApiError::internal("password pool stopped"));
                }
            }
        }
        match rx.await {
            Ok(result) => result.map_err(ApiError::Internal),
            Err(_) => Err(ApiError::internal("password worker dropped a job")),
        }
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        // Hold the lock only while waiting for a job, not while hashing.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A client that went away dropped its receiver; skip the 19 MiB of work.
        if job.reply.is_closed() {
            continue;
        }
        let _ = job.reply.send(hash_blocking(&job.password));
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

    #[tokio::test]
    async fn a_full_queue_answers_overloaded_instead_of_growing() {
        let pool = PasswordPool::new(1, 1);
        // One job runs, one waits; the rest must be refused at once.
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move { pool.hash("x-Password-1").await }));
        }
        let mut overloaded = 0;
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(ApiError::Overloaded) => overloaded += 1,
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
                pool.hash_within("x-Password-1", Duration::from_secs(60))
                    .await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
    }
}
