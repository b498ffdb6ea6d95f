//! Exercise 8 (chapter "Pinning"): a batcher whose deadline keeps slipping.
//!
//! Run with `cargo run --example exercise8_starter`. Items arrive on a channel; the batcher
//! flushes a batch when it holds `MAX_BATCH` items or when its oldest item has waited `WINDOW`,
//! whichever comes first. The program runs on tokio's paused clock, so the times it prints are
//! exact. Every line it prints should say `oldest waited 100ms` or less, but some do not: find out
//! why and fix `batcher`. (Hint: the fix needs a pinned `Sleep`.)

use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, Instant};

/// The longest an item may wait in a batch.
const WINDOW: Duration = Duration::from_millis(100);
/// The most items a batch may hold.
const MAX_BATCH: usize = 5;

/// When each item is sent, in milliseconds after the start: a steady trickle every 30 ms, a burst
/// every 10 ms, then a short trickle before the channel closes.
const ARRIVALS_MS: [u64; 18] = [
    0, 30, 60, 90, 120, 150, 180, 210, // every 30 ms
    300, 310, 320, 330, 340, 350, 360, // a burst
    500, 530, 560, // and a last few, then the sender goes away
];

/// One item waiting in a batch: its number and when it arrived.
struct Item {
    id: usize,
    arrived: Instant,
}

/// Print one flush: when, which items, and how long the oldest of them waited.
fn flush(start: Instant, batch: &mut Vec<Item>) {
    if batch.is_empty() {
        return;
    }
    let now = Instant::now();
    let ids: Vec<usize> = batch.iter().map(|item| item.id).collect();
    let waited = now - batch[0].arrived;
    println!(
        "flush at {:?}: {} items {ids:?}, oldest waited {waited:?}",
        now - start,
        ids.len()
    );
    batch.clear();
}

/// Collect items into batches until the channel closes.
async fn batcher(start: Instant, mut rx: mpsc::Receiver<usize>) {
    let mut batch: Vec<Item> = Vec::new();
    loop {
        tokio::select! {
            received = rx.recv() => match received {
                Some(id) => {
                    batch.push(Item { id, arrived: Instant::now() });
                    if batch.len() == MAX_BATCH {
                        flush(start, &mut batch);
                    }
                }
                None => break, // the sender is gone
            },
            // The oldest item has waited long enough... or has it?
            _ = sleep(WINDOW), if !batch.is_empty() => flush(start, &mut batch),
        }
    }
    flush(start, &mut batch); // whatever is left when the channel closes
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let start = Instant::now();
    let (tx, rx) = mpsc::channel(32);
    tokio::spawn(async move {
        for (id, ms) in ARRIVALS_MS.iter().enumerate() {
            sleep_until(start + Duration::from_millis(*ms)).await;
            tx.send(id).await.expect("the batcher is running");
        }
    });
    batcher(start, rx).await;
}
