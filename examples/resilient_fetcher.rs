//! A resilient HTTP fetcher: the capstone of the "Production patterns" chapter.
//!
//! It fetches a list of URLs and combines the chapter's patterns:
//! - a concurrency limit (a `Semaphore`) and an optional request rate (`tokio::time::interval`);
//! - a timeout on every attempt;
//! - retries with exponential backoff and full jitter, only for errors worth retrying;
//! - a circuit breaker per host, so a dead dependency is not hammered;
//! - graceful shutdown through a `CancellationToken`: no new attempts start, attempts in flight
//!   finish (each is bounded by its timeout), and every URL still gets an answer.
//!
//! Run it with no arguments to start a small flaky server on 127.0.0.1 and fetch from it:
//!     cargo run --example resilient_fetcher
//! or give it URLs (plain http only), optionally with a deadline after which it shuts down:
//!     cargo run --example resilient_fetcher -- --deadline-ms 500 http://127.0.0.1:8080/a ...

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

// ANCHOR: config
/// Every knob of the fetcher in one place.
#[derive(Debug, Clone)]
pub struct Config {
    /// At most this many requests in flight at once (the bulkhead for all hosts together).
    pub concurrency: usize,
    /// At most this many attempts started per second, if set.
    pub rate_per_sec: Option<u32>,
    /// How long one attempt (connect, send, read the body) may take.
    pub attempt_timeout: Duration,
    /// Attempts per URL, the first one included.
    pub max_attempts: u32,
    /// Backoff before retry n is a random duration in [0, min(max_delay, base_delay * 2^n)).
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Consecutive failures that open a host's circuit, and how long it stays open.
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    /// Seed of the jitter generator (fixed seed, repeatable schedule).
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            concurrency: 4,
            rate_per_sec: None,
            attempt_timeout: Duration::from_millis(500),
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(2),
            seed: 0x5eed,
        }
    }
}
// ANCHOR_END: config

// ANCHOR: errors
/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchError {
    /// The server answered with an error status.
    Status(u16),
    /// The attempt took longer than `attempt_timeout`.
    Timeout,
    /// Nobody accepted the connection (refused, unreachable).
    Connect,
    /// Anything else: a malformed URL, a broken body, ...
    Other(String),
}

impl FetchError {
    /// Transient failures deserve another try; the others would fail the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Status(code) => *code >= 500 || *code == 429,
            FetchError::Timeout | FetchError::Connect => true,
            FetchError::Other(_) => false,
        }
    }

    /// Does this failure say the dependency is unhealthy? (A 404 is the caller's problem.)
    fn counts_against_host(&self) -> bool {
        self.is_retryable()
    }
}

/// What the fetcher says about one URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok {
        status: u16,
        body: String,
        attempts: u32,
    },
    Failed {
        error: FetchError,
        attempts: u32,
    },
    /// The host's circuit was open: the request was refused without touching the network.
    CircuitOpen {
        attempts: u32,
    },
    /// Shutdown arrived before this URL could be (re)tried.
    Cancelled {
        attempts: u32,
    },
}

impl Outcome {
    pub fn attempts(&self) -> u32 {
        match self {
            Outcome::Ok { attempts, .. }
            | Outcome::Failed { attempts, .. }
            | Outcome::CircuitOpen { attempts }
            | Outcome::Cancelled { attempts } => *attempts,
        }
    }
}
// ANCHOR_END: errors

// ANCHOR: breaker
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BreakerState {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

/// A circuit breaker: closed (calls pass), open (calls refused), half-open (one probe allowed).
#[derive(Debug)]
pub struct CircuitBreaker {
    state: Mutex<BreakerState>,
    threshold: u32,
    cooldown: Duration,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        CircuitBreaker {
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
            threshold,
            cooldown,
        }
    }

    pub fn state(&self) -> BreakerState {
        *self.state.lock().unwrap()
    }

    /// May a call go through now? An open breaker whose cool-down is over lets exactly one
    /// probe through (half-open); everyone else is refused until the probe reports back.
    pub fn try_acquire(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        match *state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until } if Instant::now() >= until => {
                *state = BreakerState::HalfOpen;
                true
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen => false,
        }
    }

    pub fn record_success(&self) {
        *self.state.lock().unwrap() = BreakerState::Closed { failures: 0 };
    }

    pub fn record_failure(&self) {
        let mut state = self.state.lock().unwrap();
        let open = BreakerState::Open {
            until: Instant::now() + self.cooldown,
        };
        *state = match *state {
            BreakerState::Closed { failures } if failures + 1 < self.threshold => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            // The threshold is reached, or the half-open probe failed: (re)open.
            _ => open,
        };
    }
}
// ANCHOR_END: breaker

/// A tiny xorshift generator: enough for jitter, repeatable from a seed, no extra crate.
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

