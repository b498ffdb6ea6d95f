//! Exercise 12 (chapter "Testing async code"): a test that takes no time. A solution.
//!
//! Run with `cargo run --example exercise12_solution`. This program is a test of `with_retries`: a
//! 300 ms timeout per attempt, a backoff of 100 ms that doubles after each failed attempt, and a
//! fake server whose first two requests take 1 s and whose third takes 50 ms. It prints one line
//! per attempt, then `ok after 3 attempts in ...ms`.
//!
//! The starter ran on the real clock. This version changes three things, and each is needed:
//! - the runtime starts with its clock paused (`start_paused = true`, on `current_thread`), so
//!   every sleep and timeout jumps instead of waiting;
//! - times are measured with `tokio::time::Instant`, the paused clock, not `std::time::Instant`,
//!   which would read about zero for every attempt;
//! - the fake server is a tokio task that waits with `tokio::time::sleep`. The starter's server
//!   was a `std::thread`, invisible to the runtime: on a paused clock the runtime saw no work and
//!   jumped straight to each timeout, so every attempt timed out at once.
//!
//! It prints `ok after 3 attempts in 950ms` (300 + 100 + 300 + 200 + 50 ms), in a few
//! milliseconds of real time.

use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::{sleep, timeout, Instant};

const TIMEOUT: Duration = Duration::from_millis(300);

/// The fake server: answers request number `n` (0, 1, 2, ...) after its delay.
fn request(n: u32) -> oneshot::Receiver<&'static str> {
    let (tx, rx) = oneshot::channel();
    let delay = if n < 2 { 1000 } else { 50 };
    tokio::spawn(async move {
        sleep(Duration::from_millis(delay)).await; // on the runtime's clock
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

#[tokio::main(flavor = "current_thread", start_paused = true)]
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
