//! Exercise 3 (chapter "Running many tasks"): print results as they arrive.
//!
//! Run with `cargo run --example exercise3_starter`. Right now the six fetches run concurrently,
//! but `join_all` hands back the results in the order of the list, all at the end, so every line
//! shows the same time. Change `main` so that each result is printed the moment its fetch
//! completes (fastest first), and the whole run still takes about as long as the slowest fetch.

use futures::future::join_all;
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

    // TODO: print each result as soon as it arrives, instead of all at the end in list order.
    let results = join_all(URLS.iter().map(|&(url, ms)| fetch(url, ms))).await;
    for (url, latency, status) in results {
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
