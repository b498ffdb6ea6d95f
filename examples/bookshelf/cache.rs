//! A small, bounded read-through cache: concurrent misses for one key share a single upstream
//! call and its outcome, success or failure; a failure is remembered briefly.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, Shared};

// ANCHOR: cache
/// One fill for one key: running, or finished with its outcome. `Shared` lets every waiter
/// await the same future and get a clone of its output.
struct Slot<V, E> {
    started: Instant,
    fill: Shared<BoxFuture<'static, Result<V, E>>>,
}

pub struct Cache<V, E> {
    ttl: Duration,         // how long a value stays fresh
    failure_ttl: Duration, // how long a failure is remembered
    capacity: usize,       // most keys kept
    slots: Mutex<HashMap<i64, Slot<V, E>>>,
    pub hits: AtomicU64,   // answered from a finished fill
    pub joined: AtomicU64, // waited for a fill that another request started
    pub fills: AtomicU64,  // started a fill
}

impl<V: Clone + Send + Sync + 'static, E: Clone + Send + Sync + 'static> Cache<V, E> {
    pub fn new(ttl: Duration, failure_ttl: Duration, capacity: usize) -> Self {
        Cache {
            ttl,
            failure_ttl,
            capacity: capacity.max(1),
            slots: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            joined: AtomicU64::new(0),
            fills: AtomicU64::new(0),
        }
    }

    /// Return the cached outcome for `key`, or start `fill` to get it. Requests that miss while a
    /// fill is running wait for that fill and share its outcome: fifty concurrent misses cost one
    /// upstream call, also when that call fails.
    pub fn get_or_fill<F, Fut>(&self, key: i64, fill: F) -> impl Future<Output = Result<V, E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        // A std Mutex is fine: it is held for a map lookup, never across an .await.
        let mut slots = self.lock();
        if let Some(slot) = slots.get(&key) {
            match slot.fill.peek() {
                None => {
                    self.joined.fetch_add(1, Ordering::Relaxed);
                    return slot.fill.clone();
                }
                Some(outcome) if slot.started.elapsed() < self.keep_for(outcome) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return slot.fill.clone();
                }
                Some(_) => {} // expired: fill again
            }
        }
        if slots.len() >= self.capacity && !slots.contains_key(&key) {
            self.evict(&mut slots);
        }
        self.fills.fetch_add(1, Ordering::Relaxed);
        let fill = fill().boxed().shared();
        let slot = Slot {
            started: Instant::now(),
            fill: fill.clone(),
        };
        slots.insert(key, slot);
        fill
    }

    fn keep_for(&self, outcome: &Result<V, E>) -> Duration {
        if outcome.is_ok() {
            self.ttl
        } else {
            self.failure_ttl
        }
    }

    /// Make room for one key: drop what has expired, else the oldest finished entry.
    fn evict(&self, slots: &mut HashMap<i64, Slot<V, E>>) {
        slots.retain(|_, slot| !self.expired(slot));
        if slots.len() >= self.capacity {
            let oldest = slots
                .iter()
                .filter(|(_, slot)| slot.fill.peek().is_some())
                .min_by_key(|(_, slot)| slot.started)
                .map(|(key, _)| *key);
            if let Some(key) = oldest {
                slots.remove(&key);
            }
        }
    }
}
// ANCHOR_END: cache

impl<V, E> Cache<V, E> {
    fn expired(&self, slot: &Slot<V, E>) -> bool
    where
        V: Clone,
        E: Clone,
    {
        match slot.fill.peek() {
            None => false, // still running
            Some(Ok(_)) => slot.started.elapsed() >= self.ttl,
            Some(Err(_)) => slot.started.elapsed() >= self.failure_ttl,
        }
    }

    /// Drop expired entries; returns how many were removed. Called by the background job.
    pub fn evict_expired(&self) -> usize
    where
        V: Clone,
        E: Clone,
    {
        let mut slots = self.lock();
        let before = slots.len();
        slots.retain(|_, slot| !self.expired(slot));
        before - slots.len()
    }

    pub fn entry_count(&self) -> usize {
        self.lock().len()
    }

    /// The map, even if a thread panicked while holding the lock: every operation on it leaves
    /// it consistent, so a poisoned lock (one panic) must not turn into a panic per request.
    fn lock(&self) -> MutexGuard<'_, HashMap<i64, Slot<V, E>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
