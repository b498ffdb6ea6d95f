//! Exercise 7 (Production patterns), starter: timeout with retry, rate limiting with a semaphore,
//! graceful cancellation. Replace each `todo!()`; `main` checks your work.
//!
//!     cargo run --example exercise7_starter
//!
//! A solution is in examples/exercise7_solution.rs.
#![allow(unused_variables, unused_imports, dead_code)] // remove once the todo!()s are done

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Mutex, Semaphore};
use tokio::time::{sleep, timeout, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Debug, PartialEq)]
pub enum ServiceError {
    Unavailable,
    Timeout,
}

/// The simulated service: call 1 hangs, call 2 fails, later calls answer.
pub struct FlakyService {
    calls: AtomicUsize,
}

impl FlakyService {
    pub fn new() -> Self {
        FlakyService {
            calls: AtomicUsize::new(0),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(SeqCst)
    }

    pub async fn call(&self) -> Result<String, ServiceError> {
        let n = self.calls.fetch_add(1, SeqCst) + 1;
        match n {
            1 => std::future::pending().await, // never answers
            2 => Err(ServiceError::Unavailable),
            _ => Ok(format!("answer from call {n}")),
        }
    }
}

/// A seedable xorshift64 generator for the jitter: `next_f64()` is uniform in [0, 1).
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Part 1: call `service` until it answers or `max_attempts` calls have failed. Each call gets
/// its own `per_attempt` timeout (a timeout counts as `ServiceError::Timeout`). After failed
/// attempt n, wait a random duration in [0, base * 2^(n-1)) (full jitter).
pub async fn fetch_with_retry(
    service: &FlakyService,
    max_attempts: u32,
    per_attempt: Duration,
    base: Duration,
    rng: &mut XorShift,
) -> Result<String, ServiceError> {
    todo!("timeout each attempt, retry with full-jitter backoff")
}

/// Part 2: run `jobs` jobs that each sleep `job_time`, with at most `limit` running at once (use
/// a `Semaphore`). Return the peak number of jobs that ran together.
pub async fn run_limited(jobs: usize, limit: usize, job_time: Duration) -> usize {
    todo!("spawn the jobs, each holding a permit while it runs")
}

/// What part 3 observed.
#[derive(Debug)]
pub struct ShutdownReport {
    pub started: usize,
    pub finished: usize,
    /// From `token.cancel()` to the last worker's exit.
    pub stop_latency: Duration,
}

/// Part 3: start `workers` workers that take jobs from a queue (an `mpsc` channel filled with
/// 1000 jobs) and spend `job_time` on each. After `cancel_after`, cancel a `CancellationToken`.
/// A worker waiting for a job stops at once; a worker in the middle of a job finishes it first.
/// Wait for every worker (a `TaskTracker`) and report.
pub async fn graceful_workers(
    workers: usize,
    job_time: Duration,
    cancel_after: Duration,
) -> ShutdownReport {
    todo!("workers that select! on the token only while waiting for a job")
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    // 1. Timeout with retry.
    let service = FlakyService::new();
    let start = Instant::now();
    let answer = fetch_with_retry(
        &service,
        4,
        Duration::from_millis(100),
        Duration::from_millis(50),
        &mut XorShift(0x2545_F491_4F6C_DD1D),
    )
    .await;
    let took = start.elapsed();
    assert_eq!(answer, Ok("answer from call 3".to_string()));
    assert_eq!(service.calls(), 3, "hang, fail, succeed");
    assert!(took < Duration::from_millis(250), "took {took:?}");
    println!(
        "retry: {answer:?} after {} calls in {took:?}",
        service.calls()
    );

    // 2. Rate limiting with a semaphore.
    let start = Instant::now();
    let peak = run_limited(12, 3, Duration::from_millis(50)).await;
    let took = start.elapsed();
    assert_eq!(peak, 3, "never more than 3 at once");
    assert_eq!(took, Duration::from_millis(200));
    println!("limit: 12 jobs, at most {peak} at once, in {took:?}");

    // 3. Graceful cancellation.
    let report = graceful_workers(4, Duration::from_millis(30), Duration::from_millis(100)).await;
    assert_eq!(
        report.started, report.finished,
        "no job abandoned: {report:?}"
    );
    assert!(
        report.stop_latency <= Duration::from_millis(100),
        "{report:?}"
    );
    println!("cancel: {report:?}");
}
