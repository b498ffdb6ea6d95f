//! tokio-console next to ordinary logs. Build and run it from this folder (so that Cargo reads
//! `.cargo/config.toml` and its `--cfg tokio_unstable`):
//!
//!     cargo run            # then, in another terminal: tokio-console
//!     cargo run -- 5       # stop after 5 seconds
//!
//! Logs go to stdout through the fmt layer, filtered by RUST_LOG (default: info). The console
//! layer has no filter, so it sees tokio's task events at every level.

use std::time::Duration;

use tracing::info;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

#[tokio::main]
async fn main() {
    // ANCHOR: setup
    // The console layer, serving on 127.0.0.1:6669 (TOKIO_CONSOLE_BIND changes the address).
    let console = console_subscriber::ConsoleLayer::builder()
        .with_default_env()
        .spawn();
    // Your logs: a fmt layer with its own filter, so the console still gets tokio's trace events.
    let logs = fmt::layer().with_filter(
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    );
    tracing_subscriber::registry().with(console).with(logs).init();
    // ANCHOR_END: setup

    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    info!(seconds, "console-demo started; connect with `tokio-console`");

    // ANCHOR: tasks
    // Named tasks (task::Builder needs tokio_unstable too): the console lists them by name.
    tokio::task::Builder::new()
        .name("ticker")
        .spawn(async {
            let mut n = 0u64;
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                n += 1;
                info!(n, "tick");
            }
        })
        .expect("spawn ticker");
    tokio::task::Builder::new()
        .name("hog")
        .spawn(async {
            loop {
                // The bug the console is for: 50 ms of blocking work in every poll.
                std::thread::sleep(Duration::from_millis(50));
                tokio::task::yield_now().await;
            }
        })
        .expect("spawn hog");
    // ANCHOR_END: tasks

    tokio::time::sleep(Duration::from_secs(seconds)).await;
    info!("console-demo done");
}