// ANCHOR: backoff
/// Full jitter: a random delay between zero and the capped exponential bound.
fn backoff_delay(config: &Config, retry: u32, rng: &mut XorShift) -> Duration {
    let exp = config
        .base_delay
        .saturating_mul(2u32.saturating_pow(retry.min(16)));
    let cap = exp.min(config.max_delay);
    let cap_ms = cap.as_millis().max(1) as u64;
    Duration::from_millis(rng.next_u64() % cap_ms)
}
// ANCHOR_END: backoff

/// The fetcher: one per run, shared by all the tasks.
pub struct Fetcher {
    config: Config,
    client: reqwest::Client,
    limit: Semaphore,
    rate: Option<tokio::sync::Mutex<Interval>>,
    breakers: Mutex<HashMap<String, Arc<CircuitBreaker>>>,
    rng: Mutex<XorShift>,
    shutdown: CancellationToken,
}

impl Fetcher {
    pub fn new(config: Config, shutdown: CancellationToken) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .no_proxy() // loopback only: never route through a proxy from the environment
            .build()
            .expect("an HTTP client");
        let rate = config.rate_per_sec.map(|per_sec| {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / per_sec.max(1));
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            tokio::sync::Mutex::new(tick)
        });
        Arc::new(Fetcher {
            limit: Semaphore::new(config.concurrency.max(1)),
            rng: Mutex::new(XorShift(config.seed | 1)),
            config,
            client,
            rate,
            breakers: Mutex::new(HashMap::new()),
            shutdown,
        })
    }

    /// The breaker guarding `url`'s host (one per host:port).
    pub fn breaker_for(&self, url: &str) -> Arc<CircuitBreaker> {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_else(|| url.to_string());
        let mut breakers = self.breakers.lock().unwrap();
        breakers
            .entry(host)
            .or_insert_with(|| {
                Arc::new(CircuitBreaker::new(
                    self.config.breaker_threshold,
                    self.config.breaker_cooldown,
                ))
            })
            .clone()
    }

    // ANCHOR: attempt
    /// Wait for a free slot (the concurrency limit) and, if a rate is set, for the next tick.
    async fn slot(&self) -> SemaphorePermit<'_> {
        let permit = self
            .limit
            .acquire()
            .await
            .expect("the semaphore is never closed");
        if let Some(rate) = &self.rate {
            rate.lock().await.tick().await;
        }
        permit
    }

    /// One attempt: send the request and read the body, all under one timeout.
    async fn attempt(&self, url: &str) -> Result<(u16, String), FetchError> {
        let request = async {
            let response = self.client.get(url).send().await.map_err(classify)?;
            let status = response.status().as_u16();
            let body = response.text().await.map_err(classify)?;
            if status >= 400 {
                return Err(FetchError::Status(status));
            }
            Ok((status, body))
        };
        match timeout(self.config.attempt_timeout, request).await {
            Ok(result) => result,
            Err(_elapsed) => Err(FetchError::Timeout), // dropping `request` closes the connection
        }
    }
    // ANCHOR_END: attempt

    // ANCHOR: fetch
    /// Fetch one URL with retries, the breaker and shutdown taken into account.
    pub async fn fetch(&self, url: &str) -> Outcome {
        let breaker = self.breaker_for(url);
        let mut attempts = 0;
        loop {
            // Shutdown wins over a free slot: waiting requests give up, none starts.
            let permit = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return Outcome::Cancelled { attempts },
                permit = self.slot() => permit,
            };
            if !breaker.try_acquire() {
                return Outcome::CircuitOpen { attempts };
            }
            attempts += 1;
            let result = self.attempt(url).await;
            drop(permit); // the slot is held while the request is in flight, never during backoff
            let error = match result {
                Ok((status, body)) => {
                    breaker.record_success();
                    return Outcome::Ok {
                        status,
                        body,
                        attempts,
                    };
                }
                Err(error) => error,
            };
            if error.counts_against_host() {
                breaker.record_failure();
            } else {
                breaker.record_success(); // the host answered; the request was at fault
            }
            if !error.is_retryable() || attempts >= self.config.max_attempts {
                return Outcome::Failed { error, attempts };
            }
            let delay = backoff_delay(&self.config, attempts - 1, &mut self.rng.lock().unwrap());
            tokio::select! {
                _ = sleep(delay) => {}
                _ = self.shutdown.cancelled() => return Outcome::Cancelled { attempts },
            }
        }
    }
    // ANCHOR_END: fetch
}

fn classify(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        FetchError::Timeout
    } else if error.is_connect() {
        FetchError::Connect
    } else {
        FetchError::Other(error.to_string())
    }
}

