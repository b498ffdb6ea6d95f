//! Exercise 1 (chapter "Your first async program"): fetch five services concurrently.
//!
//! Run with `cargo run --example exercise1_starter`. Right now both versions are sequential and the
//! speedup is about 1.0x. Make `fetch_all_concurrent` fetch all five services at once, keeping the
//! results in the same order, so that the speedup becomes about 5x.

use std::time::{Duration, Instant};

/// The five simulated services and their latency (all equal, so the ideal speedup is 5x).
const SERVICES: [&str; 5] = ["users", "orders", "stock", "prices", "reviews"];
const LATENCY: Duration = Duration::from_millis(200);

/// Pretend to call a remote API: wait for the network, then return a payload.
async fn fetch(service: &str) -> String {
    tokio::time::sleep(LATENCY).await;
    format!("{service}: 200 OK")
}

/// One after another: the total is the sum of the latencies.
async fn fetch_all_sequential() -> Vec<String> {
    let mut results = Vec::new();
    for service in SERVICES {
        results.push(fetch(service).await);
    }
    results
}

/// TODO: make this concurrent. All five requests should be in flight at the same time, and the
/// results must come back in the order of SERVICES.
async fn fetch_all_concurrent() -> Vec<String> {
    let mut results = Vec::new();
    for service in SERVICES {
        results.push(fetch(service).await);
    }
    results
}

#[tokio::main]
async fn main() {
    let start = Instant::now();
    let sequential = fetch_all_sequential().await;
    let sequential_time = start.elapsed();

    let start = Instant::now();
    let concurrent = fetch_all_concurrent().await;
    let concurrent_time = start.elapsed();

    for line in &concurrent {
        println!("{line}");
    }
    assert_eq!(
        sequential, concurrent,
        "concurrency must not change the results"
    );
    println!("sequential: {} ms", sequential_time.as_millis());
    println!("concurrent: {} ms", concurrent_time.as_millis());
    println!(
        "speedup: {:.1}x",
        sequential_time.as_secs_f64() / concurrent_time.as_secs_f64()
    );
}
