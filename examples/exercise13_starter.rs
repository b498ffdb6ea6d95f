//! Exercise 13 (chapter "Inside the runtime"): an import loop that lets the heartbeat in.
//!
//! Run with `cargo run --example exercise13_starter`. A service on a `current_thread` runtime
//! imports 20,000 records. They arrive on a `futures` channel, as they would from a library built
//! on the `futures` crate, and they are all there already, so every `next().await` in the import
//! loop is ready at once. Such awaits do not spend tokio's cooperative budget, so the loop never
//! yields. Beside the import, a heartbeat task counts its turns (a real service would answer
//! health checks there).
//!
//! The program prints one line:
//! `20000 records imported, checksum 199990000, longest gap 20000 records, heartbeat turns 1`.
//! The longest gap is the largest number of records imported in a row while the heartbeat had no
//! turn. Change `import` so that the heartbeat gets a turn at least every 128 records: same records,
//! same checksum, the import still on the runtime's thread, and without yielding after every record.

use futures::StreamExt;
use futures::channel::mpsc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const RECORDS: u64 = 20_000;

/// Parses one record: a little CPU work, a few microseconds.
fn parse(line: &str) -> u64 {
    let id: u64 = line.trim_start_matches("record-").parse().unwrap();
    std::hint::black_box((0..20u32).fold(id, |acc, n| acc.rotate_left(n) ^ u64::from(n)));
    id
}

/// What the import loop measured.
struct Report {
    imported: u64,
    checksum: u64,
    longest_gap: u64,
}

// ANCHOR: import
/// Imports every record from `records`, and measures how long the heartbeat waited: after each
/// record it looks at the heartbeat's turn counter.
async fn import(mut records: mpsc::UnboundedReceiver<String>, turns: &AtomicUsize) -> Report {
    let mut report = Report {
        imported: 0,
        checksum: 0,
        longest_gap: 0,
    };
    let (mut gap, mut seen) = (0, turns.load(Ordering::SeqCst));
    while let Some(line) = records.next().await {
        report.checksum += parse(&line);
        report.imported += 1;

        let now = turns.load(Ordering::SeqCst);
        if now == seen {
            gap += 1;
        } else {
            (gap, seen) = (1, now);
        }
        report.longest_gap = report.longest_gap.max(gap);
    }
    report
}
// ANCHOR_END: import

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (tx, rx) = mpsc::unbounded();
    for id in 0..RECORDS {
        tx.unbounded_send(format!("record-{id}")).unwrap();
    }
    drop(tx); // every record is waiting: the stream ends after the last one

    let turns = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let heartbeat = tokio::spawn({
        let (turns, done) = (turns.clone(), done.clone());
        async move {
            while !done.load(Ordering::SeqCst) {
                turns.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        }
    });
    tokio::task::yield_now().await; // the heartbeat takes its first turn

    let report = import(rx, &turns).await;
    let heartbeat_turns = turns.load(Ordering::SeqCst);
    done.store(true, Ordering::SeqCst);
    heartbeat.await.unwrap();

    println!(
        "{} records imported, checksum {}, longest gap {} records, heartbeat turns {}",
        report.imported, report.checksum, report.longest_gap, heartbeat_turns
    );
}