// ANCHOR: fetch_all
/// Fetch every URL concurrently; the answers come back in the order of `urls`. When `shutdown`
/// is cancelled, attempts in flight finish and everything else reports `Cancelled`.
pub async fn fetch_all(
    urls: Vec<String>,
    config: Config,
    shutdown: CancellationToken,
) -> Vec<(String, Outcome)> {
    let fetcher = Fetcher::new(config, shutdown);
    let mut tasks = JoinSet::new();
    for (index, url) in urls.iter().cloned().enumerate() {
        let fetcher = Arc::clone(&fetcher);
        tasks.spawn(async move { (index, fetcher.fetch(&url).await) });
    }
    let mut outcomes: Vec<Option<Outcome>> = vec![None; urls.len()];
    while let Some(joined) = tasks.join_next().await {
        let (index, outcome) = joined.expect("a fetch task panicked");
        outcomes[index] = Some(outcome);
    }
    urls.into_iter()
        .zip(
            outcomes
                .into_iter()
                .map(|o| o.expect("every task answered")),
        )
        .collect()
}
// ANCHOR_END: fetch_all

/// One line per URL, the way `main` prints it.
pub fn describe(url: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok {
            status, attempts, ..
        } => format!("ok        {status} after {attempts} attempt(s)  {url}"),
        Outcome::Failed { error, attempts } => {
            format!("failed    {error:?} after {attempts} attempt(s)  {url}")
        }
        Outcome::CircuitOpen { attempts } => {
            format!("rejected  circuit open after {attempts} attempt(s)  {url}")
        }
        Outcome::Cancelled { attempts } => {
            format!("cancelled after {attempts} attempt(s)  {url}")
        }
    }
}

/// "summary: 3 ok, 2 failed, 1 rejected, 0 cancelled"
pub fn summary(outcomes: &[(String, Outcome)]) -> String {
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|(_, o)| f(o)).count();
    format!(
        "summary: {} ok, {} failed, {} rejected, {} cancelled",
        count(|o| matches!(o, Outcome::Ok { .. })),
        count(|o| matches!(o, Outcome::Failed { .. })),
        count(|o| matches!(o, Outcome::CircuitOpen { .. })),
        count(|o| matches!(o, Outcome::Cancelled { .. })),
    )
}

// ANCHOR: demo_server
/// A small flaky server for the demo: `/ok`, `/flaky` (two 500s, then 200), `/slow` (200 after
/// 100 ms), `/hang` (never answers in time) and `/missing` (404).
pub async fn start_demo_server(shutdown: CancellationToken) -> SocketAddr {
    use axum::{http::StatusCode, routing::get, Router};
    use std::sync::atomic::{AtomicU32, Ordering};

    let flaky_calls = Arc::new(AtomicU32::new(0));
    let app = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/flaky",
            get(move || async move {
                match flaky_calls.fetch_add(1, Ordering::SeqCst) {
                    0 | 1 => (StatusCode::INTERNAL_SERVER_ERROR, "oops"),
                    _ => (StatusCode::OK, "recovered"),
                }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                sleep(Duration::from_millis(100)).await;
                "slow but fine"
            }),
        )
        .route(
            "/hang",
            get(|| async {
                sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        )
        .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .expect("demo server");
    });
    addr
}
// ANCHOR_END: demo_server

/// A port on 127.0.0.1 with nothing listening (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

// ANCHOR: main
#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut deadline = None;
    if let Some(pos) = args.iter().position(|a| a == "--deadline-ms") {
        let ms: u64 = args
            .get(pos + 1)
            .and_then(|v| v.parse().ok())
            .expect("--deadline-ms needs a number of milliseconds");
        deadline = Some(Duration::from_millis(ms));
        args.drain(pos..pos + 2);
    }

    let shutdown = CancellationToken::new();
    let server_stop = CancellationToken::new();
    let urls = if args.is_empty() {
        let addr = start_demo_server(server_stop.clone()).await;
        let refused = closed_port();
        println!("no URLs given: fetching from a flaky demo server on {addr}");
        ["ok", "flaky", "slow", "hang", "missing"]
            .iter()
            .map(|path| format!("http://{addr}/{path}"))
            .chain([format!("http://127.0.0.1:{refused}/nothing-here")])
            .collect()
    } else {
        args
    };

    // Ctrl-C, or the deadline if one was given, starts a graceful shutdown.
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        let deadline = async {
            match deadline {
                Some(d) => sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => println!("ctrl-c: shutting down"),
            _ = deadline => println!("deadline reached: shutting down"),
        }
        trigger.cancel();
    });

    let config = Config::default(); // 4 at a time, 500 ms per attempt, 3 attempts
    let started = std::time::Instant::now();
    let outcomes = fetch_all(urls, config, shutdown).await;
    for (url, outcome) in &outcomes {
        println!("{}", describe(url, outcome));
    }
    println!("{}", summary(&outcomes));
    println!("finished in {} ms", started.elapsed().as_millis());
    server_stop.cancel();
}
// ANCHOR_END: main
