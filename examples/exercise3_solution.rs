//! Exercise 3, a solution: print results as they arrive, with `FuturesUnordered`.
//!
//! Run with `cargo run --example exercise3_solution`. The six fetches run concurrently and each
//! line is printed the moment its fetch completes, so the lines come out fastest first, and the
//! whole run takes about as long as the slowest fetch (320 ms), not the sum (1,020 ms).

use futures::stream::{FuturesUnordered, StreamExt};
use std::time::{Duration, Instant};

/// Six simulated URLs and how long each takes to answer, in milliseconds.
const URLS: [(&str, u64); 6] = [
    ("http://example.test/big", 320),
    ("http://example.test/tiny", 20),
    ("http://example.test/medium", 140),
    ("http://example.test/small", 80),
    ("http://example.test/large", 260),
    ("http://example.test/mid", 200),
];

/// Pretend to download `url`: wait for its latency, then return a status line.
async fn fetch(url: &'static str, latency_ms: u64) -> (&'static str, u64, u16) {
    tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    (url, latency_ms, 200)
}

#[tokio::main]
async fn main() {
    let start = Instant::now();

    // All six futures go into one FuturesUnordered: they are polled together, and `next()`
    // yields each output as soon as its future completes.
    let mut pending: FuturesUnordered<_> = URLS.iter().map(|&(url, ms)| fetch(url, ms)).collect();
    while let Some((url, latency, status)) = pending.next().await {
        println!(
            "done {} ms: {url} -> {status} (latency {latency} ms)",
            start.elapsed().as_millis()
        );
    }

    let sum: u64 = URLS.iter().map(|&(_, ms)| ms).sum();
    println!(
        "total: {} ms (sum of latencies: {sum} ms)",
        start.elapsed().as_millis()
    );
}
