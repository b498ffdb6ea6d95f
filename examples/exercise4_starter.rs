//! Exercise 4 (starter): a small shop with three async bugs.
//!
//! Run it with `cargo run --example exercise4_starter` and read the three report lines:
//!
//! 1. a race: 20 customers buy from a stock of 10, and the shop oversells;
//! 2. a blocked executor: the nightly report blocks the runtime's only thread, and the heartbeat,
//!    which should tick every 10 ms, stalls;
//! 3. an unobserved panic: one audit task panics and the program never notices.
//!
//! Fix all three without removing any work (the payment still awaits, the report still does its
//! 300 ms of blocking work, the audit of customer 3 still panics). The solution is
//! `examples/exercise4_solution.rs`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
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

/// Audit one sale. The record of customer `BAD_RECORD` is corrupt.
async fn audit(customer: u32, audited: Arc<AtomicUsize>) {
    sleep(Duration::from_millis(2)).await;
    if customer == BAD_RECORD {
        panic!("sale record for customer {customer} is corrupt");
    }
    audited.fetch_add(1, Ordering::SeqCst);
}

/// A synchronous report generator (think: a blocking database driver): 300 ms of blocking work.
fn build_report() -> u64 {
    std::thread::sleep(Duration::from_millis(300));
    42
}

/// BUG 1 (race): the check and the act are separated by an `.await`.
async fn buy(stock: &Mutex<i64>, customer: u32) -> bool {
    let available = *stock.lock().unwrap() > 0; // check
    if !available {
        return false;
    }
    pay(customer).await; // every other customer checks while we pay
    *stock.lock().unwrap() -= 1; // act, on a stale decision
    true
}

/// BUG 2 (blocked executor): blocking work inside an async fn.
async fn nightly_report() -> u64 {
    build_report()
}

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
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeat = tokio::spawn(heartbeat(stop.clone()));

    let stock = Arc::new(Mutex::new(STOCK));
    let mut customers = JoinSet::new();
    for customer in 1..=CUSTOMERS {
        let stock = stock.clone();
        customers.spawn(async move { (customer, buy(&stock, customer).await) });
    }
    let report = tokio::spawn(nightly_report());

    let audited = Arc::new(AtomicUsize::new(0));
    let mut sold = 0;
    while let Some(result) = customers.join_next().await {
        let (customer, bought) = result.expect("a customer task failed");
        if bought {
            sold += 1;
            // BUG 3 (unobserved panic): the handle is dropped, nobody looks at the result.
            tokio::spawn(audit(customer, audited.clone()));
        }
    }
    sleep(Duration::from_millis(50)).await; // "surely the audits are done by now"
    let failed_observed = 0; // we never look, so we never see one

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
    println!(
        "audits: spawned={sold} ok={} failed_observed={failed_observed}",
        audited.load(Ordering::SeqCst)
    );
}
