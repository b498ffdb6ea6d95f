//! Project 3 (solution): the order service with its five async bugs fixed.
//!
//! Each fix carries a `FIX` comment that names the bug and why the new code is right.
//!
//! Run: cargo run --example project3_solution

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
        // FIX 1: a future does nothing until it is awaited. `let _ = fut;` built the future and
        // dropped it at once, so no entry was ever written (and `let _` silenced the warning).
        record_audit(log, format!("order {id} placed")).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Bug 2: ten orders are sold, but the stock only goes down by one.

type Stock = Arc<std::sync::Mutex<u32>>;

async fn sell_one(stock: Stock) {
    // ask the warehouse to reserve the item
    sleep(Duration::from_millis(10)).await;
    // FIX 2: read and write in one critical section, with no `.await` in between. Before, all
    // ten tasks read 100 during the await and all wrote 99 (a lost-update race).
    *stock.lock().unwrap() -= 1;
}

// ---------------------------------------------------------------------------------------------
// Bug 3: five thumbnails take as long as if they were made one after another.

async fn make_thumbnail(id: u32) -> u32 {
    // FIX 3: a blocking call inside a future stops its worker thread, so `join_all` could not
    // overlap the five calls. `spawn_blocking` moves the call to tokio's blocking thread pool.
    tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(60)); // a blocking image library call
        id
    })
    .await
    .expect("the thumbnail thread panicked")
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
    // FIX 4: keep the tasks in a JoinSet and await every result. Dropping a JoinHandle
    // detaches its task: its `Err` (or its panic) was never looked at.
    let mut jobs = tokio::task::JoinSet::new();
    for &order in orders {
        jobs.spawn(charge_card(order));
    }
    let mut failures = 0;
    while let Some(joined) = jobs.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                eprintln!("charge failed: {reason}");
                failures += 1;
            }
            Err(panicked) => {
                eprintln!("charge task died: {panicked}");
                failures += 1;
            }
        }
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// Bug 5: two transfers between the same accounts never finish.

type Account = Arc<tokio::sync::Mutex<i64>>;

async fn transfer(from: Account, to: Account, amount: i64) {
    // FIX 5: both transfers now lock the two accounts in the same global order (by address).
    // Before, one held alice and waited for bob while the other held bob and waited for alice.
    let from_first = Arc::as_ptr(&from) < Arc::as_ptr(&to);
    let (first, second) = if from_first {
        (&from, &to)
    } else {
        (&to, &from)
    };
    let mut first = first.lock().await;
    sleep(Duration::from_millis(10)).await; // fraud check
    let mut second = second.lock().await;
    let (a, b) = if from_first {
        (&mut *first, &mut *second)
    } else {
        (&mut *second, &mut *first)
    };
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
