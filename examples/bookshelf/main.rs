//! bookshelf: a small JSON API on axum + tokio + sqlx (SQLite), the service of the chapter
//! "Async web services".
//!
//! cargo run --example bookshelf -- --db /tmp/bookshelf.db --addr 127.0.0.1:3000
//!
//! Endpoints: GET /health, GET|POST /books, GET|DELETE /books/{id}, GET /books/{id}/overview
//! (fans out to two upstream services), GET /books/{id}/rating (cached), GET /books/export
//! (streamed), GET /ws (WebSocket events), GET /stats, GET /slow, /slow-blocking (anti-pattern),
//! /slow-spawn-blocking. Ctrl-C (SIGINT) or SIGTERM shuts it down gracefully.

mod cache;
mod db;
mod error;
mod events;
mod jobs;
mod routes;
mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::routes::{AppState, Limits};

#[derive(Parser, Debug)]
#[command(about = "A small async JSON API: books in SQLite, two upstreams, a cache, WebSockets")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// SQLite database file (default: $BOOKSHELF_DB, else bookshelf.db in the temp directory).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Delay of the fake reviews service.
    #[arg(long, default_value_t = 50)]
    reviews_delay_ms: u64,
    /// Delay of the fake stock service.
    #[arg(long, default_value_t = 80)]
    stock_delay_ms: u64,
    /// Time limit for each upstream call.
    #[arg(long, default_value_t = 500)]
    upstream_timeout_ms: u64,
    /// Time limit for a whole request (tower-http TimeoutLayer, 408).
    #[arg(long, default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// Largest accepted request body, in bytes (413 above).
    #[arg(long, default_value_t = 64 * 1024)]
    body_limit: usize,
    /// Requests handled at once; more wait their turn (tower GlobalConcurrencyLimit).
    #[arg(long, default_value_t = 1024)]
    max_concurrency: usize,
    /// How long a cached rating stays fresh.
    #[arg(long, default_value_t = 30_000)]
    cache_ttl_ms: u64,
    /// Period of the background cache janitor.
    #[arg(long, default_value_t = 1_000)]
    job_interval_ms: u64,
    /// Size of the database connection pool.
    #[arg(long, default_value_t = 8)]
    db_connections: u32,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ANCHOR: main
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let db_path = args
        .db
        .or_else(|| std::env::var_os("BOOKSHELF_DB").map(PathBuf::from))
        .unwrap_or_else(|| std::env::temp_dir().join("bookshelf.db"));

    // Install the signal handlers first: a Ctrl-C that arrives at any time after
    // "listening on" is printed starts a graceful shutdown.
    let stop_signal = shutdown_signal()?;

    let pool = db::open(&db_path, args.db_connections).await?;
    let shutdown = CancellationToken::new(); // tells long-lived tasks to stop
    let tracker = TaskTracker::new(); // lets main wait until they have stopped

    // The two fake upstream services stop only after the main server has drained.
    let upstreams_stop = CancellationToken::new();
    let reviews =
        upstream::start_fake("reviews", ms(args.reviews_delay_ms), upstreams_stop.clone()).await?;
    let stock =
        upstream::start_fake("stock", ms(args.stock_delay_ms), upstreams_stop.clone()).await?;

    let state = AppState {
        pool: pool.clone(),
        http: reqwest::Client::new(),
        reviews,
        stock,
        upstream_timeout: ms(args.upstream_timeout_ms),
        rating_cache: Arc::new(cache::Cache::new(ms(args.cache_ttl_ms))),
        events: broadcast::channel(64).0,
        shutdown: shutdown.clone(),
        tracker: tracker.clone(),
        job_runs: Arc::new(AtomicU64::new(0)),
    };
    jobs::spawn_cache_janitor(
        &tracker,
        shutdown.clone(),
        state.rating_cache.clone(),
        ms(args.job_interval_ms),
        state.job_runs.clone(),
    );
    let limits = Limits {
        request_timeout: ms(args.request_timeout_ms),
        body_limit: args.body_limit,
        max_concurrency: args.max_concurrency,
    };
    let app = routes::router(state, &limits);

    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!("database: {}", db_path.display());

    // Stop accepting on the signal, let in-flight requests finish, then return.
    let token = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            stop_signal.await;
            println!("shutting down: finishing in-flight requests");
            token.cancel(); // WebSockets say goodbye, the background job stops
        })
        .await?;

    // Every tracked task (job, WebSockets, export streams) has been told to stop: wait for them.
    tracker.close();
    tracker.wait().await;
    upstreams_stop.cancel();
    pool.close().await; // checkpoints the WAL and closes the file cleanly
    println!("shutdown complete");
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: signal
/// A future that completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM. The handlers are installed
/// when this function is called, not when the future is first polled.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
// ANCHOR_END: signal
