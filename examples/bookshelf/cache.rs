//! A small read-through cache whose concurrent misses for one key share a single upstream call.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

// ANCHOR: cache
/// One cached value (or one fill in progress) for one key.
struct Slot<V> {
    created: Instant,
    cell: OnceCell<V>,
}

pub struct Cache<V> {
    ttl: Duration,
    slots: Mutex<HashMap<i64, Arc<Slot<V>>>>,
    pub hits: AtomicU64,
    pub fills: AtomicU64,
}

impl<V: Clone> Cache<V> {
    pub fn new(ttl: Duration) -> Self {
        Cache {
            ttl,
            slots: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            fills: AtomicU64::new(0),
        }
    }

    /// Return the cached value for `key`, or run `fill` to get it. Requests that miss while a
    /// fill is running wait for that fill instead of starting their own.
    pub async fn get_or_fill<E, F, Fut>(&self, key: i64, fill: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let slot = {
            // A std Mutex is fine: it is held for a map lookup, never across an .await.
            let mut slots = self.slots.lock().unwrap();
            let fresh = slots
                .get(&key)
                .filter(|slot| slot.created.elapsed() < self.ttl)
                .cloned();
            fresh.unwrap_or_else(|| {
                let slot = Arc::new(Slot {
                    created: Instant::now(),
                    cell: OnceCell::new(),
                });
                slots.insert(key, slot.clone());
                slot
            })
        };
        if let Some(value) = slot.cell.get() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(value.clone());
        }
        // Only one caller runs `fill`; the others wait on the same cell. If the fill fails,
        // the cell stays empty and the next waiter tries again.
        let value = slot
            .cell
            .get_or_try_init(|| {
                self.fills.fetch_add(1, Ordering::Relaxed);
                fill()
            })
            .await?;
        Ok(value.clone())
    }
}
// ANCHOR_END: cache

impl<V> Cache<V> {
    /// Drop expired entries; returns how many were removed. Called by the background job.
    pub fn evict_expired(&self) -> usize {
        let mut slots = self.slots.lock().unwrap();
        let before = slots.len();
        slots.retain(|_, slot| slot.created.elapsed() < self.ttl);
        before - slots.len()
    }

    pub fn entry_count(&self) -> usize {
        self.slots.lock().unwrap().len()
    }
}
