//! bookshelf: a small JSON API on axum + hyper + tokio + sqlx (SQLite), the service of the
//! chapter "Async web services".
//!
//! cargo run --example bookshelf -- --db /tmp/bookshelf.db --addr 127.0.0.1:3000
//!
//! Endpoints: GET /health, GET|POST /books, GET|DELETE /books/{id}, GET /books/{id}/overview
//! (fans out to two upstream services), GET /books/{id}/rating (cached), GET /books/export
//! (streamed), GET /ws (WebSocket events), GET /stats, GET /slow, and with --demo-endpoints
//! /slow-blocking (anti-pattern) and /slow-spawn-blocking. Ctrl-C (SIGINT) or SIGTERM shuts it
//! down gracefully within --shutdown-grace-ms; a second signal ends it at once.

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

use axum::Router;
use clap::Parser;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::routes::{AppState, Limits};

#[derive(Parser, Debug)]
#[command(about = "A small async JSON API: books in SQLite, two upstreams, a cache, WebSockets")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// SQLite database file (default: $BOOKSHELF_DB, else bookshelf.db in the current directory).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Worker threads of the runtime (default: one per core, or $TOKIO_WORKER_THREADS).
    #[arg(long)]
    worker_threads: Option<usize>,
    /// Serve /slow-blocking and /slow-spawn-blocking (demonstrations of blocking the runtime).
    #[arg(long)]
    demo_endpoints: bool,
    /// Base URL of the reviews service (default: start a fake one on 127.0.0.1).
    #[arg(long)]
    reviews_url: Option<String>,
    /// Base URL of the stock service (default: start a fake one on 127.0.0.1).
    #[arg(long)]
    stock_url: Option<String>,
    /// Delay of the fake reviews service.
    #[arg(long, default_value_t = 50)]
    reviews_delay_ms: u64,
    /// Delay of the fake stock service.
    #[arg(long, default_value_t = 80)]
    stock_delay_ms: u64,
    /// Time limit for each upstream call.
    #[arg(long, default_value_t = 500)]
    upstream_timeout_ms: u64,
    /// Time limit for a whole request, waiting for a turn included (503 after it).
    #[arg(long, default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// Largest accepted request body, in bytes (413 above).
    #[arg(long, default_value_t = 64 * 1024)]
    body_limit: usize,
    /// Requests handled at once; more wait their turn, within the request timeout.
    #[arg(long, default_value_t = 1024)]
    max_concurrency: usize,
    /// Open connections at once; more wait in the kernel's accept queue.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// A connection must send a request's headers within this time, also while it is idle.
    #[arg(long, default_value_t = 10_000)]
    header_read_timeout_ms: u64,
    /// Exports streaming at once (503 above).
    #[arg(long, default_value_t = 4)]
    max_exports: usize,
    /// WebSockets open at once (503 above).
    #[arg(long, default_value_t = 1024)]
    max_websockets: usize,
    /// Period of the WebSocket ping; a peer that has not answered by the next one is dropped.
    #[arg(long, default_value_t = 15_000)]
    ws_ping_ms: u64,
    /// Longest wait for a slow client to take one more piece of an export or one more event.
    #[arg(long, default_value_t = 10_000)]
    send_timeout_ms: u64,
    /// How long a cached rating stays fresh.
    #[arg(long, default_value_t = 30_000)]
    cache_ttl_ms: u64,
    /// How long a failed fill is remembered (no upstream call for that key meanwhile).
    #[arg(long, default_value_t = 1_000)]
    cache_failure_ttl_ms: u64,
    /// Most ratings kept in the cache.
    #[arg(long, default_value_t = 10_000)]
    cache_capacity: usize,
    /// Period of the background cache janitor.
    #[arg(long, default_value_t = 1_000)]
    job_interval_ms: u64,
    /// Size of the database connection pool.
    #[arg(long, default_value_t = 8)]
    db_connections: u32,
    /// After the shutdown signal, how long in-flight work may take before it is abandoned.
    #[arg(long, default_value_t = 5_000)]
    shutdown_grace_ms: u64,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    // Logs go to stderr; RUST_LOG chooses what (`RUST_LOG=tower_http=debug` traces each request).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.worker_threads {
        runtime.worker_threads(n); // overrides TOKIO_WORKER_THREADS
    }
    let runtime = runtime.enable_all().build()?;
    let result = runtime.block_on(run(args));
    // Blocking calls still running (a `spawn_blocking` cannot be cancelled) get one more second.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

