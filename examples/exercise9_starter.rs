//! Exercise 9 (chapter "Streams"): a crawler whose fetches must not stall.
//!
//! Run with `cargo run --example exercise9_starter`. Twelve pages are fetched through
//! `buffer_unordered(4)`, and each page is saved as it arrives. A fetch has two steps: it connects
//! (10 to 40 ms, depending on the page), then sends its request and waits for the answer (30 ms).
//! The simulated server gives up on a connection that the client leaves alone for more than 25 ms,
//! after either step: a connection on which no request arrives, or an answer that nobody reads.
//! Saving a page takes 40 ms.
//!
//! Right now the loop body awaits `save`, and while it does, the fetches waiting in the buffer are
//! not polled: a step finishes, and the fetch cannot take its next step until the loop asks the
//! stream for another item. Change `main` so that no fetch fails, with at most four fetches in
//! flight and every page still saved.
//!
//! The program runs on tokio's paused clock, so the times it prints are exact virtual times.

use futures::stream::{self, StreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::time::{sleep, Duration, Instant};

/// How many fetches are running now, and the most there ever were.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

const REQUEST: Duration = Duration::from_millis(30);
/// The server gives up on a connection left alone for longer than this after a step.
const SERVER_PATIENCE: Duration = Duration::from_millis(25);
const SAVE: Duration = Duration::from_millis(40);

/// The twelve pages to crawl, each with its connect time: 20, 30, 40, 10, 20, 30, ... ms.
fn pages() -> Vec<(String, Duration)> {
    (1..=12u64)
        .map(|n| {
            let url = format!("http://example.test/page-{n:02}");
            (url, Duration::from_millis(10 * (n % 4 + 1)))
        })
        .collect()
}

/// One network step that takes `duration`. The code after the sleep runs when the future is
/// polled again, which may be later than the step's end: if the client comes back more than
/// `SERVER_PATIENCE` late, the server has already closed the connection.
async fn step(duration: Duration, url: &str, what: &str) -> Result<(), String> {
    let done_at = Instant::now() + duration;
    sleep(duration).await;
    let late = Instant::now() - done_at;
    if late > SERVER_PATIENCE {
        return Err(format!(
            "{url}: connection closed, {what} left alone for {} ms",
            late.as_millis()
        ));
    }
    Ok(())
}

/// Fetch one page: connect, then send the request and read the answer.
async fn fetch(url: String, connect: Duration) -> Result<String, String> {
    let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    PEAK.fetch_max(now, Ordering::SeqCst);

    let result = async {
        step(connect, &url, "new connection").await?;
        step(REQUEST, &url, "answer").await?;
        Ok(format!("<html>{url}</html>"))
    }
    .await;

    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    result
}

/// Store a page somewhere slow.
async fn save(_page: &str) {
    sleep(SAVE).await;
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let start = Instant::now();
    let (mut fetched, mut saved, mut failed) = (0, 0, 0);

    // TODO: the fetches waiting in this buffer stand still while the loop body awaits `save`.
    let mut pages = stream::iter(pages())
        .map(|(url, connect)| fetch(url, connect))
        .buffer_unordered(4);
    while let Some(result) = pages.next().await {
        match result {
            Ok(page) => {
                fetched += 1;
                save(&page).await;
                saved += 1;
            }
            Err(error) => {
                failed += 1;
                println!("failed: {error}");
            }
        }
    }

    println!(
        "{fetched} pages fetched, {saved} saved, {failed} failed, peak {} in flight, in {}ms",
        PEAK.load(Ordering::SeqCst),
        start.elapsed().as_millis()
    );
}
