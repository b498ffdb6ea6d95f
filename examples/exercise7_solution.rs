//! Exercise 7 (Production patterns): timeout with retry, rate limiting with a semaphore, graceful
//! cancellation. Each part asserts what it claims; the paused clock makes every duration exact.
//!
//!     cargo run --example exercise7_solution

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

/// A seedable xorshift64 generator for the jitter.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Part 1: every attempt gets its own timeout; failed attempts are followed by a full-jitter
/// backoff whose bound doubles (base, 2 x base, ...).
pub async fn fetch_with_retry(
    service: &FlakyService,
    max_attempts: u32,
    per_attempt: Duration,
    base: Duration,
    rng: &mut XorShift,
) -> Result<String, ServiceError> {
    let mut attempt = 1;
    loop {
        let result = match timeout(per_attempt, service.call()).await {
            Ok(result) => result,
            Err(_elapsed) => Err(ServiceError::Timeout),
        };
        match result {
            Ok(answer) => return Ok(answer),
            // Both errors are transient here; a real client would also have permanent ones.
            Err(_) if attempt < max_attempts => {
                let bound = base * 2u32.pow(attempt - 1);
                sleep(bound.mul_f64(rng.next_f64())).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Part 2: run `jobs` jobs of `job_time`, at most `limit` at once. Returns the peak number of
/// jobs running together.
pub async fn run_limited(jobs: usize, limit: usize, job_time: Duration) -> usize {
    let permits = Arc::new(Semaphore::new(limit));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..jobs {
        let (permits, running, peak) = (permits.clone(), running.clone(), peak.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("never closed");
            let now = running.fetch_add(1, SeqCst) + 1;
            peak.fetch_max(now, SeqCst);
            sleep(job_time).await;
            running.fetch_sub(1, SeqCst);
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a job panicked");
    }
    peak.load(SeqCst)
}

/// What part 3 observed.
#[derive(Debug)]
pub struct ShutdownReport {
    pub started: usize,
    pub finished: usize,
    /// From `token.cancel()` to the last worker's exit.
    pub stop_latency: Duration,
}

/// Part 3: `workers` workers take jobs (each `job_time`) from a queue until the token is
/// cancelled after `cancel_after`. Waiting for a job is cancellable; a job in progress is not.
pub async fn graceful_workers(
    workers: usize,
    job_time: Duration,
    cancel_after: Duration,
) -> ShutdownReport {
    let (tx, rx) = mpsc::channel(1000);
    for job in 0..1000 {
        tx.try_send(job).expect("room for every job");
    }
    let rx = Arc::new(Mutex::new(rx));
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let started = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));

    for _ in 0..workers {
        let (rx, token) = (rx.clone(), token.clone());
        let (started, finished) = (started.clone(), finished.clone());
        tracker.spawn(async move {
            loop {
                let job = tokio::select! {
                    biased; // check the token first: once cancelled, take no new job
                    _ = token.cancelled() => break,
                    job = async { rx.lock().await.recv().await } => job,
                };
                let Some(_job) = job else { break };
                started.fetch_add(1, SeqCst);
                sleep(job_time).await; // in flight: always finished
                finished.fetch_add(1, SeqCst);
            }
        });
    }
    tracker.close();

    sleep(cancel_after).await;
    token.cancel();
    let cancelled_at = Instant::now();
    tracker.wait().await;
    ShutdownReport {
        started: started.load(SeqCst),
        finished: finished.load(SeqCst),
        stop_latency: cancelled_at.elapsed(),
    }
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
    // 100 ms timeout + a wait under 50 ms + a wait under 100 ms: more than the timeout alone (a
    // solution without backoff takes exactly 100 ms), less than both bounds in full.
    assert!(took > Duration::from_millis(100), "no backoff: took {took:?}");
    assert!(took < Duration::from_millis(250), "took {took:?}");
    println!(
        "retry: {:?} after {} calls in {took:?}",
        answer.unwrap(),
        service.calls()
    );

    // 2. Rate limiting with a semaphore.
    let start = Instant::now();
    let peak = run_limited(12, 3, Duration::from_millis(50)).await;
    let took = start.elapsed();
    assert_eq!(peak, 3, "never more than 3 at once");
    assert_eq!(
        took,
        Duration::from_millis(200),
        "12 jobs, 3 at a time, 50 ms each"
    );
    println!("limit: 12 jobs, at most {peak} at once, in {took:?}");

    // 3. Graceful cancellation.
    let report = graceful_workers(4, Duration::from_millis(30), Duration::from_millis(100)).await;
    assert_eq!(
        report.started, report.finished,
        "no job abandoned: {report:?}"
    );
    assert!(report.started > 0 && report.started < 1000, "{report:?}");
    assert!(
        report.stop_latency <= Duration::from_millis(100),
        "{report:?}"
    );
    println!(
        "cancel: {} jobs started, {} finished, all workers stopped {:?} after the signal",
        report.started, report.finished, report.stop_latency
    );
}
