//! Exercise 12 (chapter "Testing async code"): a test that takes no time.
//!
//! Run with `cargo run --example exercise12_starter`. This program is a test of `with_retries`: a
//! 300 ms timeout per attempt, a backoff of 100 ms that doubles after each failed attempt, and a
//! fake server whose first two requests take 1 s and whose third takes 50 ms. It prints one line
//! per attempt, then `ok after 3 attempts in ...ms`.
//!
//! It runs on the real clock: it waits about a second, and the times it prints are a few
//! milliseconds off, differently on every run. Make it exact and instant: it must print
//! `ok after 3 attempts in 950ms`, every attempt at its exact virtual time, in under 500 ms of
//! real time. Keep `with_retries` and the server's delays (1 s, 1 s, 50 ms) as they are.
//! `tests/exercises_11.rs` checks the result.

use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::time::{sleep, timeout};

const TIMEOUT: Duration = Duration::from_millis(300);

/// The fake server: answers request number `n` (0, 1, 2, ...) after its delay.
fn request(n: u32) -> oneshot::Receiver<&'static str> {
    let (tx, rx) = oneshot::channel();
    let delay = if n < 2 { 1000 } else { 50 };
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(delay));
        let _ = tx.send("ok");
    });
    rx
}

/// The code under test: the reply and the number of attempts it took, or `None`. `start` is the
/// instant the test began, for the log lines.
async fn with_retries(attempts: u32, start: Instant) -> Option<(&'static str, u32)> {
    let mut backoff = Duration::from_millis(100);
    for n in 1..=attempts {
        let at = start.elapsed().as_millis();
        match timeout(TIMEOUT, request(n - 1)).await {
            Ok(Ok(reply)) => {
                println!(
                    "attempt {n} at {at}ms: {reply} at {}ms",
                    start.elapsed().as_millis()
                );
                return Some((reply, n));
            }
            _ => println!(
                "attempt {n} at {at}ms: timed out at {}ms",
                start.elapsed().as_millis()
            ),
        }
        sleep(backoff).await;
        backoff *= 2;
    }
    None
}

#[tokio::main]
async fn main() {
    let start = Instant::now();
    match with_retries(5, start).await {
        Some((reply, n)) => println!(
            "{reply} after {n} attempts in {}ms",
            start.elapsed().as_millis()
        ),
        None => println!(
            "failed after 5 attempts in {}ms",
            start.elapsed().as_millis()
        ),
    }
}
