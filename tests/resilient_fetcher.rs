//! Tests for examples/resilient_fetcher.rs (the capstone and project 6 of "Production patterns").
//!
//! The fetcher's logic is included as a module and run against a flaky server started here, on
//! 127.0.0.1, which counts the requests it receives: the tests check what the fetcher returns,
//! how many requests it really sent (retries), that the breaker stops the traffic, that the
//! concurrency limit holds, and that shutdown is clean. The last tests run the built binary.

mod common;

#[allow(dead_code)]
#[path = "../examples/resilient_fetcher.rs"]
mod fetcher;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use fetcher::{fetch_all, BreakerState, Config, FetchError, Fetcher, Outcome};
use tokio_util::sync::CancellationToken;

/// What the test server saw.
#[derive(Default)]
struct Seen {
    hits: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Seen {
    fn hits(&self, key: &str) -> usize {
        self.hits.lock().unwrap().get(key).copied().unwrap_or(0)
    }
    /// Count a hit and return how many came before it.
    fn hit(&self, key: &str) -> usize {
        let mut hits = self.hits.lock().unwrap();
        let n = hits.entry(key.to_string()).or_insert(0);
        *n += 1;
        *n - 1
    }
}

/// Endpoints: /ok, /flaky/{id} (two 500s, then 200), /fail/{id} (always 500), /hang/{id}
/// (answers after 10 s), /slow/{id} (200 after 300 ms, tracks requests in flight), /missing/{id}
/// (404). The {id} lets each test count its own requests.
async fn start_server() -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route(
            "/ok/{id}",
            get(
                |State(s): State<Arc<Seen>>, Path(id): Path<String>| async move {
                    s.hit(&format!("ok/{id}"));
                    "fine"
                },
            ),
        )
        .route(
            "/flaky/{id}",
            get(
                |State(s): State<Arc<Seen>>, Path(id): Path<String>| async move {
                    match s.hit(&format!("flaky/{id}")) {
                        0 | 1 => (StatusCode::INTERNAL_SERVER_ERROR, "oops"),
                        _ => (StatusCode::OK, "recovered"),
                    }
                },
            ),
        )
        .route(
            "/fail/{id}",
            get(
                |State(s): State<Arc<Seen>>, Path(id): Path<String>| async move {
                    s.hit(&format!("fail/{id}"));
                    (StatusCode::SERVICE_UNAVAILABLE, "down")
                },
            ),
        )
        .route(
            "/missing/{id}",
            get(
                |State(s): State<Arc<Seen>>, Path(id): Path<String>| async move {
                    s.hit(&format!("missing/{id}"));
                    (StatusCode::NOT_FOUND, "no such thing")
                },
            ),
        )
        .route(
            "/hang/{id}",
            get(
                |State(s): State<Arc<Seen>>, Path(id): Path<String>| async move {
                    s.hit(&format!("hang/{id}"));
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    "too late"
                },
            ),
        )
        .route(
            "/slow/{id}",
            get(
                |State(s): State<Arc<Seen>>, Path(id): Path<String>| async move {
                    s.hit(&format!("slow/{id}"));
                    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    s.in_flight.fetch_sub(1, Ordering::SeqCst);
                    "slow but fine"
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

fn test_config() -> Config {
    Config {
        concurrency: 8,
        rate_per_sec: None,
        attempt_timeout: Duration::from_millis(200),
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        breaker_threshold: 1000, // out of the way unless a test is about it
        breaker_cooldown: Duration::from_secs(5),
        seed: 42,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_and_retries_per_kind_of_failure() {
    let (addr, seen) = start_server().await;
    let refused = fetcher::closed_port();
    let urls: Vec<String> = vec![
        format!("http://{addr}/ok/a"),
        format!("http://{addr}/flaky/a"),
        format!("http://{addr}/fail/a"),
        format!("http://{addr}/hang/a"),
        format!("http://{addr}/missing/a"),
        format!("http://127.0.0.1:{refused}/nothing"),
    ];
    let config = Config {
        max_attempts: 4,
        ..test_config()
    };
    let started = Instant::now();
    let out = fetch_all(urls, config, CancellationToken::new()).await;
    let elapsed = started.elapsed();

    assert!(
        matches!(&out[0].1, Outcome::Ok { status: 200, body, attempts: 1 } if body == "fine"),
        "{:?}",
        out[0]
    );
    assert!(
        matches!(&out[1].1, Outcome::Ok { status: 200, body, attempts: 3 } if body == "recovered"),
        "{:?}",
        out[1]
    );
    assert_eq!(
        out[2].1,
        Outcome::Failed {
            error: FetchError::Status(503),
            attempts: 4
        }
    );
    assert_eq!(
        out[3].1,
        Outcome::Failed {
            error: FetchError::Timeout,
            attempts: 4
        }
    );
    assert_eq!(
        out[4].1,
        Outcome::Failed {
            error: FetchError::Status(404),
            attempts: 1
        },
        "a 404 is not retried"
    );
    assert_eq!(
        out[5].1,
        Outcome::Failed {
            error: FetchError::Connect,
            attempts: 4
        }
    );
    // What the server really received: retries for 5xx and timeouts, none for 404.
    assert_eq!(seen.hits("ok/a"), 1);
    assert_eq!(seen.hits("flaky/a"), 3, "two 500s, then the success");
    assert_eq!(seen.hits("fail/a"), 4);
    assert_eq!(
        seen.hits("hang/a"),
        4,
        "each timed-out attempt is a new request"
    );
    assert_eq!(seen.hits("missing/a"), 1);
    // /hang: 4 attempts x 200 ms plus at most 3 backoffs of < 50 ms, not 4 x 10 s.
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_holds_server_side() {
    let (addr, seen) = start_server().await;
    let urls: Vec<String> = (0..9).map(|i| format!("http://{addr}/slow/{i}")).collect();
    let config = Config {
        concurrency: 3,
        attempt_timeout: Duration::from_secs(5),
        ..test_config()
    };
    let started = Instant::now();
    let out = fetch_all(urls, config, CancellationToken::new()).await;
    let elapsed = started.elapsed();
    assert!(out.iter().all(|(_, o)| matches!(o, Outcome::Ok { .. })));
    let max = seen.max_in_flight.load(Ordering::SeqCst);
    assert!(max <= 3, "the server saw {max} requests at once");
    assert!(max >= 2, "the limit should still allow overlap, saw {max}");
    // 9 requests of 300 ms, 3 at a time: at least 3 rounds.
    assert!(elapsed >= Duration::from_millis(850), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_spaces_the_attempts() {
    let (addr, seen) = start_server().await;
    let urls: Vec<String> = (0..10).map(|i| format!("http://{addr}/ok/r{i}")).collect();
    let config = Config {
        rate_per_sec: Some(50), // one attempt every 20 ms
        ..test_config()
    };
    let started = Instant::now();
    let out = fetch_all(urls, config, CancellationToken::new()).await;
    let elapsed = started.elapsed();
    assert!(out.iter().all(|(_, o)| matches!(o, Outcome::Ok { .. })));
    assert_eq!(
        (0..10)
            .map(|i| seen.hits(&format!("ok/r{i}")))
            .sum::<usize>(),
        10
    );
    // The first tick is immediate, the nine others 20 ms apart: at least 180 ms.
    assert!(elapsed >= Duration::from_millis(175), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_opens_and_stops_the_traffic() {
    let (addr, seen) = start_server().await;
    // One at a time, no retries: the breaker sees the failures in order.
    let config = Config {
        concurrency: 1,
        max_attempts: 1,
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_secs(30),
        ..test_config()
    };
    let urls: Vec<String> = (0..8).map(|_| format!("http://{addr}/fail/b")).collect();
    let out = fetch_all(urls, config, CancellationToken::new()).await;
    let failed = out
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed { .. }))
        .count();
    let rejected = out
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::CircuitOpen { attempts: 0 }))
        .count();
    assert_eq!((failed, rejected), (3, 5), "{out:?}");
    assert_eq!(seen.hits("fail/b"), 3, "an open circuit sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_half_opens_after_cooldown_and_closes_on_success() {
    let (addr, seen) = start_server().await;
    let config = Config {
        max_attempts: 1,
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(200),
        ..test_config()
    };
    let fetcher = Fetcher::new(config, CancellationToken::new());
    let fail = format!("http://{addr}/fail/h");
    let ok = format!("http://{addr}/ok/h");
    let breaker = fetcher.breaker_for(&ok); // same host: the same breaker
    assert!(matches!(fetcher.fetch(&fail).await, Outcome::Failed { .. }));
    assert_eq!(breaker.state(), BreakerState::Closed { failures: 1 });
    assert!(matches!(fetcher.fetch(&fail).await, Outcome::Failed { .. }));
    assert!(matches!(breaker.state(), BreakerState::Open { .. }));
    // Open: even a healthy path on that host is refused without a request.
    assert_eq!(
        fetcher.fetch(&ok).await,
        Outcome::CircuitOpen { attempts: 0 }
    );
    assert_eq!(seen.hits("ok/h"), 0);
    // After the cool-down one probe goes through; it succeeds, the circuit closes.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(matches!(
        fetcher.fetch(&ok).await,
        Outcome::Ok { attempts: 1, .. }
    ));
    assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
    assert_eq!(seen.hits("ok/h"), 1);
    assert_eq!(seen.hits("fail/h"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_and_cancels_the_rest() {
    let (addr, seen) = start_server().await;
    let urls: Vec<String> = (0..6).map(|i| format!("http://{addr}/slow/s{i}")).collect();
    let config = Config {
        concurrency: 2,
        attempt_timeout: Duration::from_secs(5),
        ..test_config()
    };
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let out = fetch_all(urls, config, shutdown).await;
    let elapsed = started.elapsed();
    let ok = out
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Ok { .. }))
        .count();
    let cancelled = out
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Cancelled { .. }))
        .count();
    assert_eq!((ok, cancelled), (2, 4), "{out:?}");
    let sent: usize = (0..6).map(|i| seen.hits(&format!("slow/s{i}"))).sum();
    assert_eq!(sent, 2, "no request starts after the shutdown signal");
    // The two requests in flight finish (300 ms); nothing waits for the other four.
    assert!(elapsed < Duration::from_millis(900), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_interrupts_the_backoff() {
    let (addr, seen) = start_server().await;
    let config = Config {
        max_attempts: 10,
        base_delay: Duration::from_secs(2), // long backoffs
        max_delay: Duration::from_secs(2),
        ..test_config()
    };
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let out = fetch_all(vec![format!("http://{addr}/fail/c")], config, shutdown).await;
    let elapsed = started.elapsed();
    // The first attempt fails at once; the backoff is cut short by the shutdown (unless the
    // jitter drew a delay shorter than 150 ms, which the fixed seed rules out).
    assert_eq!(out[0].1, Outcome::Cancelled { attempts: 1 }, "{out:?}");
    assert_eq!(seen.hits("fail/c"), 1);
    assert!(elapsed < Duration::from_millis(1000), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_fetches_given_urls_and_prints_a_summary() {
    let (addr, seen) = start_server().await;
    let refused = fetcher::closed_port();
    let args = vec![
        format!("http://{addr}/ok/bin"),
        format!("http://{addr}/flaky/bin"),
        format!("http://{addr}/missing/bin"),
        format!("http://127.0.0.1:{refused}/x"),
    ];
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::run_example("resilient_fetcher", &args)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("summary: 2 ok, 2 failed, 0 rejected, 0 cancelled"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok        200 after 3 attempt(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("failed    Status(404) after 1 attempt(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("failed    Connect after 3 attempt(s)"),
        "{stdout}"
    );
    assert_eq!(seen.hits("flaky/bin"), 3);
    assert_eq!(seen.hits("missing/bin"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_stops_cleanly_at_its_deadline() {
    let (addr, seen) = start_server().await;
    let mut args = vec!["--deadline-ms".to_string(), "100".to_string()];
    args.extend((0..12).map(|i| format!("http://{addr}/slow/d{i}")));
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::run_example("resilient_fetcher", &args)
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Default concurrency is 4: four requests were in flight at the deadline and finished.
    assert!(
        stdout.contains("deadline reached: shutting down"),
        "{stdout}"
    );
    assert!(
        stdout.contains("summary: 4 ok, 0 failed, 0 rejected, 8 cancelled"),
        "{stdout}"
    );
    let sent: usize = (0..12).map(|i| seen.hits(&format!("slow/d{i}"))).sum();
    assert_eq!(sent, 4);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn the_binary_demo_runs_on_its_own() {
    let output = common::run_example("resilient_fetcher", &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("flaky demo server"), "{stdout}");
    assert!(
        stdout.contains("summary: 3 ok, 3 failed, 0 rejected, 0 cancelled"),
        "{stdout}"
    );
}
