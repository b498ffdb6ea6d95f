//! Project 4 (solution): three patterns every async service needs.
//!
//! 1. Timeout + retry with exponential backoff, against a service that is slow twice, then fast.
//! 2. A concurrency limit with a semaphore: twelve jobs, never more than three at a time.
//! 3. Cancellation: three workers stop cleanly when a `CancellationToken` fires.
//!
//! Run: cargo run --example project4_solution

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;

// ANCHOR: retry
/// Run `operation` up to `attempts` times. Each try gets `per_try` to finish; between tries the
/// wait starts at `backoff` and doubles. Returns the value and the number of the attempt that won.
async fn retry_with_timeout<T, E, F, Fut>(
    attempts: u32,
    per_try: Duration,
    mut backoff: Duration,
    mut operation: F,
) -> Result<(T, u32), String>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    for attempt in 1..=attempts {
        // `timeout` drops the inner future when time is up: that drop IS the cancellation.
        match timeout(per_try, operation(attempt)).await {
            Ok(Ok(value)) => return Ok((value, attempt)),
            Ok(Err(e)) => println!("  attempt {attempt}: error: {e}"),
            Err(_) => println!("  attempt {attempt}: timed out after {per_try:?}"),
        }
        if attempt < attempts {
            sleep(backoff).await;
            backoff *= 2;
        }
    }
    Err(format!("gave up after {attempts} attempts"))
}
// ANCHOR_END: retry

/// A flaky service: the first two calls hang for 300 ms, later calls answer in 10 ms.
async fn flaky_service(attempt: u32) -> Result<&'static str, String> {
    if attempt <= 2 {
        sleep(Duration::from_millis(300)).await;
    } else {
        sleep(Duration::from_millis(10)).await;
    }
    Ok("quote: 42 EUR")
}

// ANCHOR: concurrency_limit
/// Run `jobs` jobs of 30 ms each, at most `limit` at the same time. Returns the highest number
/// of jobs seen in flight together.
async fn run_with_concurrency_limit(jobs: usize, limit: usize) -> usize {
    let permits = Arc::new(Semaphore::new(limit));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..jobs {
        let (permits, in_flight, peak) = (permits.clone(), in_flight.clone(), peak.clone());
        tasks.spawn(async move {
            // The permit is held until `_permit` is dropped at the end of the block.
            let _permit = permits.acquire_owned().await.expect("semaphore closed");
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            sleep(Duration::from_millis(30)).await; // the call we must not overload
            in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("job panicked");
    }
    peak.load(Ordering::SeqCst)
}
// ANCHOR_END: concurrency_limit

// ANCHOR: cancel
/// A worker that processes one item every 10 ms until `token` is cancelled, then cleans up.
/// Returns how many items it processed.
async fn worker(id: u32, token: CancellationToken) -> u32 {
    let mut processed = 0;
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = sleep(Duration::from_millis(10)) => processed += 1,
        }
    }
    // Cleanup runs because the worker left its loop itself instead of being dropped mid-way.
    println!(
        "  worker {id}: flushed {processed} items and closed (token cancelled: {})",
        token.is_cancelled()
    );
    processed
}
// ANCHOR_END: cancel

#[tokio::main]
async fn main() {
    println!("retry:");
    let start = Instant::now();
    let result = retry_with_timeout(
        4,
        Duration::from_millis(50),
        Duration::from_millis(20),
        |n| flaky_service(n),
    )
    .await;
    let (value, attempt) = result.expect("the third attempt succeeds");
    println!(
        "retry: {value} on attempt {attempt} after {:.0} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );

    let start = Instant::now();
    let peak = run_with_concurrency_limit(12, 3).await;
    println!(
        "concurrency limit: 12 jobs, peak {peak} in flight (limit 3), {:.0} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );

    println!("cancel:");
    let token = CancellationToken::new();
    let workers: Vec<_> = (1..=3)
        .map(|id| tokio::spawn(worker(id, token.child_token())))
        .collect();
    sleep(Duration::from_millis(100)).await;
    let cancelled_at = Instant::now();
    token.cancel();
    let mut total = 0;
    for w in workers {
        total += w.await.expect("worker panicked");
    }
    println!(
        "cancel: 3 workers stopped, {total} items processed, shutdown took {:.1} ms",
        cancelled_at.elapsed().as_secs_f64() * 1000.0
    );
}