// ANCHOR: main
async fn run(args: Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let db_path = args
        .db
        .or_else(|| std::env::var_os("BOOKSHELF_DB").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("bookshelf.db"));

    // Install the signal handlers first: a Ctrl-C that arrives at any time after
    // "listening on" is printed starts a graceful shutdown; a second one ends the process.
    let mut signals = Signals::install()?;
    let shutdown = CancellationToken::new(); // tells long-lived tasks to stop
    let tracker = TaskTracker::new(); // lets us wait until they have stopped
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        signals.recv().await;
        println!("shutting down: finishing in-flight requests");
        trigger.cancel(); // stop accepting; WebSockets say goodbye; exports and the job stop
        signals.recv().await;
        println!("second signal: exiting now");
        std::process::exit(130);
    });

    let pool = db::open(&db_path, args.db_connections).await?;
    // The two fake upstream services (unless real ones are named) stop after the main server.
    let upstreams_stop = CancellationToken::new();
    let reviews = upstream::connect(
        "reviews",
        args.reviews_url,
        ms(args.reviews_delay_ms),
        &upstreams_stop,
    )
    .await?;
    let stock = upstream::connect(
        "stock",
        args.stock_url,
        ms(args.stock_delay_ms),
        &upstreams_stop,
    )
    .await?;

    let limits = Limits {
        request_timeout: ms(args.request_timeout_ms),
        body_limit: args.body_limit,
        max_concurrency: args.max_concurrency,
        send_timeout: ms(args.send_timeout_ms),
        ws_ping: ms(args.ws_ping_ms),
        demo_endpoints: args.demo_endpoints,
    };
    let state = AppState {
        pool: pool.clone(),
        http: upstream::client(),
        reviews,
        stock,
        upstream_timeout: ms(args.upstream_timeout_ms),
        rating_cache: Arc::new(cache::Cache::new(
            ms(args.cache_ttl_ms),
            ms(args.cache_failure_ttl_ms),
            args.cache_capacity,
        )),
        events: broadcast::channel(64).0,
        exports: Arc::new(Semaphore::new(args.max_exports)),
        websockets: Arc::new(Semaphore::new(args.max_websockets)),
        send_timeout: limits.send_timeout,
        ws_ping: limits.ws_ping,
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
    let app = routes::router(state, &limits);

    let listener = TcpListener::bind(args.addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!("database: {}", db_path.display());

    let server = Server {
        header_read_timeout: ms(args.header_read_timeout_ms),
        connections: Arc::new(Semaphore::new(args.max_connections)),
    };
    let connections = server.accept_until(listener, app, shutdown.clone()).await;

    // Stopped accepting. Give in-flight requests, WebSockets, exports and the job the grace
    // period to finish, and abandon whatever is left: a client that stopped reading cannot
    // hold the process hostage.
    let grace = ms(args.shutdown_grace_ms);
    tracker.close();
    let drain = async {
        connections.wait().await; // every connection has finished its last response
        tracker.wait().await; // every tracked task has returned
    };
    if tokio::time::timeout(grace, drain).await.is_err() {
        println!(
            "grace period of {} ms over: abandoning {} connection(s) and {} task(s)",
            grace.as_millis(),
            connections.len(),
            tracker.len()
        );
    }
    upstreams_stop.cancel();
    // Checkpoints the WAL and closes the file, unless a connection is still out (then SQLite's
    // own recovery takes over at the next start).
    let _ = tokio::time::timeout(Duration::from_secs(1), pool.close()).await;
    println!("shutdown complete");
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: server
/// The accept loop (what `axum::serve` does, plus the limits a public server needs).
struct Server {
    /// Headers of each request must arrive within this; it also closes idle keep-alive connections.
    header_read_timeout: Duration,
    /// One permit per open connection.
    connections: Arc<Semaphore>,
}

impl Server {
    /// Accept connections until `stop` is cancelled; each runs in its own task, on the returned
    /// tracker, and finishes its current response, then closes, once `stop` is cancelled.
    async fn accept_until(
        self,
        listener: TcpListener,
        app: Router,
        stop: CancellationToken,
    ) -> TaskTracker {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new()) // without a timer, hyper's timeouts are off
            .header_read_timeout(self.header_read_timeout);
        let connections = TaskTracker::new();
        loop {
            // A free connection slot first, so that a full house waits in the kernel's queue.
            let permit = tokio::select! {
                _ = stop.cancelled() => break,
                permit = self.connections.clone().acquire_owned() => permit.expect("never closed"),
            };
            let stream = tokio::select! {
                _ = stop.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(e) => {
                        // Out of file descriptors (EMFILE) and the like: back off, do not spin.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let service = TowerToHyperService::new(app.clone());
            let connection = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let stop = stop.clone();
            connections.spawn(async move {
                let mut connection = std::pin::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => {}
                    _ = stop.cancelled() => {
                        // Finish the response in progress, then close (no more keep-alive).
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
                drop(permit);
            });
        }
        connections.close();
        connections // the listener is dropped here: new connections are refused
    }
}
// ANCHOR_END: server

// ANCHOR: signal
/// Ctrl-C (SIGINT) or, on Unix, SIGTERM, as many times as they come. The handlers are installed
/// by `install`, before the first `recv`. Once tokio handles a signal, the operating system's
/// default action (ending the process) is gone for good, so a second Ctrl-C only does
/// something if the program listens for it.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
// ANCHOR_END: signal
