//! A resilient HTTP fetcher: the capstone of the "Production patterns" chapter.
//!
//! It fetches a list of URLs and combines the chapter's patterns:
//! - a bounded number of URLs in progress, however long the input;
//! - a concurrency limit for all hosts and a bulkhead per host (`Semaphore`s), and an optional
//!   request rate (`tokio::time::interval`);
//! - a timeout and a size cap on every attempt;
//! - retries with exponential backoff and full jitter, only for errors worth retrying;
//! - a circuit breaker per host, correct under concurrency, so a dead dependency is not hammered;
//! - graceful shutdown (Ctrl-C, SIGTERM, a deadline) through a `CancellationToken`: no new
//!   attempts start, attempts in flight finish (each is bounded by its timeout), and every URL
//!   still gets an answer.
//!
//! Run it with no arguments to start a small flaky server on 127.0.0.1 and fetch from it:
//!     cargo run --example resilient_fetcher
//! or give it URLs (plain http only), optionally with a deadline after which it shuts down and
//! a time limit per attempt:
//!     cargo run --example resilient_fetcher -- --deadline-ms 500 http://127.0.0.1:8080/a ...
//!     cargo run --example resilient_fetcher -- --attempt-timeout-ms 2000 http://...

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::{Id, JoinSet};
use tokio::time::{sleep, timeout, Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

// ANCHOR: config
/// Every knob of the fetcher in one place.
#[derive(Debug, Clone)]
pub struct Config {
    /// At most this many requests in flight at once, all hosts together.
    pub concurrency: usize,
    /// At most this many in flight to any one host (its bulkhead): a hanging host cannot take
    /// every slot of `concurrency`.
    pub per_host: usize,
    /// At most this many URLs in progress (waiting, in flight or backing off): memory stays
    /// bounded however long the input is.
    pub max_pending: usize,
    /// Largest body read, in bytes; a larger answer fails with `TooLarge`.
    pub max_body: usize,
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
    /// Seed of the jitter generator. The default is random, so that a fleet of fetchers that
    /// failed together does not retry together; tests fix it.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            concurrency: 4,
            per_host: 2,
            max_pending: 64,
            max_body: 1 << 20,
            rate_per_sec: None,
            attempt_timeout: Duration::from_millis(500),
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(2),
            seed: rand::random(),
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
    /// The connection broke: reset, closed before the answer, a body cut off.
    Transport,
    /// The body was larger than `max_body`.
    TooLarge,
    /// Anything else: a malformed URL, a task that panicked, ...
    Other(String),
}

impl FetchError {
    /// Transient failures deserve another try; the others would fail the same way again.
    /// (Every request here is a GET, which may safely be sent twice.)
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Status(code) => matches!(code, 408 | 429 | 500 | 502 | 503 | 504),
            FetchError::Timeout | FetchError::Connect | FetchError::Transport => true,
            FetchError::TooLarge | FetchError::Other(_) => false,
        }
    }

    /// Does this failure say the host is unhealthy? A 404 or a 501 is an answer: the host works.
    fn counts_against_host(&self) -> bool {
        match self {
            FetchError::Status(code) => matches!(code, 429 | 500 | 502 | 503 | 504),
            FetchError::Timeout | FetchError::Connect | FetchError::Transport => true,
            FetchError::TooLarge | FetchError::Other(_) => false,
        }
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
///
/// Calls overlap: one admitted while the breaker was closed can finish after it opened. So
/// every admitted call gets a `Ticket` naming the state it was admitted in (a generation number
/// that changes with every transition), and an outcome only counts against the state it was
/// admitted in. Only the half-open probe can close an open breaker.
#[derive(Debug)]
pub struct CircuitBreaker {
    inner: Mutex<Inner>,
    threshold: u32,
    cooldown: Duration,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    generation: u64,
}

/// Permission for one call. Report its outcome with `success` or `failure`. A probe dropped
/// without a report (its future was cancelled) counts as a failure, so a cancelled probe cannot
/// leave the breaker half-open for ever.
#[derive(Debug)]
pub struct Ticket<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    probe: bool,
    reported: bool,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        CircuitBreaker {
            inner: Mutex::new(Inner {
                state: BreakerState::Closed { failures: 0 },
                generation: 0,
            }),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    pub fn state(&self) -> BreakerState {
        self.inner.lock().unwrap().state
    }

    /// May a call go through now? An open breaker whose cool-down is over lets exactly one
    /// probe through (half-open); everyone else is refused until the probe reports back.
    pub fn try_acquire(&self) -> Option<Ticket<'_>> {
        let mut inner = self.inner.lock().unwrap();
        let probe = match inner.state {
            BreakerState::Closed { .. } => false,
            BreakerState::Open { until } if Instant::now() >= until => {
                inner.move_to(BreakerState::HalfOpen);
                true
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen => return None,
        };
        Some(Ticket {
            breaker: self,
            generation: inner.generation,
            probe,
            reported: false,
        })
    }

    /// Would `try_acquire` refuse now? (It does not start a probe.)
    pub fn refuses(&self) -> bool {
        match self.inner.lock().unwrap().state {
            BreakerState::Closed { .. } => false,
            BreakerState::Open { until } => Instant::now() < until,
            BreakerState::HalfOpen => true,
        }
    }

    fn report(&self, generation: u64, probe: bool, healthy: bool) {
        let mut inner = self.inner.lock().unwrap();
        if generation != inner.generation {
            return; // admitted in an earlier state: a stale outcome says nothing about now
        }
        let open = BreakerState::Open {
            until: Instant::now() + self.cooldown,
        };
        match (inner.state, healthy) {
            (BreakerState::Closed { .. }, true) => {
                inner.state = BreakerState::Closed { failures: 0 }
            }
            (BreakerState::Closed { failures }, false) if failures + 1 < self.threshold => {
                inner.state = BreakerState::Closed {
                    failures: failures + 1,
                };
            }
            (BreakerState::Closed { .. }, false) => inner.move_to(open),
            (BreakerState::HalfOpen, true) if probe => {
                inner.move_to(BreakerState::Closed { failures: 0 })
            }
            (BreakerState::HalfOpen, false) if probe => inner.move_to(open),
            _ => {}
        }
    }
}

impl Inner {
    fn move_to(&mut self, state: BreakerState) {
        self.state = state;
        self.generation += 1;
    }
}

impl Ticket<'_> {
    /// The host answered (whatever the status): it is alive.
    pub fn success(mut self) {
        self.reported = true;
        self.breaker.report(self.generation, self.probe, true);
    }

    /// The host failed: a timeout, a refused or broken connection, a 5xx.
    pub fn failure(mut self) {
        self.reported = true;
        self.breaker.report(self.generation, self.probe, false);
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.reported && self.probe {
            self.breaker.report(self.generation, true, false);
        }
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

/// What the fetcher keeps per host: its breaker and its bulkhead.
#[derive(Debug)]
pub struct Host {
    pub breaker: CircuitBreaker,
    limit: Semaphore,
}

/// The fetcher: one per run, shared by all the tasks.
pub struct Fetcher {
    config: Config,
    client: reqwest::Client,
    limit: Semaphore,
    rate: Option<tokio::sync::Mutex<Interval>>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    rng: Mutex<XorShift>,
    shutdown: CancellationToken,
}

impl Fetcher {
    pub fn new(config: Config, shutdown: CancellationToken) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .no_proxy() // never route through a proxy from the environment
            // A redirect would be a request to another host (maybe one nobody chose), outside
            // that host's breaker and bulkhead: report it as the answer instead.
            .redirect(reqwest::redirect::Policy::none())
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
            hosts: Mutex::new(HashMap::new()),
            shutdown,
        })
    }

    /// The breaker and bulkhead of `url`'s host (one per host:port).
    pub fn host_for(&self, url: &str) -> Arc<Host> {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_else(|| url.to_string());
        let mut hosts = self.hosts.lock().unwrap();
        hosts
            .entry(host)
            .or_insert_with(|| {
                Arc::new(Host {
                    breaker: CircuitBreaker::new(
                        self.config.breaker_threshold,
                        self.config.breaker_cooldown,
                    ),
                    limit: Semaphore::new(self.config.per_host.max(1)),
                })
            })
            .clone()
    }

    // ANCHOR: attempt
    /// Wait for a slot on this host (its bulkhead), then for a global slot and, if a rate is
    /// set, for the next tick.
    async fn slot<'a>(&'a self, host: &'a Host) -> (SemaphorePermit<'a>, SemaphorePermit<'a>) {
        let mine = host
            .limit
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let global = self
            .limit
            .acquire()
            .await
            .expect("the semaphore is never closed");
        if let Some(rate) = &self.rate {
            rate.lock().await.tick().await;
        }
        (mine, global)
    }

    /// One attempt: send the request and read at most `max_body` bytes, all under one timeout.
    async fn attempt(&self, url: &str) -> Result<(u16, String), FetchError> {
        let request = async {
            let mut response = self.client.get(url).send().await.map_err(classify)?;
            let status = response.status().as_u16();
            if status >= 400 {
                return Err(FetchError::Status(status)); // the body is not read at all
            }
            let max = self.config.max_body;
            if response.content_length().is_some_and(|n| n > max as u64) {
                return Err(FetchError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                if body.len() + chunk.len() > max {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, String::from_utf8_lossy(&body).into_owned()))
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
        let host = self.host_for(url);
        let mut attempts = 0;
        loop {
            // Ask the breaker first, so that a refused call waits for nothing and uses up no
            // rate tick; and again once a slot is free, since it may have opened meanwhile.
            if host.breaker.refuses() {
                return Outcome::CircuitOpen { attempts };
            }
            // Shutdown wins over a free slot: waiting requests give up, none starts.
            let slot = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return Outcome::Cancelled { attempts },
                slot = self.slot(&host) => slot,
            };
            let Some(ticket) = host.breaker.try_acquire() else {
                return Outcome::CircuitOpen { attempts };
            };
            attempts += 1;
            let result = self.attempt(url).await;
            drop(slot); // the slots are held while the request is in flight, never during backoff
            let error = match result {
                Ok((status, body)) => {
                    ticket.success();
                    return Outcome::Ok {
                        status,
                        body,
                        attempts,
                    };
                }
                Err(error) => error,
            };
            if error.counts_against_host() {
                ticket.failure();
            } else {
                ticket.success(); // the host answered; the request was at fault
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
    } else if error.is_request() || error.is_body() {
        // Reset, "connection closed before message completed" (a keep-alive race), a body
        // cut off: the connection broke, the host may be fine next time.
        FetchError::Transport
    } else {
        FetchError::Other(error.to_string())
    }
}

// ANCHOR: fetch_all
/// Fetch every URL, at most `max_pending` in progress at once; the answers come back in the
/// order of `urls`. When `shutdown` is cancelled, attempts in flight finish and everything else
/// reports `Cancelled`. A task that panics costs its own URL only.
pub async fn fetch_all(
    urls: Vec<String>,
    config: Config,
    shutdown: CancellationToken,
) -> Vec<(String, Outcome)> {
    let max_pending = config.max_pending.max(1);
    let fetcher = Fetcher::new(config, shutdown);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; urls.len()];
    let mut index_of: HashMap<Id, usize> = HashMap::new();
    let mut todo = urls.iter().cloned().enumerate();
    let mut tasks = JoinSet::new();
    loop {
        // Top up to `max_pending` tasks: the input is read as the work progresses.
        while tasks.len() < max_pending {
            let Some((index, url)) = todo.next() else {
                break;
            };
            let fetcher = Arc::clone(&fetcher);
            let task = tasks.spawn(async move { fetcher.fetch(&url).await });
            index_of.insert(task.id(), index);
        }
        let Some(joined) = tasks.join_next_with_id().await else {
            break; // nothing running and nothing left
        };
        let (id, outcome) = match joined {
            Ok((id, outcome)) => (id, outcome),
            Err(e) => {
                let error = FetchError::Other(format!("the task failed: {e}"));
                (e.id(), Outcome::Failed { error, attempts: 0 })
            }
        };
        outcomes[index_of.remove(&id).expect("a task we spawned")] = Some(outcome);
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
    let mut take_ms = |flag: &str| -> Option<Duration> {
        let pos = args.iter().position(|a| a == flag)?;
        let ms: u64 = args
            .get(pos + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{flag} needs a number of milliseconds"));
        args.drain(pos..pos + 2);
        Some(Duration::from_millis(ms))
    };
    let deadline = take_ms("--deadline-ms");
    let attempt_timeout = take_ms("--attempt-timeout-ms");

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

    // Ctrl-C, SIGTERM (what systemd and Kubernetes send), or the deadline if one was given,
    // starts a graceful shutdown.
    let trigger = shutdown.clone();
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::spawn(async move {
        let deadline = async {
            match deadline {
                Some(d) => sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let terminated = async {
            #[cfg(unix)]
            terminate.recv().await;
            #[cfg(not(unix))]
            std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => println!("ctrl-c: shutting down"),
            _ = terminated => println!("SIGTERM: shutting down"),
            _ = deadline => println!("deadline reached: shutting down"),
        }
        trigger.cancel();
    });

    let mut config = Config::default(); // 4 at a time (2 per host), 500 ms per attempt, 3 attempts
    if let Some(limit) = attempt_timeout {
        config.attempt_timeout = limit;
    }
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
