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
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "too late"
                },
            ),
        )
        .route(
            "/slower/{id}",
            get(
                |State(s): State<Arc<Seen>>, Path(id): Path<String>| async move {
                    s.hit(&format!("slower/{id}"));
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    "slower but fine"
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
        per_host: 8, // the tests use one host, unless a test is about the bulkhead
        rate_per_sec: None,
        // Healthy endpoints answer in milliseconds: a wide margin, also on a busy machine.
        attempt_timeout: Duration::from_secs(1),
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        breaker_threshold: 1000, // out of the way unless a test is about it
        breaker_cooldown: Duration::from_secs(5),
        seed: 42,
        ..Config::default()
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
    // /hang: 4 attempts x 1 s plus at most 3 backoffs of < 50 ms, not 4 x 30 s.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
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
    let host = fetcher.host_for(&ok); // same host: the same breaker
    let breaker = &host.breaker;
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
    let watched = Arc::clone(&seen);
    tokio::spawn(async move {
        // Shut down once the server has two requests in flight (not after a guessed delay).
        while watched.in_flight.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
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
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
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
    let mut args: Vec<String> = ["--deadline-ms", "500", "--attempt-timeout-ms", "10000"]
        .map(String::from)
        .into();
    args.extend((0..12).map(|i| format!("http://{addr}/slower/d{i}")));
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::run_example("resilient_fetcher", &args)
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Two per host by default: two requests (2 s each) were in flight at the deadline (500 ms)
    // and finished; the other ten never started.
    assert!(
        stdout.contains("deadline reached: shutting down"),
        "{stdout}"
    );
    assert!(
        stdout.contains("summary: 2 ok, 0 failed, 0 rejected, 10 cancelled"),
        "{stdout}"
    );
    let sent: usize = (0..12).map(|i| seen.hits(&format!("slower/d{i}"))).sum();
    assert_eq!(sent, 2);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
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

// ---------------------------------------------------------------------------------------------
// Faults under concurrency: late answers, resets, huge bodies, a hanging neighbour.
// ---------------------------------------------------------------------------------------------

/// A server whose answers arrive in a chosen order: `/fail/{id}` answers 503 once both `/late-*`
/// requests have arrived; `/late-ok` and `/late-fail` answer (200, 503) one second after three
/// `/fail` requests have arrived, so their outcomes reach the client after the breaker opened.
async fn start_ordered_server() -> (
    SocketAddr,
    Arc<Seen>,
    Arc<Mutex<Option<tokio::time::Instant>>>,
) {
    let seen = Arc::new(Seen::default());
    let released = Arc::new(Mutex::new(None));
    async fn until(seen: &Seen, keys: &[&str], n: usize) {
        let start = Instant::now();
        while keys.iter().map(|k| seen.hits(k)).sum::<usize>() < n
            && start.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let (s1, s2, s3) = (seen.clone(), seen.clone(), seen.clone());
    let (r1, r2) = (released.clone(), released.clone());
    let app = Router::new()
        .route(
            "/fail/{id}",
            get(move |Path(id): Path<String>| async move {
                s1.hit(&format!("fail/{id}"));
                until(&s1, &["late-ok", "late-fail"], 2).await;
                (StatusCode::SERVICE_UNAVAILABLE, "down")
            }),
        )
        .route(
            "/late-ok",
            get(move || async move {
                s2.hit("late-ok");
                until(&s2, &["fail/1", "fail/2", "fail/3"], 3).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                *r1.lock().unwrap() = Some(tokio::time::Instant::now());
                (StatusCode::OK, "late but fine")
            }),
        )
        .route(
            "/late-fail",
            get(move || async move {
                s3.hit("late-fail");
                until(&s3, &["fail/1", "fail/2", "fail/3"], 3).await;
                tokio::time::sleep(Duration::from_millis(1200)).await;
                let _ = &r2;
                (StatusCode::SERVICE_UNAVAILABLE, "late and down")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen, released)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_outcomes_do_not_move_an_open_breaker() {
    let (addr, _seen, released) = start_ordered_server().await;
    let config = Config {
        max_attempts: 1,
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_secs(30),
        attempt_timeout: Duration::from_secs(10),
        ..test_config()
    };
    let fetcher = Fetcher::new(config, CancellationToken::new());
    let urls = [
        format!("http://{addr}/late-ok"),
        format!("http://{addr}/late-fail"),
        format!("http://{addr}/fail/1"),
        format!("http://{addr}/fail/2"),
        format!("http://{addr}/fail/3"),
    ];
    let host = fetcher.host_for(&urls[0]);
    let breaker = &host.breaker;
    let outcomes = futures::future::join_all(urls.iter().map(|u| fetcher.fetch(u))).await;
    assert!(matches!(outcomes[0], Outcome::Ok { .. }), "{outcomes:?}");
    let released = released
        .lock()
        .unwrap()
        .expect("the late answers were released");
    // Opened by the third failure, before the late answers were released. The late success
    // must not close it, the late failure must not push its cool-down out.
    match breaker.state() {
        BreakerState::Open { until } => assert!(
            until < released + Duration::from_secs(30),
            "the cool-down was pushed out by a late failure"
        ),
        other => panic!("a late success closed the breaker: {other:?}"),
    }
}

/// A server that reads each request and then resets the connection (no answer at all).
async fn start_resetting_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                // Close with a reset. (Deprecated because a non-zero linger blocks the thread on
                // drop; a zero linger does not wait.)
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(Duration::ZERO));
                drop(stream);
            });
        }
    });
    (addr, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_is_retried_and_counts_against_the_host() {
    let (addr, count) = start_resetting_server().await;
    let fetcher = Fetcher::new(test_config(), CancellationToken::new());
    let url = format!("http://{addr}/reset");
    let outcome = fetcher.fetch(&url).await;
    assert_eq!(outcome.attempts(), 3, "a reset is transient: {outcome:?}");
    assert_eq!(count.load(Ordering::SeqCst), 3);
    assert_eq!(
        fetcher.host_for(&url).breaker.state(),
        BreakerState::Closed { failures: 3 },
        "each reset counts against the host"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_refused() {
    let huge = "x".repeat(8 << 20);
    let app = Router::new().route("/huge", get(move || async move { huge.clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = Config {
        attempt_timeout: Duration::from_secs(5),
        ..test_config()
    };
    let out = fetch_all(
        vec![format!("http://{addr}/huge")],
        config,
        CancellationToken::new(),
    )
    .await;
    let text = format!("{:?}", out[0].1);
    assert!(
        text.starts_with("Failed") && text.contains("TooLarge"),
        "{}",
        &text[..text.len().min(200)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_host_does_not_starve_another() {
    let (hanging, _) = start_server().await;
    let (healthy, seen) = start_server().await;
    let mut urls: Vec<String> = (0..8)
        .map(|i| format!("http://{hanging}/hang/{i}"))
        .collect();
    urls.extend((0..4).map(|i| format!("http://{healthy}/ok/{i}")));
    let config = Config {
        concurrency: 4,
        per_host: 2,
        max_attempts: 1,
        attempt_timeout: Duration::from_secs(3),
        ..test_config()
    };
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(fetch_all(urls, config, shutdown.clone()));
    let start = Instant::now();
    let served = loop {
        let served: usize = (0..4).map(|i| seen.hits(&format!("ok/{i}"))).sum();
        if served == 4 || start.elapsed() > Duration::from_millis(2500) {
            break served;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    shutdown.cancel();
    assert_eq!(served, 4, "the healthy host waited behind the hanging one");
    let _ = run.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_input_is_not_spawned_all_at_once() {
    let (addr, _) = start_server().await;
    let urls: Vec<String> = (0..2000)
        .map(|i| format!("http://{addr}/slow/many{i}"))
        .collect();
    let config = Config {
        concurrency: 2,
        attempt_timeout: Duration::from_secs(5),
        ..test_config()
    };
    let shutdown = CancellationToken::new();
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let run = tokio::spawn(fetch_all(urls, config, shutdown.clone()));
    let mut most = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        most = most.max(metrics.num_alive_tasks().saturating_sub(before));
    }
    shutdown.cancel();
    let out = run.await.unwrap();
    assert_eq!(out.len(), 2000);
    assert!(most < 200, "{most} tasks alive for 2000 URLs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let (other, seen) = start_server().await;
    let target = format!("http://{other}/ok/redirected");
    let app = Router::new().route(
        "/moved",
        get(move || {
            let target = target.clone();
            async move { (StatusCode::FOUND, [("location", target)], "moved") }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let out = fetch_all(
        vec![format!("http://{addr}/moved")],
        test_config(),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(seen.hits("ok/redirected"), 0, "{:?}", out[0].1);
}

#[test]
fn the_default_jitter_seed_differs_between_runs() {
    assert_ne!(Config::default().seed, Config::default().seed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_shuts_down_gracefully_on_sigterm() {
    let (addr, _) = start_server().await;
    let mut cmd = common::example_command("resilient_fetcher");
    cmd.args((0..12).map(|i| format!("http://{addr}/slow/t{i}")))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    // SAFETY: kill(2) on our own child process with a valid signal.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{:?}\n{stdout}", output.status);
    assert!(stdout.contains("summary: "), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_transient_statuses_are_retried() {
    let seen = Arc::new(Seen::default());
    let (s1, s2) = (seen.clone(), seen.clone());
    let app = Router::new()
        .route(
            "/not-implemented",
            get(move || async move {
                s1.hit("501");
                (StatusCode::NOT_IMPLEMENTED, "never")
            }),
        )
        .route(
            "/request-timeout",
            get(move || async move {
                s2.hit("408");
                (StatusCode::REQUEST_TIMEOUT, "again")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let urls = vec![
        format!("http://{addr}/not-implemented"),
        format!("http://{addr}/request-timeout"),
    ];
    let out = fetch_all(urls, test_config(), CancellationToken::new()).await;
    assert_eq!(
        out[0].1,
        Outcome::Failed {
            error: FetchError::Status(501),
            attempts: 1
        },
        "501 is permanent"
    );
    assert_eq!(
        out[1].1,
        Outcome::Failed {
            error: FetchError::Status(408),
            attempts: 3
        },
        "408 invites a retry"
    );
    assert_eq!((seen.hits("501"), seen.hits("408")), (1, 3));
}

/// URLs refused by an open breaker wait for nothing: they take no slot and no rate tick, so a
/// healthy host behind them is not slowed down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_breaker_uses_up_no_rate_ticks() {
    let (failing, _) = start_server().await;
    let (healthy, _) = start_server().await;
    let mut urls = vec![format!("http://{failing}/fail/first")];
    urls.extend((0..5).map(|i| format!("http://{failing}/fail/then{i}")));
    urls.push(format!("http://{healthy}/ok/last"));
    let config = Config {
        rate_per_sec: Some(5), // one attempt every 200 ms
        max_attempts: 1,
        breaker_threshold: 1,
        breaker_cooldown: Duration::from_secs(30),
        max_pending: 1, // one URL at a time, in order
        ..test_config()
    };
    let started = Instant::now();
    let out = fetch_all(urls, config, CancellationToken::new()).await;
    let elapsed = started.elapsed();
    assert!(matches!(out[0].1, Outcome::Failed { .. }), "{out:?}");
    assert!(out[1..6]
        .iter()
        .all(|(_, o)| *o == Outcome::CircuitOpen { attempts: 0 }));
    assert!(matches!(out[6].1, Outcome::Ok { .. }), "{out:?}");
    // Two ticks (0 ms and 200 ms), not seven (1.2 s).
    assert!(elapsed < Duration::from_millis(900), "took {elapsed:?}");
}
