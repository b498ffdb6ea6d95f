//! Exercise 1, a solution: fetch five services concurrently with `join_all`.
//!
//! Run with `cargo run --example exercise1_solution`. It prints the five results, both timings and
//! the speedup (about 5x: five 200 ms waits overlap into one).

use futures::future::join_all;
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

/// All at once: build the five futures first, then wait for all of them together.
/// `join_all` returns the outputs in the order of its input, whatever order they finish in.
async fn fetch_all_concurrent() -> Vec<String> {
    let requests = SERVICES.iter().map(|&service| fetch(service));
    join_all(requests).await
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
