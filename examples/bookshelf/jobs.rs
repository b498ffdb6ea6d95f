//! A periodic background job, spawned on the service's `TaskTracker` and stopped by its
//! `CancellationToken` when the service shuts down.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cache::Cache;
use crate::error::ApiError;
use crate::upstream::Reviews;

// ANCHOR: job
/// Every `every`, drop expired cache entries. Stops at the next tick boundary after `shutdown`.
pub fn spawn_cache_janitor(
    tracker: &TaskTracker,
    shutdown: CancellationToken,
    cache: Arc<Cache<Reviews, ApiError>>,
    every: Duration,
    runs: Arc<AtomicU64>,
) {
    tracker.spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticks.tick() => {
                    cache.evict_expired();
                    runs.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        println!(
            "background job stopped after {} runs",
            runs.load(Ordering::Relaxed)
        );
    });
}
// ANCHOR_END: job
