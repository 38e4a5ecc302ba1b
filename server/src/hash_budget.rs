//! Who hashes next (finding 8 of issue 17): a reservation layer in front of the password
//! pool, so bulk imports cannot starve single creates, nor one key's imports another key's.
//!
//! At most one job per hashing thread runs at a time; the rest wait here, in two lines:
//! - **single creates** (`POST /v1/users`, a sponsor's new speakers, a password reset) go
//!   first: a freed thread always takes a waiting single before any bulk row, so an
//!   organizer's form waits for at most one hash in progress whatever imports are
//!   running. At most `queue` singles wait; more get 503 `overloaded` as before.
//! - **bulk rows** wait per API key, and the keys take turns (round robin): each key with
//!   rows waiting gets an equal share of the threads left over by singles, however many
//!   bulk requests it sends at once. A key importing alone gets every thread, so a
//!   10,000-row import runs at full speed when nobody else needs the pool.
//!
//! Bulk rows wait without a time limit: a bulk request holds at most twice the pool's size
//! in flight, and its connection is bounded by the connection limits.

use crate::passwords::HashError;
use mongodb::bson::oid::ObjectId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Which line a hash waits in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Class {
    Single,
    Bulk(ObjectId),
}

#[derive(Debug, Default)]
struct Lines {
    running: usize,
    singles: VecDeque<oneshot::Sender<()>>,
    bulk: HashMap<ObjectId, VecDeque<oneshot::Sender<()>>>,
    /// Keys with bulk rows waiting, in turn order.
    turns: VecDeque<ObjectId>,
}

impl Lines {
    /// Hands a free slot to the next waiter still waiting; `false` when nobody is.
    fn hand_over(&mut self) -> bool {
        while let Some(tx) = self.singles.pop_front() {
            if tx.send(()).is_ok() {
                return true;
            }
        }
        while let Some(key) = self.turns.pop_front() {
            let Some(line) = self.bulk.get_mut(&key) else {
                continue;
            };
            let mut handed = false;
            while let Some(tx) = line.pop_front() {
                if tx.send(()).is_ok() {
                    handed = true;
                    break;
                }
            }
            if line.is_empty() {
                self.bulk.remove(&key);
            } else {
                self.turns.push_back(key);
            }
            if handed {
                return true;
            }
        }
        false
    }
}

/// The scheduler; cloning shares it.
#[derive(Debug, Clone)]
pub(crate) struct HashBudget {
    lines: Arc<Mutex<Lines>>,
    slots: usize,
    queue: usize,
}

/// A slot on the pool; freed (and handed to the next waiter) on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    lines: Arc<Mutex<Lines>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if !lines.hand_over() {
            lines.running -= 1;
        }
    }
}

impl HashBudget {
    /// `slots` jobs at once (the pool's threads); at most `queue` single creates waiting.
    pub(crate) fn new(slots: usize, queue: usize) -> Self {
        HashBudget {
            lines: Arc::default(),
            slots: slots.max(1),
            queue: queue.max(1),
        }
    }

    /// Waits for a slot in `class`'s line; 503 `overloaded` when the singles' line is full.
    pub(crate) async fn slot(&self, class: Class) -> Result<Slot, HashError> {
        let rx = {
            let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            let nobody_ahead = match class {
                Class::Single => lines.singles.is_empty(),
                Class::Bulk(_) => lines.singles.is_empty() && lines.turns.is_empty(),
            };
            if lines.running < self.slots && nobody_ahead {
                lines.running += 1;
                return Ok(Slot {
                    lines: self.lines.clone(),
                });
            }
            let (tx, rx) = oneshot::channel();
            match class {
                Class::Single => {
                    if lines.singles.len() >= self.queue {
                        return Err(HashError::Overloaded);
                    }
                    lines.singles.push_back(tx);
                }
                Class::Bulk(key) => {
                    if lines.bulk.get(&key).is_none_or(|l| l.is_empty()) {
                        lines.turns.push_back(key);
                    }
                    lines.bulk.entry(key).or_default().push_back(tx);
                }
            }
            Waiting {
                rx: Some(rx),
                lines: self.lines.clone(),
            }
        };
        let mut waiting = rx;
        // The slot is handed over by a `Slot` drop, which keeps `running` as it was.
        let handed = waiting
            .rx
            .as_mut()
            .expect("a new waiter has its receiver")
            .await;
        waiting.rx = None;
        handed.map_err(|_| HashError::Stopped)?;
        Ok(Slot {
            lines: self.lines.clone(),
        })
    }
}

/// A waiter in line. Dropped after a slot was handed to it but before it took it (its
/// request was cancelled at that very moment), it passes the slot on.
struct Waiting {
    rx: Option<oneshot::Receiver<()>>,
    lines: Arc<Mutex<Lines>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take()
            && rx.try_recv().is_ok()
        {
            drop(Slot {
                lines: self.lines.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_waiting_single_goes_before_every_waiting_bulk_row() {
        let b = HashBudget::new(1, 4);
        let first = b.slot(Class::Bulk(ObjectId::new())).await.unwrap();
        let key = ObjectId::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for name in ["bulk1", "bulk2", "single"] {
            let (b, order) = (b.clone(), order.clone());
            let class = if name == "single" {
                Class::Single
            } else {
                Class::Bulk(key)
            };
            tasks.push(tokio::spawn(async move {
                let _slot = b.slot(class).await.unwrap();
                order.lock().unwrap().push(name);
            }));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(order.lock().unwrap()[0], "single");
    }

    #[tokio::test]
    async fn keys_take_turns() {
        let b = HashBudget::new(1, 4);
        let first = b.slot(Class::Single).await.unwrap();
        let (a, c) = (ObjectId::new(), ObjectId::new());
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, key) in [("a1", a), ("a2", a), ("a3", a), ("c1", c)] {
            let (b, order) = (b.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = b.slot(Class::Bulk(key)).await.unwrap();
                order.lock().unwrap().push(name);
            }));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["a1", "c1", "a2", "a3"]);
    }

    #[tokio::test]
    async fn a_full_singles_line_is_overloaded() {
        let b = HashBudget::new(1, 1);
        let _running = b.slot(Class::Single).await.unwrap();
        let waiting = {
            let b = b.clone();
            tokio::spawn(async move { b.slot(Class::Single).await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(matches!(
            b.slot(Class::Single).await,
            Err(HashError::Overloaded)
        ));
        waiting.abort();
    }
}
