//! Project 3 (starter): a small order service with five async bugs.
//!
//! `main` runs five checks, one per bug, and prints `ok` or `FAIL` for each. Every check fails as
//! the code stands. Find each bug, fix it, and make all five checks pass without changing `main`
//! or the checks (only the functions above them).
//!
//! Run: cargo run --example project3_starter

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::{sleep, timeout};

// ---------------------------------------------------------------------------------------------
// Bug 1: the audit log stays empty.

type AuditLog = Arc<std::sync::Mutex<Vec<String>>>;

async fn record_audit(log: &AuditLog, entry: String) {
    sleep(Duration::from_millis(5)).await; // writing to a slow store
    log.lock().unwrap().push(entry);
}

async fn place_orders(log: &AuditLog, count: u32) {
    for id in 0..count {
        let _ = record_audit(log, format!("order {id} placed"));
    }
}

// ---------------------------------------------------------------------------------------------
// Bug 2: ten orders are sold, but the stock only goes down by one.

type Stock = Arc<std::sync::Mutex<u32>>;

async fn sell_one(stock: Stock) {
    let current = *stock.lock().unwrap();
    sleep(Duration::from_millis(10)).await; // ask the warehouse to reserve the item
    *stock.lock().unwrap() = current - 1;
}

// ---------------------------------------------------------------------------------------------
// Bug 3: five thumbnails take as long as if they were made one after another.

async fn make_thumbnail(id: u32) -> u32 {
    std::thread::sleep(Duration::from_millis(60)); // a blocking image library call
    id
}

// ---------------------------------------------------------------------------------------------
// Bug 4: a failed job goes unnoticed.

async fn charge_card(order: u32) -> Result<(), String> {
    sleep(Duration::from_millis(5)).await;
    if order == 3 {
        Err(format!("card declined for order {order}"))
    } else {
        Ok(())
    }
}

/// Charge every order in the background and return how many charges failed.
async fn charge_all(orders: &[u32]) -> usize {
    for &order in orders {
        tokio::spawn(charge_card(order));
    }
    0
}

// ---------------------------------------------------------------------------------------------
// Bug 5: two transfers between the same accounts never finish.

type Account = Arc<tokio::sync::Mutex<i64>>;

async fn transfer(from: Account, to: Account, amount: i64) {
    let mut a = from.lock().await;
    sleep(Duration::from_millis(10)).await; // fraud check
    let mut b = to.lock().await;
    *a -= amount;
    *b += amount;
}

// ---------------------------------------------------------------------------------------------
// The checks. Do not change anything below this line.

fn report(n: u32, what: &str, ok: bool, detail: String) -> bool {
    let verdict = if ok { "ok" } else { "FAIL" };
    println!("bug {n} ({what}): {verdict} - {detail}");
    ok
}

#[tokio::main]
async fn main() {
    let mut passed = 0;

    let log = AuditLog::default();
    place_orders(&log, 3).await;
    let entries = log.lock().unwrap().len();
    passed += report(
        1,
        "audit log",
        entries == 3,
        format!("{entries} of 3 entries"),
    ) as u32;

    let stock: Stock = Arc::new(std::sync::Mutex::new(100));
    let sales: Vec<_> = (0..10)
        .map(|_| tokio::spawn(sell_one(stock.clone())))
        .collect();
    for sale in sales {
        sale.await.unwrap();
    }
    let left = *stock.lock().unwrap();
    passed += report(
        2,
        "stock count",
        left == 90,
        format!("{left} left, expected 90"),
    ) as u32;

    let start = Instant::now();
    let thumbs = futures::future::join_all((0..5).map(make_thumbnail)).await;
    let took = start.elapsed();
    let fast = took < Duration::from_millis(200) && thumbs == vec![0, 1, 2, 3, 4];
    passed += report(3, "thumbnails", fast, format!("5 thumbnails in {took:.0?}")) as u32;

    let failures = charge_all(&[1, 2, 3, 4, 5]).await;
    passed += report(
        4,
        "failed charge",
        failures == 1,
        format!("{failures} failure(s) seen"),
    ) as u32;

    let alice: Account = Arc::new(tokio::sync::Mutex::new(100));
    let bob: Account = Arc::new(tokio::sync::Mutex::new(100));
    let both = async {
        tokio::join!(
            tokio::spawn(transfer(alice.clone(), bob.clone(), 30)),
            tokio::spawn(transfer(bob.clone(), alice.clone(), 10)),
        )
    };
    let finished = timeout(Duration::from_millis(500), both).await.is_ok();
    let balances = if finished {
        format!("alice {} bob {}", *alice.lock().await, *bob.lock().await)
    } else {
        "still waiting after 500 ms".to_string()
    };
    passed += report(5, "transfers", finished, balances) as u32;

    println!("{passed}/5 checks passed");
}
