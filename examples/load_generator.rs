//! A small load generator for the bookshelf service (loopback only).
//!
//! It starts the bookshelf example (built next to this binary) on 127.0.0.1:0, or uses `--url`,
//! then, for each endpoint, runs `--users` concurrent clients until `--requests` requests are done
//! or `--max-secs` have passed, and prints requests per second and latency percentiles.
//!
//! cargo build --release --example bookshelf --example load_generator
//! ./target/release/examples/load_generator --users 100 --requests 2000 --max-secs 10

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Measure the bookshelf service: async vs blocking handlers under load")]
struct Args {
    /// Base URL of a running bookshelf (must be loopback). Default: start one.
    #[arg(long)]
    url: Option<String>,
    /// Concurrent clients ("users"), each sending one request after another.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Requests per endpoint (upper bound).
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Seconds per endpoint (upper bound).
    #[arg(long, default_value_t = 10)]
    max_secs: u64,
    /// Requests per endpoint sent first and not measured (connections opened, caches warm).
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// How long the /slow endpoints wait per request.
    #[arg(long, default_value_t = 20)]
    ms: u64,
    /// Worker threads of the bookshelf it starts. The blocking handler's penalty depends on
    /// users per worker thread, so the result is the same on a machine with any number of cores.
    #[arg(long, default_value_t = 2)]
    service_threads: usize,
    /// Comma-separated endpoints: slow, slow-blocking, slow-spawn-blocking, overview.
    #[arg(
        long,
        default_value = "slow,slow-blocking,slow-spawn-blocking,overview"
    )]
    endpoints: String,
}

/// The started service; killed (after a Ctrl-C attempt) when dropped.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        // Ctrl-C first, so the service shuts down gracefully. SAFETY: kill(2) on our own child.
        if let Ok(pid) = libc::pid_t::try_from(self.0.id()) {
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_service(db: &std::path::Path, threads: usize) -> (Service, String) {
    let exe = std::env::current_exe().expect("own path");
    let bin = exe.with_file_name(format!("bookshelf{}", std::env::consts::EXE_SUFFIX));
    let mut child = Command::new(&bin)
        .args(["--addr", "127.0.0.1:0", "--demo-endpoints", "--db"])
        .arg(db)
        .args(["--worker-threads", &threads.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (build the bookshelf example)",
                bin.display()
            )
        });
    let stdout = child.stdout.take().expect("piped stdout");
    let service = Service(child);
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("bookshelf exited before printing its URL")
            .expect("read stdout");
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.trim().to_string();
        }
    };
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (service, url)
}

struct Outcome {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

// ANCHOR: run_load
/// `users` tasks share one counter of requests left; each sends, waits, records, repeats.
async fn run_load(
    client: &reqwest::Client,
    url: &str,
    users: usize,
    requests: usize,
    max: Duration,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + max;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..users {
        let (client, url, next) = (client.clone(), url.to_string(), next.clone());
        workers.spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            while next.fetch_add(1, Ordering::Relaxed) < requests && Instant::now() < deadline {
                let sent = Instant::now();
                let ok = match client.get(&url).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    latencies.push(sent.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        });
    }
    let mut outcome = Outcome {
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    while let Some(done) = workers.join_next().await {
        let (latencies, errors) = done.expect("worker panicked");
        outcome.latencies.extend(latencies);
        outcome.errors += errors;
    }
    outcome.elapsed = start.elapsed();
    outcome.latencies.sort();
    outcome
}
// ANCHOR_END: run_load

/// Is `url` plain http to this machine? The host is parsed, not prefix-matched:
/// `http://127.0.0.1.example.com` is not loopback.
fn is_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    url.scheme() == "http"
        && match url.host_str() {
            Some("localhost") => true,
            Some(host) => host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
            None => false,
        }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("temp dir");
    let (_service, base) = match &args.url {
        Some(url) => (None, url.trim_end_matches('/').to_string()),
        None => {
            let (service, url) = start_service(&dir.path().join("load.db"), args.service_threads);
            (Some(service), url)
        }
    };
    assert!(is_loopback(&base), "loopback only: {base}");

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.users)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    // One book, so /books/1/overview has something to enrich.
    let created = client
        .post(format!("{base}/books"))
        .json(&serde_json::json!({ "title": "Load", "author": "Generator" }))
        .send()
        .await
        .expect("POST /books");
    let book: serde_json::Value = created.json().await.expect("book JSON");
    let id = book["id"].as_i64().expect("book id");

    println!(
        "bookshelf load test: {} users, at most {} requests or {} s per endpoint, {}{}",
        args.users,
        args.requests,
        args.max_secs,
        base,
        if args.url.is_none() {
            format!(" ({} worker threads)", args.service_threads)
        } else {
            String::new()
        }
    );
    println!(
        "{:<30} {:>8} {:>6} {:>7} {:>9} {:>8} {:>8} {:>8}",
        "endpoint", "requests", "errors", "secs", "req/s", "p50 ms", "p90 ms", "p99 ms"
    );
    for name in args.endpoints.split(',').map(str::trim) {
        let path = match name {
            "overview" => format!("/books/{id}/overview"),
            "slow" | "slow-blocking" | "slow-spawn-blocking" => format!("/{name}?ms={}", args.ms),
            other => panic!("unknown endpoint {other}"),
        };
        let url = format!("{base}{path}");
        if args.warmup > 0 {
            let warm = Duration::from_secs(args.max_secs);
            run_load(&client, &url, args.users, args.warmup, warm).await;
        }
        let out = run_load(
            &client,
            &url,
            args.users,
            args.requests,
            Duration::from_secs(args.max_secs),
        )
        .await;
        let ok = out.latencies.len();
        println!(
            "{:<30} {:>8} {:>6} {:>7.2} {:>9.1} {:>8.1} {:>8.1} {:>8.1}",
            path,
            ok,
            out.errors,
            out.elapsed.as_secs_f64(),
            ok as f64 / out.elapsed.as_secs_f64(),
            percentile(&out.latencies, 50.0),
            percentile(&out.latencies, 90.0),
            percentile(&out.latencies, 99.0),
        );
    }
}
