//! Exercise 4 (solution): the shop of `exercise4_starter.rs` with its three bugs fixed.
//!
//! Run it with `cargo run --example exercise4_solution`. The same work happens (payments await,
//! the report does 300 ms of blocking work, the audit of customer 3 panics), but:
//!
//! 1. the stock is reserved in one critical section before the payment is awaited: no overselling;
//! 2. the blocking report runs on tokio's blocking pool: the heartbeat keeps ticking;
//! 3. every audit is kept in a `JoinSet` and every result is examined: the panic is reported.
//!
//! `tests/exercises_06d.rs` runs this program and checks the three report lines.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::{JoinError, JoinSet};
use tokio::time::sleep;

/// Items on the shelf when the shop opens.
const STOCK: i64 = 10;
/// Customers who all try to buy one item at the same moment.
const CUSTOMERS: u32 = 20;
/// The audit of this customer's sale finds a corrupt record and panics.
const BAD_RECORD: u32 = 3;

/// The payment gateway: a network round trip.
async fn pay(_customer: u32) {
    sleep(Duration::from_millis(5)).await;
}

/// Audit one sale and return the customer's number. The record of `BAD_RECORD` is corrupt.
async fn audit(customer: u32) -> u32 {
    sleep(Duration::from_millis(2)).await;
    if customer == BAD_RECORD {
        panic!("sale record for customer {customer} is corrupt");
    }
    customer
}

/// A synchronous report generator (think: a blocking database driver): 300 ms of blocking work.
fn build_report() -> u64 {
    std::thread::sleep(Duration::from_millis(300));
    42
}

/// The message of a task's panic, for the log.
fn panic_message(error: JoinError) -> String {
    if !error.is_panic() {
        return error.to_string(); // cancelled
    }
    let payload = error.into_panic();
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "unknown panic".to_string()
    }
}

// ANCHOR: fixes
/// Fix 1: check and act in one critical section, with no `.await` inside it.
/// The item is reserved before the payment is awaited.
async fn buy(stock: &Mutex<i64>, customer: u32) -> bool {
    {
        let mut left = stock.lock().unwrap();
        if *left == 0 {
            return false;
        }
        *left -= 1; // reserved: nobody else can see this item any more
    } // the std guard is dropped here, before the .await
    pay(customer).await;
    true
}

/// Fix 2: the blocking work runs on tokio's blocking pool, not on the runtime's thread.
async fn nightly_report() -> u64 {
    tokio::task::spawn_blocking(build_report)
        .await
        .expect("the report thread panicked")
}

/// Fix 3: every audit lives in a `JoinSet`, and every result is looked at and logged.
async fn collect_audits(mut audits: JoinSet<u32>) -> (usize, usize) {
    let (mut ok, mut failed) = (0, 0);
    while let Some(result) = audits.join_next().await {
        match result {
            Ok(_customer) => ok += 1,
            Err(error) => {
                failed += 1;
                println!("audit failure observed: {}", panic_message(error));
            }
        }
    }
    (ok, failed)
}
// ANCHOR_END: fixes

/// Ticks every 10 ms until `stop` is set; returns the number of ticks and the longest gap.
async fn heartbeat(stop: Arc<AtomicBool>) -> (u32, Duration) {
    let mut ticks = 0;
    let mut max_gap = Duration::ZERO;
    let mut last = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        sleep(Duration::from_millis(10)).await;
        let now = Instant::now();
        max_gap = max_gap.max(now - last);
        last = now;
        ticks += 1;
    }
    (ticks, max_gap)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Panics are reported by `collect_audits`; keep the hook's own output to one line. With
    // RUST_BACKTRACE=1 the default hook would capture and print a full backtrace, which blocks
    // this runtime's only thread for a noticeable time (around 100 ms in a debug build).
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));

    let stop = Arc::new(AtomicBool::new(false));
    let heartbeat = tokio::spawn(heartbeat(stop.clone()));

    let stock = Arc::new(Mutex::new(STOCK));
    let mut customers = JoinSet::new();
    for customer in 1..=CUSTOMERS {
        let stock = stock.clone();
        customers.spawn(async move { (customer, buy(&stock, customer).await) });
    }
    let report = tokio::spawn(nightly_report());

    let mut audits = JoinSet::new();
    let mut sold = 0;
    while let Some(result) = customers.join_next().await {
        let (customer, bought) = result.expect("a customer task failed");
        if bought {
            sold += 1;
            audits.spawn(audit(customer));
        }
    }
    let (audited, failed_observed) = collect_audits(audits).await;

    let report_value = report.await.expect("the report task failed");
    stop.store(true, Ordering::SeqCst);
    let (ticks, max_gap) = heartbeat.await.expect("the heartbeat task failed");

    let left = *stock.lock().unwrap();
    println!("report: value={report_value}");
    println!(
        "sales: customers={CUSTOMERS} stock={STOCK} sold={sold} left={left} oversold={}",
        (-left).max(0)
    );
    println!(
        "heartbeat: ticks={ticks} max_gap_ms={}",
        max_gap.as_millis()
    );
    println!("audits: spawned={sold} ok={audited} failed_observed={failed_observed}");
}
