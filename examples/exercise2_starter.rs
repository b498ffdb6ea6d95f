//! Exercise 2 (chapter "Understanding `.await`"): the missing `.await`.
//!
//! Run with `cargo run --example exercise2_starter`. The checkout below compiles (with a warning)
//! and prints a total, but the ledger stays empty and no receipt is sent. Two `.await`s are
//! missing. Find them, fix them, and make the program report 3 of 3 for both counts.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Ask the (simulated) price service for an item's price, in cents.
async fn fetch_price(item: &str) -> u32 {
    tokio::time::sleep(Duration::from_millis(30)).await;
    match item {
        "coffee" => 350,
        "toast" => 250,
        _ => 400,
    }
}

/// Write the sale to the (simulated) database.
async fn record_sale(ledger: &Mutex<Vec<String>>, item: &str, cents: u32) {
    tokio::time::sleep(Duration::from_millis(20)).await;
    ledger.lock().unwrap().push(format!("{item}: {cents}"));
}

/// Send a receipt through the (simulated) mail service.
async fn send_receipt(outbox: &Mutex<Vec<String>>, item: &str) {
    tokio::time::sleep(Duration::from_millis(10)).await;
    outbox.lock().unwrap().push(format!("receipt for {item}"));
}

async fn checkout(items: &[&str], ledger: &Mutex<Vec<String>>, outbox: &Mutex<Vec<String>>) -> u32 {
    let mut total = 0;
    for &item in items {
        let cents = fetch_price(item).await;
        total += cents;
        record_sale(ledger, item, cents);
        let _receipt = send_receipt(outbox, item);
    }
    total
}

#[tokio::main]
async fn main() {
    let items = ["coffee", "toast", "jam"];
    let ledger = Mutex::new(Vec::new());
    let outbox = Mutex::new(Vec::new());

    let start = Instant::now();
    let total = checkout(&items, &ledger, &outbox).await;
    let elapsed = start.elapsed();

    let ledger = ledger.into_inner().unwrap();
    let outbox = outbox.into_inner().unwrap();
    println!("total: {total} cents in {} ms", elapsed.as_millis());
    println!(
        "ledger: {} of {} entries {:?}",
        ledger.len(),
        items.len(),
        ledger
    );
    println!("receipts: {} of {} sent", outbox.len(), items.len());
}
